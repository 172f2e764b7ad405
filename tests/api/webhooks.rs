//! Webhook delivery to a local receiver: headers, signature and GELF body; faults, retries and endpoint
//! health.

use std::fmt::Write;
use std::time::Duration;

use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::receiver::{Receiver, Reply};

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

/// Creates a webhook and routes `product_added` to it; returns its id.
async fn route_to_webhook(app: &TestApp, input: Value) -> String {
    app.admin(
        "mutation { updateSystemSettings(input: {enableWebhooks: true, webhookTimeoutSeconds: 1}) { enableWebhooks } }",
        json!({}),
    )
    .await
    .data();
    let created =
        app.admin("mutation($i: WebhookInput!) { createWebhook(input: $i) { id } }", json!({ "i": input })).await;
    let id = created.data()["createWebhook"]["id"].as_str().expect("id").to_owned();
    app.admin(
        SET,
        json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["WEBHOOK"], "webhookIds": [id] } }),
    )
    .await
    .data();
    id
}

async fn webhook_state(app: &TestApp) -> Value {
    app.admin("{ webhooks { status firstErrorAt lastErrorAt note } }", json!({})).await.data()["webhooks"][0].clone()
}

async fn delivery_after(app: &TestApp, attempts: u64) -> Value {
    let query = "{ deliveries(filter: {channel: WEBHOOK}) { edges { node { id status attempts lastError nextAttemptAt deliveryKey } } } }";
    let data = app
        .eventually_admin(query, |d| d["deliveries"]["edges"][0]["node"]["attempts"].as_u64() >= Some(attempts))
        .await;
    data["deliveries"]["edges"][0]["node"].clone()
}

#[tokio::test]
async fn a_gelf_webhook_gets_the_headers_the_signature_and_the_graylog_fields() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    route_to_webhook(
        &app,
        json!({ "name": "Graylog", "url": format!("{}/gelf", receiver.url), "format": "GELF", "source": "defectdojo",
                "headerName": "X-Graylog-Token", "headerValue": "graylog-secret", "hmacSecret": "hmac-secret" }),
    )
    .await;
    app.product("Royal-Bank-Integration").await;
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/gelf"));
    assert_eq!(request.header("user-agent"), Some(concat!("slawatch/", env!("CARGO_PKG_VERSION"))));
    assert_eq!(request.header("x-defectdojo-event"), Some("product_added"));
    assert_eq!(request.header("x-slawatch-event"), Some("product_added"));
    assert_eq!(request.header("x-graylog-token"), Some("graylog-secret"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hmac-secret").expect("key");
    mac.update(&request.body);
    let expected = mac.finalize().into_bytes().iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    assert_eq!(request.header("x-slawatch-signature"), Some(format!("sha256={expected}").as_str()));
    let body = request.json();
    assert_eq!(body["version"], "1.1");
    assert_eq!(body["host"], "defectdojo");
    assert_eq!(body["short_message"], "Product Royal-Bank-Integration added");
    assert_eq!(body["_event"], "product_added");
    assert_eq!(body["_product"], "Royal-Bank-Integration");
    let delivery = delivery_after(&app, 1).await;
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(request.header("x-slawatch-delivery"), delivery["deliveryKey"].as_str());
}

#[tokio::test]
async fn a_json_webhook_gets_defectdojos_keys() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    route_to_webhook(&app, json!({ "name": "Receiver", "url": receiver.url })).await;
    app.admin(
        "mutation { updateSystemSettings(input: {disclaimer: \"Internal use only\"}) { disclaimer } }",
        json!({}),
    )
    .await
    .data();
    app.product("Portal").await;
    let body = receiver.wait_for(1).await[0].json();
    assert_eq!(body["title"], "Product Portal added");
    assert_eq!(body["event"], "product_added");
    assert_eq!(body["disclaimer"], "Internal use only");
    assert_eq!(body["product"]["name"], "Portal");
    for key in ["description", "url_ui", "url_api", "user"] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    assert!(receiver.received()[0].header("x-slawatch-signature").is_none(), "no secret, no signature");
}

#[tokio::test]
async fn after_500_429_and_a_timeout_the_message_arrives_once_and_the_endpoint_recovers() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![
        Reply::Status(500),
        Reply::StatusWithRetryAfter(429, "7200"),
        Reply::Hang(Duration::from_secs(3)),
    ])
    .await;
    route_to_webhook(&app, json!({ "name": "Flaky", "url": receiver.url })).await;
    app.product("Portal").await;

    let first = delivery_after(&app, 1).await;
    assert_eq!(
        (first["status"].clone(), first["lastError"].clone()),
        (json!("RETRYING"), json!("the receiver answered 500 Internal Server Error"))
    );
    let health = webhook_state(&app).await;
    assert_eq!(health["status"], "ACTIVE_TMP");
    assert!(health["firstErrorAt"].is_string());

    app.clock.advance(TimeDelta::hours(2));
    app.state.wake_delivery();
    let second = delivery_after(&app, 2).await;
    assert_eq!(second["lastError"], "the receiver answered 429 Too Many Requests");
    let wait = crate::helpers::at(second["nextAttemptAt"].as_str().expect("instant")) - app.clock.now();
    assert!(wait >= TimeDelta::seconds(7200), "Retry-After is honoured: {wait}");
    assert_eq!(webhook_state(&app).await["status"], "INACTIVE_TMP");

    app.clock.advance(TimeDelta::hours(3));
    app.state.wake_delivery();
    let third = delivery_after(&app, 3).await;
    assert_eq!(third["lastError"], "the receiver timed out");
    assert_eq!(webhook_state(&app).await["status"], "INACTIVE_TMP");

    app.clock.advance(TimeDelta::hours(3));
    app.state.wake_delivery();
    let fourth = delivery_after(&app, 4).await;
    assert_eq!(fourth["status"], "DELIVERED");
    let health = webhook_state(&app).await;
    assert_eq!((health["status"].clone(), health["firstErrorAt"].clone()), (json!("ACTIVE"), Value::Null));
    assert_eq!(health["note"], "the receiver timed out", "the last error stays on record");
    let requests = receiver.received();
    assert_eq!(requests.len(), 4, "one request per attempt, the last one answered 200");
    assert!(
        requests.iter().all(|r| r.header("x-slawatch-delivery") == fourth["deliveryKey"].as_str()),
        "the same delivery id every time"
    );
}

