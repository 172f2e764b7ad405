//! SLA events: one row per (finding, SLA cycle, kind, threshold), unique, so a second sweep (or a second
//! instance) cannot emit an event twice.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, integer_null, pk_auto, string};

use crate::ddl::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sla_events")
                    .col(pk_auto("id"))
                    .col(integer("finding_id"))
                    .col(integer("product_id"))
                    .col(integer("cycle"))
                    .col(string("kind"))
                    .col(integer("threshold").default(0))
                    .col(big_integer("occurred_at"))
                    .col(big_integer("created_at"))
                    .col(integer_null("notification_id"))
                    .foreign_key(&mut foreign_key("sla_events", "finding_id", "findings", ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key("sla_events", "product_id", "products", ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key(
                        "sla_events",
                        "notification_id",
                        "notifications",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "sla_events",
                    "uq_sla_events_finding_cycle_kind_threshold",
                    &["finding_id", "cycle", "kind", "threshold"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager.create_index(index("sla_events", "idx_sla_events_product", &["product_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sla_events").to_owned()).await
    }
}
