//! The records slawatch pulls from DefectDojo, in its field names and nesting (as DefectDojo 3.2 answers,
//! `../shared/fixtures/defectdojo/`). Fields slawatch does not use are ignored; what DefectDojo may leave
//! empty is optional.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// One page of a list (Django REST framework's limit/offset envelope).
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub results: Vec<T>,
}

/// `GET /api/v2/sla_configurations/`.
#[derive(Debug, Clone, Deserialize)]
pub struct SlaConfiguration {
    pub id: i32,
    pub name: String,
    pub description: Option<String>,
    pub critical: i32,
    pub enforce_critical: bool,
    pub high: i32,
    pub enforce_high: bool,
    pub medium: i32,
    pub enforce_medium: bool,
    pub low: i32,
    pub enforce_low: bool,
    #[serde(default)]
    pub restart_sla_on_reactivation: bool,
}

/// `GET /api/v2/product_types/`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductType {
    pub id: i32,
    pub name: String,
    pub description: Option<String>,
}

/// `GET /api/v2/products/`: `prod_type` and `sla_configuration` are ids.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: i32,
    pub name: String,
    pub description: Option<String>,
    pub prod_type: i32,
    pub sla_configuration: Option<i32>,
    /// No SLA breach notifications for this product's findings.
    #[serde(default)]
    pub disable_sla_breach_notifications: bool,
}

/// `GET /api/v2/engagements/`.
#[derive(Debug, Clone, Deserialize)]
pub struct Engagement {
    pub id: i32,
    pub name: Option<String>,
    pub description: Option<String>,
    pub product: i32,
    pub target_start: NaiveDate,
    pub target_end: NaiveDate,
    /// `Not Started`, `In Progress`, `Completed`, `Cancelled`, … (others read as not started).
    pub status: Option<String>,
}

/// `GET /api/v2/tests/`: only which engagement a test belongs to (a finding names its test).
#[derive(Debug, Clone, Deserialize)]
pub struct Test {
    pub id: i32,
    pub engagement: i32,
}

/// A vulnerability id as DefectDojo lists it: `{"vulnerability_id": "CVE-…"}` (or a bare string).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VulnerabilityId {
    Object { vulnerability_id: String },
    Text(String),
}

impl VulnerabilityId {
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Object { vulnerability_id } => vulnerability_id,
            Self::Text(text) => text,
        }
    }
}

/// `GET /api/v2/findings/`: the fields slawatch keeps. Taken as DefectDojo stores them, including what
/// slawatch would refuse from a user (a mitigation before the finding's date, `mitigated` without
/// `is_mitigated`).
#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    pub id: i32,
    pub title: String,
    pub description: Option<String>,
    /// `Critical`, `High`, `Medium`, `Low`, `Info`.
    pub severity: String,
    pub date: NaiveDate,
    pub sla_start_date: Option<NaiveDate>,
    pub active: bool,
    pub verified: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<DateTime<Utc>>,
    pub false_p: bool,
    pub duplicate: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub file_path: Option<String>,
    pub line: Option<i64>,
    #[serde(default)]
    pub vulnerability_ids: Vec<VulnerabilityId>,
    pub unique_id_from_tool: Option<String>,
    pub hash_code: Option<String>,
    pub cwe: Option<i64>,
    pub mitigation: Option<String>,
    pub references: Option<String>,
    pub test: i32,
    pub updated: Option<DateTime<Utc>>,
    pub last_status_update: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The captured responses (`tests/fixtures/defectdojo/`, a copy of the shared fixture).
    fn captured(name: &str) -> serde_json::Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/defectdojo/api_v2_responses.json");
        let all: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        all["requests"][name]["body"].clone()
    }

    #[test]
    fn a_real_findings_page_reads_with_its_envelope() {
        let page: Page<Finding> = serde_json::from_value(captured("findings_list_page")).expect("a page");
        assert_eq!(page.count, 42);
        assert!(page.next.as_deref().is_some_and(|next| next.contains("offset=2")));
        assert_eq!(page.results.len(), 2);
        let first = &page.results[0];
        assert_eq!((first.id, first.severity.as_str(), first.test), (100_001, "Critical", 11));
        assert_eq!(first.date, NaiveDate::from_ymd_opt(2026, 11, 23).expect("day"));
        assert!(first.active && first.verified && !first.is_mitigated && first.mitigated.is_none());
    }

    #[test]
    fn a_mitigated_finding_keeps_its_mitigation_instant() {
        let finding: Finding = serde_json::from_value(captured("finding_detail_mitigated")).expect("a finding");
        assert_eq!(finding.id, 100_058);
        assert!(finding.is_mitigated);
        assert_eq!(finding.mitigated.map(|at| at.to_rfc3339()), Some("2026-11-22T12:00:00+00:00".to_owned()));
    }

    #[test]
    fn sla_configurations_and_a_product_read_as_captured() {
        let page: Page<SlaConfiguration> = serde_json::from_value(captured("sla_configurations_list")).expect("page");
        let strict = page.results.iter().find(|c| c.name == "Oracle-Strict-SLA").expect("the oracle configuration");
        assert_eq!((strict.critical, strict.high, strict.medium, strict.low), (1, 5, 30, 90));
        assert!(strict.enforce_high && !strict.enforce_low);
        assert_eq!(page.results.iter().find(|c| c.id == 3).and_then(|c| c.description.clone()), None);
        let product: Product = serde_json::from_value(captured("product_detail_strict")).expect("product");
        assert_eq!((product.id, product.prod_type, product.sla_configuration), (12, 3, Some(4)));
    }

    #[test]
    fn vulnerability_ids_read_as_objects_or_strings() {
        let ids: Vec<VulnerabilityId> =
            serde_json::from_str(r#"[{"vulnerability_id": "CVE-2021-44228"}, "GHSA-jfh8-c2jp-5v3q"]"#).expect("ids");
        let texts: Vec<&str> = ids.iter().map(VulnerabilityId::as_str).collect();
        assert_eq!(texts, ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]);
    }
}
