//! System settings.

use async_graphql::{Context, InputObject, Object, Result};

use super::context::ContextExt;
use super::types::enums::NotificationEvent;
use super::types::{SystemHealth, SystemSettings};
use crate::service::channel_health;
use crate::service::settings::{self, SettingsChanges};

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The system settings (superusers). Secrets show only whether they are set.
    async fn system_settings(&self, ctx: &Context<'_>) -> Result<SystemSettings> {
        Ok(SystemSettings(settings::get(ctx.state()?, ctx.actor()?).await?))
    }

    /// Whether each notification channel can work and how its latest attempt went (superusers).
    async fn system_health(&self, ctx: &Context<'_>) -> Result<SystemHealth> {
        Ok(SystemHealth(channel_health::channels(ctx.state()?, ctx.actor()?).await?))
    }
}

/// Changes to the system settings; omitted fields stay. For secrets and optional texts "" clears.
#[derive(InputObject)]
pub struct SystemSettingsInput {
    pub enable_mail: Option<bool>,
    pub enable_slack: Option<bool>,
    pub enable_msteams: Option<bool>,
    pub enable_webhooks: Option<bool>,
    /// Write-only.
    pub slack_token: Option<String>,
    pub slack_channel: Option<String>,
    /// Write-only.
    pub msteams_url: Option<String>,
    /// Pages on SLA breaches through PagerDuty; needs `pagerRoutingKey`.
    pub enable_pager: Option<bool>,
    /// Write-only: the PagerDuty service's integration (routing) key.
    pub pager_routing_key: Option<String>,
    /// Where events are posted ("" or unset: PagerDuty's Events API v2 endpoint).
    pub pager_events_url: Option<String>,
    /// The SMTP server, in `DD_EMAIL_URL`'s form (`smtp://[user:pass@]host:port/?from=address`, `tls=required`
    /// for STARTTLS, `smtps://` for TLS); its password is never shown. "" goes back to `DD_EMAIL_URL`.
    pub smtp_url: Option<String>,
    pub mail_recipients: Option<Vec<String>>,
    pub email_from: Option<String>,
    pub team_name: Option<String>,
    pub site_url: Option<String>,
    pub webhook_timeout_seconds: Option<i32>,
    pub enable_finding_sla: Option<bool>,
    pub notify_only_verified: Option<bool>,
    pub disclaimer: Option<String>,
    pub system_level_trump: Option<Vec<NotificationEvent>>,
    /// Complete open engagements this many days past their target end, with `auto_close_engagement`; 0 turns
    /// it off.
    pub engagement_auto_close_days: Option<i32>,
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Updates the system settings (superusers).
    async fn update_system_settings(&self, ctx: &Context<'_>, input: SystemSettingsInput) -> Result<SystemSettings> {
        let changes = pass_on!(input => SystemSettingsInput to SettingsChanges {
            enable_mail, enable_slack, enable_msteams, enable_webhooks, slack_token, slack_channel, msteams_url,
            enable_pager, pager_routing_key, pager_events_url, smtp_url,
            mail_recipients, email_from, team_name, site_url, webhook_timeout_seconds, enable_finding_sla,
            notify_only_verified, disclaimer, engagement_auto_close_days;
            system_level_trump: system_level_trump.map(|e| e.into_iter().map(Into::into).collect()),
        });
        Ok(SystemSettings(settings::update(ctx.state()?, ctx.actor()?, changes).await?))
    }
}
