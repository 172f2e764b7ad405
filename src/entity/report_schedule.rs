//! The `report_schedules` table: a compliance report generated on a cron schedule.

use sea_orm::entity::prelude::*;

use crate::domain::{ProductId, ReportScheduleId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_schedules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ReportScheduleId,
    pub name: String,
    /// The user the report is generated as (its visibility) and who is notified.
    pub owner_id: UserId,
    pub product_id: Option<ProductId>,
    /// A cron expression (UTC), e.g. `0 6 1 1,4,7,10 *`.
    pub cron: String,
    #[sea_orm(column_type = "Text")]
    pub period: crate::domain::compliance::RelativePeriod,
    #[sea_orm(column_type = "Text")]
    pub format: crate::domain::report_format::ReportFormat,
    /// JSON array of extra email recipients.
    pub recipients: String,
    pub enabled: bool,
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
