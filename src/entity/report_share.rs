//! The `report_shares` table: a signed link to one report, its expiry, and whether it was revoked.

use sea_orm::entity::prelude::*;

use crate::domain::{ReportId, ReportShareId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_shares")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ReportShareId,
    pub report_id: ReportId,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// Who made the link (null for a schedule's, or once that user is deleted).
    pub created_by: Option<UserId>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
