//! System settings (one row, superusers only). Secrets are write-only: reads say whether they are set.

use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use crate::domain::{NotificationEvent, validated};
use crate::entity::system_settings;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::read_cache::Timed;
use crate::service::{Actor, outbox};
use crate::state::AppState;

/// The settings as they may be shown: secrets replaced by whether they are set.
#[derive(Debug, Clone)]
pub struct SettingsView {
    pub enable_mail: bool,
    pub enable_slack: bool,
    pub enable_msteams: bool,
    pub enable_webhooks: bool,
    pub slack_token_set: bool,
    pub slack_channel: Option<String>,
    pub msteams_url_set: bool,
    pub enable_pager: bool,
    pub pager_routing_key_set: bool,
    /// `None`: PagerDuty's own endpoint.
    pub pager_events_url: Option<String>,
    /// The stored SMTP URL with its password masked (`None`: `DD_EMAIL_URL`'s, or none).
    pub smtp_url: Option<String>,
    /// Whether mail has a server: the stored URL or `DD_EMAIL_URL`.
    pub smtp_configured: bool,
    pub mail_recipients: Vec<String>,
    pub email_from: Option<String>,
    pub team_name: String,
    pub site_url: String,
    pub webhook_timeout_seconds: i32,
    pub enable_finding_sla: bool,
    pub notify_only_verified: bool,
    pub disclaimer: String,
    pub system_level_trump: Vec<NotificationEvent>,
    pub engagement_auto_close_days: Option<i32>,
}

/// Changes; `None` keeps a value. For secrets and optional texts an empty string clears the value.
#[derive(Debug, Clone, Default)]
pub struct SettingsChanges {
    pub enable_mail: Option<bool>,
    pub enable_slack: Option<bool>,
    pub enable_msteams: Option<bool>,
    pub enable_webhooks: Option<bool>,
    pub slack_token: Option<String>,
    pub slack_channel: Option<String>,
    pub msteams_url: Option<String>,
    /// Refused while no integration key is stored (or given with it).
    pub enable_pager: Option<bool>,
    pub pager_routing_key: Option<String>,
    pub pager_events_url: Option<String>,
    /// `smtp://[user:pass@]host:port/?from=…` or `smtps://…`; "" goes back to `DD_EMAIL_URL`.
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
    /// 0 turns auto-close off.
    pub engagement_auto_close_days: Option<i32>,
}

/// An absolute http(s) URL with a host.
pub fn http_url(field: &str, text: &str) -> ServiceResult<String> {
    let parsed =
        url::Url::parse(text.trim()).map_err(|_| ServiceError::bad_input(format!("{field} is not a valid URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::bad_input(format!("{field} must be an http:// or https:// URL")));
    }
    Ok(parsed.to_string())
}

fn optional(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The URL as it may be shown: its password masked.
fn masked(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unreadable)".to_owned(),
    }
}

fn view(model: system_settings::Model, default_smtp: bool) -> ServiceResult<SettingsView> {
    let mail_recipients: Vec<String> = serde_json::from_str(&model.mail_recipients).map_err(ServiceError::internal)?;
    let trump_names: Vec<String> = serde_json::from_str(&model.system_level_trump).map_err(ServiceError::internal)?;
    let system_level_trump =
        trump_names.iter().map(|n| n.parse()).collect::<Result<Vec<_>, _>>().map_err(ServiceError::internal)?;
    Ok(SettingsView {
        enable_mail: model.enable_mail,
        enable_slack: model.enable_slack,
        enable_msteams: model.enable_msteams,
        enable_webhooks: model.enable_webhooks,
        slack_token_set: model.slack_token.is_some(),
        slack_channel: model.slack_channel,
        msteams_url_set: model.msteams_url.is_some(),
        enable_pager: model.enable_pager,
        pager_routing_key_set: model.pager_routing_key.is_some(),
        pager_events_url: model.pager_events_url,
        smtp_configured: default_smtp || model.smtp_url.is_some(),
        smtp_url: model.smtp_url.as_deref().map(masked),
        mail_recipients,
        email_from: model.email_from,
        team_name: model.team_name,
        site_url: model.site_url,
        webhook_timeout_seconds: model.webhook_timeout_seconds,
        enable_finding_sla: model.enable_finding_sla,
        notify_only_verified: model.notify_only_verified,
        disclaimer: model.disclaimer,
        system_level_trump,
        engagement_auto_close_days: model.engagement_auto_close_days,
    })
}

async fn row(state: &AppState) -> ServiceResult<system_settings::Model> {
    system_settings::Entity::find_by_id(1)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::internal("the system settings row is missing"))
}

