//! "Send test" for each channel: sent at once, the outcome returned.

use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::receiver::{Receiver, Reply};
use crate::smtp_sink::SmtpSink;

const SEND: &str = "mutation($c: NotificationChannel!, $t: String) { sendTestNotification(channel: $c, target: $t) { delivered error } }";

#[tokio::test]
async fn each_channel_can_be_tested_and_says_how_it_went() {
    let sink = SmtpSink::start().await;
    let slack = Receiver::start_json(vec![], json!({ "ok": true })).await;
    let teams = Receiver::start(vec![Reply::Status(500)]).await;
    let hook = Receiver::start(vec![]).await;
    let (mail_url, slack_url) = (sink.url(), slack.url.clone());
    let app = spawn_app_with(|config| {
        config.email_url = Some(mail_url);
        config.slack_api_url = slack_url;
    })
    .await;
    app.admin(
        "mutation($t: String!) { updateSystemSettings(input: {slackToken: \"xoxb-t\", slackChannel: \"#security\", msteamsUrl: $t}) { slackTokenSet } }",
        json!({ "t": teams.url }),
    )
    .await
    .data();
    let ok = json!({ "delivered": true, "error": null });
    let test = |channel: &str, target: Option<&str>| {
        let app = &app;
        let variables = json!({ "c": channel, "t": target });
        async move { app.admin(SEND, variables).await.data()["sendTestNotification"].clone() }
    };
    assert_eq!(test("ALERT", None).await, ok);
    assert_eq!(app.alert_titles(&app.admin_token, 1).await, ["Test notification from slawatch"]);
    assert_eq!(test("MAIL", Some("cheery@golemtrust.am")).await, ok);
    assert_eq!(sink.wait_for(1).await[0].to, ["cheery@golemtrust.am"]);
    assert_eq!(test("SLACK", None).await, ok);
    assert_eq!(slack.received()[0].json()["channel"], "#security");
    assert_eq!(
        test("MSTEAMS", None).await,
        json!({ "delivered": false, "error": "the receiver answered 500 Internal Server Error" })
    );
    let created = app
        .admin(
            "mutation($u: String!) { createWebhook(input: {name: \"Graylog\", url: $u}) { id } }",
            json!({ "u": hook.url }),
        )
        .await;
    let id = created.data()["createWebhook"]["id"].as_str().expect("id").to_owned();
    let tested =
        app.admin("mutation($id: ID!) { testWebhook(id: $id) { delivered error } }", json!({ "id": id })).await;
    assert_eq!(tested.data()["testWebhook"], ok);
    assert_eq!(hook.received()[0].json()["title"], "Test notification from slawatch");
    assert_eq!(
        app.admin("{ deliveries { totalCount } }", json!({})).await.data()["deliveries"]["totalCount"],
        0,
        "tests are not queued"
    );
}

#[tokio::test]
async fn only_alerts_can_be_tested_by_everyone() {
    let app = spawn_app_with(|_| {}).await;
    let (_, otto) = app.user("otto").await;
    let alert = app.gql(Some(&otto), SEND, json!({ "c": "ALERT" })).await;
    assert_eq!(alert.data()["sendTestNotification"]["delivered"], true);
    let mail = app.gql(Some(&otto), SEND, json!({ "c": "MAIL", "t": "someone@example.test" })).await;
    assert_eq!(mail.code(), "FORBIDDEN");
    let bad = app.admin(SEND, json!({ "c": "MAIL", "t": "not-an-address" })).await;
    assert_eq!(bad.code(), "BAD_USER_INPUT");
    let unknown = app.admin("mutation { testWebhook(id: \"42\") { delivered } }", json!({})).await;
    assert_eq!(unknown.code(), "NOT_FOUND");
}
