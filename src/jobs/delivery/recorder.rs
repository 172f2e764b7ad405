//! Storing a lane's outcomes while the lane sends on: the outcomes that arrive during one write go
//! together in the next (one transaction, one commit), so a receiver that answers faster than the
//! database commits — SQLite's one writer busy with an import — is not held to the commit rate.
//!
//! What was sent and not yet stored is sent again after a crash, with the same delivery key; at most
//! `UNSTORED_AT_MOST` per lane, as the lane waits for the recorder beyond that. Only lanes whose receivers
//! take a repeat in their stride send on this way (`Channel::repeat_is_harmless`); the others store each
//! outcome before the next send.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use tokio::sync::mpsc;

use super::lease::ClaimLease;
use crate::domain::delivery::{AfterAttempt, Attempt, after_attempt};
use crate::domain::recipients::{Channel, Target};
use crate::domain::{DeliveryId, NotificationId};
use crate::entity::{delivery, notification};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::notify::{Learned, SendError, alert};
use crate::service::deliveries;
use crate::state::AppState;

/// How many outcomes a lane may have sent and not yet stored: the most a crash sends twice per lane.
pub const UNSTORED_AT_MOST: usize = 32;

/// How often the live signals of what was stored reach subscribers while a lane goes on (a slow
/// receiver's lane must not hold back the dashboard's news for its whole length).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);

/// One attempt's outcome, waiting to be stored.
pub struct Outcome<'a> {
    pub row: &'a delivery::Model,
    pub result: Result<(), SendError>,
    /// What the send learned about its receiver (a webhook's health, a Slack user id).
    pub learned: Option<Learned>,
}

/// Stores a lane's outcomes and announces what it stored.
pub struct Recorder<'s> {
    state: &'s AppState,
    lease: &'s ClaimLease,
    signals: Vec<Signal>,
    announced: Instant,
}

impl<'s> Recorder<'s> {
    #[must_use]
    pub fn new(state: &'s AppState, lease: &'s ClaimLease) -> Self {
        Self { state, lease, signals: Vec::new(), announced: Instant::now() }
    }

    /// Stores the outcomes `sent` hands over, as many per transaction as arrived meanwhile, until the
    /// sending side is done. An error stops it (the lane then stops sending, as its receiving end is gone)
    /// and is returned.
    pub async fn store_as_they_come(mut self, mut sent: mpsc::Receiver<Outcome<'_>>) -> ServiceResult<()> {
        let mut batch = Vec::with_capacity(UNSTORED_AT_MOST);
        let mut result = Ok(());
        while sent.recv_many(&mut batch, UNSTORED_AT_MOST).await > 0 {
            if let Err(err) = self.store(&mut batch).await {
                result = Err(err);
                break;
            }
        }
        self.finish().await;
        result
    }

    /// Stores `batch` in one transaction and empties it; hands its signals to subscribers every
    /// `ANNOUNCE_EVERY`.
    pub async fn store(&mut self, batch: &mut Vec<Outcome<'_>>) -> ServiceResult<()> {
        let state = self.state;
        self.lease.recording(|until| store(state, batch, until)).await?;
        self.stored(batch.drain(..)).await;
        Ok(())
    }

    /// Writes the in-app alerts of `rows` and their outcomes in one transaction: an alert is a row beside its
    /// delivery, so one write does both (and a crash repeats neither). `false`, with nothing written, when
    /// an alert could not be written: the caller then sends those rows one by one, each with its own outcome.
    pub async fn deliver_alerts(
        &mut self,
        rows: &[delivery::Model],
        notifications: &HashMap<NotificationId, notification::Model>,
    ) -> ServiceResult<bool> {
        let state = self.state;
        let written = self.lease.recording(|until| write_alerts(state, rows, notifications, until)).await?;
        let Some(outcomes) = written else { return Ok(false) };
        self.stored(outcomes.into_iter()).await;
        Ok(true)
    }

    /// Notes stored outcomes: the lease's count, and their signals (handed to subscribers every
    /// `ANNOUNCE_EVERY`).
    async fn stored<'o>(&mut self, outcomes: impl ExactSizeIterator<Item = Outcome<'o>>) {
        self.lease.recorded(outcomes.len());
        for outcome in outcomes {
            self.signals.extend(signals_of(&outcome));
        }
        if self.announced.elapsed() >= ANNOUNCE_EVERY {
            self.state.announce(std::mem::take(&mut self.signals)).await;
            self.announced = Instant::now();
        }
    }

    /// Announces what is stored and not yet announced.
    pub async fn finish(self) {
        self.state.announce(self.signals).await;
    }
}

/// What subscribers hear of a stored outcome: the delivery changed, and a user's in-app alert arrived.
fn signals_of(outcome: &Outcome<'_>) -> impl Iterator<Item = Signal> {
    let row = outcome.row;
    let alert = match row.target {
        Target::User(user) if row.channel == Channel::Alert && outcome.result.is_ok() => {
            Some(Signal::Alert { notification: row.notification_id, user })
        }
        _ => None,
    };
    alert.into_iter().chain(std::iter::once(Signal::Delivery { id: row.id }))
}

