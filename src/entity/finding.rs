//! The `findings` table.

use sea_orm::entity::prelude::*;

use crate::domain::{EngagementId, FindingId, ProductId, TestId};

use crate::domain::Severity;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: FindingId,
    pub product_id: ProductId,
    pub engagement_id: Option<EngagementId>,
    pub title: String,
    pub description: String,
    /// Stored in DefectDojo's spelling: `Critical`, `High`, `Medium`, `Low`, `Info`.
    #[sea_orm(column_type = "Text")]
    pub severity: Severity,
    pub date: Date,
    /// Epoch seconds the SLA clock starts (midnight UTC of `date` when it started on a date).
    pub sla_start: i64,
    pub sla_start_is_date: bool,
    pub active: bool,
    pub verified: bool,
    pub is_mitigated: bool,
    pub mitigated_at: Option<i64>,
    pub false_p: bool,
    pub duplicate: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    /// When the risk acceptance ends by itself.
    pub risk_acceptance_expires_at: Option<i64>,
    /// Derived: open for SLA purposes (see `domain::FindingStatus::is_open`).
    pub is_open: bool,
    pub external_reference: Option<String>,
    pub sla_deadline: Option<i64>,
    /// Days since 1970-01-01 of DefectDojo's `sla_expiration_date`.
    pub sla_expiration_day: Option<i64>,
    /// When the first notification threshold is crossed.
    pub sla_approaching_at: Option<i64>,
    pub sla_cycle: i32,
    /// The next instant the SLA sweep has something to do for this finding; NULL when closed or without SLA.
    pub next_sla_event_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The scan import it came from (`tests.id`; may name a test deleted with its engagement).
    pub test_id: Option<TestId>,
    /// DefectDojo's deduplication hash over its scan type's fields (`scans::hash_code`).
    pub hash_code: Option<String>,
    pub unique_id_from_tool: Option<String>,
    pub cwe: Option<i32>,
    /// Comma-separated (CVE and other advisory ids).
    pub vulnerability_ids: Option<String>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub mitigation: Option<String>,
    pub references: Option<String>,
    /// One URL a line.
    pub endpoints: Option<String>,
    /// The DefectDojo instance this row is kept in step with (`None`: made in slawatch).
    pub source_id: Option<crate::domain::DefectDojoSourceId>,
    /// DefectDojo's id of it in that source.
    pub external_id: Option<crate::domain::DojoId>,
}

/// The columns a finding list or a GraphQL finding shows and its SLA is read from (26 of the 45): lists,
/// GraphQL pages and live events read only these, because every column read costs an allocation per row
/// (the columns were a third of a 100-row page's cost), and a NULL one an error message besides.
#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "Entity")]
#[allow(clippy::struct_excessive_bools, reason = "the row's flags, as stored")]
pub struct Listed {
    pub id: FindingId,
    pub product_id: ProductId,
    pub engagement_id: Option<EngagementId>,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub date: Date,
    pub sla_start: i64,
    pub sla_start_is_date: bool,
    pub active: bool,
    pub verified: bool,
    pub is_mitigated: bool,
    pub mitigated_at: Option<i64>,
    pub false_p: bool,
    pub duplicate: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub risk_acceptance_expires_at: Option<i64>,
    pub is_open: bool,
    pub external_reference: Option<String>,
    pub sla_deadline: Option<i64>,
    pub sla_expiration_day: Option<i64>,
    pub sla_approaching_at: Option<i64>,
    pub sla_cycle: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Model> for Listed {
    fn from(row: Model) -> Self {
        Self {
            id: row.id,
            product_id: row.product_id,
            engagement_id: row.engagement_id,
            title: row.title,
            description: row.description,
            severity: row.severity,
            date: row.date,
            sla_start: row.sla_start,
            sla_start_is_date: row.sla_start_is_date,
            active: row.active,
            verified: row.verified,
            is_mitigated: row.is_mitigated,
            mitigated_at: row.mitigated_at,
            false_p: row.false_p,
            duplicate: row.duplicate,
            out_of_scope: row.out_of_scope,
            risk_accepted: row.risk_accepted,
            risk_acceptance_expires_at: row.risk_acceptance_expires_at,
            is_open: row.is_open,
            external_reference: row.external_reference,
            sla_deadline: row.sla_deadline,
            sla_expiration_day: row.sla_expiration_day,
            sla_approaching_at: row.sla_approaching_at,
            sla_cycle: row.sla_cycle,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
