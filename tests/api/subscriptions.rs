//! Subscriptions over a real websocket: who hears what, refused credentials, limits, both protocols.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::ws_client::{LEGACY_WS, Refusal, TRANSPORT_WS, WsClient, wait_for_subscribers};

const SLA_EVENTS: &str = "subscription($p: ID, $k: [SlaEventKind!]) {
    slaEvents(productId: $p, kinds: $k) { kind threshold occurredAt finding { id title severity product { name } } } }";

async fn critical(app: &TestApp, product: &str, title: &str) -> String {
    let created = app.finding(json!({ "productId": product, "title": title, "severity": "CRITICAL" })).await;
    created["id"].as_str().expect("id").to_owned()
}

/// An API token of the user signed in with `jwt`: a subscriber that stays connected while the test moves
/// the clock by days (a JWT's session ends at its expiry, closing the socket).
async fn api_token_of(app: &TestApp, jwt: &str) -> String {
    let created = app.gql(Some(jwt), "mutation { createApiToken(name: \"dashboard\") { token } }", json!({})).await;
    created.data()["createApiToken"]["token"].as_str().expect("token").to_owned()
}

/// A websocket client signed in with an API token of the user signed in with `jwt`.
async fn connect_with_token(app: &TestApp, jwt: &str) -> WsClient {
    let token = api_token_of(app, jwt).await;
    WsClient::connect(app, TRANSPORT_WS, json!({ "authorization": format!("Token {token}") })).await.expect("accepted")
}

async fn sweep(app: &TestApp) {
    app.admin("mutation { runSlaSweep { emitted } }", json!({})).await.data();
}

/// The code of an `error` message, or of the first error of a `next` one.
fn error_code(message: &Value) -> &str {
    let error = if message["type"] == "error" { &message["payload"][0] } else { &message["payload"]["errors"][0] };
    error["extensions"]["code"].as_str().unwrap_or_default()
}

fn payloads(messages: &[Value]) -> Vec<&Value> {
    messages.iter().filter(|m| m["type"] == "next" || m["type"] == "data").map(|m| &m["payload"]).collect()
}

#[tokio::test]
async fn a_subscriber_hears_the_breach_of_a_finding_it_may_see_and_nothing_of_other_products() {
    let app = spawn_app().await;
    let visible = app.product("Royal-Bank-Integration").await;
    let hidden = app.product("Clacks-Relay").await;
    let (reader_id, reader) = app.user("cheery").await;
    app.add_member(&visible, &reader_id, "READER").await;
    let seen = critical(&app, &visible, "RCE in payment gateway").await;
    critical(&app, &hidden, "SQL injection in relay").await;

    let mut client = connect_with_token(&app, &reader).await;
    client.subscribe("breaches", SLA_EVENTS, json!({ "k": ["BREACH"] })).await;
    let mut admin = WsClient::connect(&app, LEGACY_WS, json!({ "token": app.admin_api_token })).await.expect("admin");
    admin.subscribe("all", SLA_EVENTS, json!({})).await;
    wait_for_subscribers(&app, 2).await;
    let metrics = crate::metrics::scrape(&app).await;
    assert!(metrics.lines().any(|l| l == "slawatch_live_subscriptions 2"), "the gauge counts both: {metrics}");

    app.clock.advance(TimeDelta::hours(24));
    sweep(&app).await;
    let received = client.drain(Duration::from_millis(1500)).await;
    let events = payloads(&received);
    assert_eq!(events.len(), 1, "exactly the breach of the visible finding: {received:?}");
    let event = &events[0]["data"]["slaEvents"];
    assert_eq!(event["kind"], "BREACH");
    assert_eq!(event["threshold"], Value::Null);
    assert_eq!(event["occurredAt"], "2026-03-03T09:30:00+00:00");
    assert_eq!(event["finding"]["id"], seen.as_str());
    assert_eq!(event["finding"]["severity"], "CRITICAL");
    assert_eq!(event["finding"]["product"]["name"], "Royal-Bank-Integration");
    assert_eq!(received[0]["id"], "breaches");

    // The superuser, on the legacy protocol, hears both products' thresholds and breaches.
    let everything = admin.drain(Duration::from_millis(500)).await;
    let kinds: Vec<(String, String)> = payloads(&everything)
        .iter()
        .map(|p| {
            let event = &p["data"]["slaEvents"];
            (event["finding"]["product"]["name"].as_str().unwrap_or_default().to_owned(), event["kind"].to_string())
        })
        .collect();
    assert_eq!(kinds.len(), 6, "two findings × (50 %, 10 %, breach): {kinds:?}");
    assert_eq!(kinds.iter().filter(|(p, _)| p == "Clacks-Relay").count(), 3);
}

