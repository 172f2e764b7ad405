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
    /// The DefectDojo instance this row is kept in step with (`None`: made in slawatch).
    pub source_id: Option<crate::domain::DefectDojoSourceId>,
    /// DefectDojo's id of it in that source.
    pub external_id: Option<crate::domain::DojoId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
