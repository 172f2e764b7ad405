//! The delivery worker: claims due deliveries with a short lease (`delivery_lease_seconds`), sends each, records the outcome with
//! retries (exponential backoff, jitter, `Retry-After`) until `DEAD`. A crash leaves a lease that expires,
//! and the delivery is sent again with the same delivery key.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use tokio::sync::watch;

use super::delivery_lease::PassLease;
use crate::db;
use crate::domain::recipients::{Channel, Target};
use crate::domain::retry::NextStep;
use crate::entity::{delivery, notification};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::notify::{Channels, Outgoing, SendError, Sender};
use crate::service::outbox::{DEAD, DELIVERED, PENDING, RETRYING};
use crate::state::AppState;

/// How many deliveries one pass claims.
pub const BATCH: u64 = 50;

/// How many receivers of a pass are sent to at once (a slow receiver holds up only its own lane).
const LANES_AT_ONCE: usize = 8;

/// How long a pass may go on after shutdown was asked for: the requests in flight get this long to
/// finish; what is still leased then is released for the next start (or another instance).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs until `stopped` turns true. A full pass is followed by another at once, unless a stop was asked
/// for meanwhile.
pub async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let channels = Channels::from_state(&state);
    let poll = Duration::from_secs(state.config.delivery_poll_seconds.max(1));
    loop {
        if *stopped.borrow() {
            return;
        }
        match pass(&state, &channels, &stopped).await {
            Ok(processed) if processed as u64 == BATCH && !*stopped.borrow() => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err.detail(), "delivery pass failed; retrying on the next pass"),
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = state.delivery_wakeup.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// One pass: claim due deliveries, send them, record the outcomes. Returns how many were processed.
pub async fn run_once(state: &AppState, channels: &Channels) -> ServiceResult<usize> {
    let (_keep, never) = watch::channel(false);
    pass(state, channels, &never).await
}

/// A pass that stops early once `stopped` turns true: lanes start no new send, the sends in flight get
/// `SHUTDOWN_GRACE`, and the rows not sent are released.
async fn pass(state: &AppState, channels: &Channels, stopped: &watch::Receiver<bool>) -> ServiceResult<usize> {
    let now = state.clock.now().timestamp();
    let (claimed, until) = claim(state, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let lease = PassLease::new(claimed.iter().map(|d| d.id).collect(), until, state.config.delivery_lease_seconds);
    let notifications = crate::service::deliveries::notifications_of(&state.db, &claimed).await?;
    let lanes: Vec<_> = lanes(&claimed)
        .into_iter()
        .map(|lane| run_lane(state, channels, &notifications, lane, now, stopped.clone(), &lease))
        .collect();
    let mut signals = Vec::with_capacity(claimed.len());
    let mut failure = None;
    let all_lanes = stream::iter(lanes).buffer_unordered(LANES_AT_ONCE).collect::<Vec<_>>();
    let grace_over = async {
        stop_requested(stopped.clone()).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let results = tokio::select! {
        results = all_lanes => results,
        () = grace_over => Vec::new(),
        () = lease.keep(state) => Vec::new(),
    };
    for result in results {
        match result {
            Ok(mut lane_signals) => signals.append(&mut lane_signals),
            Err(err) => failure = Some(err),
        }
    }
    if *stopped.borrow() {
        lease.release(state).await?;
    }
    state.announce(signals).await;
    match failure {
        Some(err) => Err(err),
        None => Ok(claimed.len()),
    }
}

/// A pass's deliveries in lanes: one per webhook and one per mail address (a receiver gets its messages
/// in order, one at a time, so a crash resends at most the one in flight to it), and one lane for in-app
/// alerts, Slack and Teams together (a user's alert order, Slack's per-channel rate limit and its cached
/// user lookup).
fn lanes(claimed: &[delivery::Model]) -> Vec<Vec<&delivery::Model>> {
    let mut in_order = Vec::new();
    let mut by_receiver: BTreeMap<(&str, &str), Vec<&delivery::Model>> = BTreeMap::new();
    for row in claimed {
        if row.channel == Channel::Webhook.as_str() || row.channel == Channel::Mail.as_str() {
            by_receiver.entry((row.channel.as_str(), row.target.as_str())).or_default().push(row);
        } else {
            in_order.push(row);
        }
    }
    let mut lanes: Vec<_> = by_receiver.into_values().collect();
    if !in_order.is_empty() {
        lanes.push(in_order);
    }
    lanes
}

/// Sends a lane's deliveries one after another, storing each outcome as soon as it is known (the system
/// settings and the lane's webhook are read once per lane). Returns the live signals of what it sent.
async fn run_lane(
    state: &AppState,
    channels: &Channels,
    notifications: &HashMap<i32, notification::Model>,
    lane: Vec<&delivery::Model>,
    now: i64,
    stopped: watch::Receiver<bool>,
    lease: &PassLease,
) -> ServiceResult<Vec<Signal>> {
    let mut signals = Vec::with_capacity(lane.len());
    let mut sender = channels.sender();
    for row in lane {
        if *stopped.borrow() {
            break;
        }
        let outcome = send_one(&mut sender, notifications.get(&row.notification_id), row, now).await;
        if outcome.is_ok()
            && let Ok(Target::User(user)) = row.target.parse::<Target>()
            && row.channel == Channel::Alert.as_str()
        {
            signals.push(Signal::Alert { notification: row.notification_id, user });
        }
        lease.recording(|until| record(state, row, outcome, until)).await?;
        signals.push(Signal::Delivery { id: row.id });
    }
    Ok(signals)
}

/// Sends one delivery of its notification.
async fn send_one(
    sender: &mut Sender<'_>,
    notification: Option<&notification::Model>,
    row: &delivery::Model,
    now: i64,
) -> Result<(), SendError> {
    match (notification, row.channel.parse::<Channel>(), row.target.parse::<Target>()) {
        (Some(notification), Ok(channel), Ok(target)) => {
            let outgoing = Outgoing { notification, target: &target, delivery_key: &row.delivery_key, now };
            sender.send(channel, &outgoing).await
        }
        _ => Err(SendError::Permanent("the delivery's notification, channel or target is unreadable".to_owned())),
    }
}

/// Resolves once a stop is asked for (never, when nobody can ask any more).
async fn stop_requested(mut stopped: watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Takes a lease on up to `BATCH` due deliveries of the channels this process can send; returns them and
/// the lease's end.
async fn claim(state: &AppState, now: i64) -> ServiceResult<(Vec<delivery::Model>, i64)> {
    let supported: Vec<&str> = Channels::supported().iter().map(|c| c.as_str()).collect();
    let txn = db::begin_write(&state.db).await?;
    let mut due = delivery::Entity::find()
        .filter(delivery::Column::Status.is_in([PENDING, RETRYING]))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(delivery::Column::Channel.is_in(supported))
        .filter(
            sea_orm::Condition::any()
                .add(delivery::Column::LeaseUntil.is_null())
                .add(delivery::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(delivery::Column::NextAttemptAt)
        .order_by_asc(delivery::Column::Id)
        .limit(BATCH);
    if txn.get_database_backend() == DbBackend::Postgres {
        // Another instance's claim is skipped, not waited for.
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = due.all(&txn).await?;
    let lease = now + state.config.delivery_lease_seconds;
    if !rows.is_empty() {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, sea_orm::sea_query::Expr::value(lease))
            .filter(delivery::Column::Id.is_in(rows.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((rows, lease))
}

/// Stores the outcome of one attempt, if the row is still leased to this pass (`lease_until`).
async fn record(
    state: &AppState,
    row: &delivery::Model,
    outcome: Result<(), SendError>,
    lease_until: i64,
) -> ServiceResult<()> {
    let now = state.clock.now().timestamp();
    let attempts = row.attempts + 1;
    let mut model = delivery::ActiveModel {
        id: Set(row.id),
        attempts: Set(attempts),
        lease_until: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    let outcome_label = match &outcome {
        Ok(()) => "delivered",
        Err(SendError::Defer { .. }) => "deferred",
        Err(SendError::Retry { .. }) => "retry",
        Err(SendError::Permanent(_)) => "dead",
    };
    let latency = outcome.is_ok().then(|| now - row.created_at);
    state.metrics.delivery(&row.channel, outcome_label, latency);
    match outcome {
        Ok(()) => {
            model.status = Set(DELIVERED.to_owned());
            model.delivered_at = Set(Some(now));
            model.last_error = Set(None);
        }
        Err(SendError::Permanent(reason)) => {
            model.status = Set(DEAD.to_owned());
            model.last_error = Set(Some(reason));
        }
        Err(SendError::Defer { until, reason }) => {
            // Not an attempt: the status and the count stay.
            model.attempts = Set(row.attempts);
            model.next_attempt_at = Set(until);
            model.last_error = Set(Some(reason));
        }
        Err(SendError::Retry { reason, retry_after_seconds }) => {
            match state.config.retry.next_step(attempts, retry_after_seconds, jitter()) {
                NextStep::RetryIn(seconds) => {
                    model.status = Set(RETRYING.to_owned());
                    model.next_attempt_at = Set(now + seconds);
                }
                NextStep::GiveUp => model.status = Set(DEAD.to_owned()),
            }
            model.last_error = Set(Some(reason));
        }
    }
    let stored = delivery::Entity::update_many()
        .set(model)
        .filter(delivery::Column::Id.eq(row.id))
        .filter(delivery::Column::LeaseUntil.eq(lease_until))
        .exec(&state.db)
        .await
        .map_err(ServiceError::from)?;
    if stored.rows_affected == 0 {
        // Another worker claimed it after this pass's lease lapsed (a pause longer than the lease): its
        // outcome is that worker's to record.
        tracing::warn!(delivery = row.id, "a delivery's lease was lost before its outcome was recorded");
    }
    Ok(())
}

/// A factor in [0.5, 1] from the system's randomness.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    0.5 + f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) / 2.0
}