pub async fn get(state: &AppState, actor: &Actor) -> ServiceResult<SettingsView> {
    actor.require_superuser()?;
    view(row(state).await?, state.mailers.has_default())
}

pub async fn update(state: &AppState, actor: &Actor, changes: SettingsChanges) -> ServiceResult<SettingsView> {
    actor.require_superuser()?;
    let SettingsChanges {
        enable_mail,
        enable_slack,
        enable_msteams,
        enable_webhooks,
        slack_token,
        slack_channel,
        msteams_url,
        enable_pager,
        pager_routing_key,
        pager_events_url,
        smtp_url,
        mail_recipients,
        email_from,
        team_name,
        site_url,
        webhook_timeout_seconds,
        enable_finding_sla,
        notify_only_verified,
        disclaimer,
        system_level_trump,
        engagement_auto_close_days,
    } = changes;
    // What turns a channel on or takes away what it needs, for the checks below.
    let mail_touched = enable_mail == Some(true) || smtp_url.is_some();
    let slack_touched = enable_slack == Some(true) || slack_token.is_some();
    let pager_touched = enable_pager == Some(true) || pager_routing_key.is_some();
    let mut model: system_settings::ActiveModel = row(state).await?.into();
    for (value, column) in [
        (enable_mail, &mut model.enable_mail),
        (enable_slack, &mut model.enable_slack),
        (enable_msteams, &mut model.enable_msteams),
        (enable_webhooks, &mut model.enable_webhooks),
        (enable_pager, &mut model.enable_pager),
        (enable_finding_sla, &mut model.enable_finding_sla),
        (notify_only_verified, &mut model.notify_only_verified),
    ] {
        if let Some(flag) = value {
            *column = Set(flag);
        }
    }
    if let Some(token) = slack_token {
        model.slack_token = Set(optional(token));
    }
    if let Some(channel) = slack_channel {
        model.slack_channel = Set(optional(channel));
    }
    if let Some(url) = msteams_url {
        model.msteams_url = Set(optional(url).map(|u| http_url("msteamsUrl", &u)).transpose()?);
    }
    if let Some(key) = pager_routing_key {
        let key = optional(key);
        if key.as_ref().is_some_and(|k| k.len() > 64 || !k.chars().all(|c| c.is_ascii_alphanumeric())) {
            return Err(ServiceError::bad_input("pagerRoutingKey is PagerDuty's 32-character integration key"));
        }
        model.pager_routing_key = Set(key);
    }
    if let Some(url) = pager_events_url {
        model.pager_events_url = Set(optional(url).map(|u| http_url("pagerEventsUrl", &u)).transpose()?);
    }
    if let Some(url) = smtp_url {
        let url = optional(url);
        if let Some(url) = &url {
            crate::notify::mail::Mailer::from_url(url)
                .map_err(|err| ServiceError::bad_input(format!("smtpUrl: {err}")))?;
        }
        model.smtp_url = Set(url);
    }
    // A switch that cannot work is refused rather than failing each delivery later (a change that does not
    // touch a channel passes, so settings stored before these checks can still be edited).
    if pager_touched && *model.enable_pager.as_ref() && model.pager_routing_key.as_ref().is_none() {
        return Err(ServiceError::bad_input(
            "enablePager needs pagerRoutingKey: the PagerDuty service's integration key",
        ));
    }
    if mail_touched && *model.enable_mail.as_ref() && model.smtp_url.as_ref().is_none() && !state.mailers.has_default()
    {
        return Err(ServiceError::bad_input("enableMail needs an SMTP server: set smtpUrl (or DD_EMAIL_URL)"));
    }
    if slack_touched && *model.enable_slack.as_ref() && model.slack_token.as_ref().is_none() {
        return Err(ServiceError::bad_input("enableSlack needs slackToken: the Slack app's bot token"));
    }
    if let Some(addresses) = mail_recipients {
        let checked = addresses.iter().map(|a| validated::email(a)).collect::<Result<Vec<_>, _>>()?;
        model.mail_recipients = Set(serde_json::to_string(&checked).map_err(ServiceError::internal)?);
    }
    if let Some(from) = email_from {
        model.email_from = Set(optional(from).map(|f| validated::email(&f)).transpose()?);
    }
    if let Some(name) = team_name {
        model.team_name = Set(validated::name("teamName", &name)?);
    }
    if let Some(url) = site_url {
        model.site_url = Set(http_url("siteUrl", &url)?.trim_end_matches('/').to_owned());
        model.site_url_chosen = Set(true);
    }
    if let Some(seconds) = webhook_timeout_seconds {
        if !(1..=120).contains(&seconds) {
            return Err(ServiceError::bad_input("webhookTimeoutSeconds must be between 1 and 120"));
        }
        model.webhook_timeout_seconds = Set(seconds);
    }
    if let Some(text) = disclaimer {
        model.disclaimer = Set(text);
    }
    if let Some(events) = system_level_trump {
        let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        model.system_level_trump = Set(serde_json::to_string(&names).map_err(ServiceError::internal)?);
    }
    if let Some(days) = engagement_auto_close_days {
        if !(0..=3650).contains(&days) {
            return Err(ServiceError::bad_input("engagementAutoCloseDays must be between 0 (off) and 3650"));
        }
        model.engagement_auto_close_days = Set(Some(days).filter(|d| *d > 0));
    }
    model.updated_at = Set(state.clock.now().timestamp());
    let updated = model.update(&state.db).await?;
    // The site URL is kept for links (`site_url`).
    state.note_change();
    view(updated, state.mailers.has_default())
}

