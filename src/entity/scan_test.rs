//! The `tests` table: one imported scanner report of an engagement (DefectDojo's Test).

use sea_orm::entity::prelude::*;

use crate::domain::{EngagementId, TestId};

use crate::domain::scan_type::ScanType;
use crate::domain::tags::Tags;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: TestId,
    pub engagement_id: EngagementId,
    #[sea_orm(column_type = "Text")]
    pub scan_type: ScanType,
    pub title: Option<String>,
    /// The tags of the latest import that gave any.
    #[sea_orm(column_type = "Text")]
    pub tags: Tags,
    /// The date of the last scan imported into it (the `date` of the findings it created).
    pub scan_date: Date,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
