//! The dashboard in a real browser: Debian's chromium driven by playwright-core (tests/js/dashboard.mjs)
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

#[tokio::test]
async fn the_dashboard_signs_in_counts_as_graphql_and_shows_a_breach_live() {
    let Some((js, chromium)) = browser_setup() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(&dir).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &database_url)
        .env("SLAWATCH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SLAWATCH_JWT_SECRET", JWT_SECRET)
        .env("SLAWATCH_SWEEP_INTERVAL", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server did not become ready");

    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");
    let screenshot = screenshots.join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = Command::new("node")
        .arg(js.join("dashboard.mjs"))
        .env("SLAWATCH_URL", &base)
        .env("SLAWATCH_SCREENSHOT", &screenshot)
        .env("CHROMIUM", &chromium)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser test finishes")
        .expect("node runs");
    let _ = server.kill().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for check in [
        "counts equal GraphQL's slaSummary",
        "the live feed shows the breach and the Critical count rose by one",
        "no reload happened",
        "a mitigated finding leaves the count and the table without a reload",
        "mark all read",
        "a reader's table holds only his product's findings",
        "no script errors or CSP violations",
    ] {
        assert!(stdout.contains(&format!("\"check\":\"{check}\",\"ok\":true")), "{check} missing:\n{stdout}");
    }
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "a screenshot at {}", screenshot.display());
}
