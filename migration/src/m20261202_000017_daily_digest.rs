//! `notification_settings.digest_daily`: an `sla_breach_combined` setting that wants one digest a day
//! instead of one per sweep (part of the setting's condition key); and an index on `sla_events.occurred_at`,
//! so the daily digest reads the day's events as a range instead of the whole table; and
//! `system_settings.daily_digest_day`, the last day whose daily digest was written (days since 1970), which
//! the job claims in its transaction so a day's digest is written once, whichever instance runs it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, boolean};

use crate::ddl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = boolean("digest_daily").default(false).to_owned();
        manager.alter_table(Table::alter().table("notification_settings").add_column(column).to_owned()).await?;
        manager.create_index(index("sla_events", "idx_sla_events_occurred_at", &["occurred_at"])).await?;
        let day = big_integer_null("daily_digest_day");
        manager.alter_table(Table::alter().table("system_settings").add_column(day).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("system_settings").drop_column("daily_digest_day").to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_sla_events_occurred_at").table("sla_events").to_owned()).await?;
        manager.alter_table(Table::alter().table("notification_settings").drop_column("digest_daily").to_owned()).await
    }
}
