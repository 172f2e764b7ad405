//! A trigram index for finding searches on PostgreSQL, as migration 21 gives SQLite: `pg_trgm`'s GIN operator
//! class on the three lowered columns a search's `LIKE` reads (title, description, external reference), so
//! PostgreSQL finds the rows holding the text from the index instead of reading every finding. The search's
//! SQL is unchanged (`lower(column) LIKE '%text%'`, the expressions indexed here). `pg_trgm` ships with
//! PostgreSQL and is a trusted extension (a role with `CREATE` on the database may create it); where it is not
//! installed and the role may not create it, the migration creates nothing and searches read every finding, as
//! before (the server must start on a managed database whose role has no such right).

use sea_orm_migration::prelude::*;

use crate::ddl::on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index per searched column (one each, so PostgreSQL ORs the three in a bitmap).
const INDEXES: [(&str, &str); 3] = [
    ("idx_findings_title_trigrams", "title"),
    ("idx_findings_description_trigrams", "description"),
    ("idx_findings_external_reference_trigrams", "external_reference"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        // Installed already, or installable by this role: a superuser, or one with CREATE on the database when
        // the extension's default version is trusted or needs no superuser.
        let usable = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') \
                 OR EXISTS (SELECT 1 FROM pg_available_extension_versions v \
                     JOIN pg_available_extensions a ON a.name = v.name AND a.default_version = v.version \
                     WHERE v.name = 'pg_trgm' AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
                         OR (has_database_privilege(current_database(), 'CREATE') AND (v.trusted OR NOT v.superuser))))",
            ))
            .await?
            .is_some();
        if !usable {
            return Ok(());
        }
        db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
        for (name, column) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON findings USING gin (lower({column}) gin_trgm_ops)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Some(db) = on_postgres(manager) else { return Ok(()) };
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        }
        // The extension stays: other schemas of the database may use it.
        Ok(())
    }
}
