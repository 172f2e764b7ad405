//! The SLA sweep with a moved clock: the runbook's schedule, exactly once, catching up after a gap,
//! resolution, new cycles, per-product profiles and opt-out, and the Graylog stream.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::receiver::Receiver;

async fn sweep(app: &TestApp) -> u64 {
    let swept = app.admin("mutation { runSlaSweep { examined emitted } }", json!({})).await;
    swept.data()["runSlaSweep"]["emitted"].as_u64().expect("count")
}

async fn events(app: &TestApp, finding: &str) -> Vec<(String, Value, i64, String)> {
    let read = app
        .admin(
            "query($id: ID!) { finding(id: $id) { slaEvents { kind threshold cycle occurredAt } } }",
            json!({ "id": finding }),
        )
        .await;
    read.data()["finding"]["slaEvents"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["threshold"].clone(),
                e["cycle"].as_i64().unwrap_or_default(),
                e["occurredAt"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn event(kind: &str, threshold: Option<i64>, cycle: i64, when: &str) -> (String, Value, i64, String) {
    (kind.to_owned(), threshold.map_or(Value::Null, |t| json!(t)), cycle, when.to_owned())
}

async fn critical(app: &TestApp, product: &str) -> String {
    let created =
        app.finding(json!({ "productId": product, "title": "RCE in payment gateway", "severity": "CRITICAL" })).await;
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_critical_notifies_at_12_h_and_2_4_h_before_its_deadline_at_it_and_48_h_after_each_once() {
    let app = spawn_app().await;
    let product = app.product("Royal-Bank-Integration").await;
    let finding = critical(&app, &product).await;
    assert_eq!(sweep(&app).await, 0, "nothing due at creation");
    for (advance, expected) in [
        (TimeDelta::hours(12), event("BREACH_APPROACHING", Some(50), 1, "2026-03-02T21:30:00+00:00")),
        (TimeDelta::minutes(9 * 60 + 36), event("BREACH_APPROACHING", Some(10), 1, "2026-03-03T07:06:00+00:00")),
        (TimeDelta::minutes(2 * 60 + 24), event("BREACH", None, 1, "2026-03-03T09:30:00+00:00")),
        (TimeDelta::hours(48), event("ESCALATION", None, 1, "2026-03-05T09:30:00+00:00")),
    ] {
        assert_eq!(sweep(&app).await, 0, "nothing before {}", expected.3);
        app.clock.advance(advance - TimeDelta::seconds(1));
        assert_eq!(sweep(&app).await, 0, "not a second early for {}", expected.3);
        app.clock.advance(TimeDelta::seconds(1));
        assert_eq!(sweep(&app).await, 1, "{}", expected.3);
        assert_eq!(sweep(&app).await, 0, "only once: {}", expected.3);
        assert_eq!(events(&app, &finding).await.last(), Some(&expected));
    }
    app.clock.advance(TimeDelta::days(30));
    assert_eq!(sweep(&app).await, 0, "the cycle is over");
    let titles = app
        .eventually_admin("{ alerts(first: 100) { edges { node { title event } } } }", |d| {
            d["alerts"]["edges"].as_array().is_some_and(|e| {
                e.iter().filter(|n| n["node"]["event"].as_str().is_some_and(|ev| ev.starts_with("sla_"))).count() == 4
            })
        })
        .await;
    let sla_titles: Vec<&str> = titles["alerts"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|n| n["node"]["event"].as_str().is_some_and(|e| e.starts_with("sla_")))
        .filter_map(|n| n["node"]["title"].as_str())
        .collect();
    assert_eq!(
        sla_titles,
        [
            "SLA breach approaching (50% of the period left): RCE in payment gateway",
            "SLA breach approaching (10% of the period left): RCE in payment gateway",
            "SLA breached: RCE in payment gateway",
            "SLA breach escalation: RCE in payment gateway",
        ]
    );
}

#[tokio::test]
async fn after_days_of_downtime_every_crossed_moment_is_sent_once_in_order() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = critical(&app, &product).await;
    app.clock.advance(TimeDelta::days(5));
    assert_eq!(sweep(&app).await, 4);
    assert_eq!(sweep(&app).await, 0);
    let kinds: Vec<String> = events(&app, &finding).await.into_iter().map(|e| e.0).collect();
    assert_eq!(kinds, ["BREACH_APPROACHING", "BREACH_APPROACHING", "BREACH", "ESCALATION"]);
    let deliveries = app.admin("{ deliveries(filter: {event: SLA_BREACH}) { totalCount } }", json!({})).await;
    assert_eq!(deliveries.data()["deliveries"]["totalCount"], 1, "one breach notification to the one superuser");
}

/// More than two batches of 500 due: on PostgreSQL the sweep runs three at once after the first; every due
/// finding is examined once and its event emitted once, and each one's next moment is stored.
#[tokio::test]
async fn a_sweep_over_several_batches_handles_each_due_finding_once() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    for (first, count) in [(0, 1000), (1000, 300)] {
        let inputs: Vec<Value> = (first..first + count)
            .map(|i| json!({ "productId": product, "title": format!("Finding {i}"), "severity": "CRITICAL" }))
            .collect();
        app.admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
            .await
            .data();
    }
    let run = || async {
        let swept = app.admin("mutation { runSlaSweep { examined emitted } }", json!({})).await;
        let report = &swept.data()["runSlaSweep"];
        (report["examined"].as_u64().expect("examined"), report["emitted"].as_u64().expect("emitted"))
    };
    app.clock.advance(TimeDelta::hours(12));
    assert_eq!(run().await, (1300, 1300), "the 50 % threshold of each, once");
    assert_eq!(run().await, (0, 0));
    app.clock.advance(TimeDelta::minutes(9 * 60 + 36));
    assert_eq!(run().await, (1300, 1300), "the 10 % threshold: every finding's next moment was stored");
    let deliveries =
        app.admin("{ deliveries(filter: {event: SLA_BREACH_APPROACHING}) { totalCount } }", json!({})).await;
    assert_eq!(deliveries.data()["deliveries"]["totalCount"], 2600, "one notification each time, to the superuser");
}

#[tokio::test]
async fn mitigation_stops_the_rest_and_reactivation_with_restart_starts_a_new_cycle() {
    let app = spawn_app().await;
    let default_id = app.default_sla_id().await;
    app.admin(
        "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {restartSlaOnReactivation: true}) { id } }",
        json!({ "id": default_id }),
    )
    .await
    .data();
    let product = app.product("Portal").await;
    let finding = critical(&app, &product).await;
    app.clock.advance(TimeDelta::hours(13));
    assert_eq!(sweep(&app).await, 1);
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": finding })).await.data();
    assert_eq!(events(&app, &finding).await.last(), Some(&event("RESOLVED", None, 1, "2026-03-02T22:30:00+00:00")));
    app.clock.advance(TimeDelta::days(3));
    assert_eq!(sweep(&app).await, 0, "a mitigated finding is done");
    let reactivated = app
        .admin("mutation($id: ID!) { reactivateFinding(id: $id) { slaCycle slaDeadline } }", json!({ "id": finding }))
        .await;
    assert_eq!(
        reactivated.data()["reactivateFinding"],
        json!({ "slaCycle": 2, "slaDeadline": "2026-03-06T22:30:00+00:00" })
    );
    app.clock.advance(TimeDelta::hours(12));
    assert_eq!(sweep(&app).await, 1);
    assert_eq!(
        events(&app, &finding).await.last(),
        Some(&event("BREACH_APPROACHING", Some(50), 2, "2026-03-06T10:30:00+00:00"))
    );
}

#[tokio::test]
async fn a_royal_bank_high_runs_on_its_five_day_clock_and_an_opted_out_product_stays_quiet() {
    let app = spawn_app().await;
    let profile = app
        .admin("mutation { createSlaConfiguration(input: {name: \"Royal Bank\", high: 5}) { id } }", json!({}))
        .await;
    let profile = profile.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    let royal = app.product("Royal-Bank-Integration").await;
    let quiet = app.product("Sandbox").await;
    app.admin(
        "mutation($p: ID!, $c: ID!) { updateProduct(id: $p, input: {slaConfigurationId: $c}) { id } }",
        json!({ "p": royal, "c": profile }),
    )
    .await
    .data();
    app.admin(
        "mutation($p: ID!) { updateProduct(id: $p, input: {disableSlaBreachNotifications: true}) { id } }",
        json!({ "p": quiet }),
    )
    .await
    .data();
    let high = app.finding(json!({ "productId": royal, "title": "Broken access control", "severity": "HIGH" })).await;
    app.finding(json!({ "productId": quiet, "title": "Sandbox finding", "severity": "HIGH" })).await;
    app.clock.advance(TimeDelta::hours(60));
    assert_eq!(sweep(&app).await, 1, "2.5 days: only the Royal Bank High has crossed 50 %");
    app.clock.advance(TimeDelta::days(10));
    sweep(&app).await;
    let royal_events: Vec<String> =
        events(&app, high["id"].as_str().expect("id")).await.into_iter().map(|e| e.3).collect();
    assert_eq!(
        royal_events,
        [
            "2026-03-04T21:30:00+00:00",
            "2026-03-06T21:30:00+00:00",
            "2026-03-07T09:30:00+00:00",
            "2026-03-09T09:30:00+00:00"
        ]
    );
    let quiet_notifications =
        app.admin("{ deliveries(filter: {event: SLA_BREACH}) { edges { node { target } } } }", json!({})).await;
    assert_eq!(
        quiet_notifications.data()["deliveries"]["edges"].as_array().map(Vec::len),
        Some(1),
        "only the Royal Bank breach is notified"
    );
}

#[tokio::test]
async fn the_scheduler_sweeps_by_itself_and_graylog_gets_an_sla_message() {
    let app = spawn_app_with(|config| config.sweep_interval_seconds = 1).await;
    let receiver = Receiver::start(vec![]).await;
    app.admin("mutation { updateSystemSettings(input: {enableWebhooks: true}) { enableWebhooks } }", json!({}))
        .await
        .data();
    let hook = app
        .admin("mutation($u: String!) { createWebhook(input: {name: \"Graylog\", url: $u, format: GELF, source: \"defectdojo\"}) { id } }", json!({ "u": receiver.url }))
        .await;
    let hook = hook.data()["createWebhook"]["id"].as_str().expect("id").to_owned();
    app.admin(
        "mutation($h: ID!) { setNotificationSetting(input: {scope: SYSTEM, event: SLA_BREACH, channels: [WEBHOOK], webhookIds: [$h]}) { configured } }",
        json!({ "h": hook }),
    )
    .await
    .data();
    let product = app.product("Royal-Bank-Integration").await;
    critical(&app, &product).await;
    app.clock.advance(TimeDelta::hours(25));
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests.len(), 1, "the scheduler's sweep and the worker delivered it");
    let gelf = requests[0].json();
    assert_eq!(gelf["host"], "defectdojo");
    assert!(gelf["short_message"].as_str().is_some_and(|m| m.contains("SLA")));
    assert_eq!(
        (gelf["_severity"].clone(), gelf["_product"].clone(), gelf["level"].clone()),
        (json!("Critical"), json!("Royal-Bank-Integration"), json!(2))
    );
    assert_eq!(gelf["_sla_deadline"], "2026-03-03T09:30:00+00:00");
    assert_eq!(requests[0].header("x-defectdojo-event"), Some("sla_breach"));
}

#[tokio::test]
async fn with_notify_only_verified_an_unverified_finding_is_tracked_but_not_notified() {
    let app = spawn_app().await;
    app.admin("mutation { updateSystemSettings(input: {notifyOnlyVerified: true}) { notifyOnlyVerified } }", json!({}))
        .await
        .data();
    let product = app.product("Portal").await;
    let unverified = critical(&app, &product).await;
    let verified = app
        .finding(json!({ "productId": product, "title": "Verified RCE", "severity": "CRITICAL", "verified": true }))
        .await;
    app.clock.advance(TimeDelta::hours(25));
    assert_eq!(sweep(&app).await, 6, "both findings' events are recorded");
    assert_eq!(events(&app, &unverified).await.len(), 3);
    assert_eq!(events(&app, verified["id"].as_str().expect("id")).await.len(), 3);
    let breach = app.admin("{ deliveries(filter: {event: SLA_BREACH}) { totalCount } }", json!({})).await;
    assert_eq!(breach.data()["deliveries"]["totalCount"], 1, "only the verified finding's breach is notified");
}

/// With `SLAWATCH_SWEEP_AT_DEADLINES` (the default) the scheduler does not wait for its interval (an hour
/// here): a deadline that comes is swept within about a second, and each threshold in turn.
#[tokio::test]
async fn the_scheduler_sweeps_when_the_next_sla_event_is_due_not_only_every_interval() {
    let app = spawn_app_with(|config| {
        config.sweep_interval_seconds = 3600;
        config.sweep_at_deadlines = true;
    })
    .await;
    let product = app.product("Royal-Bank-Integration").await;
    critical(&app, &product).await;
    let notified =
        || async { app.sla_notifications_by_title().await.into_iter().map(|(_, event)| event).collect::<Vec<_>>() };
    let within_seconds = |expected: usize| {
        let notified = &notified;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let events = notified().await;
                if events.len() >= expected || std::time::Instant::now() > deadline {
                    return events;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    // 12 h before the deadline (50 % of a day left), then the deadline itself.
    app.clock.advance(TimeDelta::hours(12));
    assert_eq!(within_seconds(1).await, ["sla_breach_approaching"], "swept at the threshold, not in an hour");
    app.clock.advance(TimeDelta::hours(13));
    assert_eq!(
        within_seconds(3).await,
        ["sla_breach_approaching", "sla_breach_approaching", "sla_breach"],
        "the 10 % threshold and the breach, in order"
    );
}
