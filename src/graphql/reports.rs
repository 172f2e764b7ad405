//! `slaCompliance`: the quarterly SLA compliance report as GraphQL data.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, parse_id};
use super::types::enums::Severity;
use super::types::{Date, Product};
use crate::domain::compliance;
use crate::service::compliance::{self as reports, ComplianceReport, ReportScope};

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
        let product_id = product_id.map(|id| parse_id(&id, "product")).transpose()?;
        Ok(SlaCompliance(reports::compliance(state, actor, &ReportScope { product_id, period }).await?))
    }
}

pub struct SlaCompliance(pub ComplianceReport);

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
