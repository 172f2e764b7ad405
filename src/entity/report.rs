//! The `reports` table: a generated compliance report and its file.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Who asked (the schedule's owner for a scheduled report); null once that user is deleted.
    pub requested_by: Option<i32>,
    pub schedule_id: Option<i32>,
    /// Null: every product the requester could view.
    pub product_id: Option<i32>,
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
