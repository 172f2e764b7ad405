//! "Send test" for every channel: a real message, sent now (not queued), with the outcome returned.

use sea_orm::{ActiveModelTrait, Set};

use crate::domain::recipients::{Channel, Target};
use crate::domain::validated;
use crate::domain::{NotificationPayload, WebhookId};
use crate::entity::notification;
use crate::error::{ServiceError, ServiceResult};
use crate::notify::{Channels, Outgoing, SendError};
use crate::security::token;
use crate::service::{Actor, outbox, users};
use crate::state::AppState;

/// How a test send went.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub delivered: bool,
    pub error: Option<String>,
    /// The receiver's answer, where it gives one (a mail server's reply).
    pub answer: Option<String>,
}

/// Sends a test message on `channel`. Alerts go to the caller (anyone may test them); the other channels
/// are for superusers: mail to `target` (default the caller's address), Slack to `target` (default the
/// system channel), Teams to the system workflow, a webhook to the webhook whose id is `target`.
pub async fn send(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
    target: Option<String>,
) -> ServiceResult<TestOutcome> {
    if channel != Channel::Alert {
        actor.require_superuser()?;
    }
    let switches = outbox::system_switches(&state.db).await?;
    let target = match channel {
        Channel::Alert => Target::User(actor.user_id),
        Channel::Mail => match target {
            Some(address) => Target::Email(validated::email(&address)?),
            None => Target::Email(users::me(state, actor).await?.email),
        },
        Channel::Slack => match target.or(switches.slack_channel.clone()) {
            Some(name) => Target::SlackChannel(name),
            None => return Err(ServiceError::bad_input("name a Slack channel, or set the system Slack channel")),
        },
        Channel::MsTeams => Target::MsTeams,
        // A test page would open a real incident for whoever is on call.
        Channel::Pager => {
            return Err(ServiceError::bad_input(
                "PAGER has no test message: a page opens an incident; route an SLA breach to it instead",
            ));
        }
        Channel::Webhook => {
            let id = target
                .and_then(|t| t.parse::<i32>().ok())
                .map(WebhookId::new)
                .ok_or_else(|| ServiceError::bad_input("a webhook test needs the webhook's id as target"))?;
            crate::service::webhooks::get(state, actor, id).await?;
            Target::Webhook(id)
        }
    };
    let now = state.clock.now().timestamp();
    let payload =
        NotificationPayload { test: true, by: Some(actor.username.clone()), ..NotificationPayload::default() };
    let stored = notification::ActiveModel {
        event: Set(crate::domain::NotificationEvent::Other),
        title: Set("Test notification from slawatch".to_owned()),
        description: Set(format!("Sent by {} to check the {} channel.", actor.username, channel.as_str())),
        url: Set(Some(outbox::site_url(&state.db).await?)),
        payload: Set(payload.to_stored()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let key = token::random_hex(16).map_err(ServiceError::internal)?;
    let outgoing = Outgoing { notification: &stored, payload: &payload, target: &target, delivery_key: &key, now };
    let sent = Channels::from_state(state).ignoring_rest().send(channel, &outgoing).await;
    crate::service::deliveries::store_learned(&state.db, sent.learned).await;
    let answer = sent.answer;
    Ok(match sent.result {
        Ok(()) => TestOutcome { delivered: true, error: None, answer },
        Err(SendError::Retry { reason, .. } | SendError::Permanent(reason) | SendError::Defer { reason, .. }) => {
            TestOutcome { delivered: false, error: Some(reason), answer }
        }
    })
}
