//! Live events for subscriptions: services publish small signals after their transaction commits; each
//! instance hydrates them once and broadcasts them to its subscribers. On PostgreSQL the signals travel by
//! `NOTIFY` so that every instance's subscribers hear of changes made on any instance.

pub mod relay;
mod topics;

pub use topics::Topic;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, Statement,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::{DeliveryId, FindingId, NotificationId, ProductId, UserId};
use crate::entity::delivery_view::{self, DeliveryView};
use crate::entity::{alert, delivery, finding, listed_rows, sla_event};

/// The PostgreSQL channel the signals travel on.
pub const CHANNEL: &str = "slawatch_live";

/// `NOTIFY` payloads must stay under 8000 bytes.
const MAX_NOTIFY_BYTES: usize = 7_000;

/// What changed, by id: small enough for `NOTIFY`, hydrated by each receiving instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Signal {
    /// A row of `sla_events` was written.
    Sla { id: i32 },
    /// A finding was created or changed.
    Finding { id: FindingId },
    /// A user received the in-app alert of a notification.
    Alert { notification: NotificationId, user: UserId },
    /// A delivery was attempted.
    Delivery { id: DeliveryId },
    /// A user's product memberships changed.
    Membership { user: UserId },
    /// A user's account changed (privileges, activation, password, sessions) or one of their API tokens
    /// was revoked: live connections signed in as them check their credentials again.
    User { user: UserId },
}

impl Signal {
    /// Whether the change can alter what kept query answers say (`service::finding_reads`, the kept
    /// request identities): a finding's columns, who may view which product, or who a user is. SLA events,
    /// alerts and deliveries do not.
    #[must_use]
    pub fn alters_queries(&self) -> bool {
        matches!(self, Self::Finding { .. } | Self::Membership { .. } | Self::User { .. })
    }

    /// Whether the change can alter who a request's credential belongs to or what is kept around the
    /// findings (`LiveBus::catalog_changes`): a user's account or tokens, or their memberships. A finding's
    /// change does not, so a stream of imports leaves those kept.
    #[must_use]
    pub fn alters_catalog(&self) -> bool {
        matches!(self, Self::Membership { .. } | Self::User { .. })
    }
}

/// A hydrated event, as subscribers receive it.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// The finding is shared: every subscriber's copy of the event is a reference to it.
    Sla {
        event: sla_event::Model,
        finding: Arc<finding::Listed>,
    },
    FindingChanged(Arc<finding::Listed>),
    Alert(alert::Model),
    Delivery(DeliveryView),
    MembershipChanged {
        user_id: UserId,
    },
    UserChanged {
        user_id: UserId,
    },
}

impl LiveEvent {
    /// The product the event belongs to, for visibility checks.
    #[must_use]
    pub fn product_id(&self) -> Option<ProductId> {
        match self {
            Self::Sla { finding, .. } | Self::FindingChanged(finding) => Some(finding.product_id),
            Self::Delivery(view) => view.notification.product_id,
            Self::Alert(_) | Self::MembershipChanged { .. } | Self::UserChanged { .. } => None,
        }
    }
}

/// Events committed together, as one broadcast message: a subscriber wakes once for the lot (one message
/// per event woke every subscriber per event — a thousand imported findings a second woke each dashboard a
/// thousand times).
pub type LiveBatch = Arc<[LiveEvent]>;

/// The most events one message carries; a larger announcement is sent in several.
pub const EVENTS_PER_MESSAGE: usize = 64;

/// The broadcast side of live events, shared by the whole process.
#[derive(Debug, Clone)]
pub struct LiveBus {
    topics: Arc<topics::Topics>,
    through_postgres: bool,
    /// Counts changes to findings and memberships (this instance's and, on PostgreSQL, the others'
    /// announced ones): kept query answers are only reused while it stands still.
    changes: Arc<AtomicU64>,
    /// Counts the changes of those that are not a finding's alone (`Signal::alters_catalog`, and every
    /// `note_change`): what is kept of users, tokens, products and settings is reused while it stands still.
    catalog_changes: Arc<AtomicU64>,
}

impl LiveBus {
    /// About `buffer_events` events are kept per subscriber before it lags: as many messages as that fills
    /// when full (`EVENTS_PER_MESSAGE` each), so a stalled subscriber holds at most that many events.
    #[must_use]
    pub fn new(buffer_events: usize, through_postgres: bool) -> Self {
        let topics = Arc::new(topics::Topics::new(buffer_events.div_ceil(EVENTS_PER_MESSAGE)));
        Self { topics, through_postgres, changes: Arc::default(), catalog_changes: Arc::default() }
    }

    /// Records a committed change that may alter what queries answer (call after the commit).
    /// It may be any kind of change, so both counts move.
    pub fn note_change(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.catalog_changes.fetch_add(1, Ordering::SeqCst);
    }

