//! Which subscriptions a live event wakes: a channel per topic (all events, one product's, one user's), so a
//! dashboard of one product is not woken by every other product's imports only to drop what it hears.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast;

use super::{EVENTS_PER_MESSAGE, LiveBatch, LiveEvent};
use crate::domain::{ProductId, UserId};

/// What a subscription listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every event: subscriptions not narrowed to a product or a user (a superuser's deliveries).
    All,
    /// The SLA events and changes of one product's findings.
    Product(ProductId),
    /// One user's in-app alerts.
    User(UserId),
}

/// Which topics hear an event.
enum Audience {
    /// `All`, and the topic the event belongs to, if any.
    AllAnd(Option<Topic>),
    /// Every topic: a membership or account change, which each subscription checks against its own user in
    /// order with the events around it (a product's event committed after a membership was removed must not
    /// be heard before the removal).
    Every,
}

impl Audience {
    fn of(event: &LiveEvent) -> Self {
        match event {
            LiveEvent::MembershipChanged { .. } | LiveEvent::UserChanged { .. } => Self::Every,
            LiveEvent::Sla { finding, .. } | LiveEvent::FindingChanged(finding) => {
                Self::AllAnd(Some(Topic::Product(finding.product_id)))
            }
            LiveEvent::Alert(alert) => Self::AllAnd(Some(Topic::User(alert.user_id))),
            LiveEvent::Delivery(_) => Self::AllAnd(None),
        }
    }
}

/// A broadcast channel for each topic that has subscribers.
#[derive(Debug)]
pub(super) struct Topics {
    channels: Mutex<HashMap<Topic, broadcast::Sender<LiveBatch>>>,
    /// Messages kept per channel before a subscriber lags.
    capacity: usize,
}

impl Topics {
    pub(super) fn new(capacity: usize) -> Self {
        Self { channels: Mutex::default(), capacity: capacity.max(1) }
    }

    /// The channels; a panic elsewhere while they were held left them whole (each change is one call).
    fn channels(&self) -> MutexGuard<'_, HashMap<Topic, broadcast::Sender<LiveBatch>>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn subscribe(&self, topic: Topic) -> broadcast::Receiver<LiveBatch> {
        self.channels().entry(topic).or_insert_with(|| broadcast::channel(self.capacity).0).subscribe()
    }

    pub(super) fn subscriber_count(&self) -> usize {
        self.channels().values().map(broadcast::Sender::receiver_count).sum()
    }

    /// Sends each topic the events it carries, in order, in messages of up to `EVENTS_PER_MESSAGE`, and
    /// forgets the topics whose subscribers have all gone. Each event is routed to its own topics (two at
    /// most, but for the rare membership and account changes), so the cost does not grow with the number of
    /// topics listening.
    pub(super) fn send(&self, events: &[LiveEvent]) {
        let mut channels = self.channels();
        channels.retain(|_, sender| sender.receiver_count() > 0);
        let mut carried: HashMap<Topic, Vec<LiveEvent>> = HashMap::new();
        for event in events {
            let mut carry = |topic: Topic| carried.entry(topic).or_default().push(event.clone());
            match Audience::of(event) {
                Audience::Every => channels.keys().copied().for_each(&mut carry),
                Audience::AllAnd(own) => std::iter::once(Topic::All)
                    .chain(own)
                    .filter(|topic| channels.contains_key(topic))
                    .for_each(&mut carry),
            }
        }
        for (topic, events) in carried {
            let Some(sender) = channels.get(&topic) else { continue };
            let mut events = events.into_iter().peekable();
            while events.peek().is_some() {
                let message: LiveBatch = events.by_ref().take(EVENTS_PER_MESSAGE).collect();
                // An error only means that the topic's subscribers have gone meanwhile.
                let _ = sender.send(message);
            }
        }
    }

    /// Whether any subscription listens (else nothing need be loaded to announce).
    pub(super) fn are_heard(&self) -> bool {
        self.channels().values().any(|sender| sender.receiver_count() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertId, NotificationEvent};
    use crate::entity::alert;

    fn alert_for(user: i32) -> LiveEvent {
        LiveEvent::Alert(alert::Model {
            id: AlertId::new(user),
            user_id: UserId::new(user),
            notification_id: None,
            event: NotificationEvent::Other,
            title: format!("for user {user}"),
            description: String::new(),
            url: None,
            created_at: 0,
            read_at: None,
        })
    }

    fn heard(receiver: &mut broadcast::Receiver<LiveBatch>) -> Vec<String> {
        let mut events = Vec::new();
        while let Ok(batch) = receiver.try_recv() {
            events.extend(batch.iter().map(|event| match event {
                LiveEvent::Alert(alert) => format!("alert {}", alert.user_id),
                LiveEvent::UserChanged { user_id } => format!("user {user_id}"),
                LiveEvent::MembershipChanged { user_id } => format!("membership {user_id}"),
                other => format!("{other:?}"),
            }));
        }
        events
    }

    #[test]
    fn a_user_hears_their_own_alerts_and_every_topic_hears_account_and_membership_changes() {
        let topics = Topics::new(16);
        let (mut all, mut first, mut second, mut product) = (
            topics.subscribe(Topic::All),
            topics.subscribe(Topic::User(UserId::new(1))),
            topics.subscribe(Topic::User(UserId::new(2))),
            topics.subscribe(Topic::Product(ProductId::new(7))),
        );
        topics.send(&[
            alert_for(1),
            LiveEvent::MembershipChanged { user_id: UserId::new(2) },
            alert_for(2),
            LiveEvent::UserChanged { user_id: UserId::new(3) },
        ]);
        assert_eq!(heard(&mut all), ["alert 1", "membership 2", "alert 2", "user 3"]);
        assert_eq!(heard(&mut first), ["alert 1", "membership 2", "user 3"]);
        assert_eq!(heard(&mut second), ["membership 2", "alert 2", "user 3"]);
        assert_eq!(heard(&mut product), ["membership 2", "user 3"]);
    }

    #[test]
    fn a_topic_with_nothing_to_carry_gets_no_message_and_one_whose_subscribers_left_is_forgotten() {
        let topics = Topics::new(16);
        let mut quiet = topics.subscribe(Topic::User(UserId::new(9)));
        let gone = topics.subscribe(Topic::User(UserId::new(1)));
        assert_eq!(topics.subscriber_count(), 2);
        drop(gone);
        assert_eq!(topics.subscriber_count(), 1);
        topics.send(&[alert_for(1)]);
        assert!(matches!(quiet.try_recv(), Err(broadcast::error::TryRecvError::Empty)), "not woken");
        assert_eq!(topics.channels().len(), 1, "the topic without subscribers is gone");
    }
}
