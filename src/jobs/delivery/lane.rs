//! A lane: the deliveries of one receiver (a webhook, a mail address) or of one channel that must go in
//! order (in-app alerts, Slack, Teams), sent one at a time through one `notify::Sender`, each outcome
//! recorded as soon as it is known. Lanes run independently of each other, so a receiver that hangs
//! holds up only its own deliveries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use tokio::sync::watch;

use super::lease::ClaimLease;
use crate::domain::delivery::{Attempt, after_attempt};
use crate::domain::recipients::{Channel, Target};
use crate::domain::{NotificationId, NotificationPayload};
use crate::entity::{delivery, notification};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::notify::{Channels, Outgoing, SendError, Sender, Sent};
use crate::service::deliveries;
use crate::state::AppState;

/// How often a lane hands the live signals of what it sent to subscribers while it goes on (a slow
/// receiver's lane must not hold back the dashboard's news for its whole length).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);

/// What deliveries go one at a time, in order: one receiver's (a webhook's, a mail address's, so a crash
/// resends at most the one in flight to it), or a whole channel's where order or a shared limit spans
/// receivers (a user's alerts, Slack's rate limit and cached user lookups, the one Teams workflow).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LaneKey {
    Receiver { channel: Channel, target: Target },
    Channel(Channel),
}

impl LaneKey {
    #[must_use]
    pub fn of(row: &delivery::Model) -> Self {
        if matches!(row.channel, Channel::Webhook | Channel::Mail) {
            Self::Receiver { channel: row.channel, target: row.target.clone() }
        } else {
            Self::Channel(row.channel)
        }
    }
}

/// One lane's deliveries, in the order they are due, and what sending them needs.
pub struct Lane {
    pub key: LaneKey,
    pub rows: Vec<delivery::Model>,
    pub notifications: Arc<HashMap<NotificationId, notification::Model>>,
    /// The lease of the claim these rows came from (shared with that claim's other lanes).
    pub lease: Arc<ClaimLease>,
}

impl Lane {
    /// Sends the lane's deliveries one after another until done or until a stop is asked for, storing
    /// each outcome as soon as it is known, and announces what it sent.
    pub async fn run(self, state: AppState, channels: Channels, stopped: watch::Receiver<bool>) -> ServiceResult<()> {
        let mut signals = Vec::new();
        let mut announced = Instant::now();
        let mut sender = channels.sender();
        let mut result = Ok(());
        for row in &self.rows {
            if *stopped.borrow() {
                break;
            }
            let now = state.clock.now().timestamp();
            let sent = send_one(&mut sender, self.notifications.get(&row.notification_id), row, now).await;
            deliveries::store_learned(&state.db, sent.learned).await;
            let outcome = sent.result;
            if outcome.is_ok()
                && let Target::User(user) = row.target
                && row.channel == Channel::Alert
            {
                signals.push(Signal::Alert { notification: row.notification_id, user });
            }
            if let Err(err) = self.lease.recording(|until| record(&state, row, outcome, until)).await {
                result = Err(err);
                break;
            }
            signals.push(Signal::Delivery { id: row.id });
            if announced.elapsed() >= ANNOUNCE_EVERY {
                state.announce(std::mem::take(&mut signals)).await;
                announced = Instant::now();
            }
        }
        state.announce(signals).await;
        result
    }
}

/// Groups claimed rows into lanes, keeping each lane's rows in the order they were claimed.
#[must_use]
pub fn lanes_of(
    rows: Vec<delivery::Model>,
    notifications: &Arc<HashMap<NotificationId, notification::Model>>,
    lease: &Arc<ClaimLease>,
) -> Vec<Lane> {
    let mut by_key: BTreeMap<LaneKey, Vec<delivery::Model>> = BTreeMap::new();
    for row in rows {
        by_key.entry(LaneKey::of(&row)).or_default().push(row);
    }
    by_key
        .into_iter()
        .map(|(key, rows)| Lane { key, rows, notifications: notifications.clone(), lease: lease.clone() })
        .collect()
}

/// Sends one delivery of its notification.
async fn send_one(
    sender: &mut Sender<'_>,
    notification: Option<&notification::Model>,
    row: &delivery::Model,
    now: i64,
) -> Sent {
    let Some(notification) = notification else {
        return Sent::from(Err(SendError::Permanent("the delivery's notification is gone".to_owned())));
    };
    let payload = match NotificationPayload::from_stored(&notification.payload) {
        Ok(payload) => payload,
        Err(err) => {
            return Sent::from(Err(SendError::Permanent(format!("the notification's payload is unreadable: {err}"))));
        }
    };
    let outgoing =
        Outgoing { notification, payload: &payload, target: &row.target, delivery_key: &row.delivery_key, now };
    sender.send(row.channel, &outgoing).await
}

/// Stores the outcome of one attempt, if the row is still leased to this worker's claim (`lease_until`).
async fn record(
    state: &AppState,
    row: &delivery::Model,
    outcome: Result<(), SendError>,
    lease_until: i64,
) -> ServiceResult<()> {
    let now = state.clock.now().timestamp();
    let (label, attempt) = match outcome {
        Ok(()) => ("delivered", Attempt::Sent),
        Err(SendError::Defer { until, reason }) => ("deferred", Attempt::Deferred { until, reason }),
        Err(SendError::Retry { reason, retry_after_seconds }) => {
            ("retry", Attempt::Failed { reason, retry_after_seconds })
        }
        Err(SendError::Permanent(reason)) => ("dead", Attempt::Refused(reason)),
    };
    let latency = matches!(attempt, Attempt::Sent).then(|| now - row.created_at);
    state.metrics.delivery(row.channel.as_str(), label, latency);
    let after = after_attempt(row.attempts, attempt, now, &state.config.retry, jitter());
    let mut model = delivery::ActiveModel {
        id: Set(row.id),
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
        tracing::warn!(delivery = %row.id,
 "a delivery's lease was lost before its outcome was recorded");
    }
    Ok(())
}

/// A factor in [0.5, 1] from the system's randomness.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    0.5 + f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) / 2.0
}
