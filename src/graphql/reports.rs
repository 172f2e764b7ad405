//! `slaCompliance` (the quarterly SLA compliance report as data), generated report files and report
//! schedules.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, parse_id};
use super::types::enums::Severity;
use super::types::{Date, Product, instant};
use crate::domain::compliance;
use crate::entity::report_schedule;
use crate::service::compliance::{self as reports, ComplianceReport, ReportScope};
use crate::service::reports::{self as files, NewSchedule, ReportInfo};

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// The SLA compliance report of a product (or of every product you may view) for a period: `from` and
    /// `to` (days, inclusive, UTC) or `quarter` (`2026-Q1`). Definitions of every figure: README, "SLA
    /// compliance report".
    async fn sla_compliance(
        &self,
        ctx: &Context<'_>,
        product_id: Option<ID>,
        from: Option<Date>,
        to: Option<Date>,
        quarter: Option<String>,
    ) -> Result<SlaCompliance> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let period = reports::period_of(from.map(|d| d.0), to.map(|d| d.0), quarter.as_deref(), state.clock.now())?;
        let product_id = product_id.map(|id| parse_id(&id)).transpose()?;
        Ok(SlaCompliance(reports::compliance(state, actor, &ReportScope { product_id, period }).await?))
    }

    /// The report files you generated or scheduled (superusers: all), newest first (at most 200).
    async fn reports(&self, ctx: &Context<'_>) -> Result<Vec<GeneratedReport>> {
        Ok(files::list(ctx.state()?, ctx.actor()?).await?.into_iter().map(GeneratedReport::new).collect())
    }

    /// Your report schedules (superusers: all).
    async fn report_schedules(&self, ctx: &Context<'_>) -> Result<Vec<ReportSchedule>> {
        Ok(files::list_schedules(ctx.state()?, ctx.actor()?).await?.into_iter().map(ReportSchedule).collect())
    }
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Generates the compliance report file now, keeps it, and sends you `report_created` with its link.
    async fn generate_report(&self, ctx: &Context<'_>, input: GenerateReportInput) -> Result<GeneratedReport> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let period = reports::period_of(
            input.from.map(|d| d.0),
            input.to.map(|d| d.0),
            input.quarter.as_deref(),
            state.clock.now(),
        )?;
        let product_id = input.product_id.map(|id| parse_id(&id)).transpose()?;
        let scope = ReportScope { product_id, period };
        let created = files::generate(state, actor, &scope, input.format.into(), None, &[]).await?;
        Ok(GeneratedReport::new(created))
    }

    /// Schedules the report: generated at each time of `cron` (UTC, exactly five fields: `minute hour
    /// day-of-month month day-of-week`, e.g. `0 6 1 1,4,7,10 *` for quarterly; anything else is refused)
    /// for the complete `period` before it, announced with `report_created` to you and by mail to
    /// `recipients`. `nextRunTimes` shows when it will run.
    async fn create_report_schedule(&self, ctx: &Context<'_>, input: ReportScheduleInput) -> Result<ReportSchedule> {
        let new = NewSchedule {
            name: input.name,
            product_id: input.product_id.map(|id| parse_id(&id)).transpose()?,
            cron: input.cron,
            period: input.period.into(),
            format: input.format.into(),
            recipients: input.recipients,
        };
        Ok(ReportSchedule(files::create_schedule(ctx.state()?, ctx.actor()?, new).await?))
    }

    /// Deletes a schedule (its owner or a superuser); the reports it made stay.
    async fn delete_report_schedule(&self, ctx: &Context<'_>, id: ID) -> Result<ReportSchedule> {
        let id = parse_id(&id)?;
        Ok(ReportSchedule(files::delete_schedule(ctx.state()?, ctx.actor()?, id).await?))
    }
}

/// A file format of the report.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
#[graphql(remote = "crate::domain::report_format::ReportFormat")]
pub enum ReportFormat {
    #[default]
    Pdf,
    Csv,
    Json,
}

/// The period a scheduled report covers: the last complete one before it runs.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::compliance::RelativePeriod")]
pub enum ReportPeriod {
    PreviousQuarter,
    PreviousMonth,
    /// Monday to Sunday.
    PreviousWeek,
}

/// The compliance report to make now: a product (or every product you may view), a period and a file format.
#[derive(InputObject)]
pub struct GenerateReportInput {
    /// Omitted: every product you may view.
    pub product_id: Option<ID>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// E.g. `2026-Q1`, instead of `from` and `to`.
    pub quarter: Option<String>,
    #[graphql(default)]
    pub format: ReportFormat,
}

/// A report schedule to create: cron (five fields, UTC), the period before each run, format, recipients.
#[derive(InputObject)]
pub struct ReportScheduleInput {
    pub name: String,
    pub product_id: Option<ID>,
    pub cron: String,
    pub period: ReportPeriod,
    #[graphql(default)]
    pub format: ReportFormat,
    /// Extra email recipients of `report_created`.
    #[graphql(default)]
    pub recipients: Vec<String>,
}

/// A kept report file.
pub struct GeneratedReport(ReportInfo);

impl GeneratedReport {
    fn new(info: ReportInfo) -> Self {
        Self(info)
    }
}

