//! The `system_settings` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "system_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub enable_mail: bool,
    pub enable_slack: bool,
    pub enable_msteams: bool,
    pub enable_webhooks: bool,
    pub slack_token: Option<String>,
    pub slack_channel: Option<String>,
    pub msteams_url: Option<String>,
    pub enable_pager: bool,
    /// The PagerDuty service's integration (routing) key. Write-only.
    pub pager_routing_key: Option<String>,
    /// Where PagerDuty events are posted (NULL: PagerDuty's own Events API v2 endpoint).
    pub pager_events_url: Option<String>,
    /// The SMTP server, as `DD_EMAIL_URL` (`smtp://user:pass@host:port/?from=…`); NULL: `DD_EMAIL_URL`'s.
    pub smtp_url: Option<String>,
    /// The last day (days since 1970-01-01) whose daily SLA digest was written.
    pub daily_digest_day: Option<i64>,
    /// JSON array of addresses.
    pub mail_recipients: String,
    pub email_from: Option<String>,
    pub team_name: String,
    pub site_url: String,
    /// Whether a superuser set `site_url`; until then each `serve` start sets it from its bound address.
    pub site_url_chosen: bool,
    pub webhook_timeout_seconds: i32,
    pub enable_finding_sla: bool,
    pub notify_only_verified: bool,
    pub disclaimer: String,
    /// JSON array of event names for which system settings override a user's opt-out.
    pub system_level_trump: String,
    /// HS256 secret generated on first start when `SLAWATCH_JWT_SECRET` is unset. Never leaves the server.
    pub jwt_secret: Option<String>,
    /// Open engagements this many days past their target end are completed automatically (NULL: never).
    pub engagement_auto_close_days: Option<i32>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
