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
