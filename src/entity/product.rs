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
    /// The DefectDojo instance this row is kept in step with (`None`: made in slawatch).
    pub source_id: Option<crate::domain::DefectDojoSourceId>,
    /// DefectDojo's id of it in that source.
    pub external_id: Option<crate::domain::DojoId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