/// The site URL, for links in responses: kept until a change other than a finding's is noted
/// (`update` notes one) or `read_cache::MAX_AGE` passes.
pub async fn site_url(state: &AppState) -> ServiceResult<String> {
    let generation = state.live.catalog_changes();
    let now = state.clock.now().timestamp();
    state
        .catalog
        .site_url
        .get_or_compute(String::new(), generation, now, || async {
            Ok(Timed { value: outbox::site_url(&state.db).await?, valid_until: None })
        })
        .await
}

/// The JWT secret: the configured one, else the stored one, else a new one generated and stored now. Two
/// instances starting together agree: only the first write lands, and both read it back.
pub async fn jwt_secret(db: &sea_orm::DatabaseConnection, configured: Option<&str>) -> ServiceResult<String> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    let candidate = crate::security::token::random_hex(32).map_err(ServiceError::internal)?;
    system_settings::Entity::update_many()
        .col_expr(system_settings::Column::JwtSecret, sea_orm::sea_query::Expr::value(candidate))
        .filter(system_settings::Column::Id.eq(1))
        .filter(system_settings::Column::JwtSecret.is_null())
        .exec(db)
        .await?;
    system_settings::Entity::find_by_id(1)
        .one(db)
        .await?
        .and_then(|settings| settings.jwt_secret)
        .ok_or_else(|| ServiceError::internal("the system settings row is missing"))
}

/// Until a superuser sets `siteUrl`, it is `http://<the address serve is bound to>` (an unspecified address,
/// `0.0.0.0` or `::`, reads as `127.0.0.1`), so links in notifications name the server that sent them.
pub async fn follow_bound_address(db: &sea_orm::DatabaseConnection, bound: std::net::SocketAddr) -> ServiceResult<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut shown = bound;
    if shown.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    system_settings::Entity::update_many()
        .col_expr(system_settings::Column::SiteUrl, Expr::value(format!("http://{shown}")))
        .filter(system_settings::Column::Id.eq(1))
        .filter(system_settings::Column::SiteUrlChosen.eq(false))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_are_accepted() {
        assert!(http_url("u", "https://example.test/hook").is_ok());
        assert!(http_url("u", "ftp://example.test/").is_err());
        assert!(http_url("u", "javascript:alert(1)").is_err());
        assert!(http_url("u", "not a url").is_err());
    }
}
