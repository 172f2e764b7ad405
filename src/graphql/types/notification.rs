//! `NotificationSetting` and `Webhook`.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::enums::{NotificationChannel, NotificationEvent, NotificationScope, Severity, WebhookFormat, WebhookStatus};
use super::instant;
use crate::entity::webhook;
use crate::service::notification_settings::SettingView;
use crate::service::webhooks;

/// One event's setting in one scope.
pub struct NotificationSetting(pub SettingView);

/// Where one event goes for one scope (system, personal, product, template): channels and extra targets.
#[Object]
impl NotificationSetting {
    async fn scope(&self) -> NotificationScope {
        self.0.owner.scope().into()
    }
    async fn user_id(&self) -> Option<ID> {
        self.0.owner.user_id().map(|id| ID(id.to_string()))
    }
    async fn product_id(&self) -> Option<ID> {
        self.0.owner.product_id().map(|id| ID(id.to_string()))
    }
    async fn event(&self) -> NotificationEvent {
        self.0.event.into()
    }
    async fn channels(&self) -> Vec<NotificationChannel> {
        self.0.setting.channels.iter().copied().map(Into::into).collect()
    }
    /// Extra email addresses (system scope and product extra recipients).
    async fn emails(&self) -> &[String] {
        &self.0.setting.emails
    }
    async fn slack_channels(&self) -> &[String] {
        &self.0.setting.slack_channels
    }
    async fn webhook_ids(&self) -> Vec<ID> {
        self.0.setting.webhook_ids.iter().map(|id| ID(id.to_string())).collect()
    }
    /// Its condition: the severities it is for (empty: any)…
    async fn severities(&self) -> Vec<Severity> {
        self.0.condition.severities.iter().copied().map(Into::into).collect()
    }
    /// …and the products and product types (both empty: any product).
    async fn product_ids(&self) -> Vec<ID> {
        self.0.condition.product_ids.iter().map(|id| ID(id.to_string())).collect()
    }
    /// For `SLA_BREACH_COMBINED`: whether it is the daily digest.
    async fn daily_digest(&self) -> bool {
        self.0.condition.daily
    }
    async fn product_type_ids(&self) -> Vec<ID> {
        self.0.condition.product_type_ids.iter().map(|id| ID(id.to_string())).collect()
    }
    /// False when nothing is stored for the event: the scope's `OTHER` setting (or the defaults) applies.
    async fn configured(&self) -> bool {
        self.0.configured
    }
}

/// A webhook endpoint. Its auth header value and HMAC secret are write-only.
pub struct Webhook(pub webhook::Model);

/// A webhook endpoint: its URL, body format and health (secrets are never returned).
#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The URL with any password and query values hidden (they often carry keys).
    async fn url(&self) -> String {
        webhooks::redacted_url(&self.0.url)
    }
    async fn format(&self) -> WebhookFormat {
        self.0.format.into()
    }
    /// The GELF `host` field.
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn header_name(&self) -> Option<&str> {
        self.0.header_name.as_deref()
    }
    async fn header_value_set(&self) -> bool {
        self.0.header_value.is_some()
    }
    async fn hmac_secret_set(&self) -> bool {
        self.0.hmac_secret.is_some()
    }
    async fn status(&self) -> WebhookStatus {
        self.0.status.into()
    }
    async fn first_error_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_error_at.and_then(instant)
    }
    async fn last_error_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_error_at.and_then(instant)
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
}

/// An in-app alert.
pub struct Alert(pub crate::entity::alert::Model);

/// An in-app alert of the signed-in user: a notification addressed to them, read or unread.
#[Object]
impl Alert {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// DefectDojo's event name, e.g. `sla_breach`.
    async fn event(&self) -> &str {
        self.0.event.as_str()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at.and_then(instant)
    }
}

/// One (notification, channel, target) and how its delivery went.
pub struct Delivery(pub crate::service::deliveries::DeliveryView);

/// One (channel, target) delivery of a notification, with its attempts and status (superusers).
#[Object]
impl Delivery {
    async fn id(&self) -> ID {
        ID(self.0.delivery.id.to_string())
    }
    async fn channel(&self) -> NotificationChannel {
        self.0.delivery.channel.into()
    }
    /// `user:<id>`, `email:<address>`, `slack_channel:<name>`, `slack_user:<id>`, `msteams` or `webhook:<id>`.
    async fn target(&self) -> String {
        self.0.delivery.target.to_string()
    }
    /// Sent as `X-Slawatch-Delivery`; the same on every attempt.
    async fn delivery_key(&self) -> &str {
        &self.0.delivery.delivery_key
    }
    async fn status(&self) -> super::enums::DeliveryStatus {
        self.0.delivery.status.into()
    }
    async fn attempts(&self) -> i32 {
        self.0.delivery.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.delivery.last_error.as_deref()
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.delivery.next_attempt_at)
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.delivery.created_at)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.delivery.updated_at)
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivery.delivered_at.and_then(instant)
    }
    /// DefectDojo's name of the event, e.g. `sla_breach`.
    async fn event(&self) -> &str {
        self.0.notification.event.as_str()
    }
    async fn title(&self) -> &str {
        &self.0.notification.title
    }
}
