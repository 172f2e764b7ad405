//! Renderings of the SLA compliance report as files: JSON, CSV and PDF, from one serializable view.

mod csv;
mod pdf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::compliance::SeverityFigures;
use crate::domain::{FindingId, ProductId};
use crate::service::compliance::ComplianceReport;
use crate::service::sla_profile_history::ProfileChange;

pub use crate::domain::report_format::ReportFormat as Format;

/// A rendering failed (only the PDF writer can fail).
#[derive(Debug, thiserror::Error)]
#[error("the report could not be rendered: {0}")]
pub struct RenderError(String);

/// The report as its files show it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The product's name, or "All products".
    pub product: String,
    pub product_id: Option<ProductId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub opened: u32,
    pub closed_within_sla: u32,
    pub breached: u32,
    pub compliance_rate: Option<f64>,
    pub passed: bool,
    pub severities: Vec<SeverityFigures>,
    pub breaches: Vec<BreachRow>,
    /// The organisation (the system settings' team name).
    pub organisation: String,
    /// Who asked for the report (the requesting user, or the schedule's owner).
    pub prepared_by: String,
    /// The SLA profiles applied to the report's products.
    pub profiles: Vec<ProfileRow>,
    /// Changes of those profiles during the period, oldest first.
    pub profile_changes: Vec<ProfileChange>,
    /// Every finding counted (on time or breached): the appendix.
    pub counted: Vec<CountedRow>,
}

/// An SLA profile applied to some of the report's products.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    pub name: String,
    /// Days per severity (Critical, High, Medium, Low); `None` where not enforced.
    pub days: Vec<(&'static str, Option<i32>)>,
    pub products: Vec<String>,
}

/// A finding counted in the period.
#[derive(Debug, Clone, Serialize)]
pub struct CountedRow {
    pub finding_id: FindingId,
    pub title: String,
    pub reference: Option<String>,
    pub severity: &'static str,
    pub reported_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub remediated_at: Option<DateTime<Utc>>,
    pub breached: bool,
    /// Days from report to remediation, for the remediated ones.
    pub days_to_remediate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreachRow {
    pub finding_id: FindingId,
    pub title: String,
    pub reference: Option<String>,
    pub severity: &'static str,
    pub deadline: DateTime<Utc>,
    pub breach_duration_seconds: i64,
    /// "2 d 0 h", for people.
    pub breach_duration: String,
    pub remediated_at: Option<DateTime<Utc>>,
}

impl ReportView {
    #[must_use]
    pub fn new(report: &ComplianceReport, generated_at: DateTime<Utc>) -> Self {
        let figures = &report.compliance;
        Self {
            product: report.product.as_ref().map_or_else(|| "All products".to_owned(), |p| p.name.clone()),
            product_id: report.product.as_ref().map(|p| p.id),
            from: figures.period.start.date_naive(),
            to: figures.period.last_day(),
            as_of: figures.cutoff,
            generated_at,
            opened: figures.opened,
            closed_within_sla: figures.on_time,
            breached: figures.breached,
            compliance_rate: figures.overall_rate,
            passed: figures.passed,
            severities: figures.severities.clone(),
            breaches: figures
                .listed_breaches
                .iter()
                .map(|b| BreachRow {
                    finding_id: b.finding_id,
                    title: b.title.clone(),
                    reference: b.reference.clone(),
                    severity: b.severity.as_str(),
                    deadline: b.deadline,
                    breach_duration_seconds: b.duration.num_seconds(),
                    breach_duration: crate::domain::sla::human_duration(b.duration.num_seconds()),
                    remediated_at: b.remediated_at,
                })
                .collect(),
            organisation: report.organisation.clone(),
            prepared_by: report.prepared_by.clone(),
            profiles: report
                .profiles
                .iter()
                .map(|p| ProfileRow {
                    name: p.name.clone(),
                    days: p.days.iter().map(|(severity, days)| (severity.as_str(), *days)).collect(),
                    products: p.products.clone(),
                })
                .collect(),
            profile_changes: report.profile_changes.clone(),
            counted: figures
                .counted
                .iter()
                .map(|c| CountedRow {
                    finding_id: c.finding_id,
                    title: c.title.clone(),
                    reference: c.reference.clone(),
                    severity: c.severity.as_str(),
                    reported_at: c.reported_at,
                    deadline: c.deadline,
                    remediated_at: c.remediated_at,
                    breached: c.breached,
                    days_to_remediate: c.days_to_remediate(),
                })
                .collect(),
        }
    }

    /// The file name for a download: `sla-compliance-<product>-<from>-<to>.<ext>`.
    #[must_use]
    pub fn file_name(&self, format: Format) -> String {
        let product: String = self
            .product
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        format!("sla-compliance-{product}-{}-{}.{}", self.from, self.to, format.extension())
    }

    /// The file's bytes.
    pub fn render(&self, format: Format) -> Result<Vec<u8>, RenderError> {
        match format {
            Format::Json => serde_json::to_vec_pretty(self).map_err(|e| RenderError(e.to_string())),
            Format::Csv => Ok(csv::render(self).into_bytes()),
            Format::Pdf => pdf::render(self),
        }
    }
}

/// "95.0 %", or "n/a" when nothing counted.
#[must_use]
pub fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1} %"))
}

/// "PASS", "FAIL", or "" without a target.
#[must_use]
pub fn verdict_text(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "",
    }
}
