//! Notification channels behind one interface: each turns a delivery into a message on its channel.
//!
//! The delivery worker claims only deliveries of the channels listed in `Channels::supported`; any other
//! channel's deliveries would stay `PENDING` (never lost) until a version that can send them runs.

pub mod alert;
pub mod http;
pub mod mail;
pub mod mailers;
pub mod pager;
pub mod public_resolver;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait};

use crate::domain::recipients::{Channel, Target};
use crate::domain::webhook_health::HealthRecord;
use crate::domain::{NotificationPayload, UserId, WebhookId};
use crate::entity::{notification, system_settings, webhook as webhook_entity};

/// The largest report file a mail carries; a larger one is left to the message's links.
const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The report a `report_created` message is about, as a file to attach (none when it is too large or gone).
async fn report_attachment(
    db: &DatabaseConnection,
    payload: &NotificationPayload,
) -> Result<Option<mail::MailAttachment>, SendError> {
    let Some(facts) = &payload.report else { return Ok(None) };
    let Some(found) = crate::entity::report::Entity::find_by_id(facts.id).one(db).await.map_err(transient)? else {
        return Ok(None);
    };
    Ok((found.content.len() <= MAX_ATTACHMENT_BYTES).then(|| mail::MailAttachment {
        file_name: found.file_name,
        content_type: found.format.content_type(),
        content: found.content,
    }))
}

/// Why mail waits when neither the system settings nor the environment name an SMTP server.
pub const NO_SMTP_SERVER: &str = "no SMTP server is configured: set smtpUrl in the system settings (or DD_EMAIL_URL)";

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again, after at least `retry_after_seconds` when the receiver said so.
    Retry { reason: String, retry_after_seconds: Option<i64> },
    /// Will never work as it is (e.g. the receiver refused the request): the delivery is `DEAD`.
    Permanent(String),
    /// Not tried now (the endpoint rests after failures): wait until `until`, without counting an attempt.
    Defer { until: i64, reason: String },
}

/// What a send learned that belongs in the database; the channels only report it, the caller stores it
/// (`service::deliveries::store_learned`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learned {
    /// A webhook's health after the attempt.
    WebhookHealth { webhook_id: WebhookId, record: HealthRecord },
    /// A user's Slack id, looked up by email.
    SlackUserId { user_id: UserId, slack_user_id: String },
}

/// How a send went, and what it learned.
#[derive(Debug)]
pub struct Sent {
    pub result: Result<(), SendError>,
    pub learned: Option<Learned>,
    /// What the receiver answered to a message it took, where that says something (an SMTP server's reply).
    pub answer: Option<String>,
}

impl From<Result<(), SendError>> for Sent {
    fn from(result: Result<(), SendError>) -> Self {
        Self { result, learned: None, answer: None }
    }
}

/// One message to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub notification: &'a notification::Model,
    /// The notification's payload, read from `notification.payload`.
    pub payload: &'a NotificationPayload,
    pub target: &'a Target,
    /// Sent to receivers that can deduplicate (`X-Slawatch-Delivery`).
    pub delivery_key: &'a str,
    pub now: i64,
}

/// The channels this process can send on.
#[derive(Clone, Debug)]
pub struct Channels {
    db: DatabaseConnection,
    /// The writers' queue an alert takes its turn in (`notify::alert::send`).
    turns: crate::db::WriteTurns,
    mailers: Arc<mailers::Mailers>,
    http: reqwest::Client,
    slack_api_url: String,
    /// How long an `INACTIVE_TMP` webhook rests after its last failure (0: not at all).
    webhook_rest_seconds: i64,
    /// `SLAWATCH_WEBHOOK_DENY_PRIVATE`: webhooks at private addresses are refused.
    deny_private: bool,
}

impl Channels {
    /// The same channels, trying resting webhooks too (an administrator's test send).
    #[must_use]
    pub fn ignoring_rest(mut self) -> Self {
        self.webhook_rest_seconds = 0;
        self
    }

    /// The channels of the state's database, mailer, HTTP client and Slack API.
    #[must_use]
    pub fn from_state(state: &crate::state::AppState) -> Self {
        Self {
            db: state.db.clone(),
            turns: state.write_turns.clone(),
            mailers: state.mailers.clone(),
            http: state.http.clone(),
            webhook_rest_seconds: state.config.webhook_recovery_seconds,
            deny_private: state.config.webhook_deny_private,
            slack_api_url: state.config.slack_api_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The channels the worker may claim deliveries for.
    #[must_use]
    pub fn supported() -> &'static [Channel] {
        &Channel::ALL
    }

    /// Sends one message (reading what it needs from the database first).
    pub async fn send(&self, channel: Channel, outgoing: &Outgoing<'_>) -> Sent {
        self.sender().send(channel, outgoing).await
    }

    /// A sender for a run of messages: it reads the system settings and each webhook once, and carries
    /// a webhook's health from one send to the next.
    #[must_use]
    pub fn sender(&self) -> Sender<'_> {
        Sender { channels: self, settings: None, webhooks: HashMap::new() }
    }
}

