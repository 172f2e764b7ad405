//! The `reports` table: a generated compliance report and its file.

use sea_orm::entity::prelude::*;

use crate::domain::{ProductId, ReportId, ReportScheduleId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ReportId,
    /// Who asked (the schedule's owner for a scheduled report); null once that user is deleted.
    pub requested_by: Option<UserId>,
    pub schedule_id: Option<ReportScheduleId>,
    /// Null: every product the requester could view.
    pub product_id: Option<ProductId>,
    pub period_start: i64,
    pub period_end: i64,
    #[sea_orm(column_type = "Text")]
    pub format: crate::domain::report_format::ReportFormat,
    pub file_name: String,
    pub content: Vec<u8>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
