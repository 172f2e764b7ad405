//! Findings: the filtered list, the SLA summary, and every finding mutation.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, connection_complexity, page_request, parse_id, parse_opt_id};
use super::types::enums::{Severity, SlaState};
use super::types::finding::Note;
use super::types::{Date, Finding, TotalCount, connection};
use crate::error::ServiceError;
use crate::service::finding_filter::FindingFilter as ServiceFilter;
use crate::service::finding_reads;
use crate::service::findings::{self, FindingChanges, NewFinding};
use crate::service::{finding_notes, risk, sla_sweep};

/// Narrows `findings`; every field is optional and they combine with AND.
#[derive(InputObject, Default)]
pub struct FindingFilter {
    pub product_id: Option<ID>,
    pub product_name: Option<String>,
    pub severities: Option<Vec<Severity>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub is_mitigated: Option<bool>,
    /// Open and at or past the deadline (true), or not (false).
    pub outside_sla: Option<bool>,
    pub sla_state: Option<SlaState>,
    /// Any of these states.
    pub sla_states: Option<Vec<SlaState>>,
    /// Deadline strictly before this instant.
    pub deadline_before: Option<DateTime<Utc>>,
    /// Deadline strictly after this instant.
    pub deadline_after: Option<DateTime<Utc>>,
    /// Case-insensitive text in title, description or external reference (at most 200 characters).
    pub search: Option<String>,
}

impl FindingFilter {
    fn into_service(self) -> Result<ServiceFilter, ServiceError> {
        let FindingFilter {
            product_id,
            product_name,
            severities,
            active,
            verified,
            is_mitigated,
            outside_sla,
            sla_state,
            sla_states,
            deadline_before,
            deadline_after,
            search,
        } = self;
        let mut states: Option<Vec<crate::domain::SlaState>> =
            sla_states.map(|s| s.into_iter().map(Into::into).collect());
        if let Some(state) = sla_state {
            states.get_or_insert_with(Vec::new).push(state.into());
        }
        Ok(ServiceFilter {
            product_id: parse_opt_id(product_id.as_ref())?,
            product_name,
            severities: severities.map(|s| s.into_iter().map(Into::into).collect()),
            active,
            verified,
            is_mitigated,
            outside_sla,
            sla_states: states,
            deadline_before,
            deadline_after,
            search,
        })
    }
}

/// How many visible findings have a severity and an SLA state.
#[derive(SimpleObject)]
pub struct SlaSummaryRow {
    pub severity: Severity,
    pub state: SlaState,
    pub count: u64,
}

/// What a sweep did.
#[derive(SimpleObject)]
pub struct SweepResult {
    /// Findings whose next SLA event had come.
    pub examined: u64,
    /// SLA events emitted.
    pub emitted: u64,
}

#[derive(Default)]
pub struct FindingQuery;

#[Object]
impl FindingQuery {
    /// Findings of the products the caller may view, in id order.
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Finding, TotalCount>> {
        let filter = filter.unwrap_or_default().into_service()?;
        let page =
            finding_reads::list(ctx.state()?, ctx.actor()?, &filter, page_request(ctx, first, after, last, before)?)
                .await?;
        Ok(connection(page, |f| f.id, Finding))
    }

