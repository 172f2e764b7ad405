//! `SystemSettings` (secrets appear only as "is it set") and `SystemHealth`.

use async_graphql::Object;
use chrono::{DateTime, Utc};

use super::enums::{NotificationChannel, NotificationEvent};
use crate::service::channel_health::ChannelHealth;
use crate::service::settings::SettingsView;

pub struct SystemSettings(pub SettingsView);

/// The system settings (superusers): channels, addresses, site URL and notification defaults; secrets are shown only as set or not.
#[Object]
impl SystemSettings {
    async fn enable_mail(&self) -> bool {
        self.0.enable_mail
    }
    async fn enable_slack(&self) -> bool {
        self.0.enable_slack
    }
    async fn enable_msteams(&self) -> bool {
        self.0.enable_msteams
    }
    async fn enable_webhooks(&self) -> bool {
        self.0.enable_webhooks
    }
    /// Whether a Slack bot token is stored (the token itself is never returned).
    async fn slack_token_set(&self) -> bool {
        self.0.slack_token_set
    }
    async fn slack_channel(&self) -> Option<&str> {
        self.0.slack_channel.as_deref()
    }
    /// Whether a Teams workflow URL is stored (it carries a key, so it is never returned).
    async fn msteams_url_set(&self) -> bool {
        self.0.msteams_url_set
    }
    async fn enable_pager(&self) -> bool {
        self.0.enable_pager
    }
    /// Whether a PagerDuty integration key is stored (it is never returned).
    async fn pager_routing_key_set(&self) -> bool {
        self.0.pager_routing_key_set
    }
    /// Where PagerDuty events go (null: PagerDuty's own endpoint).
    async fn pager_events_url(&self) -> Option<&str> {
        self.0.pager_events_url.as_deref()
    }
    /// The SMTP server set here, its password masked (null: `DD_EMAIL_URL`'s, if any).
    async fn smtp_url(&self) -> Option<&str> {
        self.0.smtp_url.as_deref()
    }
    /// Whether mail has a server (set here or by `DD_EMAIL_URL`).
    async fn smtp_configured(&self) -> bool {
        self.0.smtp_configured
    }
    async fn mail_recipients(&self) -> &[String] {
        &self.0.mail_recipients
    }
    async fn email_from(&self) -> Option<&str> {
        self.0.email_from.as_deref()
    }
    async fn team_name(&self) -> &str {
        &self.0.team_name
    }
    /// Base URL for links in messages.
    async fn site_url(&self) -> &str {
        &self.0.site_url
    }
    async fn webhook_timeout_seconds(&self) -> i32 {
        self.0.webhook_timeout_seconds
    }
    async fn enable_finding_sla(&self) -> bool {
        self.0.enable_finding_sla
    }
    async fn notify_only_verified(&self) -> bool {
        self.0.notify_only_verified
    }
    /// Open engagements this many days past their target end are completed automatically (null: never).
    async fn engagement_auto_close_days(&self) -> Option<i32> {
        self.0.engagement_auto_close_days
    }
    async fn disclaimer(&self) -> &str {
        &self.0.disclaimer
    }
    /// Events for which system settings override a user's opt-out.
    async fn system_level_trump(&self) -> Vec<NotificationEvent> {
        self.0.system_level_trump.iter().copied().map(Into::into).collect()
    }
}

/// How the system's parts are doing.
pub struct SystemHealth(pub Vec<ChannelHealth>);

/// How the system's parts are doing (superusers): each notification channel, whether it can work and how
/// its latest attempt went.
#[Object]
impl SystemHealth {
    async fn channels(&self) -> Vec<ChannelStatus> {
        self.0.iter().cloned().map(ChannelStatus).collect()
    }
}

pub struct ChannelStatus(ChannelHealth);

/// One notification channel: switched on, configured (server, token, key), and its latest attempt.
#[Object]
impl ChannelStatus {
    async fn channel(&self) -> NotificationChannel {
        self.0.channel.into()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// What it needs system-wide is there (an SMTP server, a Slack token, a Teams URL, a PagerDuty key).
    async fn configured(&self) -> bool {
        self.0.configured
    }
    /// Configured, and no delivery failed in the past day without a later one going through.
    async fn ok(&self) -> bool {
        self.0.ok
    }
    /// Why that delivery failed ("no SMTP server is configured …", the receiver's answer).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it failed.
    async fn last_error_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_error_at.and_then(super::instant)
    }
}
