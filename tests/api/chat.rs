//! Slack and Microsoft Teams, against local servers that check method, path, auth and body.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::receiver::{Receiver, Reply};

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

async fn slack_app(receiver: &Receiver) -> TestApp {
    let api = receiver.url.clone();
    let app = spawn_app_with(|config| config.slack_api_url = api).await;
    app.admin("mutation { updateSystemSettings(input: {enableSlack: true, slackToken: \"xoxb-test-token\", slackChannel: \"#security\"}) { slackTokenSet } }", json!({}))
        .await
        .data();
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["SLACK"] } })).await.data();
    app.admin(SET, json!({ "i": { "scope": "PERSONAL", "event": "PRODUCT_ADDED", "channels": ["SLACK"] } }))
        .await
        .data();
    app
}

async fn statuses(app: &TestApp, channel: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let query = format!("{{ deliveries(filter: {{channel: {channel}}}) {{ edges {{ node {{ status }} }} }} }}");
    let read = |d: &Value| -> Vec<String> {
        d["deliveries"]["edges"].as_array().map_or_else(Vec::new, |e| {
            e.iter().filter_map(|n| n["node"]["status"].as_str().map(str::to_owned)).collect()
        })
    };
    read(&app.eventually_admin(&query, |d| done(&read(d))).await)
}

#[tokio::test]
async fn slack_posts_to_the_system_channel_and_to_a_user_found_once_by_email() {
    let receiver = Receiver::start_json(vec![], json!({ "ok": true, "user": { "id": "U0CHEERY" } })).await;
    let app = slack_app(&receiver).await;
    app.product("Royal-Bank-Integration").await;
    app.product("Portal").await;
    let done = statuses(&app, "SLACK", |s| s.len() == 4 && s.iter().all(|x| x == "DELIVERED")).await;
    assert_eq!(done, ["DELIVERED"; 4]);
    let requests = receiver.received();
    assert!(requests.iter().all(|r| r.header("authorization") == Some("Bearer xoxb-test-token")));
    let lookups: Vec<_> = requests.iter().filter(|r| r.path.starts_with("/users.lookupByEmail")).collect();
    assert_eq!(lookups.len(), 1, "looked up once, then cached");
    assert_eq!(lookups[0].method, "GET");
    assert_eq!(lookups[0].path, "/users.lookupByEmail?email=admin%40localhost.localdomain");
    let posts: Vec<Value> = requests
        .iter()
        .filter(|r| r.path == "/chat.postMessage")
        .map(|r| {
            assert_eq!(r.method, "POST");
            r.json()
        })
        .collect();
    assert_eq!(posts.len(), 4);
    let channels: Vec<&str> = posts.iter().filter_map(|p| p["channel"].as_str()).collect();
    assert_eq!(channels.iter().filter(|c| **c == "#security").count(), 2);
    assert_eq!(channels.iter().filter(|c| **c == "U0CHEERY").count(), 2);
    assert!(posts[0]["text"].as_str().is_some_and(|t| t.starts_with("*Product Royal-Bank-Integration added*\n")));
}

#[tokio::test]
async fn slack_rate_limits_are_waited_out_and_refusals_are_final() {
    let receiver = Receiver::start_json(
        vec![Reply::StatusWithRetryAfter(429, "90"), Reply::Json(json!({ "ok": false, "error": "channel_not_found" }))],
        json!({ "ok": true, "user": { "id": "U1" } }),
    )
    .await;
    let app = slack_app(&receiver).await;
    app.admin(SET, json!({ "i": { "scope": "PERSONAL", "event": "PRODUCT_ADDED", "channels": [] } })).await.data();
    app.admin(SET, json!({ "i": { "scope": "PERSONAL", "event": "OTHER", "channels": [] } })).await.data();
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_TYPE_ADDED", "channels": [] } })).await.data();
    app.product("Portal").await;
    let query =
        "{ deliveries(filter: {channel: SLACK}) { edges { node { status attempts lastError nextAttemptAt } } } }";
    let limited = app.eventually_admin(query, |d| d["deliveries"]["edges"][0]["node"]["attempts"] == 1).await;
    let node = &limited["deliveries"]["edges"][0]["node"];
    assert_eq!(node["status"], "RETRYING");
    let wait = crate::helpers::at(node["nextAttemptAt"].as_str().expect("instant")) - app.clock.now();
    assert!(wait >= TimeDelta::seconds(90));
    app.clock.advance(TimeDelta::minutes(5));
    app.state.wake_delivery();
    let refused = app.eventually_admin(query, |d| d["deliveries"]["edges"][0]["node"]["attempts"] == 2).await;
    let node = &refused["deliveries"]["edges"][0]["node"];
    assert_eq!(
        (node["status"].clone(), node["lastError"].clone()),
        (json!("DEAD"), json!("Slack refused: channel_not_found"))
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_in_the_workflows_format() {
    let receiver = Receiver::start(vec![Reply::Status(202)]).await;
    let app = spawn_app_with(|_| {}).await;
    app.admin("mutation($u: String!) { updateSystemSettings(input: {enableMsteams: true, msteamsUrl: $u}) { msteamsUrlSet } }", json!({ "u": format!("{}/workflows/abc", receiver.url) }))
        .await
        .data();
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["MSTEAMS"] } }))
        .await
        .data();
    app.product("Royal-Bank-Integration").await;
    let requests = receiver.wait_for(1).await;
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/workflows/abc"));
    let body = requests[0].json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(attachment["content"]["type"], "AdaptiveCard");
    assert_eq!(attachment["content"]["body"][0]["text"], "Product Royal-Bank-Integration added");
    assert_eq!(attachment["content"]["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(statuses(&app, "MSTEAMS", |s| s == ["DELIVERED"]).await, ["DELIVERED"]);
}
