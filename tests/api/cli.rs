//! The administration commands, run as a user would (the built binary on the test server's database):
//! `user list|disable|set-password`, `token list|revoke`, and messages that name the flags.

use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

async fn slawatch(app: &TestApp, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slawatch"));
    command.args(args).env("DATABASE_URL", &app.state.config.database_url).env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output()).await.expect("joined").expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn users_and_tokens_are_listed_disabled_revoked_and_given_passwords() {
    let app = spawn_app().await;
    let created = slawatch(&app, &["user", "create", "--username", "bent", "--email", "bent@royalbank.am"]).await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let listed = slawatch(&app, &["user", "list"]).await;
    let listing = text(&listed.stdout);
    assert!(listing.contains("admin") && listing.contains("bent@royalbank.am"), "{listing}");

    // set-password prints a generated one, which then signs in.
    let set = slawatch(&app, &["user", "set-password", "--username", "bent"]).await;
    assert!(set.status.success(), "{}", text(&set.stderr));
    let output = text(&set.stdout);
    let password = output.lines().find_map(|l| l.strip_prefix("password: ")).expect("a generated password");
    let token = app.login("bent", password).await;
    assert!(!token.is_empty());
    let short = slawatch(&app, &["user", "set-password", "--username", "bent", "--password", "short"]).await;
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("--password"), "{}", text(&short.stderr));

    // A token, listed without its secret, then revoked: the API refuses it.
    let made = slawatch(&app, &["token", "create", "--username", "bent", "--name", "exporter"]).await;
    let secret = text(&made.stdout).trim().to_owned();
    let me = "{ me { username } }";
    let works = app.gql_with_header(Some(&format!("Token {secret}")), me, json!({})).await;
    assert_eq!(works.data()["me"]["username"], "bent");
    let tokens = text(&slawatch(&app, &["token", "list", "--username", "bent"]).await.stdout);
    assert!(tokens.contains("exporter") && !tokens.contains(&secret), "{tokens}");
    let id = tokens.lines().nth(1).and_then(|l| l.split_whitespace().next()).expect("a token row").to_owned();
    let revoked = slawatch(&app, &["token", "revoke", "--id", &id]).await;
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await; // the server's kept identities
    let refused = app.gql_with_header(Some(&format!("Token {secret}")), me, json!({})).await;
    assert_eq!(refused.code(), "UNAUTHENTICATED");
    assert!(text(&slawatch(&app, &["token", "list"]).await.stdout).contains("exporter"));

    // Disabled: no sign-in any more.
    let disabled = slawatch(&app, &["user", "disable", "--username", "bent"]).await;
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    let login = app
        .gql(
            None,
            "mutation($p: String!) { login(username: \"bent\", password: $p) { token } }",
            json!({ "p": password }),
        )
        .await;
    assert_eq!(login.code(), "UNAUTHENTICATED");
    assert!(
        text(&slawatch(&app, &["user", "list"]).await.stdout).lines().any(|l| l.contains("bent") && l.ends_with("no"))
    );
}

#[tokio::test]
async fn messages_name_the_flags_and_echo_what_was_not_found() {
    let app = spawn_app().await;
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["report", "--product", "Nowhere-Integration", "--quarter", "2026-Q1"],
            &["\"Nowhere-Integration\"", "--product"],
        ),
        (&["report", "--format", "csv"], &["--from", "--to", "--quarter"]),
        (&["report", "--from", "2026-03-31", "--to", "2026-01-01"], &["--to", "--from", "inverted"]),
        (&["report", "--quarter", "first"], &["\"first\"", "2026-Q1"]),
        (&["report", "--quarter", "2026-Q1", "--format", "docx"], &["--format", "\"docx\""]),
        (&["token", "revoke", "--id", "999"], &["--id 999"]),
    ];
    for (args, expected) in cases {
        let output = slawatch(&app, args).await;
        let message = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} failed");
        for part in expected {
            assert!(message.contains(part), "{args:?}: {part} not in {message}");
        }
        assert!(!message.contains("`from`") && !message.contains("`quarter`"), "API field names: {message}");
    }
    let unknown = slawatch(&app, &["user", "disable", "--username", "nobody-here"]).await;
    assert!(text(&unknown.stderr).contains("\"nobody-here\""), "{}", text(&unknown.stderr));
}

