//! Whether each notification channel works, for `systemHealth`: switched on, configured (a server, a
//! token, a key), and how its latest attempt went — so "mail is on but nothing arrives" has an answer in the
//! API, not only in the worker's log.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::delivery::DeliveryStatus;
use crate::domain::recipients::Channel;
use crate::entity::{delivery, system_settings};
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::state::AppState;

/// One channel's state.
#[derive(Debug, Clone)]
pub struct ChannelHealth {
    pub channel: Channel,
    pub enabled: bool,
    /// What it needs is there (in-app alerts and webhooks need nothing system-wide).
    pub configured: bool,
    /// Usable and its latest attempt did not fail (an unused channel that can work is ok).
    pub ok: bool,
    /// Why its latest attempt failed.
    pub last_error: Option<String>,
    /// When that attempt was (epoch seconds).
    pub last_attempt_at: Option<i64>,
}

/// Every channel's state (superusers).
pub async fn channels(state: &AppState, actor: &Actor) -> ServiceResult<Vec<ChannelHealth>> {
    actor.require_superuser()?;
    let settings = system_settings::Entity::find_by_id(1)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::internal("the system settings row is missing"))?;
    let mut health = Vec::with_capacity(Channel::ALL.len());
    for channel in Channel::ALL {
        let (enabled, configured) = match channel {
            Channel::Alert => (true, true),
            Channel::Mail => (settings.enable_mail, settings.smtp_url.is_some() || state.mailers.has_default()),
            Channel::Slack => (settings.enable_slack, settings.slack_token.is_some()),
            Channel::MsTeams => (settings.enable_msteams, settings.msteams_url.is_some()),
            Channel::Webhook => (settings.enable_webhooks, true),
            Channel::Pager => (settings.enable_pager, settings.pager_routing_key.is_some()),
        };
        // The newest attempted delivery of the channel, found from the newest id down.
        let latest = delivery::Entity::find()
            .filter(delivery::Column::Channel.eq(channel))
            .filter(delivery::Column::Attempts.gt(0))
            .order_by_desc(delivery::Column::Id)
            .one(&state.db)
            .await?;
        let failed = latest.as_ref().filter(|d| matches!(d.status, DeliveryStatus::Retrying | DeliveryStatus::Dead));
        health.push(ChannelHealth {
            channel,
            enabled,
            configured,
            ok: configured && failed.is_none(),
            last_error: failed.and_then(|d| d.last_error.clone()),
            last_attempt_at: latest.map(|d| d.updated_at),
        });
    }
    Ok(health)
}
