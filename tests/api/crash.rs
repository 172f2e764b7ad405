//! A crash loses nothing: 1,000 pending webhook deliveries, the server process killed (SIGKILL) in the
//! middle of delivering them and started again; every delivery arrives, and no delivery id arrives twice
//! except the one that was in flight at the kill. And SIGTERM with a backlog stops the worker promptly.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::ConnectionTrait;
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
    serve_with_lease(database_url, "2")
}

pub fn serve_with_lease(database_url: &str, lease_seconds: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url)
        .env("SLAWATCH_ADMIN_PASSWORD", "crash-test-password")
        .env("SLAWATCH_DELIVERY_LEASE_SECONDS", lease_seconds)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

/// Writes `count` pending webhook deliveries to `receiver_url` into a fresh database, as the API would,
/// before any server runs; returns the database's URL.
async fn pending_deliveries(dir: &tempfile::TempDir, receiver_url: &str, count: usize) -> String {
    pending_deliveries_to(dir, &[receiver_url], count).await
}

/// Writes `count` notifications, each with a pending delivery to every one of `receiver_urls` (a webhook
/// each), into a fresh database before any server runs; returns the database's URL.
pub async fn pending_deliveries_to(dir: &tempfile::TempDir, receiver_urls: &[&str], count: usize) -> String {
    let database_url = fresh_database(dir).await;
    let config = Config { database_url: database_url.clone(), ..Config::default() };
    let state = slawatch::startup::prepare_state(config, Clock::system()).await.expect("database ready");
    let root = Actor::system("crash-test");
    let fail = |e: slawatch::error::ServiceError| e.detail();
    let mut hooks = Vec::new();
    for (i, url) in receiver_urls.iter().enumerate() {
        let input = WebhookInput {
            name: Some(format!("receiver {i}")),
            url: Some((*url).to_owned()),
            ..WebhookInput::default()
        };
        hooks.push(webhooks::create(&state, &root, input).await.unwrap_or_else(|e| panic!("{}", fail(e))).id);
    }
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
        webhook_ids: hooks,
        severities: vec![],
        product_ids: vec![],
        product_type_ids: vec![],
        digest: slawatch::domain::setting_conditions::DigestCadence::PerSweep,
    };
    notification_settings::set(&state, &root, route).await.unwrap_or_else(|e| panic!("{}", fail(e)));
    let txn = state.begin_write().await.expect("transaction");
    let now = state.clock.now().timestamp();
    for i in 0..count {
        let new = NewNotification {
            event: NotificationEvent::Other,
            audience: Audience::FanOut,
            product_id: None,
            finding_id: None,
            title: format!("message {i}"),
            description: String::new(),
            url: None,
            payload: slawatch::domain::NotificationPayload::default(),
            dedupe_key: None,
            extra_targets: Vec::new(),
        };
        outbox::publish(&txn, now, new).await.unwrap_or_else(|e| panic!("{}", fail(e)));
    }
    txn.commit().await.expect("commit");
    state.close_database().await.expect("close");

    database_url
}

#[tokio::test]
async fn a_killed_server_delivers_everything_after_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start_slow(Duration::from_millis(3)).await;
    let database_url = pending_deliveries(&dir, &receiver.url, DELIVERIES).await;

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
    // A webhook's lane sends on while its outcomes are stored: what it had sent and not stored when it was
    // killed (the one in flight and at most 32 waiting, `jobs::delivery::recorder::UNSTORED_AT_MOST`) is
    // sent again, once, with the same delivery key.
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 33 && repeated.iter().all(|(_, n)| **n == 2),
        "at most the unstored ones twice: {repeated:?}"
    );
}

