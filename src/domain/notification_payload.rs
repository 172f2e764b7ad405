//! The data a notification carries for structured receivers (webhook JSON, GELF fields, the labelled
//! details of mail, Slack and Teams): one typed shape, written by the services that raise notifications and
//! read by the channels, stored as a JSON object whose keys webhook receivers see as they are.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::engagement_status::EngagementStatus;
use super::{Severity, SlaEventKind};

use crate::domain::{EngagementId, FindingId, ProductId, ProductTypeId, ReportId};

/// Everything a notification may say about what happened; each part is there only for the events it
/// concerns (a product added has `product`, an SLA event `finding`, `product` and `sla`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<Named<ProductTypeId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Named<ProductId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<EngagementFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportFacts>,
    /// A digest's findings (`sla_breach_combined`): each with the SLA moment it reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digest: Vec<DigestEntry>,
    /// The daily digest rather than a sweep's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub daily: bool,
    /// The user whose action raised it (a mention's author, a test send's sender).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// An administrator's test send.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

/// One finding of an SLA digest: what it is and what it reached in the sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub finding: FindingFacts,
    pub kind: SlaEventKind,
    /// RFC 3339.
    pub deadline: Option<String>,
}

/// Something with an id and a name (a product, a product type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named<Id> {
    pub id: Id,
    pub name: String,
}

/// The finding a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingFacts {
    pub id: FindingId,
    pub title: String,
    pub severity: Severity,
}

/// The engagement a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementFacts {
    pub id: EngagementId,
    pub name: String,
    pub status: EngagementStatus,
    pub target_start: NaiveDate,
    pub target_end: NaiveDate,
}

/// Where the finding stands in its SLA when the event was raised. Every key is written, null when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaFacts {
    pub kind: SlaEventKind,
    pub cycle: i32,
    /// RFC 3339.
    pub deadline: Option<String>,
    pub remaining_seconds: Option<i64>,
    /// `remaining_seconds` for people ("2 days 3 hours").
    pub remaining: Option<String>,
    /// The percentage of the period left, for a breach approaching.
    pub threshold: Option<u8>,
}

/// A generated compliance report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFacts {
    pub id: ReportId,
    pub product: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The file's extension: `pdf`, `csv`, `json`.
    pub format: String,
    pub compliance_rate: Option<f64>,
    pub passed: bool,
    pub url: String,
    /// A signed link that opens the report without an account, for recipients outside slawatch (a
    /// schedule's extra recipients), and until when (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_expires: Option<String>,
}

impl NotificationPayload {
    /// The stored JSON text.
    #[must_use]
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads the stored JSON text back; a payload that is not this shape is an error, never an empty one.
    pub fn from_stored(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Labelled details for human-readable channels (mail, Slack, Teams): the product, finding, severity,
    /// SLA figures and engagement when present.
    #[must_use]
    pub fn details(&self) -> Vec<(&'static str, String)> {
        let finding = self.finding.as_ref();
        let sla = self.sla.as_ref();
        [
            ("Product", self.product.as_ref().map(|p| p.name.clone())),
            ("Finding", finding.map(|f| f.title.clone())),
            ("Severity", finding.map(|f| f.severity.as_str().to_owned())),
            ("Deadline", sla.and_then(|s| s.deadline.clone())),
            ("Remaining", sla.and_then(|s| s.remaining.clone())),
            ("Engagement", self.engagement.as_ref().map(|e| e.name.clone())),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.map(|value| (label, value)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sla_payload_keeps_its_keys_and_nulls_and_reads_back() {
        let payload = NotificationPayload {
            finding: Some(FindingFacts {
                id: FindingId::new(7),
                title: "RCE".to_owned(),
                severity: Severity::Critical,
            }),
            product: Some(Named { id: ProductId::new(2), name: "Portal".to_owned() }),

            sla: Some(SlaFacts {
                kind: SlaEventKind::Breach,
                cycle: 1,
                deadline: Some("2026-03-02T00:00:00+00:00".to_owned()),
                remaining_seconds: Some(0),
                remaining: Some("0 minutes".to_owned()),
                threshold: None,
            }),
            ..NotificationPayload::default()
        };
        let stored = payload.to_stored();
        let value: serde_json::Value = serde_json::from_str(&stored).expect("json");
        assert_eq!(value["finding"]["severity"], "Critical");
        assert_eq!(value["sla"]["kind"], SlaEventKind::Breach.as_str());
        assert!(value["sla"].get("threshold").is_some_and(serde_json::Value::is_null), "{value}");
        assert!(value.get("engagement").is_none() && value.get("test").is_none(), "{value}");
        assert_eq!(NotificationPayload::from_stored(&stored).expect("reads back"), payload);
        assert_eq!(
            payload.details(),
            vec![
                ("Product", "Portal".to_owned()),
                ("Finding", "RCE".to_owned()),
                ("Severity", "Critical".to_owned()),
                ("Deadline", "2026-03-02T00:00:00+00:00".to_owned()),
                ("Remaining", "0 minutes".to_owned()),
            ]
        );
    }

    #[test]
    fn a_payload_of_another_shape_is_an_error() {
        assert!(
            NotificationPayload::from_stored(r#"{"finding": {"id": 1, "title": "x", "severity": "Dire"}}"#).is_err()
        );
        assert!(NotificationPayload::from_stored("null").is_err() && NotificationPayload::from_stored("42").is_err());
        assert_eq!(NotificationPayload::from_stored(r#"{"test": true, "by": "ops"}"#).map(|p| p.test).ok(), Some(true));
    }
}
