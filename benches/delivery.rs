//! Delivery throughput: the delivery worker (`jobs::delivery::run_once`, as the scheduler runs it) sends N
//! webhook deliveries (signed, DefectDojo's JSON) to a local HTTP receiver and N mails to a local SMTP
//! listener; real HTTP and a real SMTP conversation, each message checked on arrival.
//!
//! `cargo bench --bench delivery` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` (an empty
//! database) for PostgreSQL; `BENCH_DELIVERIES=N` (default 10,000 webhooks, and a fifth as many mails).

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

#[allow(dead_code)]
#[path = "../tests/api/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;
mod support;

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::domain::notification_payload::FindingFacts;
use slawatch::domain::recipients::{Audience, Channel, Target};
use slawatch::domain::{FindingId, NotificationEvent, NotificationPayload, Severity};
use slawatch::jobs::delivery;
use slawatch::notify::Channels;
use slawatch::service::outbox::{self, Directory, NewNotification};
use slawatch::service::settings::{self, SettingsChanges};
use slawatch::service::webhooks::{self, WebhookInput};
use support::{Bench, BenchResult};

#[tokio::main]
async fn main() -> BenchResult<()> {
    let webhooks_wanted: usize = support::env_number("BENCH_DELIVERIES", 10_000);
    let mails_wanted = webhooks_wanted / 5;
    let receiver = receiver::Receiver::start(vec![]).await;
    let sink = smtp_sink::SmtpSink::start().await;
    let dir = tempfile::tempdir()?;
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
    let config = Config { database_url, email_url: Some(sink.url()), ..Config::default() };
    let bench = Bench::prepare_with(Clock::system(), 1, config, dir).await?;
    let state = &bench.state;
    let changes =
        SettingsChanges { enable_webhooks: Some(true), enable_mail: Some(true), ..SettingsChanges::default() };
    settings::update(state, &bench.actor, changes).await.map_err(|e| e.detail())?;
    let input = WebhookInput {
        name: Some("bench receiver".to_owned()),
        url: Some(format!("{}/hooks/slawatch", receiver.url)),
        hmac_secret: Some("bench-signing-secret".to_owned()),
        ..WebhookInput::default()
    };
    let webhook = webhooks::create(state, &bench.actor, input).await.map_err(|e| e.detail())?;
    let channels = Channels::from_state(state);
    drain(&bench, &channels, 2).await?; // the set-up's own notifications (a product, a membership)
    println!("## Delivery throughput ({})\n", bench.backend);

    publish(&bench, webhooks_wanted, |_| (Channel::Webhook, Target::Webhook(webhook.id))).await?;
    let took = drain(&bench, &channels, webhooks_wanted).await?;
    let arrived = receiver.received();
    assert_eq!(arrived.len(), webhooks_wanted, "every webhook delivery arrived once");
    assert!(arrived.iter().all(|r| r.header("x-slawatch-signature").is_some_and(|s| s.starts_with("sha256="))));
    println!(
        "webhooks: {webhooks_wanted} in {:.2} s = {:.0} deliveries/s",
        took.as_secs_f64(),
        webhooks_wanted as f64 / took.as_secs_f64()
    );

    publish(&bench, mails_wanted, |i| (Channel::Mail, Target::Email(format!("auditor-{i}@bench.example")))).await?;
    let took = drain(&bench, &channels, mails_wanted).await?;
    let mails = sink.wait_for(mails_wanted).await;
    assert_eq!(mails.len(), mails_wanted, "every mail arrived once");
    println!(
        "mails: {mails_wanted} in {:.2} s = {:.0} mails/s",
        took.as_secs_f64(),
        mails_wanted as f64 / took.as_secs_f64()
    );
    Ok(())
}

/// Writes `count` `sla_breach` notifications for nobody but `target(i)`, in batches of 500 (untimed).
async fn publish(bench: &Bench, count: usize, target: impl Fn(usize) -> (Channel, Target)) -> BenchResult<()> {
    let now = bench.state.clock.now().timestamp();
    let mut written = 0;
    while written < count {
        let news: Vec<NewNotification> = (written..count.min(written + 500))
            .map(|i| NewNotification {
                event: NotificationEvent::SlaBreach,
                audience: Audience::Directed(vec![]),
                product_id: Some(bench.product_ids[0]),
                finding_id: None,
                title: format!("Finding {i} is past its SLA deadline"),
                description: format!("Critical finding {i} of bench-product-0 breached its 1-day SLA."),
                url: Some(format!("http://localhost:8080/findings/{i}")),
                payload: NotificationPayload {
                    finding: Some(FindingFacts {
                        id: FindingId::new(i32::try_from(i).unwrap_or(i32::MAX)),
                        title: format!("finding {i}"),
                        severity: Severity::Critical,
                    }),
                    ..NotificationPayload::default()
                },
                dedupe_key: None,
                extra_targets: vec![target(i)],
            })
            .collect();
        written += news.len();
        let directory = Directory::load(&bench.state.db, &news).await.map_err(|e| e.detail())?;
        outbox::publish_many(&bench.state.db, now, &directory, news).await.map_err(|e| e.detail())?;
    }
    Ok(())
}

/// Runs the worker until nothing is due and checks that `expected` more deliveries are `DELIVERED`; returns
/// the time it took.
async fn drain(bench: &Bench, channels: &Channels, expected: usize) -> BenchResult<Duration> {
    let before = delivered(bench).await?;
    let started = Instant::now();
    loop {
        let processed = delivery::run_once(&bench.state, channels).await.map_err(|e| e.detail())?;
        if processed == 0 {
            break;
        }
    }
    let took = started.elapsed();
    let done = delivered(bench).await? - before;
    if done != expected as i64 {
        return Err(format!("{done} delivered, expected {expected}").into());
    }
    Ok(took)
}

async fn delivered(bench: &Bench) -> BenchResult<i64> {
    let backend = bench.state.db.get_database_backend();
    let row = bench
        .state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE status = 'DELIVERED'",
        ))
        .await?
        .ok_or("no count")?;
    Ok(row.try_get_by_index(0)?)
}
