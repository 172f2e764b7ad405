//! `open_finding_text` (SQLite): `finding_text`'s trigram index (migration 21) of the open findings alone, kept
//! by triggers as a finding opens, closes, changes its text or goes. Most searches are about open findings
//! (`outsideSla`, SLA states), which are a few of all (15 % of the bench's million): asking this table names
//! six to seven times fewer candidates for the finding index to sort out, and FTS5 reads lists as much shorter
//! (BENCHMARKS.md, "Text searches about open findings ask an index of open findings").

use sea_orm_migration::prelude::*;

use crate::ddl;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexed columns, in the table's order (`finding_text`'s).
const COLUMNS: &str = "title, description, external_reference";

/// The table.
const TABLE: &str = "open_finding_text";

/// Its triggers: on insert, update and delete of a finding.
const TRIGGERS: [&str; 3] = ["open_finding_text_insert", "open_finding_text_update", "open_finding_text_delete"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = ddl::on_sqlite(manager) else {
            return Ok(());
        };
        ddl::fts5_trigram_table(db, TABLE, "findings", COLUMNS).await?;
        let [on_insert, on_update, on_delete] = TRIGGERS;
        let new_values = "NEW.id, NEW.title, NEW.description, NEW.external_reference";
        // An external content table is told the text it indexed to take a row out: the old row's, which is
        // what it holds, since every change of an open finding's text passes through the update trigger.
        let old_values = "'delete', OLD.id, OLD.title, OLD.description, OLD.external_reference";
        db.execute_unprepared(&format!(
            "CREATE TRIGGER {on_insert} AFTER INSERT ON findings WHEN NEW.is_open BEGIN \
             INSERT INTO {TABLE} (rowid, {COLUMNS}) VALUES ({new_values}); END"
        ))
        .await?;
        // Out with the old row if it was open, in with the new if it is: one trigger, so the two happen in
        // that order.
        db.execute_unprepared(&format!(
            "CREATE TRIGGER {on_update} AFTER UPDATE OF is_open, {COLUMNS} ON findings \
             WHEN (OLD.is_open OR NEW.is_open) AND (OLD.is_open IS NOT NEW.is_open OR OLD.title IS NOT NEW.title \
             OR OLD.description IS NOT NEW.description OR OLD.external_reference IS NOT NEW.external_reference) \
             BEGIN INSERT INTO {TABLE} ({TABLE}, rowid, {COLUMNS}) SELECT {old_values} WHERE OLD.is_open; \
             INSERT INTO {TABLE} (rowid, {COLUMNS}) SELECT {new_values} WHERE NEW.is_open; END"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER {on_delete} AFTER DELETE ON findings WHEN OLD.is_open BEGIN \
             INSERT INTO {TABLE} ({TABLE}, rowid, {COLUMNS}) VALUES ({old_values}); END"
        ))
        .await?;
        // The open findings already there (2 s for the bench's 150,000).
        db.execute_unprepared(&format!(
            "INSERT INTO {TABLE} (rowid, {COLUMNS}) SELECT id, {COLUMNS} FROM findings WHERE is_open"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match ddl::on_sqlite(manager) {
            Some(db) => ddl::drop_triggers_and_table(db, &TRIGGERS, TABLE).await,
            None => Ok(()),
        }
    }
}
