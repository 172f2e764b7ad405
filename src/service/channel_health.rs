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
    /// Configured, and no delivery failed in the past day without a later one going through.
    pub ok: bool,
    /// Why that delivery failed.
    pub last_error: Option<String>,
    /// When (epoch seconds).
    pub last_error_at: Option<i64>,
}

/// Every channel's state (superusers).
pub async fn channels(state: &AppState, actor: &Actor) -> ServiceResult<Vec<ChannelHealth>> {
    actor.require_superuser()?;
    let settings = system_settings::Entity::find_by_id(1)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::internal("the system settings row is missing"))?;
    let since = state.clock.now().timestamp() - 86_400;
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
        // Its latest failure of the past day (through the status index: failures are few, deliveries many),
        // unless a delivery made after it went through (ids above it: only the newer rows are read).
        let failure = delivery::Entity::find()
            .filter(delivery::Column::Status.is_in([DeliveryStatus::Retrying, DeliveryStatus::Dead]))
            .filter(delivery::Column::Channel.eq(channel))
            .filter(delivery::Column::UpdatedAt.gte(since))
            .order_by_desc(delivery::Column::UpdatedAt)
            .one(&state.db)
            .await?;
        let recovered = match &failure {
            Some(failed) => delivery::Entity::find()
                .filter(delivery::Column::Id.gt(failed.id))
                .filter(delivery::Column::Channel.eq(channel))
                .filter(delivery::Column::Status.eq(DeliveryStatus::Delivered))
                .one(&state.db)
                .await?
                .is_some(),
            None => false,
        };
        let failure = failure.filter(|_| !recovered);
        health.push(ChannelHealth {
            channel,
            enabled,
            configured,
            ok: configured && failure.is_none(),
            last_error: failure.as_ref().and_then(|d| d.last_error.clone()),
            last_error_at: failure.map(|d| d.updated_at),
        });
    }
    Ok(health)
}
