//! `finding_text` (SQLite): an FTS5 trigram index of the three columns a finding search reads (title,
//! description, external reference), kept by triggers like `finding_changes`. A search asks it which findings
//! hold the search text's rarest three-letter pieces and reads only those, instead of running `LIKE` over
//! every finding; the `LIKE` still decides, so answers stay SQL's (`service::text_search`). External content
//! (the text stays in `findings` alone) and `detail=none` (no positions: the smallest index, about 100 MB at a
//! million findings). PostgreSQL keeps searching with `LIKE`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexed columns, in the table's order.
const COLUMNS: &str = "title, description, external_reference";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE VIRTUAL TABLE finding_text USING fts5({COLUMNS}, content='findings', content_rowid='id', \
             tokenize='trigram', detail='none', columnsize=0)"
        ))
        .await?;
        // FTS5 merges its segments after every fourth write by default: 16 ms of CPU per 1,000 findings
        // written, three times the 5 ms of indexing them. Merging sixteen at a time costs 5 ms, and a search
        // still looks each piece up in every segment quickly (a copy of the 1M bench set: BENCHMARKS "Text search").
        db.execute_unprepared("INSERT INTO finding_text (finding_text, rank) VALUES ('automerge', 16)").await?;
        db.execute_unprepared("INSERT INTO finding_text (finding_text, rank) VALUES ('crisismerge', 64)").await?;
        let new_values = "NEW.id, NEW.title, NEW.description, NEW.external_reference";
        let old_values = "'delete', OLD.id, OLD.title, OLD.description, OLD.external_reference";
        db.execute_unprepared(&format!(
            "CREATE TRIGGER finding_text_insert AFTER INSERT ON findings BEGIN \
             INSERT INTO finding_text (rowid, {COLUMNS}) VALUES ({new_values}); END"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER finding_text_update AFTER UPDATE OF {COLUMNS} ON findings \
             WHEN OLD.title IS NOT NEW.title OR OLD.description IS NOT NEW.description \
             OR OLD.external_reference IS NOT NEW.external_reference BEGIN \
             INSERT INTO finding_text (finding_text, rowid, {COLUMNS}) VALUES ({old_values}); \
             INSERT INTO finding_text (rowid, {COLUMNS}) VALUES ({new_values}); END"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER finding_text_delete AFTER DELETE ON findings BEGIN \
             INSERT INTO finding_text (finding_text, rowid, {COLUMNS}) VALUES ({old_values}); END"
        ))
        .await?;
        // The findings already there (12 s for a million on the bench VM).
        db.execute_unprepared("INSERT INTO finding_text (finding_text) VALUES ('rebuild')").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for trigger in ["finding_text_insert", "finding_text_update", "finding_text_delete"] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS finding_text").await?;
        Ok(())
    }
}
