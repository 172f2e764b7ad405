//! Connecting to SQLite or PostgreSQL, migrating, and opening write transactions that cannot deadlock.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// Opens the pool. SQLite gets WAL (readers never wait for the writer), a busy timeout, foreign keys on, and a
/// larger page cache.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite") {
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // A page cache of up to 32 MiB per connection (the default is 2 MiB), and reads through a
                // memory map: at a million findings the sweep and the queries stop re-reading pages.
                .pragma("cache_size", "-32768")
                .pragma("mmap_size", "268435456")
                // The log is copied back by `spawn_wal_checkpoints`; a connection does it itself only
                // past this many pages (64 MiB), should that task fall behind.
                .pragma("wal_autocheckpoint", "16384")
        });
    } else {
        options.max_connections(16).min_connections(1);
    }
    Database::connect(options).await
}

/// On SQLite, copies the write-ahead log back into the database file every second, off the writers' path:
/// with SQLite's default a commit pays for that every thousand pages (25 ms in the middle of an SLA sweep,
/// 240 ms with a larger log). A passive checkpoint never blocks readers or the writer. Ends when the pool
/// is closed.
pub fn spawn_wal_checkpoints(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let db = db.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
                if db.ping().await.is_err() {
                    return;
                }
                tracing::debug!(error = %err, "WAL checkpoint skipped; trying again in a second");
            }
        }
    });
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`, so two
/// writers queue on the busy timeout instead of failing when a read lock would have to be upgraded.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Runs a multi-row INSERT and returns the new rows' ids in the order of the rows (`RETURNING id`; both
/// SQLite and PostgreSQL return a multi-row VALUES insert's rows in order, as Django's `bulk_create` relies
/// on). Rows skipped by an `ON CONFLICT DO NOTHING` return nothing.
pub async fn insert_returning_ids<C, A>(conn: &C, insert: sea_orm::InsertMany<A>) -> Result<Vec<i32>, DbErr>
where
    C: sea_orm::ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
{
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Query};
    let mut statement = insert.into_query();
    statement.returning(Query::returning().column(Alias::new("id")));
    let rows = conn.query_all(&statement).await?;
    rows.iter().map(|row| row.try_get_by_index::<i32>(0)).collect()
}
