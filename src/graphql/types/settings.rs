//! `SystemSettings`: secrets appear only as "is it set".

use async_graphql::Object;

use super::enums::NotificationEvent;
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
