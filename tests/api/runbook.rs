//! The runbook's SLA setup, done through GraphQL alone, with the deadlines SPEC §2 requires.

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{FINDING_FIELDS, spawn_app};

#[tokio::test]
async fn the_runbook_setup_gives_the_contracted_deadlines() {
    let app = spawn_app().await;
    // "Set the following SLA values: Critical 1, High 7, Medium 30, Low 90."
    let default_id = app.default_sla_id().await;
    let global = app
        .admin(
            "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {critical: 1, high: 7, medium: 30, low: 90}) {
                name critical high medium low thresholds escalationHours } }",
            json!({ "id": default_id }),
        )
        .await;
    assert_eq!(
        global.data()["updateSlaConfiguration"],
        json!({ "name": "Default", "critical": 1, "high": 7, "medium": 30, "low": 90, "thresholds": [50, 10], "escalationHours": 48 })
    );
    // "Create a new SLA configuration named Royal Bank: Critical 1, High 5, Medium 30, Low 90."
    let royal_profile = app
        .admin(
            "mutation { createSlaConfiguration(input: {name: \"Royal Bank\", critical: 1, high: 5, medium: 30, low: 90}) { id } }",
            json!({}),
        )
        .await;
    let royal_profile = royal_profile.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    let portal = app.product("Golem-Trust-Portal").await;
    let royal = app.product("Royal-Bank-Integration").await;
    // "Assign this SLA configuration to the Royal-Bank-Integration product in its product settings."
    let assigned = app
        .admin(
            "mutation($p: ID!, $c: ID!) { updateProduct(id: $p, input: {slaConfigurationId: $c}) { slaConfiguration { name high } } }",
            json!({ "p": royal, "c": royal_profile }),
        )
        .await;
    assert_eq!(assigned.data()["updateProduct"]["slaConfiguration"], json!({ "name": "Royal Bank", "high": 5 }));

    let critical = app
        .finding(json!({ "productId": royal, "title": "RCE in payment gateway", "severity": "CRITICAL", "slaStart": "2026-03-02T09:30:00Z" }))
        .await;
    assert_eq!(critical["slaDeadline"], "2026-03-03T09:30:00+00:00", "a Critical is due 24 h later");
    let royal_high = app
        .finding(json!({ "productId": royal, "title": "Broken access control", "severity": "HIGH", "slaStart": "2026-03-02T09:30:00Z" }))
        .await;
    assert_eq!(royal_high["slaDeadline"], "2026-03-07T09:30:00+00:00", "a Royal Bank High is due 5 days later");
    let portal_high = app
        .finding(json!({ "productId": portal, "title": "Stored XSS", "severity": "HIGH", "slaStart": "2026-03-02T09:30:00Z" }))
        .await;
    assert_eq!(portal_high["slaDeadline"], "2026-03-09T09:30:00+00:00", "elsewhere a High is due 7 days later");

    // Cheery's Monday query, a day and a bit later: only the Critical is past its deadline.
    app.clock.advance(TimeDelta::hours(25));
    let breached = app
        .admin(
            &format!(
                "{{ findings(filter: {{outsideSla: true}}) {{ totalCount edges {{ node {{ {FINDING_FIELDS} }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    let breached = &breached.data()["findings"];
    assert_eq!(breached["totalCount"], 1);
    assert_eq!(breached["edges"][0]["node"]["title"], "RCE in payment gateway");
    assert_eq!(breached["edges"][0]["node"]["slaState"], "BREACHED");
    assert_eq!(breached["edges"][0]["node"]["slaRemainingSeconds"], -3600);

    // Five days on, the Royal Bank High is breached but the Portal's is not.
    app.clock.advance(TimeDelta::days(4));
    let breached = app
        .admin("{ findings(filter: {outsideSla: true, severities: [HIGH]}) { edges { node { title } } } }", json!({}))
        .await;
    assert_eq!(breached.data()["findings"]["edges"], json!([{ "node": { "title": "Broken access control" } }]));
}

#[tokio::test]
async fn assigning_a_profile_recomputes_existing_findings_at_once() {
    let app = spawn_app().await;
    let royal = app.product("Royal-Bank-Integration").await;
    let high = app
        .finding(json!({ "productId": royal, "title": "t", "severity": "HIGH", "slaStart": "2026-03-02T09:30:00Z" }))
        .await;
    assert_eq!(high["slaDeadline"], "2026-03-09T09:30:00+00:00");
    let profile = app
        .admin("mutation { createSlaConfiguration(input: {name: \"Royal Bank\", high: 5}) { id } }", json!({}))
        .await;
    let profile = profile.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    app.admin(
        "mutation($p: ID!, $c: ID!) { updateProduct(id: $p, input: {slaConfigurationId: $c}) { id } }",
        json!({ "p": royal, "c": profile }),
    )
    .await
    .data();
    let after = app.get_finding(high["id"].as_str().expect("id")).await;
    assert_eq!(after["slaDeadline"], "2026-03-07T09:30:00+00:00");
}

#[tokio::test]
async fn the_demo_command_loads_the_scenario_once() {
    // Without the scheduler: this test is about the command, and a second process writing the same SQLite
    // file while the scheduler writes has been seen to get SQLITE_BUSY (under investigation).
    let app = crate::helpers::spawn_app_with(|config| config.scheduler_enabled = false).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_slawatch"))
            .arg("demo")
            .env("DATABASE_URL", &app.state.config.database_url)
            .output()
            .expect("runs")
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run();
    assert!(String::from_utf8_lossy(&second.stderr).contains("already loaded"));
    let royal = app
        .admin("{ product(name: \"Royal-Bank-Integration\") { slaConfiguration { name critical high medium low } members { role user { username } } } }", json!({}))
        .await;
    assert_eq!(
        royal.data()["product"]["slaConfiguration"],
        json!({ "name": "Royal Bank", "critical": 1, "high": 5, "medium": 30, "low": 90 })
    );
    // Every SLA state is represented (the demo runs on the system clock, the summary on the test's, so only
    // look at the stored outcomes that do not depend on "now": mitigated and no-SLA findings).
    let summary = app.admin("{ slaSummary { state count } }", json!({})).await;
    let total = |state: &str| -> u64 {
        summary.data()["slaSummary"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["state"] == state)
            .map(|r| r["count"].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(total("MET") >= 1 && total("MISSED") >= 1 && total("NONE") >= 3);
    // As Otto (reader of Royal-Bank-Integration only), only that product is visible.
    let otto = app.login("otto", slawatch::service::demo::DEMO_PASSWORD).await;
    let seen = app.gql(Some(&otto), "{ products { totalCount edges { node { name } } } }", json!({})).await;
    assert_eq!(seen.data()["products"]["totalCount"], 1);
}
