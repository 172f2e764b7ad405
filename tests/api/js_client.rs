//! The reference `graphql-ws` npm client (tests/js) against the real server. Needs Node.js and `npm ci` in
//! tests/js; runs when `SLAWATCH_JS_TESTS=1` (as `.ci/run` sets it), and says so when skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::wait_for_subscribers;

fn js_dir() -> Option<PathBuf> {
    if std::env::var("SLAWATCH_JS_TESTS").ok().is_none_or(|v| v.is_empty() || v == "0") {
        eprintln!("SLAWATCH_JS_TESTS is not set: skipping the graphql-ws npm client test (CI runs it)");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        dir.join("node_modules/graphql-ws").is_dir(),
        "SLAWATCH_JS_TESTS is set but tests/js has no node_modules: run `npm ci` in tests/js"
    );
    Some(dir)
}

struct NodeClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeClient {
    fn start(dir: &Path, app: &TestApp, token: &str, query: &str, variables: &Value) -> Self {
        let mut child = Command::new("node")
            .arg(dir.join("subscribe.mjs"))
            .env("SLAWATCH_WS_URL", app.url("/graphql/ws").replacen("http", "ws", 1))
            .env("SLAWATCH_TOKEN", token)
            .env("SLAWATCH_QUERY", query)
            .env("SLAWATCH_VARIABLES", variables.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped stdout");
        Self { child, lines: BufReader::new(stdout).lines() }
    }

    /// The next line the client printed, within `wait`.
    async fn line(&mut self, wait: Duration) -> Option<Value> {
        let line = tokio::time::timeout(wait, self.lines.next_line()).await.ok()?.ok()??;
        Some(serde_json::from_str(&line).expect("the client prints JSON lines"))
    }

    async fn lines_for(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut lines = Vec::new();
        while let Some(line) = self.line(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            lines.push(line);
        }
        lines
    }
}

#[tokio::test]
async fn the_graphql_ws_npm_client_hears_a_visible_breach_and_nothing_else() {
    let Some(dir) = js_dir() else { return };
    let app = spawn_app().await;
    let visible = app.product("Royal-Bank-Integration").await;
    let hidden = app.product("Clacks-Relay").await;
    let (reader_id, reader) = app.user("cheery").await;
    app.add_member(&visible, &reader_id, "READER").await;
    let seen = app.finding(json!({ "productId": visible, "title": "RCE in payment gateway", "severity": "CRITICAL" }));
    let seen = seen.await["id"].as_str().expect("id").to_owned();
    app.finding(json!({ "productId": hidden, "title": "SQL injection in relay", "severity": "CRITICAL" })).await;

    let query = "subscription($k: [SlaEventKind!]) { slaEvents(kinds: $k) { kind finding { id product { name } } } }";
    // An API token (sent as `Bearer`, as the client does): a JWT's session would end at its expiry, and the
    // test moves the clock by a day.
    let created = app.gql(Some(&reader), "mutation { createApiToken(name: \"js\") { token } }", json!({})).await;
    let api_token = created.data()["createApiToken"]["token"].as_str().expect("token").to_owned();
    let mut client = NodeClient::start(&dir, &app, &api_token, query, &json!({ "k": ["BREACH"] }));
    assert_eq!(client.line(Duration::from_secs(20)).await, Some(json!({ "connected": true })));
    wait_for_subscribers(&app, 1).await;

    app.clock.advance(TimeDelta::hours(24));
    app.admin("mutation { runSlaSweep { emitted } }", json!({})).await.data();
    let lines = client.lines_for(Duration::from_secs(2)).await;
    let events: Vec<&Value> = lines.iter().filter_map(|l| l.get("next")).collect();
    assert_eq!(events.len(), 1, "{lines:?}");
    assert_eq!(events[0]["data"]["slaEvents"]["kind"], "BREACH");
    assert_eq!(events[0]["data"]["slaEvents"]["finding"]["id"], seen.as_str());
    assert_eq!(events[0]["data"]["slaEvents"]["finding"]["product"]["name"], "Royal-Bank-Integration");
    let _ = client.child.kill().await;
}

#[tokio::test]
async fn the_graphql_ws_npm_client_is_refused_without_valid_credentials() {
    let Some(dir) = js_dir() else { return };
    let app = spawn_app().await;
    let mut client = NodeClient::start(&dir, &app, "not.a.jwt", "subscription { alerts { id } }", &json!({}));
    let lines = client.lines_for(Duration::from_secs(10)).await;
    assert!(lines.iter().any(|l| l["closed"] == 4403), "closed with 4403 Forbidden: {lines:?}");
    assert!(!lines.iter().any(|l| l.get("connected").is_some()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.get("next").is_some()), "{lines:?}");
}
