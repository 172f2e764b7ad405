//! The operations kit in `deploy/`: the alerting rules pass `promtool check rules` and their unit tests
//! (`promtool test rules`), the scrape example is valid, and every metric name the Grafana dashboard and the
//! rules use is one `/metrics` exposes. promtool runs when `SLAWATCH_PROMTOOL` names it (as in CI).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::spawn_app;
use crate::metrics::scrape;

fn deploy(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)
}

/// The names of slawatch's series in a text of PromQL: every identifier starting with `slawatch_` or
/// `defectdojo_` (the runbook's series), as Prometheus would look them up.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("slawatch_") || word.starts_with("defectdojo_"))
        .map(str::to_owned)
        .collect()
}

/// The PromQL expressions of the dashboard's panels.
fn dashboard_expressions() -> String {
    let text = std::fs::read_to_string(deploy("grafana/security-sla.json")).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dashboard["title"], "Security SLA", "the runbook's name for it");
    let panels = dashboard["panels"].as_array().expect("panels");
    panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().expect("an expression").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn every_metric_the_dashboard_and_the_rules_use_is_one_metrics_exposes() {
    let app = spawn_app().await;
    // Something in every family: a breached Critical (its breach notified and delivered in-app), an
    // approaching High, a sweep, the scheduler's lease.
    let product = app.product("Royal-Bank-Integration").await;
    app.finding(json!({ "productId": product, "title": "RCE", "severity": "CRITICAL" })).await;
    app.clock.advance(TimeDelta::days(2));
    app.finding(
        json!({ "productId": product, "title": "XSS", "severity": "HIGH", "slaStart": "2026-02-27T00:00:00Z" }),
    )
    .await;
    app.admin("mutation { runSlaSweep { emitted } }", json!({})).await.data();
    app.run_due_jobs().await;
    let exposed = scrape(&app).await;
    let sample_names: BTreeSet<&str> = exposed
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();

    let rules = std::fs::read_to_string(deploy("prometheus/slawatch-alerts.yml")).expect("the rules");
    let used: BTreeSet<String> =
        metric_names(&dashboard_expressions()).into_iter().chain(metric_names(&rules)).collect();
    assert!(used.len() >= 8, "the kit reads slawatch's series: {used:?}");
    let missing: Vec<&String> = used.iter().filter(|name| !sample_names.contains(name.as_str())).collect();
    assert!(missing.is_empty(), "used by deploy/ but not exposed by /metrics: {missing:?}\n{exposed}");
    // The approaching High is counted (7 days from 27 February: half of it left on 2 March at noon, the
    // clock here is 4 March).
    assert!(
        exposed.contains("slawatch_findings_approaching{product=\"Royal-Bank-Integration\",severity=\"high\"} 1"),
        "{exposed}"
    );
}

fn promtool() -> Option<String> {
    let promtool = std::env::var("SLAWATCH_PROMTOOL").ok().filter(|p| !p.is_empty());
    if promtool.is_none() {
        eprintln!("SLAWATCH_PROMTOOL is not set: skipping promtool on deploy/prometheus (CI runs it)");
    }
    promtool
}

fn run(promtool: &str, args: &[&str]) {
    let output = Command::new(promtool)
        .args(args)
        .current_dir(deploy("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {promtool}: {e}"));
    assert!(
        output.status.success(),
        "promtool {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_alerting_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    run(&promtool, &["check", "rules", "slawatch-alerts.yml"]);
    run(&promtool, &["test", "rules", "slawatch-alerts.test.yml"]);
    run(&promtool, &["check", "config", "--syntax-only", "prometheus.yml"]);
}
