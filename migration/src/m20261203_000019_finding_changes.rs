//! `finding_changes` (SQLite): a log, written by triggers, of every finding inserted, deleted, or updated in a
//! column that counts, pages and the SLA summary look at, with what the row was before. The server's
//! in-memory finding index (`service::finding_index`) catches up from it before each read, so it sees
//! every committed write, also those of another process on the same file. Triggers rather than the
//! services because no write path can then be forgotten. Rows are numbered without gaps (SQLite writes one
//! transaction at a time, and a rolled-back one gives its numbers back), so a reader knows when rows it
//! had not read were pruned. PostgreSQL reads findings with SQL and has no such log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns whose change is logged.
pub(crate) const WATCHED: [&str; 8] = [
    "product_id",
    "severity",
    "verified",
    "is_open",
    "is_mitigated",
    "mitigated_at",
    "sla_deadline",
    "sla_approaching_at",
];

/// The columns of the row before, logged with an update or a deletion.
pub(crate) const BEFORE: [&str; 6] =
    ["product_id", "severity", "is_open", "is_mitigated", "mitigated_at", "sla_deadline"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE finding_changes (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                finding_id INTEGER NOT NULL,
                old_product_id INTEGER,
                old_severity TEXT,
                old_is_open BOOLEAN,
                old_is_mitigated BOOLEAN,
                old_mitigated_at BIGINT,
                old_sla_deadline BIGINT
            )",
        )
        .await?;
        let old_columns = BEFORE.map(|c| format!("old_{c}")).join(", ");
        let old_values = BEFORE.map(|c| format!("OLD.{c}")).join(", ");
        let changed = WATCHED.map(|c| format!("OLD.{c} IS NOT NEW.{c}")).join(" OR ");
        db.execute_unprepared(
            "CREATE TRIGGER finding_changes_insert AFTER INSERT ON findings BEGIN \
             INSERT INTO finding_changes (finding_id) VALUES (NEW.id); END",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER finding_changes_update AFTER UPDATE OF {watched} ON findings WHEN {changed} BEGIN \
             INSERT INTO finding_changes (finding_id, {old_columns}) VALUES (NEW.id, {old_values}); END",
            watched = WATCHED.join(", ")
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER finding_changes_delete AFTER DELETE ON findings BEGIN \
             INSERT INTO finding_changes (finding_id, {old_columns}) VALUES (OLD.id, {old_values}); END"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for trigger in ["finding_changes_insert", "finding_changes_update", "finding_changes_delete"] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS finding_changes").await?;
        Ok(())
    }
}