/// A compliance report file kept as generated, downloadable at `downloadPath`.
#[Object]
impl GeneratedReport {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn product_id(&self) -> Option<ID> {
        self.0.product_id.map(|id| ID(id.to_string()))
    }
    async fn from(&self) -> Option<Date> {
        instant(self.0.period_start).map(|at| Date(at.date_naive()))
    }
    async fn to(&self) -> Option<Date> {
        instant(self.0.period_end - 1).map(|at| Date(at.date_naive()))
    }
    /// `pdf`, `csv` or `json`.
    async fn format(&self) -> &str {
        self.0.format.as_str()
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Where to download it (same authorization as the API): a path on this server.
    async fn download_path(&self) -> String {
        format!("/reports/{}", self.0.id)
    }
    async fn schedule_id(&self) -> Option<ID> {
        self.0.schedule_id.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
}

/// A report generated on a schedule.
pub struct ReportSchedule(report_schedule::Model);

/// A compliance report made on a cron schedule and sent to its owner and recipients.
#[Object]
impl ReportSchedule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn product_id(&self) -> Option<ID> {
        self.0.product_id.map(|id| ID(id.to_string()))
    }
    async fn cron(&self) -> &str {
        &self.0.cron
    }
    async fn period(&self) -> Option<ReportPeriod> {
        Some(self.0.period.into())
    }
    async fn format(&self) -> &str {
        self.0.format.as_str()
    }
    async fn recipients(&self) -> Vec<String> {
        serde_json::from_str(&self.0.recipients).unwrap_or_default()
    }
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.next_run_at)
    }
    /// The next three times the schedule runs from now (UTC): check a new schedule with them. Empty for a
    /// schedule disabled because its stored expression is no longer accepted.
    async fn next_run_times(&self, ctx: &Context<'_>) -> Result<Vec<DateTime<Utc>>> {
        let now = ctx.state()?.clock.now();
        Ok(crate::domain::report_schedule::next_runs(&self.0.cron, now, 3).unwrap_or_default())
    }
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at.and_then(instant)
    }
}

pub struct SlaCompliance(pub ComplianceReport);

/// The SLA compliance report of a period: per severity, findings closed within SLA, breached, rates against the targets.
#[Object]
impl SlaCompliance {
    /// Null for a report over every product you may view.
    async fn product(&self) -> Option<Product> {
        self.0.product.clone().map(Product)
    }
    /// First day of the period.
    async fn from(&self) -> Date {
        Date(self.0.compliance.period.start.date_naive())
    }
    /// Last day of the period.
    async fn to(&self) -> Date {
        Date(self.0.compliance.period.last_day())
    }
    /// The instant the figures are as of: the end of the period, or now for a running period.
    async fn as_of(&self) -> DateTime<Utc> {
        self.0.compliance.cutoff
    }
    /// Findings reported in the period.
    async fn opened(&self) -> u32 {
        self.0.compliance.opened
    }
    async fn closed_within_sla(&self) -> u32 {
        self.0.compliance.on_time
    }
    async fn breached(&self) -> u32 {
        self.0.compliance.breached
    }
    /// Percent; null when no finding counted.
    async fn compliance_rate(&self) -> Option<f64> {
        self.0.compliance.overall_rate
    }
    /// Every target met.
    async fn passed(&self) -> bool {
        self.0.compliance.passed
    }
    async fn severities(&self) -> Vec<SeverityCompliance> {
        self.0.compliance.severities.iter().map(SeverityCompliance::from).collect()
    }
    /// Breaches of the severities with a target (Critical and High), most severe first.
    async fn breaches(&self) -> Vec<ComplianceBreach> {
        self.0.compliance.listed_breaches.iter().map(ComplianceBreach::from).collect()
    }
}

/// One severity's figures.
#[derive(SimpleObject)]
pub struct SeverityCompliance {
    pub severity: Severity,
    pub opened: u32,
    pub closed_within_sla: u32,
    pub breached: u32,
    /// Breached and still open at `asOf` (part of `breached`).
    pub still_open_breached: u32,
    /// Percent; null when no finding of this severity counted.
    pub compliance_rate: Option<f64>,
    /// The lowest acceptable rate, if there is a target.
    pub target: Option<f64>,
    /// Null without a target; a severity with no finding that counted passes.
    pub passed: Option<bool>,
}

impl From<&compliance::SeverityFigures> for SeverityCompliance {
    fn from(figures: &compliance::SeverityFigures) -> Self {
        Self {
            severity: figures.severity.into(),
            opened: figures.opened,
            closed_within_sla: figures.on_time,
            breached: figures.breached,
            still_open_breached: figures.still_open_breached,
            compliance_rate: figures.compliance_rate,
            target: figures.target,
            passed: figures.passed,
        }
    }
}

/// A breach listed in the report.
#[derive(SimpleObject)]
pub struct ComplianceBreach {
    pub finding_id: ID,
    pub title: String,
    /// The finding's external reference (ticket), if any.
    pub reference: Option<String>,
    pub severity: Severity,
    pub deadline: DateTime<Utc>,
    /// Remediation (or `asOf`, when still open) minus deadline.
    pub breach_duration_seconds: i64,
    /// Null while still open.
    pub remediated_at: Option<DateTime<Utc>>,
}

impl From<&compliance::Breach> for ComplianceBreach {
    fn from(breach: &compliance::Breach) -> Self {
        Self {
            finding_id: ID(breach.finding_id.to_string()),
            title: breach.title.clone(),
            reference: breach.reference.clone(),
            severity: breach.severity.into(),
            deadline: breach.deadline,
            breach_duration_seconds: breach.duration.num_seconds(),
            remediated_at: breach.remediated_at,
        }
    }
}