    async fn finding(&self, ctx: &Context<'_>, id: ID) -> Result<Finding> {
        Ok(Finding::from(findings::get(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Counts by severity and SLA state (every combination, zeros included), for one product or all
    /// visible ones.
    async fn sla_summary(&self, ctx: &Context<'_>, product_id: Option<ID>) -> Result<Vec<SlaSummaryRow>> {
        let product_id = parse_opt_id(product_id.as_ref())?;
        let rows = finding_reads::sla_summary(ctx.state()?, ctx.actor()?, product_id).await?;
        Ok(rows
            .into_iter()
            .map(|r| SlaSummaryRow { severity: r.severity.into(), state: r.state.into(), count: r.count })
            .collect())
    }
}

/// A finding to create. History can be imported as it was: give `date` (DefectDojo's date model) or
/// `slaStart` (an instant), and the mitigation if it happened.
#[derive(InputObject)]
pub struct CreateFindingInput {
    pub product_id: ID,
    pub engagement_id: Option<ID>,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    /// The day the scan first reported it. Alone, the SLA runs on DefectDojo's date model.
    pub date: Option<Date>,
    /// The instant the SLA clock starts (default: now, unless `date` is given).
    pub sla_start: Option<DateTime<Utc>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub is_mitigated: Option<bool>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub false_positive: Option<bool>,
    pub duplicate: Option<bool>,
    pub out_of_scope: Option<bool>,
    pub risk_accepted: Option<bool>,
    pub external_reference: Option<String>,
}

impl CreateFindingInput {
    fn into_service(self) -> Result<NewFinding, ServiceError> {
        Ok(pass_on!(self => CreateFindingInput to NewFinding {
            title, description, sla_start, active, verified, is_mitigated, mitigated_at, false_positive, duplicate,
            out_of_scope, risk_accepted, external_reference;
            product_id: parse_id(&product_id)?,
            engagement_id: parse_opt_id(engagement_id.as_ref())?,
            severity: severity.into(),
            date: date.map(|d| d.0),
        } also { scan: None }))
    }
}

/// Changes to a finding. A new severity, `date` or `slaStart` recomputes the deadline.
#[derive(InputObject)]
pub struct UpdateFindingInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<Severity>,
    pub date: Option<Date>,
    pub sla_start: Option<DateTime<Utc>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub false_positive: Option<bool>,
    pub duplicate: Option<bool>,
    pub out_of_scope: Option<bool>,
    pub external_reference: Option<String>,
    pub engagement_id: Option<ID>,
}

#[derive(Default)]
pub struct FindingMutation;

#[Object]
impl FindingMutation {
    /// Creates a finding (product writers).
    async fn create_finding(&self, ctx: &Context<'_>, input: CreateFindingInput) -> Result<Finding> {
        Ok(Finding::from(findings::create(ctx.state()?, ctx.actor()?, input.into_service()?).await?))
    }

    /// Creates many findings at once, all or nothing (at most 1000 per call).
    async fn create_findings(&self, ctx: &Context<'_>, inputs: Vec<CreateFindingInput>) -> Result<Vec<Finding>> {
        let inputs = inputs.into_iter().map(CreateFindingInput::into_service).collect::<Result<Vec<_>, _>>()?;
        Ok(findings::create_many(ctx.state()?, ctx.actor()?, inputs).await?.into_iter().map(Finding::from).collect())
    }

    /// Updates a finding (product writers).
    async fn update_finding(&self, ctx: &Context<'_>, id: ID, input: UpdateFindingInput) -> Result<Finding> {
        let changes = pass_on!(input => UpdateFindingInput to FindingChanges {
            title, description, sla_start, active, verified, false_positive, duplicate, out_of_scope,
            external_reference;
            severity: severity.map(Into::into),
            date: date.map(|d| d.0),
            engagement_id: parse_opt_id(engagement_id.as_ref())?,
        });
        Ok(Finding::from(findings::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, changes).await?))
    }

    /// Marks a finding mitigated (default: now). Its SLA is then MET or MISSED.
    async fn mitigate_finding(
        &self,
        ctx: &Context<'_>,
        id: ID,
        mitigated_at: Option<DateTime<Utc>>,
    ) -> Result<Finding> {
        Ok(Finding::from(findings::mitigate(ctx.state()?, ctx.actor()?, parse_id(&id)?, mitigated_at).await?))
    }

    /// Reopens a mitigated finding; restarts the SLA when its configuration says so.
    async fn reactivate_finding(&self, ctx: &Context<'_>, id: ID) -> Result<Finding> {
        Ok(Finding::from(findings::reactivate(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Accepts a finding's risk (product owners): its SLA pauses until the acceptance is revoked or expires
    /// (then `risk_acceptance_expiration` fires).
    async fn accept_risk(&self, ctx: &Context<'_>, id: ID, expires_at: Option<DateTime<Utc>>) -> Result<Finding> {
        Ok(Finding::from(risk::accept(ctx.state()?, ctx.actor()?, parse_id(&id)?, expires_at).await?))
    }

    /// Ends a risk acceptance (product owners): the SLA resumes, restarting when configured.
    async fn revoke_risk_acceptance(&self, ctx: &Context<'_>, id: ID) -> Result<Finding> {
        Ok(Finding::from(risk::revoke(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Runs the SLA sweep now (superusers) instead of waiting for the scheduler.
    async fn run_sla_sweep(&self, ctx: &Context<'_>) -> Result<SweepResult> {
        ctx.actor()?.require_superuser()?;
        let report = sla_sweep::sweep(ctx.state()?).await?;
        Ok(SweepResult { examined: report.examined as u64, emitted: report.emitted as u64 })
    }

    /// Deletes a finding (product owners).
    async fn delete_finding(&self, ctx: &Context<'_>, id: ID) -> Result<Finding> {
        Ok(Finding::from(findings::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Asks users to review a finding (product writers); they get `review_requested`.
    async fn request_review(&self, ctx: &Context<'_>, finding_id: ID, reviewer_ids: Vec<ID>) -> Result<Finding> {
        let reviewers = reviewer_ids.iter().map(parse_id).collect::<Result<Vec<_>, _>>()?;
        let id = parse_id(&finding_id)?;
        Ok(Finding::from(finding_notes::request_review(ctx.state()?, ctx.actor()?, id, &reviewers).await?))
    }

    /// Adds a note to a finding (product writers); `@username` mentions notify those users.
    async fn add_finding_note(&self, ctx: &Context<'_>, finding_id: ID, text: String) -> Result<Note> {
        Ok(finding_notes::add_note(ctx.state()?, ctx.actor()?, parse_id(&finding_id)?, &text).await?.into())
    }
}