#[tokio::test]
async fn a_client_error_disables_the_endpoint_until_it_is_updated() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![Reply::Status(410)]).await;
    let id = route_to_webhook(&app, json!({ "name": "Gone", "url": receiver.url })).await;
    app.product("Portal").await;
    let dead = delivery_after(&app, 1).await;
    assert_eq!(
        (dead["status"].clone(), dead["lastError"].clone()),
        (json!("DEAD"), json!("the receiver answered 410 Gone"))
    );
    assert_eq!(webhook_state(&app).await["status"], "INACTIVE_PERMANENT");
    let retried =
        app.admin("mutation($id: ID!) { retryDelivery(id: $id) { status } }", json!({ "id": dead["id"] })).await;
    assert_eq!(retried.data()["retryDelivery"]["status"], "PENDING");
    let refused = app
        .eventually_admin("{ deliveries(filter: {channel: WEBHOOK}) { edges { node { status lastError } } } }", |d| {
            d["deliveries"]["edges"][0]["node"]["status"] == "DEAD"
        })
        .await;
    assert!(
        refused["deliveries"]["edges"][0]["node"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("INACTIVE_PERMANENT"))
    );
    assert_eq!(receiver.received().len(), 1, "an inactive endpoint is not called");
    app.admin(
        "mutation($id: ID!) { updateWebhook(id: $id, input: {url: \"http://127.0.0.1:9/unused\"}) { status } }",
        json!({ "id": id }),
    )
    .await
    .data();
    app.admin(
        "mutation($id: ID!, $u: String!) { updateWebhook(id: $id, input: {url: $u}) { status } }",
        json!({ "id": id, "u": receiver.url }),
    )
    .await
    .data();
    assert_eq!(webhook_state(&app).await["status"], "ACTIVE");
    app.admin("mutation($id: ID!) { retryDelivery(id: $id) { status } }", json!({ "id": dead["id"] })).await.data();
    receiver.wait_for(2).await;
    let delivered = app
        .eventually_admin("{ deliveries(filter: {channel: WEBHOOK}) { edges { node { status } } } }", |d| {
            d["deliveries"]["edges"][0]["node"]["status"] == "DELIVERED"
        })
        .await;
    assert_eq!(delivered["deliveries"]["edges"][0]["node"]["status"], "DELIVERED");
}

#[tokio::test]
async fn a_failing_endpoint_rests_before_it_is_tried_again_and_the_rest_costs_no_attempt() {
    let app = spawn_app_with(|config| config.webhook_recovery_seconds = 7200).await;
    let receiver = Receiver::start(vec![Reply::Status(503), Reply::Status(503)]).await;
    route_to_webhook(&app, json!({ "name": "Resting", "url": receiver.url })).await;
    app.product("Portal").await;
    delivery_after(&app, 1).await;
    app.clock.advance(TimeDelta::minutes(5));
    app.state.wake_delivery();
    let second = delivery_after(&app, 2).await;
    assert_eq!(webhook_state(&app).await["status"], "INACTIVE_TMP");
    let failed_at = app.clock.now();

    // The retry is due after the back-off, but the endpoint rests for two hours: no request, no attempt.
    app.clock.advance(TimeDelta::minutes(30));
    app.state.wake_delivery();
    let deferred = app
        .eventually_admin(
            "{ deliveries(filter: {channel: WEBHOOK}) { edges { node { attempts status nextAttemptAt lastError } } } }",
            |d| d["deliveries"]["edges"][0]["node"]["nextAttemptAt"] != second["nextAttemptAt"],
        )
        .await;
    let node = &deferred["deliveries"]["edges"][0]["node"];
    assert_eq!((node["attempts"].clone(), node["status"].clone()), (json!(2), json!("RETRYING")));
    assert_eq!(crate::helpers::at(node["nextAttemptAt"].as_str().expect("instant")), failed_at + TimeDelta::hours(2));
    assert_eq!(receiver.received().len(), 2);

    // The recovery job brings it back to ACTIVE_TMP after the rest; the next attempt succeeds.
    app.clock.advance(TimeDelta::minutes(91));
    assert_eq!(slawatch::service::housekeeping::recover_webhooks(&app.state).await.expect("recovery"), 1);
    assert_eq!(webhook_state(&app).await["status"], "ACTIVE_TMP");
    app.state.wake_delivery();
    let delivered = delivery_after(&app, 3).await;
    assert_eq!(delivered["status"], "DELIVERED");
    assert_eq!(webhook_state(&app).await["status"], "ACTIVE");
    assert_eq!(receiver.received().len(), 3);
}
