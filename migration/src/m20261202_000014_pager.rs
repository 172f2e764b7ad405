//! The PagerDuty channel's system settings: a switch, the service's integration key and the events URL
//! (NULL: PagerDuty's own).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, text_null};

const TABLE: &str = "system_settings";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        let columns = [
            boolean("enable_pager").default(false).to_owned(),
            text_null("pager_routing_key"),
            text_null("pager_events_url"),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(TABLE).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["enable_pager", "pager_routing_key", "pager_events_url"] {
            manager.alter_table(Table::alter().table(TABLE).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
