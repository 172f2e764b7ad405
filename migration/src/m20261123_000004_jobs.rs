//! Scheduler support: a lease per job (one instance runs a job at a time on a shared PostgreSQL) and the
//! engagement auto-close setting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer_null, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("job_leases")
                    .col(string("name").primary_key())
                    .col(string("holder"))
                    .col(big_integer("lease_until"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("system_settings")
                    .add_column(integer_null("engagement_auto_close_days"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("system_settings").drop_column("engagement_auto_close_days").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("job_leases").to_owned()).await
    }
}
