//! Notification settings at every scope, and webhook endpoints.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use async_graphql::connection::Connection;

use super::context::{ContextExt, connection_complexity, page_request, parse_id, parse_opt_id};
use super::types::enums::{
    DeliveryStatus, NotificationChannel, NotificationEvent, NotificationScope, Severity, WebhookFormat,
};
use super::types::{Alert, Delivery, NotificationSetting, TotalCount, Webhook, connection};
use crate::domain::recipients::Channel;
use crate::domain::{AlertId, WebhookId};
use crate::service::deliveries::{self, DeliveryFilter};
use crate::service::notification_settings::{self, SettingInput};
use crate::service::webhooks::{self, WebhookInput};
use crate::service::{alerts, test_send};

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The settings of one scope for every event. PERSONAL defaults to the caller; PRODUCT needs
    /// `productId`, and with `userId` gives that user's settings for the product, without it the product's
    /// extra recipients.
    async fn notification_settings(
        &self,
        ctx: &Context<'_>,
        scope: NotificationScope,
        user_id: Option<ID>,
        product_id: Option<ID>,
    ) -> Result<Vec<NotificationSetting>> {
        let user_id = parse_opt_id(user_id.as_ref())?;
        let product_id = parse_opt_id(product_id.as_ref())?;
        let views = notification_settings::list(ctx.state()?, ctx.actor()?, scope.into(), user_id, product_id).await?;
        Ok(views.into_iter().map(NotificationSetting).collect())
    }

    /// Webhook endpoints (superusers).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        Ok(webhooks::list(ctx.state()?, ctx.actor()?).await?.into_iter().map(Webhook).collect())
    }

    /// The caller's in-app alerts, oldest first (`last: n` for the newest).
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Alert, TotalCount>> {
        let page =
            alerts::list(ctx.state()?, ctx.actor()?, unread_only, page_request(ctx, first, after, last, before)?)
                .await?;
        Ok(connection(page, |a| a.id, Alert))
    }

    /// How many of the caller's alerts are unread.
    async fn unread_alert_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(alerts::unread_count(ctx.state()?, ctx.actor()?).await?)
    }

    /// The delivery log (superusers).
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeliveryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Delivery, TotalCount>> {
        let DeliveryFilterInput { status, channel, event } = filter.unwrap_or_default();
        let filter = DeliveryFilter {
            status: status.map(Into::into),
            channel: channel.map(Into::into),
            event: event.map(Into::into),
        };
        let page = deliveries::list(ctx.state()?, ctx.actor()?, filter, page_request(ctx, first, after, last, before)?)
            .await?;
        Ok(connection(page, |d| d.delivery.id, Delivery))
    }
}

/// How a test send went.
#[derive(SimpleObject)]
pub struct TestResult {
    pub delivered: bool,
    /// Why it was not delivered (for mail, the server's refusal).
    pub error: Option<String>,
    /// What the receiver answered when it took the message: a mail server's reply (`250 2.0.0 Ok: queued`).
    pub answer: Option<String>,
}

impl From<test_send::TestOutcome> for TestResult {
    fn from(outcome: test_send::TestOutcome) -> Self {
        Self { delivered: outcome.delivered, error: outcome.error, answer: outcome.answer }
    }
}

/// Narrows the delivery log.
#[derive(InputObject, Default)]
pub struct DeliveryFilterInput {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<NotificationChannel>,
    pub event: Option<NotificationEvent>,
}

/// One event's setting in one scope.
#[derive(InputObject)]
pub struct NotificationSettingInput {
    pub scope: NotificationScope,
    pub user_id: Option<ID>,
    pub product_id: Option<ID>,
    pub event: NotificationEvent,
    pub channels: Vec<NotificationChannel>,
    /// Extra addresses: SYSTEM scope, or PRODUCT scope without `userId`.
    #[graphql(default)]
    pub emails: Vec<String>,
    #[graphql(default)]
    pub slack_channels: Vec<String>,
    #[graphql(default)]
    pub webhook_ids: Vec<ID>,
    /// Only for findings of these severities (default: any). Settings of one scope and event with different
    /// conditions coexist, and an event gets the union of those whose conditions it meets; a conditional
    /// setting with no channel and no extra target is removed.
    #[graphql(default)]
    pub severities: Vec<Severity>,
    /// SYSTEM and TEMPLATE scopes: only for these products and products of these types (default: any).
    #[graphql(default)]
    pub product_ids: Vec<ID>,
    #[graphql(default)]
    pub product_type_ids: Vec<ID>,
    /// `SLA_BREACH_COMBINED` only: the digest of each sweep, or one a day (at 07:00 UTC, of the 24 hours
    /// before).
    #[graphql(default)]
    pub digest: DigestCadence,
}

