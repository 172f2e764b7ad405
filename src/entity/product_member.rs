//! The `product_members` table.

use sea_orm::entity::prelude::*;

use crate::domain::{MembershipId, ProductId, UserId};

use crate::domain::ProductRole;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: MembershipId,
    pub product_id: ProductId,
    pub user_id: UserId,
    /// `READER`, `WRITER` or `OWNER`.
    #[sea_orm(column_type = "Text")]
    pub role: ProductRole,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
