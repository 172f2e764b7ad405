//! PostgreSQL's trigram indexes (migration 23) of the open findings alone, as migration 25 gives SQLite: most
//! searches are about open findings (`outsideSla`, SLA states), 15 % of the bench's million, and the full
//! indexes name every finding holding a piece, closed ones too, whose rows are then read only to be left out
//! (a search for "component-345" read 1,003 rows for its 150 open ones: 14 ms, 2 with these). Asked when the
//! statement says `is_open = TRUE` (`service::text_search`).
//!
//! They keep a short list of pending entries (256 kB instead of 4 MB): a GIN index takes a new row's entries
//! into that list, which every search reads whole until it is merged, and under an import's writes the full
//! indexes' lists held 465 pages that each search read (3 of its 14 ms). The full indexes keep the default:
//! merging their lists four times as often cost an import of 1,000 findings 100–200 ms more, for searches of
//! every finding, which are few.

use sea_orm_migration::prelude::*;

use crate::ddl::on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The partial index per searched column, as migration 23 names the full ones.
const OPEN_INDEXES: [(&str, &str); 3] = [
    ("idx_open_findings_title_trigrams", "title"),
    ("idx_open_findings_description_trigrams", "description"),
    ("idx_open_findings_external_reference_trigrams", "external_reference"),
];

/// The pending list's size in kB (PostgreSQL's default: `gin_pending_list_limit`, 4,096).
const PENDING_LIST_KB: u32 = 256;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        // Where migration 23 made no index (a role that may not create the extension), none is made here.
        let trigrams = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_findings_title_trigrams'",
            ))
            .await?;
        if trigrams.is_none() {
            return Ok(());
        }
        let created = OPEN_INDEXES.map(|(name, column)| {
            format!(
                "CREATE INDEX IF NOT EXISTS {name} ON findings USING gin (lower({column}) gin_trgm_ops) \
                 WITH (gin_pending_list_limit = {PENDING_LIST_KB}) WHERE is_open"
            )
        });
        db.execute_unprepared(&created.join("; ")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        let names = OPEN_INDEXES.map(|(name, _)| name);
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {}", names.join(", "))).await?;
        Ok(())
    }
}
