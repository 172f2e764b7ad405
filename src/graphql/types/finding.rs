//! `Finding`, with its SLA figures derived at read time from the stored deadline and slawatch's clock.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{Severity, SlaEventKind, SlaState};
use super::{Date, Engagement, Product, instant};
use crate::domain::sla;
use crate::entity::{finding, finding_note};
use crate::graphql::context::ContextExt;
use crate::service::{engagements, finding_notes, finding_sla, products};

/// A finding as GraphQL shows it (the columns it shows, `finding::Listed`); shared, so a kept page of findings
/// or a live event is not copied per request or per subscriber.
pub struct Finding(pub Arc<finding::Listed>);

impl From<finding::Model> for Finding {
    fn from(model: finding::Model) -> Self {
        Self(Arc::new(model.into()))
    }
}

impl Finding {
    fn now(ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(ctx.state()?.clock.now())
    }
}

/// A security finding of a product, with its SLA: deadline, state and days remaining.
#[Object]
impl Finding {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn severity(&self) -> Severity {
        self.0.severity.into()
    }
    /// The day the scan first reported it.
    async fn date(&self) -> Date {
        Date(self.0.date)
    }
    /// When the SLA clock (of the current cycle) started.
    async fn sla_start(&self) -> Option<DateTime<Utc>> {
        instant(self.0.sla_start)
    }
    /// True when the SLA started on a date (DefectDojo's model) rather than at an instant.
    async fn sla_starts_on_date(&self) -> bool {
        self.0.sla_start_is_date
    }
    /// The finding is in breach from this instant on. Null without an SLA.
    async fn sla_deadline(&self) -> Option<DateTime<Utc>> {
        self.0.sla_deadline.and_then(instant)
    }
    /// DefectDojo's `sla_expiration_date`: the last day within the SLA.
    async fn sla_expiration_date(&self) -> Option<Date> {
        self.0.sla_expiration_day.and_then(finding_sla::date_of_epoch_day).map(Date)
    }
    /// DefectDojo's `sla_days_remaining`: 0 on the expiration day, negative after; frozen once mitigated.
    async fn sla_days_remaining(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        Ok(finding_sla::days_remaining(self.0.as_ref(), Self::now(ctx)?))
    }
    /// Seconds until the deadline (negative past it); frozen at mitigation.
    async fn sla_remaining_seconds(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let Some(deadline) = self.0.sla_deadline else { return Ok(None) };
        let reference = self.0.mitigated_at.unwrap_or(Self::now(ctx)?.timestamp());
        Ok(Some(deadline - reference))
    }
    async fn sla_state(&self, ctx: &Context<'_>) -> Result<SlaState> {
        let schedule = finding_sla::schedule(self.0.as_ref());
        Ok(sla::state(schedule.as_ref(), &finding_sla::status(self.0.as_ref()), Self::now(ctx)?).into())
    }
    /// Open and at or past the deadline (DefectDojo's `outside_of_sla`).
    async fn outside_sla(&self, ctx: &Context<'_>) -> Result<bool> {
        let schedule = finding_sla::schedule(self.0.as_ref());
        Ok(sla::is_outside_sla(schedule.as_ref(), &finding_sla::status(self.0.as_ref()), Self::now(ctx)?))
    }
    /// When the first notification threshold is (or was) crossed.
    async fn sla_approaching_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla_approaching_at.and_then(instant)
    }
    /// The SLA cycle; a reactivation that restarts the SLA starts the next one.
    async fn sla_cycle(&self) -> i32 {
        self.0.sla_cycle
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn verified(&self) -> bool {
        self.0.verified
    }
    async fn is_mitigated(&self) -> bool {
        self.0.is_mitigated
    }
    async fn mitigated_at(&self) -> Option<DateTime<Utc>> {
        self.0.mitigated_at.and_then(instant)
    }
    async fn false_positive(&self) -> bool {
        self.0.false_p
    }
    async fn duplicate(&self) -> bool {
        self.0.duplicate
    }
    async fn out_of_scope(&self) -> bool {
        self.0.out_of_scope
    }
    async fn risk_accepted(&self) -> bool {
        self.0.risk_accepted
    }
    /// When the risk acceptance ends by itself.
    async fn risk_acceptance_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.risk_acceptance_expires_at.and_then(instant)
    }
    /// Open for SLA purposes: active, not mitigated, false positive, duplicate, out of scope or risk accepted.
    async fn is_open(&self) -> bool {
        self.0.is_open
    }
    /// A reference elsewhere, e.g. the Jira key of the remediation ticket.
    async fn external_reference(&self) -> Option<&str> {
        self.0.external_reference.as_deref()
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(products::kept(ctx.state()?, self.0.product_id).await?))
    }
    async fn engagement(&self, ctx: &Context<'_>) -> Result<Option<Engagement>> {
        let Some(id) = self.0.engagement_id else { return Ok(None) };
        Ok(Some(Engagement(engagements::get(ctx.state()?, ctx.actor()?, id).await?)))
    }
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<Note>> {
        Ok(finding_notes::notes(ctx.state()?, self.0.id).await?.into_iter().map(Note::from).collect())
    }
    /// The SLA events of the finding, oldest first.
    async fn sla_events(&self, ctx: &Context<'_>) -> Result<Vec<SlaEvent>> {
        Ok(crate::service::sla_sweep::events_of(ctx.state()?, self.0.id)
            .await?
            .into_iter()
            .map(SlaEvent::from)
            .collect())
    }
    /// Users asked to review the finding.
    async fn reviewer_ids(&self, ctx: &Context<'_>) -> Result<Vec<ID>> {
        Ok(finding_notes::reviewers(ctx.state()?, self.0.id).await?.into_iter().map(|id| ID(id.to_string())).collect())
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.updated_at)
    }
}

