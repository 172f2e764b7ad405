//! The `product_types` table.

use sea_orm::entity::prelude::*;

use crate::domain::ProductTypeId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_types")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ProductTypeId,
    #[sea_orm(unique)]
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