/// Stores the outcomes of `batch` in one transaction, each only if its row is still leased to this
/// worker's claim (`lease_until`). What the sends learned goes in the same transaction.
async fn store(state: &AppState, batch: &mut [Outcome<'_>], lease_until: i64) -> ServiceResult<()> {
    let now = state.clock.now().timestamp();
    let txn = state.begin_batch_write().await?;
    for outcome in batch.iter_mut() {
        deliveries::store_learned(&txn, outcome.learned.take()).await;
    }
    store_outcomes(state, &txn, batch.iter(), now, lease_until).await?;
    txn.commit().await.map_err(ServiceError::from)
}

/// Writes the alerts of `rows` (each user's kept alerts trimmed once) and their outcomes in one transaction,
/// each outcome only if its row is still leased to this worker's claim. `None`, rolled back, when a write
/// failed: on PostgreSQL a failed statement ends the transaction's use.
async fn write_alerts<'r>(
    state: &AppState,
    rows: &'r [delivery::Model],
    notifications: &HashMap<NotificationId, notification::Model>,
    lease_until: i64,
) -> ServiceResult<Option<Vec<Outcome<'r>>>> {
    let now = state.clock.now().timestamp();
    let txn = state.begin_batch_write().await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut alerts = Vec::with_capacity(rows.len());
    for row in rows {
        let result = match (notifications.get(&row.notification_id), alert::user_of(&row.target)) {
            (None, _) => Err(super::lane::notification_gone()),
            (Some(_), Err(refused)) => Err(refused),
            (Some(notification), Ok(user)) => {
                alerts.push((notification, user));
                Ok(())
            }
        };
        outcomes.push(Outcome { row, result, learned: None });
    }
    // Two statements, whatever the number of alerts: under load each statement of a write waits for a
    // core while the writer's turn is held, and one per alert and outcome made 64 of them. Users' older
    // alerts are trimmed by a chore, not here (`service::alerts::trim`).
    if alert::write_many(&txn, &alerts, now).await.is_err() {
        txn.rollback().await?;
        return Ok(None);
    }
    store_outcomes(state, &txn, outcomes.iter(), now, lease_until).await?;
    txn.commit().await?;
    Ok(Some(outcomes))
}

/// Stores attempts' outcomes: each delivery's new state after the retry rules, one statement for the
/// deliveries whose new state is the same (a lane's sent ones, mostly), each only while its row is still
/// leased to this worker's claim (`lease_until`).
async fn store_outcomes<'o, C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    outcomes: impl Iterator<Item = &'o Outcome<'o>>,
    now: i64,
    lease_until: i64,
) -> ServiceResult<()> {
    let mut alike: Vec<(AfterAttempt, Vec<DeliveryId>)> = Vec::new();
    for outcome in outcomes {
        let row = outcome.row;
        let (label, attempt) = match &outcome.result {
            Ok(()) => ("delivered", Attempt::Sent),
            Err(SendError::Defer { until, reason }) => {
                ("deferred", Attempt::Deferred { until: *until, reason: reason.clone() })
            }
            Err(SendError::Retry { reason, retry_after_seconds }) => {
                ("retry", Attempt::Failed { reason: reason.clone(), retry_after_seconds: *retry_after_seconds })
            }
            Err(SendError::Permanent(reason)) => ("dead", Attempt::Refused(reason.clone())),
        };
        let latency = matches!(attempt, Attempt::Sent).then(|| now - row.created_at);
        state.metrics.delivery(row.channel.as_str(), label, latency);
        let after = after_attempt(row.attempts, attempt, now, &state.config.retry, jitter());
        match alike.iter_mut().find(|(same, _)| *same == after) {
            Some((_, ids)) => ids.push(row.id),
            None => alike.push((after, vec![row.id])),
        }
    }
    for (after, ids) in alike {
        let mut model = delivery::ActiveModel {
            attempts: Set(after.attempts),
            lease_until: Set(None),
            updated_at: Set(now),
            last_error: Set(after.last_error),
            ..Default::default()
        };
        if let Some(status) = after.status {
            model.status = Set(status);
        }
        if let Some(at) = after.next_attempt_at {
            model.next_attempt_at = Set(at);
        }
        if let Some(at) = after.delivered_at {
            model.delivered_at = Set(Some(at));
        }
        let expected = ids.len();
        let stored = delivery::Entity::update_many()
            .set(model)
            .filter(delivery::Column::Id.is_in(ids.iter().copied()))
            .filter(delivery::Column::LeaseUntil.eq(lease_until))
            .exec(conn)
            .await
            .map_err(ServiceError::from)?;
        if stored.rows_affected < expected as u64 {
            // Another worker claimed them after this pass's lease lapsed (a pause longer than the lease):
            // their outcomes are that worker's to record.
            let lost = expected as u64 - stored.rows_affected;
            tracing::warn!(lost, deliveries = ?ids, "deliveries' leases were lost before their outcomes were recorded");
        }
    }
    Ok(())
}

/// A factor in [0.5, 1] from the system's randomness.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    0.5 + f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) / 2.0
}
