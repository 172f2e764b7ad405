//! A crash loses nothing: 1,000 pending webhook deliveries, the server process killed (SIGKILL) in the
//! middle of delivering them and started again; every delivery arrives, and no delivery id arrives twice
//! except the one that was in flight at the kill.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::domain::NotificationEvent;
use slawatch::domain::recipients::{Audience, Channel};
use slawatch::service::notification_settings::{Scope, SettingInput};
use slawatch::service::outbox::{self, NewNotification};
use slawatch::service::settings::SettingsChanges;
use slawatch::service::webhooks::WebhookInput;
use slawatch::service::{Actor, notification_settings, settings, webhooks};

use crate::helpers::fresh_database;
use crate::receiver::Receiver;

const DELIVERIES: usize = 1000;

fn serve(database_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url)
        .env("SLAWATCH_ADMIN_PASSWORD", "crash-test-password")
        .env("SLAWATCH_DELIVERY_LEASE_SECONDS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

#[tokio::test]
async fn a_killed_server_delivers_everything_after_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(&dir).await;
    let receiver = Receiver::start_slow(Duration::from_millis(3)).await;

    // The pending deliveries, written as the API would, before any server runs.
    let config = Config { database_url: database_url.clone(), ..Config::default() };
    let state = slawatch::startup::prepare_state(config, Clock::system()).await.expect("database ready");
    let root = Actor { user_id: 0, username: "crash-test".to_owned(), is_superuser: true };
    let fail = |e: slawatch::error::ServiceError| e.detail();
    let hook = webhooks::create(
        &state,
        &root,
        WebhookInput { name: Some("receiver".to_owned()), url: Some(receiver.url.clone()), ..WebhookInput::default() },
    )
    .await
    .unwrap_or_else(|e| panic!("{}", fail(e)));
    settings::update(&state, &root, SettingsChanges { enable_webhooks: Some(true), ..SettingsChanges::default() })
        .await
        .unwrap_or_else(|e| panic!("{}", fail(e)));
    let route = SettingInput {
        scope: Scope::System,
        user_id: None,
        product_id: None,
        event: NotificationEvent::Other,
        channels: vec![Channel::Webhook],
        emails: vec![],
        slack_channels: vec![],
        webhook_ids: vec![hook.id],
    };
    notification_settings::set(&state, &root, route).await.unwrap_or_else(|e| panic!("{}", fail(e)));
    let txn = slawatch::db::begin_write(&state.db).await.expect("transaction");
    let now = state.clock.now().timestamp();
    for i in 0..DELIVERIES {
        let new = NewNotification {
            event: NotificationEvent::Other,
            audience: Audience::FanOut,
            product_id: None,
            finding_id: None,
            title: format!("message {i}"),
            description: String::new(),
            url: None,
            payload: Value::Null,
            dedupe_key: None,
            extra_targets: Vec::new(),
        };
        outbox::publish(&txn, now, new).await.unwrap_or_else(|e| panic!("{}", fail(e)));
    }
    txn.commit().await.expect("commit");
    state.db.close().await.expect("close");

    let mut first = serve(&database_url);
    let before_kill = receiver.wait_for_within(300, Duration::from_secs(60)).await.len();
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    assert!((300..DELIVERIES).contains(&before_kill), "killed in the middle: {before_kill} received");

    let mut second = serve(&database_url);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut per_id: HashMap<String, usize> = HashMap::new();
    while std::time::Instant::now() < deadline {
        per_id.clear();
        for request in receiver.received() {
            *per_id.entry(request.header("x-slawatch-delivery").unwrap_or_default().to_owned()).or_default() += 1;
        }
        if per_id.len() == DELIVERIES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().expect("stop");
    second.wait().expect("reaped");
    assert_eq!(per_id.len(), DELIVERIES, "every delivery arrived");
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2),
        "at most the one in flight twice: {repeated:?}"
    );
}