#[tokio::test]
async fn a_connection_without_valid_credentials_is_refused() {
    let app = spawn_app().await;
    let refusals = [
        (TRANSPORT_WS, json!({})),
        (TRANSPORT_WS, json!({ "authorization": "Bearer not.a.jwt" })),
        (TRANSPORT_WS, json!({ "token": "sw_not_a_real_token" })),
        (TRANSPORT_WS, json!({ "authorization": "Basic YWRtaW46YWRtaW4=" })),
    ];
    for (protocol, payload) in refusals {
        match WsClient::connect(&app, protocol, payload.clone()).await {
            Err(Refusal::Closed(code, reason)) => {
                assert_eq!(code, 4403, "{payload}: {reason}");
                assert!(!reason.contains("not.a.jwt") && !reason.contains("sw_not"), "no credential echoed: {reason}");
            }
            other => panic!("{payload} was not refused: {:?}", other.map(|_| "accepted")),
        }
    }
    match WsClient::connect(&app, LEGACY_WS, json!({ "authorization": "Bearer not.a.jwt" })).await {
        Err(Refusal::ConnectionError(payload)) => assert!(payload["message"].as_str().is_some(), "{payload}"),
        other => panic!("legacy protocol: not refused: {:?}", other.map(|_| "accepted")),
    }
    // A revoked API token is refused too.
    let created = app.admin("mutation { createApiToken(name: \"dash\") { token apiToken { id } } }", json!({})).await;
    let token = created.data()["createApiToken"]["token"].as_str().expect("token").to_owned();
    let id = created.data()["createApiToken"]["apiToken"]["id"].as_str().expect("id").to_owned();
    assert!(WsClient::connect(&app, TRANSPORT_WS, json!({ "token": token })).await.is_ok());
    app.admin("mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id })).await.data();
    assert!(matches!(
        WsClient::connect(&app, TRANSPORT_WS, json!({ "token": token })).await,
        Err(Refusal::Closed(4403, _))
    ));
}

#[tokio::test]
async fn subscribing_to_a_product_one_may_not_view_or_to_deliveries_without_being_admin_is_an_error() {
    let app = spawn_app().await;
    let hidden = app.product("Clacks-Relay").await;
    let (_, reader) = app.user("nobby").await;
    let mut client = connect_with_token(&app, &reader).await;
    client.subscribe("1", SLA_EVENTS, json!({ "p": hidden })).await;
    let answer = client.answer_to("1").await;
    assert_eq!(error_code(&answer), "NOT_FOUND", "{answer}");
    client.subscribe("2", "subscription { deliveries { id status } }", json!({})).await;
    let answer = client.answer_to("2").await;
    assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
    client.subscribe("3", "subscription { slaEvents(productId: \"abc\") { kind } }", json!({})).await;
    let answer = client.answer_to("3").await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
}

#[tokio::test]
async fn alerts_finding_changes_and_deliveries_arrive_live_and_new_memberships_widen_the_view() {
    let app = spawn_app().await;
    let product = app.product("Royal-Bank-Integration").await;
    let (member_id, member) = app.user("carrot").await;
    let mut client = connect_with_token(&app, &member).await;
    client.subscribe("changes", "subscription { findingChanged { id title slaState } }", json!({})).await;
    client.subscribe("alerts", "subscription { alerts { event title } }", json!({})).await;
    let mut admin = WsClient::connect(&app, TRANSPORT_WS, json!({ "token": app.admin_api_token })).await.expect("ok");
    admin.subscribe("deliveries", "subscription { deliveries { channel status event } }", json!({})).await;
    wait_for_subscribers(&app, 3).await;

    critical(&app, &product, "Before membership").await;
    assert!(payloads(&client.drain(Duration::from_millis(700)).await).is_empty(), "not a member yet");

    app.add_member(&product, &member_id, "WRITER").await;
    let finding = critical(&app, &product, "After membership").await;
    let change = client.next_message(Duration::from_secs(5)).await.expect("the new finding");
    assert_eq!(change["id"], "changes");
    assert_eq!(change["payload"]["data"]["findingChanged"]["id"], finding.as_str());
    assert_eq!(change["payload"]["data"]["findingChanged"]["slaState"], "ON_TRACK");

    app.clock.advance(TimeDelta::hours(24));
    sweep(&app).await;
    let messages = client.drain(Duration::from_secs(3)).await;
    let alerts: Vec<&str> = messages
        .iter()
        .filter(|m| m["id"] == "alerts")
        .filter_map(|m| m["payload"]["data"]["alerts"]["event"].as_str())
        .collect();
    assert!(alerts.contains(&"sla_breach"), "the member's in-app alert of the breach: {messages:?}");
    let breached = messages.iter().any(|m| {
        m["id"] == "changes"
            && m["payload"]["data"]["findingChanged"]["id"] == finding.as_str()
            && m["payload"]["data"]["findingChanged"]["slaState"] == "BREACHED"
    });
    assert!(breached, "the breach changes the finding: {messages:?}");

    let deliveries = payloads(&admin.drain(Duration::from_millis(500)).await)
        .iter()
        .map(|p| p["data"]["deliveries"].clone())
        .collect::<Vec<_>>();
    assert!(
        deliveries.iter().any(|d| d["event"] == "sla_breach" && d["channel"] == "ALERT" && d["status"] == "DELIVERED"),
        "{deliveries:?}"
    );
}

/// The upgrade needs a GraphQL websocket protocol (400 naming the header without one); a message longer than
/// a connection's read buffer (1 KiB) still arrives whole.
#[tokio::test]
async fn an_upgrade_needs_a_graphql_protocol_and_a_long_message_arrives_whole() {
    let app = spawn_app().await;
    for offered in [None, Some("chat, superchat")] {
        let url = format!("{}/graphql/ws", app.address).replacen("http", "ws", 1);
        let mut request = url.into_client_request().expect("websocket request");
        if let Some(offered) = offered {
            request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(offered));
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400, "{offered:?}");
                let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
                assert!(body.contains("Sec-WebSocket-Protocol"), "{offered:?}: {body}");
            }
            other => panic!("{offered:?}: not refused: {:?}", other.map(|_| "upgraded")),
        }
    }

    let product = app.product("Royal-Bank-Integration").await;
    let mut client =
        WsClient::connect(&app, TRANSPORT_WS, json!({ "token": app.admin_api_token })).await.expect("accepted");
    let long =
        format!("# {}\nsubscription($p: ID) {{ findingChanged(productId: $p) {{ title }} }}", "x".repeat(20_000));
    client.subscribe("changes", &long, json!({ "p": product })).await;
    wait_for_subscribers(&app, 1).await;
    critical(&app, &product, "Heard after a long subscribe").await;
    let answer = client.answer_to("changes").await;
    assert_eq!(answer["payload"]["data"]["findingChanged"]["title"], "Heard after a long subscribe", "{answer}");
}

