//! What the finding use cases take: a new finding (`NewFinding`, with its scan origin when imported) and
//! changes to one (`FindingChanges`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Set;

use crate::domain::{EngagementId, ProductId, Severity, TestId};
use crate::entity::finding;

/// A finding to create. Omitted flags default as DefectDojo's: active (unless mitigated), unverified.
/// Start from `NewFinding::new` (a finding has no default product, title or severity).
#[derive(Debug, Clone)]
pub struct NewFinding {
    pub product_id: ProductId,
    pub engagement_id: Option<EngagementId>,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub date: Option<NaiveDate>,
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
    /// What a scanner said of it, when it came from a scan import (`service::scan_import`).
    pub scan: Option<ScanOrigin>,
}

/// The scan import a finding came from: its test and the report's facts beyond title, severity and
/// description (which the `NewFinding` carries).
#[derive(Debug, Clone)]
pub struct ScanOrigin {
    pub test_id: TestId,
    pub reported: crate::scans::ParsedFinding,
}

impl NewFinding {
    /// A finding of `product_id` with its title and severity; everything else as DefectDojo defaults it.
    #[must_use]
    pub fn new(product_id: ProductId, title: impl Into<String>, severity: Severity) -> Self {
        Self {
            product_id,
            engagement_id: None,
            title: title.into(),
            description: None,
            severity,
            date: None,
            sla_start: None,
            active: None,
            verified: None,
            is_mitigated: None,
            mitigated_at: None,
            false_positive: None,
            duplicate: None,
            out_of_scope: None,
            risk_accepted: None,
            external_reference: None,
            scan: None,
        }
    }
}

/// Changes to a finding's content and triage flags; `None` keeps a value. Lifecycle changes (mitigation,
/// reactivation, risk acceptance) have their own use cases.
#[derive(Debug, Clone, Default)]
pub struct FindingChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<Severity>,
    pub date: Option<NaiveDate>,
    pub sla_start: Option<DateTime<Utc>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub false_positive: Option<bool>,
    pub duplicate: Option<bool>,
    pub out_of_scope: Option<bool>,
    pub external_reference: Option<String>,
    pub engagement_id: Option<EngagementId>,
}

impl ScanOrigin {
    /// Sets the scanner's columns of a new row.
    pub(crate) fn set_on(self, model: &mut finding::ActiveModel) {
        let reported = self.reported;
        let joined = |items: Vec<String>, separator: &str| Some(items.join(separator)).filter(|text| !text.is_empty());
        model.test_id = Set(Some(self.test_id));
        model.hash_code = Set(Some(reported.hash_code));
        model.unique_id_from_tool = Set(reported.unique_id_from_tool);
        model.cwe = Set(reported.cwe.and_then(|c| i32::try_from(c).ok()));
        model.vulnerability_ids = Set(joined(reported.vulnerability_ids, ","));
        model.component_name = Set(reported.component_name);
        model.component_version = Set(reported.component_version);
        model.file_path = Set(reported.file_path);
        model.line = Set(reported.line.and_then(|l| i32::try_from(l).ok()));
        model.mitigation = Set(reported.mitigation);
        model.references = Set(reported.references);
        model.endpoints = Set(joined(reported.endpoints, "\n"));
    }
}
