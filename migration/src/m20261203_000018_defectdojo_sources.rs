//! `defectdojo_sources`: a DefectDojo instance slawatch keeps its copy in step with (its URL, the API token
//! it calls with, how often, and how the last run went), and on the tables it fills (`sla_configurations`,
//! `product_types`, `products`, `engagements`, `findings`) the source a row came from and DefectDojo's id
//! for it, unique per source. Rows made in slawatch have neither.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, integer_null, pk_auto, string, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows a source may own.
const SYNCED: [&str; 5] = ["sla_configurations", "product_types", "products", "engagements", "findings"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("defectdojo_sources")
                    .col(pk_auto("id"))
                    .col(string("url"))
                    .col(string("token"))
                    .col(integer("interval_seconds"))
                    .col(big_integer_null("last_run_at"))
                    .col(big_integer_null("last_success_at"))
                    .col(text_null("last_error"))
                    .col(big_integer("findings_synced").default(0))
                    .col(integer("failures").default(0))
                    .col(big_integer_null("next_run_at"))
                    .col(big_integer_null("watermark"))
                    .col(big_integer_null("next_full_at"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        for table in SYNCED {
            // One column per statement: SQLite's ALTER TABLE adds one at a time.
            for column in ["source_id", "external_id"] {
                let add = Table::alter().table(table).add_column(integer_null(column)).to_owned();
                manager.alter_table(add).await?;
            }
            let unique = Index::create()
                .name(format!("idx_{table}_source_external"))
                .table(table)
                .col("source_id")
                .col("external_id")
                .unique()
                .to_owned();
            manager.create_index(unique).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in SYNCED {
            manager
                .drop_index(Index::drop().name(format!("idx_{table}_source_external")).table(table).to_owned())
                .await?;
            for column in ["external_id", "source_id"] {
                manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
            }
        }
        manager.drop_table(Table::drop().table("defectdojo_sources").to_owned()).await
    }
}
