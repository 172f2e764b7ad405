//! The `sla_configurations` table.

use sea_orm::entity::prelude::*;

use crate::domain::SlaConfigurationId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_configurations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: SlaConfigurationId,
    #[sea_orm(unique)]
    pub name: String,
    pub description: String,
    pub critical_days: i32,
    pub high_days: i32,
    pub medium_days: i32,
    pub low_days: i32,
    pub enforce_critical: bool,
    pub enforce_high: bool,
    pub enforce_medium: bool,
    pub enforce_low: bool,
    pub restart_sla_on_reactivation: bool,
    /// JSON array of percentages, e.g. `[50,10]`.
    pub thresholds: String,
    pub escalation_hours: i32,
    pub is_default: bool,
    pub created_at: i64,
    /// The DefectDojo instance this row is kept in step with (`None`: made in slawatch).
    pub source_id: Option<crate::domain::DefectDojoSourceId>,
    /// DefectDojo's id of it in that source.
    pub external_id: Option<crate::domain::DojoId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
