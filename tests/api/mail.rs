//! Mail through a real SMTP conversation with a local SMTP server.

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::smtp_sink::SmtpSink;

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

async fn route_product_added_to_mail(app: &crate::helpers::TestApp) {
    app.admin(
        "mutation { updateSystemSettings(input: {enableMail: true, teamName: \"Golem Trust\"}) { enableMail } }",
        json!({}),
    )
    .await
    .data();
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am"] } }))
        .await
        .data();
}

#[tokio::test]
async fn a_notification_is_mailed_over_smtp_as_multipart_text_and_html() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|config| config.email_url = Some(url)).await;
    route_product_added_to_mail(&app).await;
    app.product("Royal-Bank").await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "one mail: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.from, "defectdojo@golemtrust.am");
    assert_eq!(mail.to, ["security-team@golemtrust.am"]);
    assert!(mail.data.contains("Subject: Golem Trust notification: Product Royal-Bank added"), "{}", mail.data);
    assert!(mail.data.contains("multipart/alternative"));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    let log =
        app.admin("{ deliveries(filter: {channel: MAIL}) { edges { node { status deliveryKey } } } }", json!({})).await;
    let node = &log.data()["deliveries"]["edges"][0]["node"];
    assert!(mail.data.contains(&format!("X-Slawatch-Delivery: {}", node["deliveryKey"].as_str().expect("key"))));
    let delivered = app
        .eventually_admin("{ deliveries(filter: {channel: MAIL}) { edges { node { status } } } }", |d| {
            d["deliveries"]["edges"][0]["node"]["status"] == "DELIVERED"
        })
        .await;
    assert_eq!(delivered["deliveries"]["edges"][0]["node"]["status"], "DELIVERED");
}

#[tokio::test]
async fn when_the_smtp_server_is_down_the_mail_waits_and_arrives_once_it_is_up() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("address").port()
    };
    let url = format!("smtp://127.0.0.1:{port}/?from=defectdojo@golemtrust.am");
    let app = spawn_app_with(|config| config.email_url = Some(url)).await;
    route_product_added_to_mail(&app).await;
    app.product("Portal").await;
    let failed = app
        .eventually(
            &app.admin_token,
            "{ deliveries(filter: {channel: MAIL}) { edges { node { status attempts lastError } } } }",
            |d| d["deliveries"]["edges"][0]["node"]["status"] == "RETRYING",
        )
        .await;
    let node = &failed["deliveries"]["edges"][0]["node"];
    assert_eq!((node["status"].clone(), node["attempts"].clone()), (json!("RETRYING"), json!(1)));
    assert!(node["lastError"].as_str().is_some_and(|e| e.starts_with("mail not sent")), "{node}");

    let sink = SmtpSink::start_on(port).await;
    app.clock.advance(TimeDelta::minutes(10));
    app.state.wake_delivery();
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["security-team@golemtrust.am"]);
    let delivered = app
        .eventually(
            &app.admin_token,
            "{ deliveries(filter: {channel: MAIL}) { edges { node { status attempts } } } }",
            |d| d["deliveries"]["edges"][0]["node"]["status"] == "DELIVERED",
        )
        .await;
    assert_eq!(delivered["deliveries"]["edges"][0]["node"], json!({ "status": "DELIVERED", "attempts": 2 }));
}

#[test]
fn an_invalid_dd_email_url_stops_start_up_with_a_clear_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .arg("migrate")
        .env("DD_EMAIL_URL", "http://user:hunter2@mail.golems.internal/")
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DD_EMAIL_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"));
}

#[tokio::test]
async fn the_smtp_server_is_set_and_changed_through_the_api_without_a_restart() {
    let first = SmtpSink::start().await;
    let second = SmtpSink::start().await;
    let app = crate::helpers::spawn_app_without_scheduler(|_| {}).await;
    let settings =
        "mutation($i: SystemSettingsInput!) { updateSystemSettings(input: $i) { enableMail smtpUrl smtpConfigured } }";
    let refused = app.admin(settings, json!({ "i": { "enableMail": true } })).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT", "no server yet");
    for bad in ["http://mail.golems.internal/", "smtp://mail.golems.internal/?from=not-an-address", "not a url"] {
        let refused = app.admin(settings, json!({ "i": { "smtpUrl": bad } })).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{bad}");
        assert!(refused.message().starts_with("smtpUrl"), "{}", refused.message());
    }
    let set = app.admin(settings, json!({ "i": { "enableMail": true, "smtpUrl": first.url() } })).await;
    assert_eq!(set.data()["updateSystemSettings"]["smtpConfigured"], true);

    // A test send says what the server answered.
    let test =
        "mutation { sendTestNotification(channel: MAIL, target: \"otto@golemtrust.am\") { delivered error answer } }";
    let answered = app.admin(test, json!({})).await;
    assert_eq!(
        answered.data()["sendTestNotification"],
        json!({ "delivered": true, "error": null, "answer": "250 queued" })
    );
    assert_eq!(first.wait_for(1).await[0].to, ["otto@golemtrust.am"]);

    route_product_added_to_mail(&app).await;
    app.product("Portal").await;
    app.run_due_jobs().await;
    assert_eq!(first.wait_for(2).await.len(), 2, "the product's mail went to the first server");

    // Another server from now on, in the same process.
    app.admin(settings, json!({ "i": { "smtpUrl": second.url() } })).await.data();
    app.product("Clacks").await;
    app.run_due_jobs().await;
    let mails = second.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].data.contains("Product Clacks added"), "{}", mails[0].data);
    assert_eq!(first.wait_for(2).await.len(), 2, "nothing more for the first server");

    // A server that is not there: the test send says why.
    let gone = format!("smtp://127.0.0.1:{}/?from=defectdojo@golemtrust.am", closed_port());
    app.admin(settings, json!({ "i": { "smtpUrl": gone } })).await.data();
    let failed = app.admin(test, json!({})).await;
    assert_eq!(failed.data()["sendTestNotification"]["delivered"], false);
    assert!(failed.data()["sendTestNotification"]["error"].as_str().is_some_and(|e| e.starts_with("mail not sent")));
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    probe.local_addr().expect("address").port()
}
