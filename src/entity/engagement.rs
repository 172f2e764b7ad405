//! The `engagements` table.

use sea_orm::entity::prelude::*;

use crate::domain::{EngagementId, ProductId, UserId};

use crate::domain::engagement_status::EngagementStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "engagements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: EngagementId,
    pub product_id: ProductId,
    pub name: String,
    pub description: String,
    pub target_start: Date,
    pub target_end: Date,
    /// Stored as `NOT_STARTED`, `IN_PROGRESS`, `COMPLETED` or `CANCELLED`.
    #[sea_orm(column_type = "Text")]
    pub status: EngagementStatus,
    pub lead_id: Option<UserId>,
    pub created_at: i64,
    /// The DefectDojo instance this row is kept in step with (`None`: made in slawatch).
    pub source_id: Option<crate::domain::DefectDojoSourceId>,
    /// DefectDojo's id of it in that source.
    pub external_id: Option<crate::domain::DojoId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
