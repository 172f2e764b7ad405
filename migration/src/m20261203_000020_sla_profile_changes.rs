//! `sla_profile_changes`: when an SLA configuration's days changed, or a product moved to another
//! configuration, with a sentence saying what changed, so the compliance report can state every change of
//! profile during its period. Rows go with their product or configuration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, integer_null, pk_auto, text};

use crate::ddl::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sla_profile_changes")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(big_integer("changed_at"))
                    // The configuration changed, or the one a product moved to.
                    .col(integer("sla_configuration_id"))
                    // The product that moved; none when the configuration itself changed.
                    .col(integer_null("product_id"))
                    .col(text("summary"))
                    .foreign_key(&mut foreign_key(
                        "sla_profile_changes",
                        "sla_configuration_id",
                        "sla_configurations",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        "sla_profile_changes",
                        "product_id",
                        "products",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sla_profile_changes", "idx_sla_profile_changes_changed_at", &["changed_at"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sla_profile_changes").to_owned()).await
    }
}
