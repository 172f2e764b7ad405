//! `finding_changes` on PostgreSQL: the log migration 19 keeps on SQLite, so the server's in-memory finding
//! index (`service::finding_index`) answers there too. Same columns and same events (a finding inserted,
//! deleted, or updated in a column the index looks at, with what the row was before), plus the writing
//! transaction's id: PostgreSQL commits transactions in another order than they took their numbers, so a
//! reader cannot trust "every row up to n"; it asks instead for the rows its last snapshot did not see
//! (`pg_visible_in_snapshot`). Statement triggers with transition tables, so an import of thousands of findings
//! logs them in one insert. `finding_changes_pruned` holds the newest transaction id among pruned rows: a
//! reader whose snapshot may not have seen it loads the index whole instead of missing a change.

use sea_orm_migration::prelude::*;

use crate::ddl::on_postgres;
// The same columns as SQLite's log: the finding index reads both the same way.
use crate::m20261203_000019_finding_changes::{BEFORE, WATCHED};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Trigger functions and what each logs from the statement's transition tables (`gone`: rows before,
/// `came`: rows after).
const LOGGING: [(&str, &str, &str); 3] = [
    ("insert", "INSERT", "REFERENCING NEW TABLE AS came"),
    ("update", "UPDATE", "REFERENCING OLD TABLE AS gone NEW TABLE AS came"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS gone"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        db.execute_unprepared(
            "CREATE TABLE finding_changes (
                seq BIGSERIAL PRIMARY KEY,
                xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                finding_id INTEGER NOT NULL,
                old_product_id INTEGER,
                old_severity VARCHAR,
                old_is_open BOOLEAN,
                old_is_mitigated BOOLEAN,
                old_mitigated_at BIGINT,
                old_sla_deadline BIGINT
            )",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX idx_finding_changes_xid ON finding_changes (xid)").await?;
        db.execute_unprepared(
            "CREATE TABLE finding_changes_pruned (
                one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                newest_xid xid8 NOT NULL
            )",
        )
        .await?;
        db.execute_unprepared("INSERT INTO finding_changes_pruned (newest_xid) VALUES ('0')").await?;
        let old_columns = BEFORE.map(|c| format!("old_{c}")).join(", ");
        let old_values = BEFORE.map(|c| format!("gone.{c}")).join(", ");
        let changed = WATCHED.map(|c| format!("gone.{c} IS DISTINCT FROM came.{c}")).join(" OR ");
        let logged = [
            "INSERT INTO finding_changes (finding_id) SELECT id FROM came ORDER BY id".to_owned(),
            format!(
                "INSERT INTO finding_changes (finding_id, {old_columns}) SELECT gone.id, {old_values} \
                 FROM gone JOIN came ON came.id = gone.id WHERE {changed} ORDER BY gone.id"
            ),
            format!(
                "INSERT INTO finding_changes (finding_id, {old_columns}) SELECT gone.id, {old_values} FROM gone ORDER BY gone.id"
            ),
        ];
        for ((name, event, tables), insert) in LOGGING.iter().zip(logged) {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION finding_changes_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN {insert}; RETURN NULL; END $$"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER finding_changes_{name} AFTER {event} ON findings {tables} \
                 FOR EACH STATEMENT EXECUTE FUNCTION finding_changes_{name}()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        for (name, _, _) in LOGGING {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS finding_changes_{name} ON findings")).await?;
            db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS finding_changes_{name}()")).await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS finding_changes_pruned").await?;
        db.execute_unprepared("DROP TABLE IF EXISTS finding_changes").await?;
        Ok(())
    }
}
