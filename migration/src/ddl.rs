//! Small DDL builders shared by the migrations. Changing one changes how old migrations would run on a new
//! database, so these only ever gain new functions.

use sea_orm_migration::prelude::*;

/// A named foreign key `from_table.from_col → to_table.id`.
pub fn foreign_key(
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(on_delete)
        .to_owned()
}

/// A named index on `columns`.
pub fn index(table: &'static str, name: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.clone()
}

/// The connection to migrate, when the database is PostgreSQL (`None` elsewhere: a PostgreSQL-only migration
/// does nothing there).
pub fn on_postgres<'c>(manager: &'c SchemaManager) -> Option<&'c SchemaManagerConnection<'c>> {
    (manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres).then(|| manager.get_connection())
}

/// The connection to migrate, when the database is SQLite (`None` elsewhere: an SQLite-only migration does
/// nothing there).
pub fn on_sqlite<'c>(manager: &'c SchemaManager) -> Option<&'c SchemaManagerConnection<'c>> {
    (manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite).then(|| manager.get_connection())
}

/// An FTS5 trigram index `name` of `columns` of `content` (external content: the text stays in that table;
/// `detail=none`: no positions), merging sixteen segments at a time as `finding_text` does (migration 21's
/// reasons: FTS5's default merges after every fourth write and cost three times the indexing).
pub async fn fts5_trigram_table(
    db: &SchemaManagerConnection<'_>,
    name: &str,
    content: &str,
    columns: &str,
) -> Result<(), DbErr> {
    db.execute_unprepared(&format!(
        "CREATE VIRTUAL TABLE {name} USING fts5({columns}, content='{content}', content_rowid='id', \
         tokenize='trigram', detail='none', columnsize=0)"
    ))
    .await?;
    for (option, value) in [("automerge", 16), ("crisismerge", 64)] {
        db.execute_unprepared(&format!("INSERT INTO {name} ({name}, rank) VALUES ('{option}', {value})")).await?;
    }
    Ok(())
}

/// Drops `triggers`, then `table` (each if it is there): a `down` of a table kept by triggers.
pub async fn drop_triggers_and_table(
    db: &SchemaManagerConnection<'_>,
    triggers: &[&str],
    table: &str,
) -> Result<(), DbErr> {
    for trigger in triggers {
        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
    }
    db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
    Ok(())
}
