//! The dashboard and GraphiQL in a real browser: Debian's chromium driven by playwright-core (tests/js/dashboard.mjs)
//! against the real `slawatch serve --demo` with a one-second sweep. Runs when `SLAWATCH_BROWSER_TESTS=1`
//! (as `.ci/run` sets it) and says so when skipped. The screenshot is kept at target/screenshots/.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::helpers::{ADMIN_PASSWORD, JWT_SECRET, fresh_database};

fn browser_setup() -> Option<(PathBuf, PathBuf)> {
    if std::env::var("SLAWATCH_BROWSER_TESTS").ok().is_none_or(|v| v.is_empty() || v == "0") {
        eprintln!("SLAWATCH_BROWSER_TESTS is not set: skipping the browser test of the dashboard (CI runs it)");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(dir.join("node_modules/playwright-core").is_dir(), "run `npm ci` in tests/js for playwright-core");
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    assert!(chromium.exists(), "SLAWATCH_BROWSER_TESTS is set but {} is missing (Debian chromium)", chromium.display());
    Some((dir, chromium))
}

/// `slawatch serve --demo` on a free port with a one-second sweep, ready; killed when dropped.
async fn demo_server(dir: &tempfile::TempDir) -> (tokio::process::Child, String) {
    demo_server_with(dir, &[]).await
}

/// `demo_server` with extra environment variables.
async fn demo_server_with(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let database_url = fresh_database(dir).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let server = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &database_url)
        .env("SLAWATCH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SLAWATCH_JWT_SECRET", JWT_SECRET)
        .env("SLAWATCH_SWEEP_INTERVAL", "1")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not become ready");
}

/// Runs `script` (in tests/js) with node against `base`; its stdout, asserting it succeeded.
async fn run_script(
    js: &std::path::Path,
    chromium: &std::path::Path,
    script: &str,
    base: &str,
    env: &[(&str, &str)],
) -> String {
    let mut command = Command::new("node");
    command.arg(js.join(script)).env("SLAWATCH_URL", base).env("CHROMIUM", chromium);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the browser test finishes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn assert_checks(stdout: &str, checks: &[&str]) {
    for check in checks {
        assert!(stdout.contains(&format!("\"check\":\"{check}\",\"ok\":true")), "{check} missing:\n{stdout}");
    }
}

#[tokio::test]
async fn the_dashboard_signs_in_counts_as_graphql_and_shows_a_breach_live() {
    let Some((js, chromium)) = browser_setup() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, base) = demo_server(&dir).await;

    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");
    let screenshot = screenshots.join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = screenshot.display().to_string();
    let stdout = run_script(&js, &chromium, "dashboard.mjs", &base, &[("SLAWATCH_SCREENSHOT", &shot)]).await;
    assert_checks(
        &stdout,
        &[
            "counts equal GraphQL's slaSummary",
            "the trend chart has a 90-day series per severity ending at the breach counts",
            "the trend chart draws the zero target line",
            "the live feed shows the breach and the Critical count rose by one",
            "the trend chart's Critical series ends one higher, live",
            "no reload happened",
            "a mitigated finding leaves the count and the table without a reload",
            "mark all read",
            "a reader's table holds only his product's findings",
            "no script errors or CSP violations",
        ],
    );
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "a screenshot at {}", screenshot.display());
}

#[tokio::test]
async fn graphiql_works_offline_with_a_bearer_token_in_its_headers_tab() {
    let Some((js, chromium)) = browser_setup() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, base) = demo_server(&dir).await;
    let stdout = run_script(&js, &chromium, "graphiql.mjs", &base, &[]).await;
    assert_checks(
        &stdout,
        &[
            "GraphiQL renders",
            "login runs through GraphiQL",
            "the Headers tab's Bearer token signs in",
            "nothing requested from another origin",
            "no script errors or CSP violations",
        ],
    );
}

#[tokio::test]
async fn the_dashboard_reloads_its_counts_when_its_subscription_falls_behind() {
    let Some((js, chromium)) = browser_setup() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, base) = demo_server_with(&dir, &[("SLAWATCH_LIVE_BUFFER_EVENTS", "16")]).await;
    let stdout = run_script(&js, &chromium, "resync.mjs", &base, &[]).await;
    assert_checks(
        &stdout,
        &[
            "the count took in what was missed while the connection was down",
            "the Critical count took in the burst",
            "a burst of alerts reloads them at most every quarter of a second",
            "the live status shows no problem after falling behind",
            "no script errors or CSP violations",
        ],
    );
}
