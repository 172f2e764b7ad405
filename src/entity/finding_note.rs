//! The `finding_notes` table.

use sea_orm::entity::prelude::*;

use crate::domain::{FindingId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub finding_id: FindingId,
    pub author_id: Option<UserId>,
    pub text: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