#[tokio::test]
async fn a_connection_may_hold_only_so_many_subscriptions() {
    let app = spawn_app_with(|config| config.limits.max_subscriptions_per_connection = 2).await;
    let mut client =
        WsClient::connect(&app, TRANSPORT_WS, json!({ "token": app.admin_api_token })).await.expect("accepted");
    for id in ["1", "2", "3"] {
        client.subscribe(id, "subscription { alerts { id } }", json!({})).await;
    }
    // Whichever starts last is refused.
    let answer = client.next_message(Duration::from_secs(5)).await.expect("one is refused");
    assert_eq!(error_code(&answer), "RATE_LIMITED", "{answer}");
    wait_for_subscribers(&app, 2).await;
    assert_eq!(app.state.live.subscriber_count(), 2);
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_told_to_resync_and_keeps_its_subscription() {
    let app = spawn_app_with(|config| config.live_buffer_events = 16).await;
    let (product, mut client) = watching_changes(&app).await;
    // One request announces 1,000 changes at once: sixteen messages of 64 events, sent back to back, where
    // a subscriber's buffer holds one. Its connection runs on threads of its own (`graphql::ws_runtime`)
    // and takes a message as soon as it is sent, but it is still resolving the first message's 64 events
    // when the others come: with two messages of 100 events it sometimes kept up.
    create_findings_at_once(&app, &product, 1_000).await;
    let messages = client.drain(Duration::from_millis(1500)).await;
    let resync = messages
        .iter()
        .find(|m| m["payload"]["errors"][0]["extensions"]["code"] == "RESYNC_REQUIRED")
        .unwrap_or_else(|| panic!("a resync signal: {messages:?}"));
    assert!(resync["payload"]["errors"][0]["extensions"]["missed"].as_u64().unwrap_or(0) > 0, "{resync}");
    // The subscription goes on.
    let later = app.finding(json!({ "productId": product, "title": "after", "severity": "LOW" })).await;
    let next = client.answer_to("changes").await;
    assert_eq!(next["payload"]["data"]["findingChanged"]["id"], later["id"], "{next}");
}

/// Live events travel by topic (`live::Topic`): a subscription narrowed to a product listens to that
/// product's channel alone, so other products' changes do not wake it; membership changes still reach it in
/// order, so a member removed from the product hears nothing of it afterwards.
#[tokio::test]
async fn a_product_subscription_hears_its_product_alone_and_nothing_after_its_membership_ends() {
    use slawatch::live::Topic;

    let app = spawn_app().await;
    let (watched, other) = (app.product("Royal-Bank-Integration").await, app.product("Clacks-Relay").await);
    let (member_id, member) = app.user("carrot").await;
    let membership = app.add_member(&watched, &member_id, "WRITER").await;
    let mut client = connect_with_token(&app, &member).await;
    let changes = "subscription($p: ID) { findingChanged(productId: $p) { id title } }";
    client.subscribe("watched", changes, json!({ "p": watched })).await;
    wait_for_subscribers(&app, 1).await;
    let product_id = |id: &str| slawatch::domain::ProductId::new(id.parse().expect("a product id"));
    let mut of_watched = app.state.live.subscribe(Topic::Product(product_id(&watched)));
    let mut of_other = app.state.live.subscribe(Topic::Product(product_id(&other)));
    let mut of_all = app.state.live.subscribe(Topic::All);

    let elsewhere = critical(&app, &other, "Elsewhere").await;
    let here = critical(&app, &watched, "Here").await;
    // On PostgreSQL the events come back through NOTIFY, after the mutations have answered: wait for them.
    assert_eq!(finding_ids(&mut of_watched, 1).await, vec![here.clone()], "the watched product's channel");
    assert_eq!(finding_ids(&mut of_other, 1).await, vec![elsewhere.clone()], "the other product's channel");
    assert_eq!(finding_ids(&mut of_all, 2).await, vec![elsewhere, here.clone()], "every event, in order");
    let messages = client.drain(Duration::from_secs(1)).await;
    let ids: Vec<&Value> = payloads(&messages).iter().map(|p| &p["data"]["findingChanged"]["id"]).collect();
    assert_eq!(ids, vec![&json!(here)], "the subscriber heard its product's finding: {messages:?}");
    for receiver in [&mut of_watched, &mut of_other, &mut of_all] {
        let more = std::iter::from_fn(|| receiver.try_recv().ok())
            .flat_map(|batch| batch.to_vec())
            .filter(|event| matches!(event, slawatch::live::LiveEvent::FindingChanged(_)))
            .count();
        assert_eq!(more, 0, "no other finding's change on any channel");
    }

    app.admin("mutation($id: ID!) { removeProductMember(id: $id) { id } }", json!({ "id": membership })).await.data();
    critical(&app, &watched, "After the membership ended").await;
    let after = client.drain(Duration::from_millis(700)).await;
    assert!(payloads(&after).is_empty(), "nothing of the product once the membership ended: {after:?}");
}

/// A hundred changes announced at once are ready together on the socket: they go out several to a write
/// (`graphql::ws`, at most `MESSAGES_PER_WRITE`), and every one arrives, in order, with nothing after them.
#[tokio::test]
async fn a_burst_of_changes_arrives_whole_and_in_order() {
    let app = spawn_app().await;
    let (product, mut client) = watching_changes(&app).await;
    let created = create_findings_at_once(&app, &product, 100).await;
    let mut heard = Vec::new();
    while heard.len() < created.len() {
        let message = client.next_message(Duration::from_secs(5)).await.expect("the next change within 5 s");
        assert_eq!(message["id"], "changes", "{message}");
        heard.push(message["payload"]["data"]["findingChanged"]["id"].clone());
    }
    assert_eq!(heard, created, "every change, in the order of creation");
    let after = client.drain(Duration::from_millis(300)).await;
    assert!(after.is_empty(), "nothing more: {after:?}");
}

/// A product and an admin's websocket subscribed to every finding change (as "changes").
async fn watching_changes(app: &TestApp) -> (String, WsClient) {
    let product = app.product("Royal-Bank-Integration").await;
    let mut client = WsClient::connect(app, TRANSPORT_WS, json!({ "token": app.admin_api_token })).await.expect("ok");
    client.subscribe("changes", "subscription { findingChanged { id } }", json!({})).await;
    wait_for_subscribers(app, 1).await;
    (product, client)
}

/// Creates `count` findings of `product` in one `createFindings` (one announcement of them all); their ids.
async fn create_findings_at_once(app: &TestApp, product: &str, count: usize) -> Vec<Value> {
    let inputs: Vec<Value> =
        (0..count).map(|n| json!({ "productId": product, "title": format!("F{n}"), "severity": "LOW" })).collect();
    let answer = app
        .admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await;
    answer.data()["createFindings"].as_array().expect("the new findings").iter().map(|f| f["id"].clone()).collect()
}

/// The ids of the findings changed in the next messages of `receiver`, until `want` are heard (five seconds
/// at most for each message).
async fn finding_ids(
    receiver: &mut tokio::sync::broadcast::Receiver<slawatch::live::LiveBatch>,
    want: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < want {
        let Ok(Ok(batch)) = tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await else { break };
        ids.extend(batch.iter().filter_map(|event| match event {
            slawatch::live::LiveEvent::FindingChanged(finding) => Some(finding.id.to_string()),
            _ => None,
        }));
    }
    ids
}
