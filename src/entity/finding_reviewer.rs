//! The `finding_reviewers` table.

use sea_orm::entity::prelude::*;

use crate::domain::{FindingId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_reviewers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub finding_id: FindingId,
    pub user_id: UserId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