/// Sends a run of messages (one lane of a delivery pass), keeping what it read for the next message.
#[derive(Debug)]
pub struct Sender<'a> {
    channels: &'a Channels,
    settings: Option<system_settings::Model>,
    webhooks: HashMap<WebhookId, webhook_entity::Model>,
}

impl Sender<'_> {
    /// Sends one message.
    pub async fn send(&mut self, channel: Channel, outgoing: &Outgoing<'_>) -> Sent {
        match self.try_send(channel, outgoing).await {
            Ok(sent) => sent,
            Err(err) => Sent::from(Err(err)),
        }
    }

    /// Sends one message; `Err` when it could not be tried (settings or the webhook unreadable).
    async fn try_send(&mut self, channel: Channel, outgoing: &Outgoing<'_>) -> Result<Sent, SendError> {
        let channels = self.channels;
        Ok(match channel {
            Channel::Alert => Sent::from(alert::send(&channels.turns, &channels.db, outgoing).await),
            Channel::Mail => {
                let row = self.settings().await?;
                let mailer = channels.mailers.for_url(row.smtp_url.as_deref()).map_err(SendError::Permanent)?;
                let Some(mailer) = mailer else {
                    return Err(unconfigured(Channel::Mail, NO_SMTP_SERVER));
                };
                let settings = mail::MailSettings {
                    team_name: row.team_name.clone(),
                    email_from: row.email_from.clone(),
                    disclaimer: row.disclaimer.clone(),
                };
                let attachment = report_attachment(&channels.db, outgoing.payload).await?;
                let sent = mailer.send(outgoing, &settings, attachment.as_ref()).await;
                Sent { answer: sent.as_ref().ok().cloned(), result: sent.map(|_| ()), learned: None }
            }
            Channel::Webhook => {
                let Target::Webhook(id) = outgoing.target else {
                    return Err(SendError::Permanent(format!(
                        "a webhook delivery needs a webhook, not {}",
                        outgoing.target
                    )));
                };
                let row = self.settings().await?;
                let context = webhook::WebhookContext {
                    site_url: row.site_url.clone(),
                    disclaimer: row.disclaimer.clone(),
                    timeout: std::time::Duration::from_secs(u64::try_from(row.webhook_timeout_seconds).unwrap_or(10)),
                    rest_seconds: channels.webhook_rest_seconds,
                    deny_private: channels.deny_private,
                };
                let hook = match self.webhooks.entry(*id) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(unknown) => unknown.insert(
                        webhook_entity::Entity::find_by_id(*id)
                            .one(&channels.db)
                            .await
                            .map_err(transient)?
                            .ok_or_else(|| SendError::Permanent(format!("the webhook {id} no longer exists")))?,
                    ),
                };
                webhook::send(&channels.http, hook, outgoing, &context).await
            }
            Channel::Slack => {
                let row = self.settings().await?;
                let context =
                    slack::SlackContext { api_url: channels.slack_api_url.clone(), token: row.slack_token.clone() };
                slack::send(&channels.db, &channels.http, &context, outgoing).await
            }
            Channel::MsTeams => {
                let url = self.settings().await?.msteams_url.clone();
                Sent::from(teams::send(&channels.http, url.as_deref(), outgoing).await)
            }
            Channel::Pager => {
                let row = self.settings().await?;
                let context = pager::PagerContext {
                    routing_key: row.pager_routing_key.clone(),
                    events_url: row.pager_events_url.clone(),
                };
                Sent::from(pager::send(&channels.http, &context, outgoing).await)
            }
        })
    }

    /// The system settings, read on first use.
    async fn settings(&mut self) -> Result<&system_settings::Model, SendError> {
        let row = match self.settings.take() {
            Some(row) => row,
            None => {
                system_settings::Entity::find_by_id(1).one(&self.channels.db).await.map_err(transient)?.ok_or_else(
                    || SendError::Retry { reason: "system settings missing".to_owned(), retry_after_seconds: None },
                )?
            }
        };
        Ok(self.settings.insert(row))
    }
}

/// A send that cannot be tried for want of configuration: it waits (a retry, so nothing is lost once the
/// channel is set up), and the cause is logged at WARN the first time this process meets it, not at every
/// attempt of every delivery.
pub(crate) fn unconfigured(channel: Channel, reason: &str) -> SendError {
    if first_time(reason) {
        tracing::warn!(channel = channel.as_str(), %reason, "deliveries wait: a channel is enabled but not configured");
    }
    SendError::Retry { reason: reason.to_owned(), retry_after_seconds: None }
}

/// Whether this process meets `cause` for the first time.
fn first_time(cause: &str) -> bool {
    static MET: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = std::sync::OnceLock::new();
    MET.get_or_init(Default::default).lock().is_ok_and(|mut met| met.insert(cause.to_owned()))
}

pub(crate) fn transient(err: sea_orm::DbErr) -> SendError {
    SendError::Retry { reason: format!("database: {err}"), retry_after_seconds: None }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_configuration_is_reported_once_per_cause() {
        assert!(super::first_time("a cause only this test meets"));
        assert!(!super::first_time("a cause only this test meets"));
        assert!(super::first_time("another cause only this test meets"));
    }
}
