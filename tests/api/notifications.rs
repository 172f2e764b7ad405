//! Notification settings at every scope, the template, and webhook endpoints.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) {
    scope userId productId event channels emails slackChannels webhookIds configured } }";

async fn settings(app: &TestApp, token: Option<&str>, args: &str) -> Value {
    let query = format!("{{ notificationSettings({args}) {{ event channels emails configured }} }}");
    let response = match token {
        Some(t) => app.gql(Some(t), &query, json!({})).await,
        None => app.admin(&query, json!({})).await,
    };
    response.data()["notificationSettings"].clone()
}

fn configured(list: &Value) -> Vec<Value> {
    list.as_array().expect("list").iter().filter(|s| s["configured"] == json!(true)).cloned().collect()
}

#[tokio::test]
async fn the_runbook_routes_approaching_and_breach_mails_at_system_scope() {
    let app = spawn_app().await;
    let approaching = app
        .admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "SLA_BREACH_APPROACHING", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am"] } }))
        .await;
    assert_eq!(approaching.data()["setNotificationSetting"]["emails"], json!(["security-team@golemtrust.am"]));
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am", "Cheery@golemtrust.am"] } }))
        .await
        .data();
    let system = settings(&app, None, "scope: SYSTEM").await;
    assert_eq!(system.as_array().map(Vec::len), Some(22), "every event is listed");
    assert_eq!(
        configured(&system),
        vec![
            json!({ "event": "SLA_BREACH_APPROACHING", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am"], "configured": true }),
            json!({ "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["security-team@golemtrust.am", "cheery@golemtrust.am"], "configured": true }),
        ]
    );
    // Setting it again replaces it.
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "SLA_BREACH", "channels": [] } })).await.data();
    assert_eq!(configured(&settings(&app, None, "scope: SYSTEM").await)[1]["channels"], json!([]));
}

