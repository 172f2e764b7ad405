//! Conditions on notification settings: a setting may apply only to some severities (`severities`) and, at
//! the system and template scopes, only to some products or product types (`product_ids`,
//! `product_type_ids`), each a JSON array, empty for "any". Several settings of one owner and event may then
//! coexist when their conditions differ, so the unique key becomes (owner, event, `condition_key`), the
//! condition's canonical text (empty for the unconditional setting every existing row is).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text;

use crate::ddl::index;

const TABLE: &str = "notification_settings";
const OLD_UNIQUE: &str = "uq_notification_settings_owner_event";
const NEW_UNIQUE: &str = "uq_notification_settings_owner_event_condition";
/// The new columns with their default: "any" for the lists, the unconditional key.
const COLUMNS: [(&str, &str); 4] =
    [("severities", "[]"), ("product_ids", "[]"), ("product_type_ids", "[]"), ("condition_key", "")];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        for (column, default) in COLUMNS {
            manager
                .alter_table(Table::alter().table(TABLE).add_column(text(column).default(default)).to_owned())
                .await?;
        }
        manager.drop_index(Index::drop().name(OLD_UNIQUE).table(TABLE).to_owned()).await?;
        manager
            .create_index(index(TABLE, NEW_UNIQUE, &["owner_key", "event", "condition_key"]).unique().to_owned())
            .await
    }

    /// Back to one setting per owner and event: the conditional ones go (the unconditional ones stay).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM notification_settings WHERE condition_key <> ''")
            .await?;
        manager.drop_index(Index::drop().name(NEW_UNIQUE).table(TABLE).to_owned()).await?;
        manager.create_index(index(TABLE, OLD_UNIQUE, &["owner_key", "event"]).unique().to_owned()).await?;
        for (column, _) in COLUMNS {
            manager.alter_table(Table::alter().table(TABLE).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
