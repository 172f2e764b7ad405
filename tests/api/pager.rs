//! The PAGER channel against a local PagerDuty-like server that records every event: a Critical breach
//! triggers once per SLA cycle however often the sweep and the worker run, its escalation adds to the same
//! incident, mitigation resolves it; what may be set, and by whom.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app_without_scheduler};
use crate::receiver::{Received, Receiver};

const KEY: &str = "R0UTINGKEY0123456789abcdef012345";
const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

async fn route_critical_breaches_to_the_pager(app: &TestApp) {
    for event in ["SLA_BREACH", "SLA_BREACH_ESCALATION", "SLA_RESOLVED"] {
        let input = json!({ "scope": "SYSTEM", "event": event, "channels": ["PAGER"], "severities": ["CRITICAL"] });
        assert_eq!(app.admin(SET, json!({ "i": input })).await.data()["setNotificationSetting"]["configured"], true);
    }
}

/// The events the server got, after giving the worker a moment to send anything more.
async fn events(pager: &Receiver, expected: usize) -> Vec<Received> {
    pager.wait_for(expected).await;
    pager.wait_for_within(expected + 1, Duration::from_millis(500)).await
}

#[tokio::test]
async fn a_critical_breach_pages_once_per_cycle_and_its_mitigation_resolves_the_incident() {
    let pager = Receiver::start_json(vec![], json!({ "status": "success", "message": "Event processed" })).await;
    let app = spawn_app_without_scheduler(|_| {}).await;
    let settings = "mutation($i: SystemSettingsInput!) { updateSystemSettings(input: $i) {
        enablePager pagerRoutingKeySet pagerEventsUrl } }";
    let refused = app.admin(settings, json!({ "i": { "enablePager": true } })).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT", "no key yet");
    assert!(refused.message().contains("pagerRoutingKey"), "{}", refused.message());
    let events_url = format!("{}/v2/enqueue", pager.url);
    let enabled = app
        .admin(settings, json!({ "i": { "enablePager": true, "pagerRoutingKey": KEY, "pagerEventsUrl": events_url } }))
        .await;
    assert_eq!(
        enabled.data()["updateSystemSettings"],
        json!({ "enablePager": true, "pagerRoutingKeySet": true, "pagerEventsUrl": events_url })
    );
    route_critical_breaches_to_the_pager(&app).await;
    let product = app.product("Royal-Bank-Integration").await;
    let critical =
        app.finding(json!({ "productId": product, "title": "RCE in payment gateway", "severity": "CRITICAL" })).await;
    app.finding(json!({ "productId": product, "title": "Stored XSS", "severity": "HIGH" })).await;
    let id = critical["id"].as_str().expect("id").to_owned();

    // Past the Critical deadline (a day; the High one's is days away); the sweep and the worker run twice.
    app.clock.advance(TimeDelta::hours(25));
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    let sent = events(&pager, 1).await;
    assert_eq!(sent.len(), 1, "one trigger: {sent:?}");
    let trigger = &sent[0];
    assert_eq!((trigger.method.as_str(), trigger.path.as_str()), ("POST", "/v2/enqueue"));
    let body = trigger.json();
    let dedup_key = format!("slawatch/finding/{id}/cycle/1");
    assert_eq!(body["routing_key"], KEY);
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], dedup_key);
    assert_eq!(body["payload"]["severity"], "critical");
    assert_eq!(body["payload"]["source"], "Royal-Bank-Integration");
    assert_eq!(body["payload"]["class"], "sla_breach");
    assert!(body["payload"]["summary"].as_str().is_some_and(|s| s.contains("RCE in payment gateway")), "{body}");
    let link = body["payload"]["custom_details"]["Link"].as_str().expect("the finding's link");
    assert!(link.ends_with(&format!("?finding={id}")), "{link}");
    assert_eq!(body["links"][0]["href"], link);
    assert_eq!(body["payload"]["custom_details"]["Severity"], "Critical");
    assert!(body["payload"]["custom_details"]["Deadline"].is_string(), "{body}");

    // The escalation, two days after the breach, goes to the same incident.
    app.clock.advance(TimeDelta::hours(48));
    app.run_due_jobs().await;
    let sent = events(&pager, 2).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (
            sent[1].json()["event_action"].clone(),
            sent[1].json()["dedup_key"].clone(),
            sent[1].json()["payload"]["class"].clone()
        ),
        (json!("trigger"), json!(dedup_key), json!("sla_breach_escalation"))
    );

    // Mitigation resolves it: only the key and the action.
    let mitigate = "mutation($id: ID!) { mitigateFinding(id: $id) { slaState } }";
    assert_eq!(app.admin(mitigate, json!({ "id": id })).await.data()["mitigateFinding"]["slaState"], "MISSED");
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    let sent = events(&pager, 3).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2].json(), json!({ "routing_key": KEY, "event_action": "resolve", "dedup_key": dedup_key }));
    let log =
        app.admin("{ deliveries(filter: {channel: PAGER}) { edges { node { status target } } } }", json!({})).await;
    let statuses: Vec<_> =
        log.data()["deliveries"]["edges"].as_array().expect("log").iter().map(|e| e["node"].clone()).collect();
    assert_eq!(statuses, vec![json!({ "status": "DELIVERED", "target": "pager" }); 3]);
}

#[tokio::test]
async fn the_pager_is_a_system_channel_for_sla_breaches_and_its_key_is_write_only() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let bad = [
        json!({ "scope": "PERSONAL", "event": "SLA_BREACH", "channels": ["PAGER"] }),
        json!({ "scope": "TEMPLATE", "event": "SLA_BREACH", "channels": ["PAGER"] }),
        json!({ "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["PAGER"] }),
        json!({ "scope": "SYSTEM", "event": "OTHER", "channels": ["PAGER"] }),
    ];
    for input in bad {
        assert_eq!(app.admin(SET, json!({ "i": input })).await.code(), "BAD_USER_INPUT", "{input}");
    }
    let settings = "mutation($i: SystemSettingsInput!) { updateSystemSettings(input: $i) { pagerRoutingKeySet } }";
    for input in [
        json!({ "pagerRoutingKey": "not a key!" }),
        json!({ "pagerEventsUrl": "ftp://events.example/" }),
        json!({ "pagerRoutingKey": "k".repeat(65) }),
    ] {
        assert_eq!(app.admin(settings, json!({ "i": input })).await.code(), "BAD_USER_INPUT", "{input}");
    }
    let (_, otto) = app.user("otto").await;
    let theirs = app.gql(Some(&otto), settings, json!({ "i": { "pagerRoutingKey": KEY } })).await;
    assert_eq!(theirs.code(), "FORBIDDEN");
    app.admin(settings, json!({ "i": { "pagerRoutingKey": KEY } })).await.data();
    let shown = app.admin("{ systemSettings { pagerRoutingKeySet pagerEventsUrl } }", json!({})).await;
    assert_eq!(shown.data()["systemSettings"], json!({ "pagerRoutingKeySet": true, "pagerEventsUrl": null }));
    assert!(!shown.0.to_string().contains(KEY), "the key is never returned");
    let test = app.admin("mutation { sendTestNotification(channel: PAGER) { delivered } }", json!({})).await;
    assert_eq!(test.code(), "BAD_USER_INPUT", "a test page would wake someone");
    assert!(test.message().contains("PAGER has no test message"), "{}", test.message());
}
