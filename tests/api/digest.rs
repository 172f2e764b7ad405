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