    fn note_changes_in(&self, signals: &[Signal]) {
        if signals.iter().any(Signal::alters_catalog) {
            self.note_change();
        } else if signals.iter().any(Signal::alters_queries) {
            self.changes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The number of changes recorded so far; read it before a query whose answer is kept.
    #[must_use]
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// The number of changes recorded so far other than findings' own; read it before a query whose answer
    /// is kept with it (request identities, API tokens, product names, the site URL).
    #[must_use]
    pub fn catalog_changes(&self) -> u64 {
        self.catalog_changes.load(Ordering::SeqCst)
    }

    /// A receiver of the events `topic` carries from now on, in messages of up to `EVENTS_PER_MESSAGE`.
    #[must_use]
    pub fn subscribe(&self, topic: Topic) -> broadcast::Receiver<LiveBatch> {
        self.topics.subscribe(topic)
    }

    /// How many subscriptions of this instance are listening.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.topics.subscriber_count()
    }

    /// Announces committed changes. Never fails the caller: the change is already stored, and a lost live
    /// event only delays a dashboard until its next query.
    pub async fn publish(&self, db: &DatabaseConnection, signals: Vec<Signal>) {
        self.note_changes_in(&signals);
        if signals.is_empty() {
            return;
        }
        if self.through_postgres {
            for payload in notify_payloads(&signals) {
                let statement = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), payload.into()],
                );
                if let Err(err) = db.execute_raw(statement).await {
                    tracing::warn!(error = %err, "could not publish live events");
                }
            }
        } else {
            self.deliver_locally(db, &signals).await;
        }
    }

    /// Hydrates the signals and hands them to this instance's subscribers (if there are any).
    pub async fn deliver_locally(&self, db: &DatabaseConnection, signals: &[Signal]) {
        self.note_changes_in(signals);
        if !self.topics.are_heard() {
            return;
        }
        match hydrate(db, signals).await {
            Ok(events) => self.topics.send(&events),
            Err(err) => tracing::warn!(error = %err, "could not load live events"),
        }
    }
}

/// JSON arrays of signals, each under the `NOTIFY` size limit.
fn notify_payloads(signals: &[Signal]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for signal in signals {
        let Ok(text) = serde_json::to_string(signal) else { continue };
        if size + text.len() + 1 > MAX_NOTIFY_BYTES && !current.is_empty() {
            payloads.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        payloads.push(format!("[{}]", current.join(",")));
    }
    payloads
}

/// Parses a `NOTIFY` payload.
#[must_use]
pub fn parse_payload(payload: &str) -> Vec<Signal> {
    serde_json::from_str(payload).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "ignored an unreadable live event payload");
        Vec::new()
    })
}

/// Loads what the signals name, a few queries for the lot, and returns the events in signal order.
async fn hydrate<C: ConnectionTrait>(conn: &C, signals: &[Signal]) -> Result<Vec<LiveEvent>, sea_orm::DbErr> {
    let mut sla_ids = HashSet::new();
    let mut finding_ids = HashSet::new();
    let mut alert_keys = HashSet::new();
    let mut delivery_ids = HashSet::new();
    for signal in signals {
        match *signal {
            Signal::Sla { id } => {
                sla_ids.insert(id);
            }
            Signal::Finding { id } => {
                finding_ids.insert(id);
            }
            Signal::Alert { notification, user } => {
                alert_keys.insert((notification, user));
            }
            Signal::Delivery { id } => {
                delivery_ids.insert(id);
            }
            Signal::Membership { .. } | Signal::User { .. } => {}
        }
    }
    let sla_events: HashMap<i32, sla_event::Model> = if sla_ids.is_empty() {
        HashMap::new()
    } else {
        let rows = sla_event::Entity::find().filter(sla_event::Column::Id.is_in(sla_ids)).all(conn).await?;
        finding_ids.extend(rows.iter().map(|e| e.finding_id));
        rows.into_iter().map(|e| (e.id, e)).collect()
    };
    let findings: HashMap<FindingId, Arc<finding::Listed>> = if finding_ids.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<FindingId> = finding_ids.into_iter().collect();
        listed_rows::listed_by_id(conn, &ids, Condition::all())
            .await?
            .into_iter()
            .map(|f| (f.id, Arc::new(f)))
            .collect()
    };
    let alerts: HashMap<(NotificationId, UserId), alert::Model> = if alert_keys.is_empty() {
        HashMap::new()
    } else {
        alert::Entity::find()
            .filter(alert::Column::NotificationId.is_in(alert_keys.iter().map(|(n, _)| *n)))
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|a| a.notification_id.map(|n| ((n, a.user_id), a)))
            .filter(|(key, _)| alert_keys.contains(key))
            .collect()
    };
    let deliveries = load_deliveries(conn, delivery_ids).await?;
    let mut events = Vec::with_capacity(signals.len());
    for signal in signals {
        let event = match *signal {
            Signal::Sla { id } => sla_events.get(&id).and_then(|event| {
                findings
                    .get(&event.finding_id)
                    .map(|finding| LiveEvent::Sla { event: event.clone(), finding: Arc::clone(finding) })
            }),
            Signal::Finding { id } => findings.get(&id).cloned().map(LiveEvent::FindingChanged),
            Signal::Alert { notification, user } => alerts.get(&(notification, user)).cloned().map(LiveEvent::Alert),
            Signal::Delivery { id } => deliveries.get(&id).cloned().map(LiveEvent::Delivery),
            Signal::Membership { user } => Some(LiveEvent::MembershipChanged { user_id: user }),
            Signal::User { user } => Some(LiveEvent::UserChanged { user_id: user }),
        };
        // A row deleted since is simply not announced.
        events.extend(event);
    }
    Ok(events)
}