/// A note on a finding.
#[derive(SimpleObject)]
pub struct Note {
    pub id: ID,
    pub text: String,
    pub author_id: Option<ID>,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<finding_note::Model> for Note {
    fn from(model: finding_note::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            text: model.text,
            author_id: model.author_id.map(|a| ID(a.to_string())),
            created_at: instant(model.created_at),
        }
    }
}

/// Something that happened in a finding's SLA.
pub struct SlaEvent {
    pub event: crate::entity::sla_event::Model,
    /// The finding, when already at hand (subscriptions, shared by every subscriber); otherwise loaded on
    /// demand.
    pub finding: Option<Arc<crate::entity::finding::Listed>>,
}

impl From<crate::entity::sla_event::Model> for SlaEvent {
    fn from(event: crate::entity::sla_event::Model) -> Self {
        Self { event, finding: None }
    }
}

/// An SLA event of a finding: a threshold crossed, the breach, the escalation or the resolution.
#[Object]
impl SlaEvent {
    async fn kind(&self) -> SlaEventKind {
        self.event.kind.into()
    }
    /// The percentage of the period left, for `BREACH_APPROACHING`.
    async fn threshold(&self) -> Option<i32> {
        (self.event.kind == crate::domain::SlaEventKind::BreachApproaching).then_some(self.event.threshold)
    }
    /// The finding's SLA cycle (a reactivation that restarts the SLA starts a new one).
    async fn cycle(&self) -> i32 {
        self.event.cycle
    }
    /// When it happened: the scheduled instant, also when caught up after downtime.
    async fn occurred_at(&self) -> Option<DateTime<Utc>> {
        instant(self.event.occurred_at)
    }
    async fn finding(&self, ctx: &Context<'_>) -> Result<Finding> {
        match &self.finding {
            Some(found) => Ok(Finding(Arc::clone(found))),
            None => Ok(Finding::from(
                crate::service::findings::get(ctx.state()?, ctx.actor()?, self.event.finding_id).await?,
            )),
        }
    }
}
