//! The `products` table.

use sea_orm::entity::prelude::*;

use crate::domain::{ProductId, ProductTypeId, SlaConfigurationId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ProductId,
    #[sea_orm(unique)]
    pub name: String,
    pub description: String,
    pub product_type_id: ProductTypeId,
    pub sla_configuration_id: SlaConfigurationId,
    pub disable_sla_breach_notifications: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