/// SIGTERM with a backlog of slow deliveries: the worker claims nothing more, the request in flight
/// finishes or is given up after a short grace, the process exits, and every delivery it did not send is
/// released (no lease left behind), so the next start sends it at once.
#[tokio::test]
async fn sigterm_stops_the_delivery_worker_with_a_backlog_and_releases_what_it_did_not_send() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start_slow(Duration::from_millis(500)).await;
    let database_url = pending_deliveries(&dir, &receiver.url, 200).await;
    let mut server = serve_with_lease(&database_url, "600");
    receiver.wait_for_within(2, Duration::from_secs(60)).await;
    let pid = server.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(signalled.success());
    // Before the fix the worker went on through the backlog (200 × 0.5 s); now it stops within the grace.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.try_wait().expect("status") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            panic!("still running 30 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "a clean exit: {status:?}");
    let sent = receiver.received().len();
    assert!(sent < 200, "stopped before the backlog was through: {sent} sent");
    if let Some(file) = sqlite_file(&database_url) {
        // Every connection was closed, the writing one too, so SQLite copied its log into the file.
        assert!(!std::path::Path::new(&format!("{file}-wal")).exists(), "the write-ahead log was left behind");
    }

    let db = sea_orm::Database::connect(database_url.as_str()).await.expect("database");
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned()))
                .await
                .expect(sql)
                .expect("a row");
            row.try_get_by_index::<i64>(0).expect("a count")
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM deliveries WHERE lease_until IS NOT NULL").await, 0, "no lease left");
    let delivered = count("SELECT COUNT(*) FROM deliveries WHERE status = 'DELIVERED'").await;
    let pending = count("SELECT COUNT(*) FROM deliveries WHERE status = 'PENDING'").await;
    assert_eq!(delivered + pending, 200, "nothing lost or dead");
    assert!(delivered as usize <= sent, "recorded only what the receiver got");
}

/// Issue 17, point 3: a lane to a slow receiver takes longer than the lease (20 deliveries × 0.4 s against
/// a 2 s lease) while a second instance polls the same database. The pass renews its lease, so the second
/// instance claims none of its rows and no delivery id arrives twice.
#[tokio::test]
async fn a_lane_that_outlasts_its_lease_keeps_it_and_a_second_worker_sends_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start_slow(Duration::from_millis(400)).await;
    let database_url = pending_deliveries(&dir, &receiver.url, 20).await;
    let mut first = serve_with_lease(&database_url, "2");
    receiver.wait_for_within(1, Duration::from_secs(30)).await;
    let mut second = serve_with_lease(&database_url, "2");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut per_id: HashMap<String, usize> = HashMap::new();
    while std::time::Instant::now() < deadline {
        per_id.clear();
        for request in receiver.received() {
            *per_id.entry(request.header("x-slawatch-delivery").unwrap_or_default().to_owned()).or_default() += 1;
        }
        if per_id.len() == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment for a late duplicate to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for server in [&mut first, &mut second] {
        let _ = server.kill();
        let _ = server.wait();
    }
    let sent = receiver.received().len();
    assert_eq!(per_id.len(), 20, "every delivery arrived");
    assert_eq!(sent, 20, "none twice: {per_id:?}");
}

/// The file of an SQLite database URL (`None`: PostgreSQL).
fn sqlite_file(database_url: &str) -> Option<&str> {
    database_url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next())
}

/// A state closed after writes leaves them all in the database file, so a copy of the file alone (what the
/// benches and a cold backup make) has them: the writing connection is closed too, and SQLite copies its log
/// into the file when the last connection closes. Before, only the pool was closed, the log stayed while the
/// state lived, and the copies the benches made of a data set were missing pages ("database disk image is
/// malformed").
#[tokio::test]
async fn a_closed_state_leaves_every_write_in_the_database_file_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(&dir).await;
    let Some(file) = sqlite_file(&database_url).map(str::to_owned) else { return };
    let config = Config { database_url: database_url.clone(), ..Config::default() };
    let state = slawatch::startup::prepare_state(config, Clock::system()).await.expect("database ready");
    let txn = state.begin_write().await.expect("transaction");
    txn.execute_unprepared("CREATE TABLE written_before_the_close (n INTEGER)").await.expect("created");
    txn.execute_unprepared(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         INSERT INTO written_before_the_close SELECT i FROM n",
    )
    .await
    .expect("inserted");
    txn.commit().await.expect("committed");
    state.close_database().await.expect("closed");

    // The state is still alive (as the bench's was while it copied the file): only the close can have done it.
    assert!(!std::path::Path::new(&format!("{file}-wal")).exists(), "the write-ahead log was left behind");
    let copy = dir.path().join("copy.db");
    std::fs::copy(&file, &copy).expect("copied");
    let db = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", copy.display()).as_str()).await.expect("copy");
    let query = |sql: &str| sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned());
    let check = db.query_one_raw(query("PRAGMA integrity_check")).await.expect("checked").expect("a row");
    assert_eq!(check.try_get_by_index::<String>(0).expect("a verdict"), "ok");
    let sql = "SELECT COUNT(*) FROM written_before_the_close";
    let row = db.query_one_raw(query(sql)).await.expect("counted").expect("a row");
    assert_eq!(row.try_get_by_index::<i64>(0).expect("a count"), 500, "every row is in the copy");
    drop(state);
}