/// How often an SLA digest comes.
#[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
#[graphql(remote = "crate::domain::setting_conditions::DigestCadence")]
pub enum DigestCadence {
    /// With each sweep.
    #[default]
    PerSweep,
    /// Once a day.
    Daily,
}

/// A webhook endpoint. On update, omitted fields stay; "" clears the header or the HMAC secret.
#[derive(InputObject)]
#[graphql(name = "WebhookInput")]
pub struct WebhookInputObject {
    pub name: Option<String>,
    pub url: Option<String>,
    pub format: Option<WebhookFormat>,
    /// The GELF `host` (default `slawatch`).
    pub source: Option<String>,
    pub header_name: Option<String>,
    /// Write-only.
    pub header_value: Option<String>,
    /// Write-only: signs the body as `X-Slawatch-Signature: sha256=<hex>`.
    pub hmac_secret: Option<String>,
}

impl From<WebhookInputObject> for WebhookInput {
    fn from(input: WebhookInputObject) -> Self {
        let WebhookInputObject { name, url, format, source, header_name, header_value, hmac_secret } = input;
        Self { name, url, format: format.map(Into::into), source, header_name, header_value, hmac_secret }
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Stores one event's setting in one scope (replacing it).
    async fn set_notification_setting(
        &self,
        ctx: &Context<'_>,
        input: NotificationSettingInput,
    ) -> Result<NotificationSetting> {
        let input = pass_on!(input => NotificationSettingInput to SettingInput {
            emails, slack_channels;
            scope: scope.into(),
            user_id: parse_opt_id(user_id.as_ref())?,
            product_id: parse_opt_id(product_id.as_ref())?,
            event: event.into(),
            channels: channels.into_iter().map(Into::into).collect(),
            webhook_ids: webhook_ids.iter().map(parse_id).collect::<Result<_, _>>()?,
            severities: severities.into_iter().map(Into::into).collect(),
            product_ids: product_ids.iter().map(parse_id).collect::<Result<_, _>>()?,
            product_type_ids: product_type_ids.iter().map(parse_id).collect::<Result<_, _>>()?,
            digest: digest.into(),
        });
        Ok(NotificationSetting(notification_settings::set(ctx.state()?, ctx.actor()?, input).await?))
    }

    /// Creates a webhook endpoint (superusers).
    async fn create_webhook(&self, ctx: &Context<'_>, input: WebhookInputObject) -> Result<Webhook> {
        Ok(Webhook(webhooks::create(ctx.state()?, ctx.actor()?, input.into()).await?))
    }

    async fn update_webhook(&self, ctx: &Context<'_>, id: ID, input: WebhookInputObject) -> Result<Webhook> {
        Ok(Webhook(webhooks::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, input.into()).await?))
    }

    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        Ok(Webhook(webhooks::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Marks the caller's alerts read: the given ones, or all of them. Returns how many changed.
    async fn mark_alerts_read(&self, ctx: &Context<'_>, ids: Option<Vec<ID>>) -> Result<u64> {
        let ids = ids.map(|ids| ids.iter().map(parse_id::<AlertId>).collect::<Result<Vec<_>, _>>()).transpose()?;
        Ok(alerts::mark_read(ctx.state()?, ctx.actor()?, ids).await?)
    }

    /// Sends a test message to a webhook now and says how it went (superusers).
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<TestResult> {
        let outcome = test_send::send(
            ctx.state()?,
            ctx.actor()?,
            Channel::Webhook,
            Some(parse_id::<WebhookId>(&id)?.to_string()),
        )
        .await?;

        Ok(outcome.into())
    }

    /// Sends a test message on a channel now and says how it went. ALERT goes to the caller; the others are
    /// for superusers: MAIL to `target` (default: the caller), SLACK to `target` (default: the system
    /// channel), MSTEAMS to the system workflow, WEBHOOK to the webhook whose id is `target`.
    async fn send_test_notification(
        &self,
        ctx: &Context<'_>,
        channel: NotificationChannel,
        target: Option<String>,
    ) -> Result<TestResult> {
        Ok(test_send::send(ctx.state()?, ctx.actor()?, channel.into(), target).await?.into())
    }

    /// Sends a dead or waiting delivery again now (superusers).
    async fn retry_delivery(&self, ctx: &Context<'_>, id: ID) -> Result<Delivery> {
        Ok(Delivery(deliveries::retry(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}
