//! `SLA_BREACH_COMBINED`: one message per product and sweep listing what reached an SLA moment, beside the
//! per-finding messages, checked at a real SMTP server.

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::spawn_app_without_scheduler;
use crate::smtp_sink::SmtpSink;

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

#[tokio::test]
async fn fifty_breaches_in_one_sweep_are_one_digest_for_its_recipient_and_fifty_mails_for_the_others() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_without_scheduler(|config| config.email_url = Some(url)).await;
    app.admin("mutation { updateSystemSettings(input: {enableMail: true}) { enableMail } }", json!({})).await.data();
    for (event, email) in
        [("SLA_BREACH", "security-team@golemtrust.am"), ("SLA_BREACH_COMBINED", "cheery@golemtrust.am")]
    {
        let input = json!({ "scope": "SYSTEM", "event": event, "channels": ["MAIL"], "emails": [email] });
        app.admin(SET, json!({ "i": input })).await.data();
    }
    let bank = app.product("Royal-Bank-Integration").await;
    let portal = app.product("Golem-Trust-Portal").await;
    for i in 0..50 {
        app.finding(
            json!({ "productId": bank, "title": format!("Finding {i:02} of the bank"), "severity": "CRITICAL" }),
        )
        .await;
    }
    app.finding(json!({ "productId": portal, "title": "The portal's one", "severity": "CRITICAL" })).await;
    // Past the Critical deadline (a day), not yet the escalation: one breach each.
    app.clock.advance(TimeDelta::hours(25));
    app.run_due_jobs().await;
    let mails = sink.wait_for(53).await;
    let to = |address: &str| mails.iter().filter(|m| m.to == [address]).collect::<Vec<_>>();
    assert_eq!(to("security-team@golemtrust.am").len(), 51, "one mail per breach");
    let digests = to("cheery@golemtrust.am");
    assert_eq!(digests.len(), 2, "one digest per product");
    let text = |mail: &crate::smtp_sink::Mail| mail.data.replace("=\r\n", "").replace("=\n", "");
    let bank_digest =
        digests.iter().map(|m| text(m)).find(|t| t.contains("Royal-Bank-Integration")).expect("the bank's");
    assert!(bank_digest.contains("SLA digest: 50 findings of Royal-Bank-Integration"), "{bank_digest}");
    for i in 0..50 {
        assert!(bank_digest.contains(&format!("Finding {i:02} of the bank")), "finding {i} listed");
    }
    assert!(!bank_digest.contains("The portal's one"), "each product its own digest");

    // Running the sweep again sends nothing more.
    app.run_due_jobs().await;
    let log = app.admin("{ deliveries(filter: {event: SLA_BREACH_COMBINED}) { totalCount } }", json!({})).await;
    assert_eq!(log.data()["deliveries"]["totalCount"], 2, "only to whoever chose the digest: no default alerts");
}

#[tokio::test]
async fn the_daily_digest_comes_once_at_its_hour_with_the_days_breaches() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_without_scheduler(|config| config.email_url = Some(url)).await;
    app.admin("mutation { updateSystemSettings(input: {enableMail: true}) { enableMail } }", json!({})).await.data();
    let daily = json!({ "scope": "SYSTEM", "event": "SLA_BREACH_COMBINED", "channels": ["MAIL"],
        "emails": ["cheery@golemtrust.am"], "digest": "DAILY" });
    let set =
        "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { dailyDigest configured } }";
    assert_eq!(app.admin(set, json!({ "i": daily })).await.data()["setNotificationSetting"]["dailyDigest"], true);
    let wrong = json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "digest": "DAILY" });
    assert_eq!(app.admin(set, json!({ "i": wrong })).await.code(), "BAD_USER_INPUT", "DAILY is the digest's choice");

    app.clock.set(crate::helpers::at("2026-03-02T05:00:00Z"));
    let bank = app.product("Royal-Bank-Integration").await;
    for i in 0..5 {
        app.finding(json!({ "productId": bank, "title": format!("Daily finding {i}"), "severity": "CRITICAL" })).await;
    }
    // Each crosses 50 % at 17:00, 10 % at 02:36 and breaches at 05:00 on 3 March: the 24 hours before 3 March
    // 07:00. Just before that hour the sweep has sent them, and its own digest went to nobody (the setting
    // wants the daily one).
    app.clock.set(crate::helpers::at("2026-03-03T06:59:00Z"));
    app.run_due_jobs().await;
    let digests = "{ deliveries(filter: {event: SLA_BREACH_COMBINED, channel: MAIL}) { totalCount } }";
    assert_eq!(app.admin(digests, json!({})).await.data()["deliveries"]["totalCount"], 0, "nothing before 07:00");
    app.clock.set(crate::helpers::at("2026-03-03T07:00:30Z"));
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    app.clock.set(crate::helpers::at("2026-03-03T15:00:00Z"));
    app.run_due_jobs().await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "once a day");
    assert_eq!(app.admin(digests, json!({})).await.data()["deliveries"]["totalCount"], 1, "once a day");
    assert_eq!(mails[0].to, ["cheery@golemtrust.am"]);
    let text = mails[0].data.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("Daily SLA digest: 5 findings of Royal-Bank-Integration"), "{text}");
    for i in 0..5 {
        assert!(text.contains(&format!("Daily finding {i}")));
    }
}
