//! The `sla_profile_changes` table.

use sea_orm::entity::prelude::*;

use crate::domain::{ProductId, SlaConfigurationId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_profile_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub changed_at: i64,
    /// The configuration changed, or the one the product moved to.
    pub sla_configuration_id: SlaConfigurationId,
    /// The product that moved; `None` when the configuration itself changed.
    pub product_id: Option<ProductId>,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