#[tokio::test]
async fn a_scan_is_imported_and_reimported_from_the_command_line() {
    let app = spawn_app().await;
    let report = format!("{}/tests/fixtures/scans/zap/5_zap_sample_one.xml", env!("CARGO_MANIFEST_DIR"));
    let import = ["import", "--scan-type", "ZAP Scan", "--product", "Clacks", "--engagement", "Nightly"];
    let refused = slawatch(&app, &[&import[..], &[report.as_str()]].concat()).await;
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--auto-create"), "names the flag: {}", text(&refused.stderr));

    let created =
        slawatch(&app, &[&import[..], &["--product-type", "Web", "--auto-create", report.as_str()]].concat()).await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(
        text(&created.stdout).contains("2 created, 0 closed, 0 reactivated, 0 untouched"),
        "{}",
        text(&created.stdout)
    );
    let again = slawatch(&app, &[&import[..], &["--reimport", report.as_str()]].concat()).await;
    assert!(text(&again.stdout).contains("0 created, 0 closed, 0 reactivated, 2 untouched"), "{}", text(&again.stdout));
    let listed = app.admin("{ findings { totalCount } }", json!({})).await;
    assert_eq!(listed.data()["findings"]["totalCount"], 2);

    let bad = slawatch(&app, &["import", "--scan-type", "Nessus", "--product", "Clacks", report.as_str()]).await;
    let refusal = text(&bad.stderr);
    assert!(refusal.contains("--scan-type") && refusal.contains("\"Nessus\" is not one of"), "{refusal}");
    let missing = slawatch(&app, &[&import[..], &["/nonexistent/report.xml"]].concat()).await;
    assert!(text(&missing.stderr).contains("FILE /nonexistent/report.xml"), "{}", text(&missing.stderr));
}

#[tokio::test]
async fn a_large_report_shows_a_progress_bar_on_a_terminal_and_not_in_a_pipeline_log() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large.json");
    // Over the 4 MiB from which the bar is shown: a padding field before three findings.
    let padding = "x".repeat(5 * 1024 * 1024);
    let findings = r#"[{"title": "a", "severity": "High"}, {"title": "b", "severity": "Low"}, {"title": "c", "severity": "Info"}]"#;
    std::fs::write(&path, format!(r#"{{"padding": "{padding}", "findings": {findings}}}"#)).expect("write");
    let report = path.display().to_string();
    let import = ["import", "--scan-type", "Generic Findings Import", "--product", "Clacks", "--product-type", "Web"];

    let logged = slawatch(&app, &[&import[..], &["--auto-create", report.as_str()]].concat()).await;
    assert!(logged.status.success(), "{}", text(&logged.stderr));
    assert!(
        !text(&logged.stderr).contains(" read ("),
        "no bar when stderr is not a terminal: {}",
        text(&logged.stderr)
    );

    // `script` runs it on a pseudo-terminal, as a person at a shell would.
    let line = format!(
        "{} {} --reimport '{}'",
        env!("CARGO_BIN_EXE_slawatch"),
        import.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" "),
        report
    );
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]).env("DATABASE_URL", &app.state.config.database_url);
    command.env("RUST_LOG", "warn");
    let on_terminal =
        tokio::task::spawn_blocking(move || command.output()).await.expect("joined").expect("script runs");
    let screen = text(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{screen}");
    assert!(screen.contains("MiB read ("), "a bar with the bytes read: {screen}");
    assert!(screen.contains("0 created, 0 closed, 0 reactivated, 3 untouched"), "{screen}");
}