async fn load_deliveries<C: ConnectionTrait>(
    conn: &C,
    ids: HashSet<DeliveryId>,
) -> Result<HashMap<DeliveryId, DeliveryView>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = delivery::Entity::find().filter(delivery::Column::Id.is_in(ids)).all(conn).await?;
    let notifications = delivery_view::notifications_of(conn, &rows).await?;
    Ok(rows
        .into_iter()
        .filter_map(|delivery| {
            let notification = notifications.get(&delivery.notification_id)?.clone();
            Some((delivery.id, DeliveryView { delivery, notification }))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_through_a_notify_payload() {
        let signals = vec![
            Signal::Sla { id: 1 },
            Signal::Finding { id: FindingId::new(2) },
            Signal::Alert { notification: NotificationId::new(3), user: UserId::new(4) },
            Signal::Delivery { id: DeliveryId::new(5) },
            Signal::Membership { user: UserId::new(6) },
            Signal::User { user: UserId::new(7) },
        ];
        let payloads = notify_payloads(&signals);
        assert_eq!(payloads.len(), 1);
        assert_eq!(parse_payload(&payloads[0]), signals);
    }

    #[tokio::test]
    async fn only_finding_membership_and_user_changes_drop_kept_answers() {
        let bus = LiveBus::new(16, false);
        let db = sea_orm::DatabaseConnection::default();
        bus.deliver_locally(&db, &[Signal::Sla { id: 1 }, Signal::Delivery { id: DeliveryId::new(2) }]).await;
        bus.deliver_locally(&db, &[Signal::Alert { notification: NotificationId::new(3), user: UserId::new(4) }]).await;
        assert_eq!(bus.changes(), 0, "SLA events, alerts and deliveries change no kept answer");
        bus.deliver_locally(
            &db,
            &[Signal::Delivery { id: DeliveryId::new(5) }, Signal::Finding { id: FindingId::new(6) }],
        )
        .await;
        assert_eq!((bus.changes(), bus.catalog_changes()), (1, 0), "a finding's change keeps the catalog");
        bus.deliver_locally(&db, &[Signal::Membership { user: UserId::new(7) }]).await;
        bus.deliver_locally(&db, &[Signal::User { user: UserId::new(7) }]).await;
        assert_eq!((bus.changes(), bus.catalog_changes()), (3, 2));
        bus.note_change();
        assert_eq!((bus.changes(), bus.catalog_changes()), (4, 3), "an unannounced change may be of anything");
    }

    #[tokio::test]
    async fn events_committed_together_reach_a_subscriber_in_few_messages() {
        let bus = LiveBus::new(8_000, false);
        let mut receiver = bus.subscribe(Topic::All);
        let db = sea_orm::DatabaseConnection::default();
        let signals: Vec<Signal> = (0..100).map(|id| Signal::User { user: UserId::new(id) }).collect();
        bus.deliver_locally(&db, &signals).await;
        let first = receiver.try_recv().expect("a first message");
        let second = receiver.try_recv().expect("a second message");
        assert_eq!((first.len(), second.len()), (EVENTS_PER_MESSAGE, 100 - EVENTS_PER_MESSAGE));
        assert!(receiver.try_recv().is_err(), "nothing more");
        let users: Vec<UserId> = first
            .iter()
            .chain(second.iter())
            .filter_map(|event| match event {
                LiveEvent::UserChanged { user_id } => Some(*user_id),
                _ => None,
            })
            .collect();
        assert_eq!(users, (0..100).map(UserId::new).collect::<Vec<_>>(), "every event, in order");
    }

    #[test]
    fn large_batches_are_split_under_the_notify_limit() {
        let signals: Vec<Signal> = (0..5_000).map(|id| Signal::Finding { id: FindingId::new(id) }).collect();
        let payloads = notify_payloads(&signals);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_NOTIFY_BYTES));
        let back: Vec<Signal> = payloads.iter().flat_map(|p| parse_payload(p)).collect();
        assert_eq!(back, signals);
    }

    #[test]
    fn an_unreadable_payload_is_ignored() {
        assert!(parse_payload("not json").is_empty());
    }
}
