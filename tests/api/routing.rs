//! Conditions on notification settings: the runbook's on-call routing by severity and product, checked at a
//! real SMTP server, and what a condition may name.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_without_scheduler};
use crate::receiver::Receiver;
use crate::smtp_sink::SmtpSink;

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) {
    event channels emails severities productIds productTypeIds configured } }";

async fn set(app: &TestApp, input: Value) -> Value {
    app.admin(SET, json!({ "i": input })).await.data()["setNotificationSetting"].clone()
}

/// Who got a mail whose subject names `title`.
fn recipients_of(mails: &[crate::smtp_sink::Mail], title: &str) -> BTreeSet<String> {
    mails.iter().filter(|m| m.data.contains(title)).flat_map(|m| m.to.iter().cloned()).collect()
}

#[tokio::test]
async fn a_critical_breach_pages_and_mails_cheery_a_high_one_mails_the_team_and_the_liaison_gets_the_banks() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let pager = Receiver::start(vec![]).await;
    let app = spawn_app_without_scheduler(|config| config.email_url = Some(url)).await;
    let switches = "mutation($u: String!) { updateSystemSettings(input: {enableMail: true, enablePager: true,
        pagerRoutingKey: \"R0UTINGKEY0123456789abcdef012345\", pagerEventsUrl: $u}) { enableMail enablePager } }";
    app.admin(switches, json!({ "u": format!("{}/v2/enqueue", pager.url) })).await.data();
    let portal = app.product("Golem-Trust-Portal").await;
    let royal = app.product("Royal-Bank-Integration").await;

    let critical = set(
        &app,
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL", "PAGER"], "emails": ["cheery@golemtrust.am"], "severities": ["CRITICAL"] }),
    )
    .await;
    assert_eq!(critical["severities"], json!(["CRITICAL"]));
    set(&app, json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am"], "severities": ["HIGH"] })).await;
    let bank = set(
        &app,
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["liaison@royalbank.am"], "productIds": [royal] }),
    )
    .await;
    assert_eq!((bank["productIds"].clone(), bank["severities"].clone()), (json!([royal]), json!([])));

    // The plain SLA_BREACH setting (unset) is listed first, then the three conditional ones.
    let listed = app
        .admin("{ notificationSettings(scope: SYSTEM) { event severities productIds emails configured } }", json!({}))
        .await;
    let breach: Vec<&Value> = listed.data()["notificationSettings"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|s| s["event"] == "SLA_BREACH")
        .collect();
    assert_eq!(breach.len(), 4, "{breach:?}");
    assert_eq!(breach[0]["configured"], json!(false));
    assert!(breach[1..].iter().all(|s| s["configured"] == json!(true)));

    for (product, title, severity) in [
        (&portal, "RCE in the login form", "CRITICAL"),
        (&portal, "Stored XSS in comments", "HIGH"),
        (&royal, "Payment replay", "CRITICAL"),
        (&royal, "Weak TLS on the bank link", "HIGH"),
        (&portal, "Verbose banner", "LOW"),
    ] {
        app.finding(json!({ "productId": product, "title": title, "severity": severity })).await;
    }
    app.clock.advance(TimeDelta::days(200));
    app.run_due_jobs().await;
    let mails = sink.wait_for(6).await;
    let to = |addresses: &[&str]| addresses.iter().map(|a| (*a).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(recipients_of(&mails, "RCE in the login form"), to(&["cheery@golemtrust.am"]));
    assert_eq!(recipients_of(&mails, "Stored XSS in comments"), to(&["security-team@golemtrust.am"]));
    assert_eq!(recipients_of(&mails, "Payment replay"), to(&["cheery@golemtrust.am", "liaison@royalbank.am"]));
    assert_eq!(
        recipients_of(&mails, "Weak TLS on the bank link"),
        to(&["liaison@royalbank.am", "security-team@golemtrust.am"])
    );
    assert_eq!(recipients_of(&mails, "Verbose banner"), BTreeSet::new(), "no setting holds for a Low breach");
    assert_eq!(mails.len(), 6, "one mail per recipient and breach");
    // Only the Critical breaches paged: one incident each.
    let incidents = pager.wait_for(2).await;
    let paged_findings: BTreeSet<String> = incidents
        .iter()
        .map(|page| page.json()["payload"]["component"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(paged_findings, to(&["Payment replay", "RCE in the login form"]));
    assert_eq!(pager.wait_for_within(3, std::time::Duration::from_millis(300)).await.len(), 2, "no High page");
    let rce = mails.iter().find(|m| m.data.contains("RCE in the login form")).expect("the RCE mail");
    assert_eq!(
        rce.subject(),
        "slawatch notification: [Critical] SLA breached: RCE in the login form — Golem-Trust-Portal"
    );

    // A conditional setting that sends nothing is taken away; the others stay.
    let removed =
        set(&app, json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": [], "severities": ["HIGH"] })).await;
    assert_eq!(removed["configured"], json!(false));
    let listed = app.admin("{ notificationSettings(scope: SYSTEM) { event severities configured } }", json!({})).await;
    let left: Vec<Value> = listed.data()["notificationSettings"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|s| s["event"] == "SLA_BREACH" && s["configured"] == json!(true))
        .map(|s| s["severities"].clone())
        .collect();
    assert_eq!(left, [json!([]), json!(["CRITICAL"])], "the product condition (no severities) sorts first by key");
}

#[tokio::test]
async fn a_condition_names_existing_products_only_where_a_setting_reaches_several() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let royal = app.product("Royal-Bank-Integration").await;
    let kind = app.product_type("Customer integrations").await;
    let (_, otto) = app.user("otto").await;
    let code = |response: crate::helpers::Gql| response.code();
    let bad = [
        json!({ "scope": "PERSONAL", "event": "SLA_BREACH", "channels": ["ALERT"], "productIds": [royal] }),
        json!({ "scope": "PRODUCT", "productId": royal, "event": "SLA_BREACH", "channels": ["MAIL"], "productTypeIds": [kind] }),
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "productIds": ["99999"] }),
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "productTypeIds": ["99999"] }),
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "productIds": ["not-an-id"] }),
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "productIds": vec![royal.clone(); 101] }),
        json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "severities": ["URGENT"] }),
    ];
    for input in bad {
        let response = app.admin(SET, json!({ "i": input })).await;
        assert_eq!(code(response), "BAD_USER_INPUT", "{input}");
    }
    let listed = app.admin("{ notificationSettings(scope: SYSTEM) { configured } }", json!({})).await;
    assert!(
        listed.data()["notificationSettings"].as_array().expect("list").iter().all(|s| s["configured"] == json!(false))
    );

    // Severities are a condition at every scope; a user sets their own, not the system's.
    let own = app
        .gql(Some(&otto), SET, json!({ "i": { "scope": "PERSONAL", "event": "SLA_BREACH", "channels": ["MAIL"], "severities": ["CRITICAL"] } }))
        .await;
    assert_eq!(own.data()["setNotificationSetting"]["severities"], json!(["CRITICAL"]));
    let system = app
        .gql(Some(&otto), SET, json!({ "i": { "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "severities": ["CRITICAL"] } }))
        .await;
    assert_eq!(system.code(), "FORBIDDEN");
    // The template's conditions, product ones included, are copied to a new user.
    set(&app, json!({ "scope": "TEMPLATE", "event": "SLA_BREACH", "channels": ["ALERT"], "productTypeIds": [kind] }))
        .await;
    let (nobby_id, _) = app.user("nobby").await;
    let copied = app
        .admin(&format!("{{ notificationSettings(scope: PERSONAL, userId: \"{nobby_id}\") {{ event productTypeIds configured }} }}"), json!({}))
        .await;
    let conditional: Vec<&Value> = copied.data()["notificationSettings"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|s| s["configured"] == json!(true))
        .collect();
    assert_eq!(conditional.len(), 1);
    assert_eq!(conditional[0]["productTypeIds"], json!([kind]));
}
