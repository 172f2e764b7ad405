//! A lane: the deliveries of one receiver (a webhook, a mail address) or of one channel that must go in
//! order (in-app alerts, Slack, Teams), sent one at a time through one `notify::Sender`, each outcome
//! stored by the lane's recorder as soon as a write is free. Lanes run independently of each other, so a
//! receiver that hangs holds up only its own deliveries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::lease::ClaimLease;
use super::recorder::{self, Outcome, Recorder};
use crate::domain::recipients::{Channel, Target};
use crate::domain::{NotificationId, NotificationPayload};
use crate::entity::{delivery, notification};
use crate::error::ServiceResult;
use crate::notify::{Channels, Outgoing, SendError, Sender, Sent};
use crate::state::AppState;

/// How many in-app alerts one write transaction stores with their outcomes (three statements whatever the
/// number): such a write held SQLite's one writer 1.5 ms on average under the day-in-the-life bench, and
/// writers queued behind it wait for all of it.
const ALERTS_PER_WRITE: usize = 16;

/// What deliveries go one at a time, in order: one receiver's (a webhook's, a mail address's, so a crash
/// resends at most what it sent to it and had not stored yet), or a whole channel's where order or a shared limit spans
/// receivers (a user's alerts, Slack's rate limit and cached user lookups, the one Teams workflow).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LaneKey {
    Receiver { channel: Channel, target: Target },
    Channel(Channel),
}

impl LaneKey {
    /// The channel the lane's deliveries go through.
    #[must_use]
    pub fn channel(&self) -> Channel {
        match self {
            Self::Receiver { channel, .. } | Self::Channel(channel) => *channel,
        }
    }

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
    /// each outcome and announcing what was stored. In-app alerts are written with their outcomes, several
    /// per write; where a repeat after a crash is harmless the lane sends on while its outcomes are stored
    /// (several per write when writes are slower than sends); elsewhere each outcome is stored before the
    /// next send.
    pub async fn run(self, state: AppState, channels: Channels, stopped: watch::Receiver<bool>) -> ServiceResult<()> {
        let mut recorder = Recorder::new(&state, &self.lease);
        let result = match self.key.channel() {
            Channel::Alert => self.write_alerts(&state, &channels, &stopped, &mut recorder).await,
            channel if !channel.repeat_is_harmless() => {
                self.send_and_store_each(&self.rows, &state, &channels, &stopped, &mut recorder).await
            }
            _ => return self.send_while_storing(&state, &channels, &stopped, recorder).await,
        };
        recorder.finish().await;
        result
    }

    /// Sends the lane's deliveries while the recorder stores the outcomes that came meanwhile.
    async fn send_while_storing(
        &self,
        state: &AppState,
        channels: &Channels,
        stopped: &watch::Receiver<bool>,
        recorder: Recorder<'_>,
    ) -> ServiceResult<()> {
        let (outcomes, sent) = mpsc::channel(recorder::UNSTORED_AT_MOST);
        let sending = async {
            let mut sender = channels.sender();
            for row in &self.rows {
                if *stopped.borrow() {
                    break;
                }
                let outcome = send_one(&mut sender, &self.notifications, row, state).await;
                if outcomes.send(outcome).await.is_err() {
                    // The recorder stopped on an error, which it returns: what is left is released.
                    break;
                }
            }
            drop(outcomes);
        };
        let ((), stored) = tokio::join!(sending, recorder.store_as_they_come(sent));
        stored
    }

    /// Sends `rows` one after another, storing each outcome before the next send.
    async fn send_and_store_each(
        &self,
        rows: &[delivery::Model],
        state: &AppState,
        channels: &Channels,
        stopped: &watch::Receiver<bool>,
        recorder: &mut Recorder<'_>,
    ) -> ServiceResult<()> {
        let mut sender = channels.sender();
        for row in rows {
            if *stopped.borrow() {
                break;
            }
            let outcome = send_one(&mut sender, &self.notifications, row, state).await;
            recorder.store(&mut vec![outcome]).await?;
        }
        Ok(())
    }

    /// Writes the lane's in-app alerts `ALERTS_PER_WRITE` at a time, each write with their outcomes; rows
    /// whose write failed go one by one (`send_and_store_each`), so one bad row cannot hold up the others.
    async fn write_alerts(
        &self,
        state: &AppState,
        channels: &Channels,
        stopped: &watch::Receiver<bool>,
        recorder: &mut Recorder<'_>,
    ) -> ServiceResult<()> {
        for rows in self.rows.chunks(ALERTS_PER_WRITE) {
            if *stopped.borrow() {
                break;
            }
            if !recorder.deliver_alerts(rows, &self.notifications).await? {
                self.send_and_store_each(rows, state, channels, stopped, recorder).await?;
            }
        }
        Ok(())
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
async fn send_one<'r>(
    sender: &mut Sender<'_>,
    notifications: &HashMap<NotificationId, notification::Model>,
    row: &'r delivery::Model,
    state: &AppState,
) -> Outcome<'r> {
    let now = state.clock.now().timestamp();
    let sent = send(sender, notifications.get(&row.notification_id), row, now).await;
    Outcome { row, result: sent.result, learned: sent.learned }
}

/// Why a delivery whose notification was deleted meanwhile can never be made.
pub(super) fn notification_gone() -> SendError {
    SendError::Permanent("the delivery's notification is gone".to_owned())
}

async fn send(
    sender: &mut Sender<'_>,
    notification: Option<&notification::Model>,
    row: &delivery::Model,
    now: i64,
) -> Sent {
    let Some(notification) = notification else {
        return Sent::from(Err(notification_gone()));
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