#[tokio::test]
async fn personal_settings_belong_to_their_user() {
    let app = spawn_app().await;
    let (otto_id, otto) = app.user("otto").await;
    let (_, nobby) = app.user("nobby").await;
    let mine = app
        .gql(
            Some(&otto),
            SET,
            json!({ "i": { "scope": "PERSONAL", "event": "USER_MENTIONED", "channels": ["ALERT", "MAIL"] } }),
        )
        .await;
    assert_eq!(mine.data()["setNotificationSetting"]["userId"], json!(otto_id));
    assert_eq!(configured(&settings(&app, Some(&otto), "scope: PERSONAL").await).len(), 1);
    let theirs = app
        .gql(
            Some(&nobby),
            &format!("{{ notificationSettings(scope: PERSONAL, userId: \"{otto_id}\") {{ event }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(theirs.code(), "NOT_FOUND");
    let as_admin = settings(&app, None, &format!("scope: PERSONAL, userId: \"{otto_id}\"")).await;
    assert_eq!(configured(&as_admin)[0]["channels"], json!(["ALERT", "MAIL"]));
    let system = app.gql(Some(&otto), "{ notificationSettings(scope: SYSTEM) { event } }", json!({})).await;
    assert_eq!(system.code(), "FORBIDDEN");
}

#[tokio::test]
async fn product_owners_add_extra_recipients_and_members_set_their_own_product_settings() {
    let app = spawn_app().await;
    let royal = app.product("Royal-Bank-Integration").await;
    let mut tokens = Vec::new();
    for (name, role) in [("carrot", Some("OWNER")), ("angua", Some("WRITER")), ("nobby", None)] {
        let (id, token) = app.user(name).await;
        if let Some(role) = role {
            app.add_member(&royal, &id, role).await;
        }
        tokens.push((id, token));
    }
    let liaison = json!({ "i": { "scope": "PRODUCT", "productId": royal, "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["liaison@royalbank.am", "cheery@golemtrust.am"] } });
    assert_eq!(app.gql(Some(&tokens[1].1), SET, liaison.clone()).await.code(), "FORBIDDEN");
    assert_eq!(app.gql(Some(&tokens[2].1), SET, liaison.clone()).await.code(), "NOT_FOUND");
    let set = app.gql(Some(&tokens[0].1), SET, liaison).await;
    assert_eq!(set.data()["setNotificationSetting"]["userId"], Value::Null);
    let seen = settings(&app, Some(&tokens[1].1), &format!("scope: PRODUCT, productId: \"{royal}\"")).await;
    assert_eq!(configured(&seen)[0]["emails"], json!(["liaison@royalbank.am", "cheery@golemtrust.am"]));
    let own = json!({ "i": { "scope": "PRODUCT", "productId": royal, "userId": tokens[1].0, "event": "SLA_BREACH", "channels": ["ALERT"] } });
    assert_eq!(
        app.gql(Some(&tokens[1].1), SET, own).await.data()["setNotificationSetting"]["channels"],
        json!(["ALERT"])
    );
}

#[tokio::test]
async fn a_new_user_gets_a_copy_of_the_template() {
    let app = spawn_app().await;
    app.admin(SET, json!({ "i": { "scope": "TEMPLATE", "event": "SLA_BREACH", "channels": ["ALERT", "MAIL"] } }))
        .await
        .data();
    app.admin(SET, json!({ "i": { "scope": "TEMPLATE", "event": "OTHER", "channels": ["ALERT"] } })).await.data();
    let (_, token) = app.user("dorfl").await;
    let copied = configured(&settings(&app, Some(&token), "scope: PERSONAL").await);
    assert_eq!(
        copied,
        vec![
            json!({ "event": "SLA_BREACH", "channels": ["ALERT", "MAIL"], "emails": [], "configured": true }),
            json!({ "event": "OTHER", "channels": ["ALERT"], "emails": [], "configured": true }),
        ]
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    for (input, needle) in [
        (json!({ "scope": "PERSONAL", "event": "SLA_BREACH", "channels": ["MSTEAMS"] }), "Teams"),
        (json!({ "scope": "PRODUCT", "productId": product, "event": "SLA_BREACH", "channels": ["MSTEAMS"] }), "Teams"),
        (json!({ "scope": "PERSONAL", "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["a@b.am"] }), "extra"),
        (json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["MAIL"], "emails": ["cheery"] }), "email"),
        (json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["WEBHOOK"], "webhookIds": ["99"] }), "webhook"),
        (
            json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["SLACK"], "slackChannels": ["#two words"] }),
            "Slack",
        ),
        (json!({ "scope": "PRODUCT", "event": "SLA_BREACH", "channels": [] }), "productId"),
        (json!({ "scope": "SYSTEM", "event": "SLA_MISSED", "channels": [] }), "SLA_MISSED"),
        (json!({ "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["PAGER"] }), "PAGER"),
        (json!({ "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["PAGE"] }), "PAGE"),
    ] {
        let refused = app.admin(SET, json!({ "i": input })).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{input}");
        assert!(refused.message().contains(needle), "{input}: {}", refused.message());
    }
    assert!(configured(&settings(&app, None, "scope: SYSTEM").await).is_empty(), "nothing was stored");
}

const CREATE_WEBHOOK: &str = "mutation($i: WebhookInput!) { createWebhook(input: $i) {
    id name url format source headerName headerValueSet hmacSecretSet status note } }";

#[tokio::test]
async fn webhooks_keep_their_secrets_and_can_be_updated_and_deleted() {
    let app = spawn_app().await;
    let created = app
        .admin(
            CREATE_WEBHOOK,
            json!({ "i": { "name": "Graylog", "url": "http://graylog.golems.internal:12201/gelf", "format": "GELF", "source": "defectdojo",
                           "headerName": "X-Graylog-Token", "headerValue": "very-secret-token", "hmacSecret": "hmac-secret-value" } }),
        )
        .await;
    let text = created.0.to_string();
    assert!(!text.contains("very-secret-token") && !text.contains("hmac-secret-value"));
    let hook = created.data()["createWebhook"].clone();
    assert_eq!(
        (
            hook["format"].clone(),
            hook["source"].clone(),
            hook["status"].clone(),
            hook["headerValueSet"].clone(),
            hook["hmacSecretSet"].clone()
        ),
        (json!("GELF"), json!("defectdojo"), json!("ACTIVE"), json!(true), json!(true))
    );
    let keyed = app
        .admin(
            CREATE_WEBHOOK,
            json!({ "i": { "name": "Receiver", "url": "https://hooks.example.test/in?key=abcdef" } }),
        )
        .await;
    assert_eq!(keyed.data()["createWebhook"]["url"], "https://hooks.example.test/in?key=***");
    assert_eq!(keyed.data()["createWebhook"]["format"], "JSON");
    let id = hook["id"].as_str().expect("id").to_owned();
    let cleared = app
        .admin("mutation($id: ID!) { updateWebhook(id: $id, input: {hmacSecret: \"\", name: \"Graylog SLA\"}) { name hmacSecretSet headerValueSet } }", json!({ "id": id }))
        .await;
    assert_eq!(
        cleared.data()["updateWebhook"],
        json!({ "name": "Graylog SLA", "hmacSecretSet": false, "headerValueSet": true })
    );
    let wired = app
        .admin(
            SET,
            json!({ "i": { "scope": "SYSTEM", "event": "SLA_BREACH", "channels": ["WEBHOOK"], "webhookIds": [id] } }),
        )
        .await;
    assert_eq!(wired.data()["setNotificationSetting"]["webhookIds"], json!([id]));
    app.admin("mutation($id: ID!) { deleteWebhook(id: $id) { id } }", json!({ "id": id })).await.data();
    assert_eq!(app.admin("{ webhooks { name } }", json!({})).await.data()["webhooks"], json!([{ "name": "Receiver" }]));
}

#[tokio::test]
async fn bad_webhooks_are_refused() {
    let app = spawn_app().await;
    for (input, code) in [
        (json!({ "name": "ftp", "url": "ftp://graylog.golems.internal/" }), "BAD_USER_INPUT"),
        (json!({ "name": "js", "url": "javascript:alert(1)" }), "BAD_USER_INPUT"),
        (json!({ "name": "half", "url": "https://h.test/", "headerName": "X-Token" }), "BAD_USER_INPUT"),
        (
            json!({ "name": "bad header", "url": "https://h.test/", "headerName": "X Token", "headerValue": "v" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "name": "no url" }), "BAD_USER_INPUT"),
    ] {
        assert_eq!(app.admin(CREATE_WEBHOOK, json!({ "i": input })).await.code(), code, "{input}");
    }
    app.admin(CREATE_WEBHOOK, json!({ "i": { "name": "Graylog", "url": "https://h.test/" } })).await.data();
    assert_eq!(
        app.admin(CREATE_WEBHOOK, json!({ "i": { "name": "Graylog", "url": "https://h.test/" } })).await.code(),
        "CONFLICT"
    );
    let (_, otto) = app.user("otto").await;
    assert_eq!(app.gql(Some(&otto), "{ webhooks { id } }", json!({})).await.code(), "FORBIDDEN");
    assert_eq!(
        app.admin("{ webhooks { name } }", json!({})).await.data()["webhooks"].as_array().map(Vec::len),
        Some(1)
    );
}

/// A stored value slawatch does not know is an error when read, never some default (issue 19): a delivery
/// whose status was changed behind slawatch's back is not shown as PENDING.
#[tokio::test]
async fn an_unknown_stored_delivery_status_is_an_error_not_a_default() {
    use sea_orm::ConnectionTrait;
    // No worker: it could record an outcome over the status the test writes.
    let app = crate::helpers::spawn_app_without_scheduler(|_| {}).await;
    app.product("Royal-Bank-Integration").await;
    let query = "{ deliveries { totalCount edges { node { status } } } }";
    assert!(app.admin(query, serde_json::json!({})).await.data()["deliveries"]["totalCount"].as_i64() > Some(0));
    let db = &app.state.db;
    db.execute_unprepared("UPDATE deliveries SET status = 'BOGUS'").await.expect("update");
    let read = app.admin(query, serde_json::json!({})).await;
    assert_eq!(read.code(), "INTERNAL", "{:?}", read.0);
}
