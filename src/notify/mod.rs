//! Notification channels behind one interface: each turns a delivery into a message on its channel.
//!
//! Only channels implemented here are claimed by the delivery worker; deliveries for any other channel stay
//! `PENDING` (never lost) until a version that can send them runs.

pub mod alert;

use sea_orm::DatabaseConnection;

use crate::domain::recipients::{Channel, Target};
use crate::entity::notification;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again, after at least `retry_after_seconds` when the receiver said so.
    Retry { reason: String, retry_after_seconds: Option<i64> },
    /// Will never work as it is (e.g. the receiver refused the request): the delivery is `DEAD`.
    Permanent(String),
}

/// One message to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub notification: &'a notification::Model,
    pub target: &'a Target,
    /// Sent to receivers that can deduplicate (`X-Slawatch-Delivery`).
    pub delivery_key: &'a str,
    pub now: i64,
}

/// The channels this process can send on.
#[derive(Clone, Debug)]
pub struct Channels {
    db: DatabaseConnection,
}

impl Channels {
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The channels the worker may claim deliveries for.
    #[must_use]
    pub fn supported() -> &'static [Channel] {
        &[Channel::Alert]
    }

    /// Sends one message.
    pub async fn send(&self, channel: Channel, outgoing: &Outgoing<'_>) -> Result<(), SendError> {
        match channel {
            Channel::Alert => alert::send(&self.db, outgoing).await,
            other => Err(SendError::Retry {
                reason: format!("the {} channel is not available in this version", other.as_str()),
                retry_after_seconds: None,
            }),
        }
    }
}
