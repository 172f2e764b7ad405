//! An index for a product member's breach count and page: `(product_id, is_open, sla_deadline)`, so
//! `outsideSla` over a few products reads only those products' breached entries.

use sea_orm_migration::prelude::*;

use crate::ddl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "findings",
                "idx_findings_product_open_deadline",
                &["product_id", "is_open", "sla_deadline"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_findings_product_open_deadline").table("findings").to_owned()).await
    }
}
