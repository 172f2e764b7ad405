//! `GET /metrics`: valid for Prometheus (`promtool check metrics` when `SLAWATCH_PROMTOOL` names it, as in
//! CI), and its breach counts equal GraphQL's `outsideSla` totals.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// Scrapes as Prometheus does with `authorization: { credentials: <a superuser's API token> }`.
pub async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).bearer_auth(&app.admin_api_token).send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.expect("text")
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn outside_sla(app: &TestApp, severity: &str) -> f64 {
    let read = app
        .admin(
            "query($s: [Severity!]) { findings(filter: {outsideSla: true, severities: $s}) { totalCount } }",
            json!({ "s": [severity] }),
        )
        .await;
    read.data()["findings"]["totalCount"].as_f64().expect("count")
}

fn promtool_check(text: &str) {
    let Some(promtool) = std::env::var("SLAWATCH_PROMTOOL").ok().filter(|p| !p.is_empty()) else {
        eprintln!("SLAWATCH_PROMTOOL is not set: skipping `promtool check metrics` (CI runs it)");
        return;
    };
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {promtool}: {e}"));
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("promtool ran");
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_pass_promtool_and_count_breaches_as_graphql_does() {
    let app = spawn_app().await;
    let bank = app.product("Royal-Bank-Integration").await;
    let portal = app.product("Golem Portal").await;
    for (product, severity, title) in [
        (&bank, "CRITICAL", "RCE"),
        (&bank, "CRITICAL", "Auth bypass"),
        (&portal, "CRITICAL", "SSRF"),
        (&bank, "HIGH", "XSS"),
        (&portal, "MEDIUM", "CSRF"),
        (&portal, "LOW", "Banner"),
        (&portal, "INFO", "Note"),
    ] {
        app.finding(json!({ "productId": product, "title": title, "severity": severity })).await;
    }
    let mitigated = app.finding(json!({ "productId": bank, "title": "Fixed", "severity": "CRITICAL" })).await;
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": mitigated["id"] })).await.data();

    // Two days on: the Criticals (1 day) are breached, the High (7 days) is not.
    app.clock.advance(TimeDelta::days(2));
    app.admin("mutation { runSlaSweep { emitted } }", json!({})).await.data();
    let text = scrape(&app).await;
    promtool_check(&text);
    for severity in ["CRITICAL", "HIGH", "MEDIUM", "LOW"] {
        let series = format!("defectdojo_sla_breach_count{{severity=\"{}\"}}", severity.to_lowercase());
        assert_eq!(sample(&text, &series), Some(outside_sla(&app, severity).await), "{series}\n{text}");
    }
    assert_eq!(sample(&text, "defectdojo_sla_breach_count{severity=\"critical\"}"), Some(3.0));
    assert_eq!(
        sample(&text, "slawatch_findings_open{product=\"Royal-Bank-Integration\",severity=\"critical\"}"),
        Some(2.0)
    );
    assert_eq!(sample(&text, "slawatch_findings_breached{product=\"Golem Portal\",severity=\"critical\"}"), Some(1.0));
    assert_eq!(
        sample(&text, "slawatch_findings_breached{product=\"Royal-Bank-Integration\",severity=\"high\"}"),
        Some(0.0)
    );
    assert!(sample(&text, "slawatch_sla_sweep_findings_examined_total").is_some_and(|n| n >= 3.0), "{text}");
    assert!(sample(&text, "slawatch_sla_sweep_duration_seconds_count").is_some_and(|n| n >= 1.0), "{text}");
    // The index's memory once it is loaded: 32 bytes an open finding at least.
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("index loaded");
    let text = scrape(&app).await;
    assert!(sample(&text, "slawatch_finding_index_bytes").is_some_and(|n| n >= 7.0 * 32.0), "{text}");

    // Deliveries are counted by channel and outcome once the worker has sent the in-app alerts.
    app.eventually_admin("{ unreadAlertCount }", |d| d["unreadAlertCount"].as_u64() > Some(0)).await;
    let text = scrape(&app).await;
    assert!(
        sample(&text, "slawatch_deliveries_total{channel=\"ALERT\",outcome=\"delivered\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(text.contains("slawatch_delivery_latency_seconds_bucket{"), "{text}");
    promtool_check(&text);
    writes_are_timed_by_where_they_began(&app, &text);
}

/// SQLite's writers' turns, by the place in the code that began the write: the eight findings created above
/// waited and held one each in `service::finding_creation`.
fn writes_are_timed_by_where_they_began(app: &TestApp, text: &str) {
    let counted = |name: &str| -> f64 {
        let prefix = format!("{name}_count{{writer=\"src/service/finding_creation.rs:");
        text.lines().filter_map(|line| line.strip_prefix(&prefix)?.split_once(' ')?.1.trim().parse::<f64>().ok()).sum()
    };
    if app.state.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        assert!(counted("slawatch_write_turn_wait_seconds") >= 8.0, "{text}");
        assert!(counted("slawatch_write_turn_held_seconds") >= 8.0, "{text}");
        let swept =
            |line: &str| line.starts_with("slawatch_write_turn_held_seconds_sum{writer=\"src/service/sla_sweep.rs:");
        assert!(text.lines().any(swept), "the sweep's writes are timed too: {text}");
    } else {
        assert!(!text.contains("slawatch_write_turn_"), "PostgreSQL's writers take no turns: {text}");
    }
}
