//! Connecting to SQLite or PostgreSQL, migrating, and opening write transactions that cannot deadlock.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::SqliteMemory;
use crate::domain::trigrams::TrigramIndex;

mod turn_queue;
mod turn_times;
mod write_turn;
pub use turn_queue::WriteClass;
pub use turn_times::TurnTimes;
pub use write_turn::{WriteTransaction, WriteTurns};

/// A read-only transaction that reads one snapshot (SQLite's deferred transaction does; PostgreSQL's needs
/// `REPEATABLE READ`). It never takes a writer's turn.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await
        }
        _ => db.begin().await,
    }
}

/// The pool's connections on SQLite (one writes at a time; the rest read) and on PostgreSQL.
pub const SQLITE_CONNECTIONS: u32 = 8;
pub const POSTGRES_CONNECTIONS: u32 = 16;

/// Prepared statements each SQLite connection keeps (sqlx's default is 100). Reads with varied filters and
/// id lists of varied lengths are each a statement of their own, so the default kept a hundred per
/// connection: 35–42 MiB of the server's memory at a million findings under the varied bench, for no speed
/// that bench could measure; 16 rather than 32 took ~10 MiB more off after that load (BENCHMARKS.md, "Memory:
/// prepared statements" and "Memory: the page cache").
const STATEMENTS_KEPT: usize = 16;

/// How many finding reads SQL may scan for at once (`service::finding_reads`) unless
/// `SLAWATCH_CONCURRENT_SCANS` says. On SQLite the scan runs on this machine's cores: half of them (at least
/// one, at most half the pool), because a text search over a million findings keeps a core busy for a
/// fraction of a second and more of them at once only took the cores from every other request. On
/// PostgreSQL, where the database has its own cores, half the pool. Either way connections are left to
/// writers and to the reads the finding index answers.
#[must_use]
pub fn concurrent_scans(backend: sea_orm::DbBackend) -> usize {
    let half_the_pool = |connections: u32| usize::try_from(connections / 2).unwrap_or(1).max(1);
    if backend == sea_orm::DbBackend::Postgres {
        return half_the_pool(POSTGRES_CONNECTIONS);
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cores / 2).clamp(1, half_the_pool(SQLITE_CONNECTIONS))
}

/// Opens the pool. SQLite gets WAL (readers never wait for the writer), a busy timeout, foreign keys on, and
/// the page cache and memory map `memory` asks for. A request waits at most `acquire_timeout` for a
/// connection: while PostgreSQL is down it fails with `SERVICE_UNAVAILABLE` after that, instead of hanging.
pub async fn connect(url: &str, acquire_timeout: Duration, memory: SqliteMemory) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(acquire_timeout);
    if is_sqlite(url) {
        sqlite_options(&mut options, SQLITE_CONNECTIONS, memory.cache_mib, memory.mmap_mib);
    } else {
        options.max_connections(POSTGRES_CONNECTIONS).min_connections(1);
    }
    Database::connect(options).await
}

/// On a SQLite file, the one connection its write transactions run on (`WriteTurns`), with a page cache of
/// `memory.writer_cache_mib`. SQLite discards a connection's whole page cache when it begins a transaction
/// after another connection has written, so writes spread over the pool each read the index pages they change
/// again; one connection that does all the writing keeps them (nothing else changes the file under it).
/// `None` on PostgreSQL and on an in-memory SQLite database (a second connection would open another one).
pub async fn connect_writer(
    url: &str,
    acquire_timeout: Duration,
    memory: SqliteMemory,
) -> Result<Option<DatabaseConnection>, DbErr> {
    if !is_sqlite(url) || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(acquire_timeout).idle_timeout(None).max_lifetime(None);
    sqlite_options(&mut options, 1, memory.writer_cache_mib, memory.mmap_mib);
    Database::connect(options).await.map(Some)
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite")
}

/// The settings every SQLite connection of this process gets.
fn sqlite_options(options: &mut ConnectOptions, connections: u32, cache_mib: u32, mmap_mib: u32) {
    options.max_connections(connections).min_connections(1).map_sqlx_sqlite_opts(move |opts| {
        opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Negative: a size in KiB. With the defaults SQLite holds at most 8 MiB of pages (BENCHMARKS.md,
            // "Memory: the page cache"); pages not cached are read from the kernel's page cache.
            .pragma("cache_size", format!("-{}", u64::from(cache_mib) * 1024))
            .pragma("mmap_size", (u64::from(mmap_mib) << 20).to_string())
            // The log is copied back by `spawn_wal_checkpoints`; a connection does it itself only
            // past this many pages (64 MiB), should that task fall behind.
            .pragma("wal_autocheckpoint", "16384")
            // When the log starts over (`WriteTurns::restart_log`) the next commit cuts its file to this
            // size, should it have grown past it; until then the file's space is written again rather than
            // freed and taken anew. Not more: with 64 MiB the `disk_full` test's writes never worked again
            // on its 64 MiB file system (the log's file kept the space the database needed).
            .pragma("journal_size_limit", (WAL_RESTART_PAGES * 4096).to_string())
            // A statement that changes many rows (an import's INSERT) first copies the pages it changes into a
            // statement journal, to undo just itself on an error; in a file, that was 14 % of an import's time.
            .pragma("temp_store", "memory")
            .statement_cache_capacity(STATEMENTS_KEPT)
    });
    options.map_sqlx_sqlite_pool_opts(|pool| {
        pool.before_acquire(|conn, _| Box::pin(std::future::ready(Ok(outside_transaction(conn)))))
    });
}

/// Migration 23's `pg_trgm` indexes, one per searched column.
const PG_TRIGRAM_INDEXES: [&str; 3] =
    ["idx_findings_title_trigrams", "idx_findings_description_trigrams", "idx_findings_external_reference_trigrams"];

/// The trigram index text searches may ask on this database: SQLite's FTS5 table (migration 21 always makes
/// it); PostgreSQL's `pg_trgm` indexes only where migration 23 could make all three (not where the role may
/// not create the extension). Without them a search narrowed by pieces would read every finding, and without
/// waiting for a scan turn, since it expects to read few.
pub async fn trigram_index(db: &DatabaseConnection) -> Result<Option<TrigramIndex>, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(Some(TrigramIndex::Fts5));
    }
    let asked = sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'findings' AND indexname = ANY($1)",
        [PG_TRIGRAM_INDEXES.map(str::to_owned).to_vec().into()],
    );
    let found = match db.query_one_raw(asked).await? {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    };
    Ok((usize::try_from(found) == Ok(PG_TRIGRAM_INDEXES.len())).then_some(TrigramIndex::PgTrgm))
}

/// Whether an idle SQLite connection may be handed out again: only when it is outside any transaction.
/// After an I/O error such as a full disk (`SQLITE_FULL`) SQLite may roll a transaction back by itself; the
/// ROLLBACK queued when the transaction was dropped then fails, and sqlx still counts the connection as
/// inside a transaction. Handed out, its next `BEGIN IMMEDIATE` became a `SAVEPOINT` opening a transaction
/// that no commit ever ended: later "committed" writes were acknowledged, seen by that connection's readers,
/// held the write lock ("database is locked" for everyone else) and were lost at the restart. Such a
/// connection is closed instead, and the pool opens a fresh one. (The pool pings a connection as it comes
/// back, which runs the queued rollback first, so the depth read here is its outcome.)
fn outside_transaction(conn: &mut sea_orm::sqlx::SqliteConnection) -> bool {
    use sea_orm::sqlx::Connection;
    let outside = !conn.is_in_transaction();
    if !outside {
        tracing::warn!("a database connection left inside a transaction after an error is closed, not reused");
    }
    outside
}

/// How long a SQLite statement waits for a lock another connection holds (another process's writer, or a
/// reader a restarting checkpoint waits for) before it fails with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a restarting checkpoint waits for readers on older snapshots; the writers it keeps waiting
/// meanwhile queue for their turn. It is tried again a second later when that was not enough, and waits
/// `LONG_LOG_WAITS_FOR_READERS` once the log is four times `WAL_RESTART_PAGES` (long searches never
/// left a moment of 20 ms).
const RESTART_WAITS_FOR_READERS: Duration = Duration::from_millis(20);
const LONG_LOG_WAITS_FOR_READERS: Duration = Duration::from_millis(250);

/// How long the write-ahead log may grow (in 4 KiB pages: 16 MiB) before the checkpointer waits for a moment
/// without readers on older snapshots to copy all of it back and start it over; also the size its file is
/// cut back to then (`journal_size_limit`). Not longer: the log takes disk space a small disk may not have
/// (`disk_full` test; 64 MiB filled its 64 MiB file system for good).
const WAL_RESTART_PAGES: i64 = 4096;

/// On SQLite, copies the write-ahead log back into the database file every second, off the writers' path:
/// with SQLite's default a commit pays for that every thousand pages (25 ms in the middle of an SLA sweep,
/// 240 ms with a larger log). A passive checkpoint never blocks readers or the writer, but under a steady
/// stream of writes with readers always on some snapshot it never completes, and SQLite then never starts
/// the log over: it grew by 15 MiB a second under four busy writers until the disk was full, and filled
/// again whatever space was freed. So once the log passes `WAL_RESTART_PAGES` a `RESTART` checkpoint
/// takes a writer's turn (`WriteTurns::restart_log`) and waits a little (`RESTART_WAITS_FOR_READERS`)
/// for the readers on older snapshots to finish, so it can copy everything and the next write starts the
/// log over. Ends when the pool is closed.
pub fn spawn_wal_checkpoints(db: &DatabaseConnection, turns: &WriteTurns) {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let (db, turns) = (db.clone(), turns.clone());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match checkpoint(&db, &turns).await {
                Ok(()) => {}
                Err(_) if db.ping().await.is_err() => return,
                Err(err) => tracing::debug!(error = %err, "WAL checkpoint skipped; trying again in a second"),
            }
        }
    });
}

/// One passive checkpoint, followed by a restarting one when the log has grown past `WAL_RESTART_PAGES`.
async fn checkpoint(db: &DatabaseConnection, turns: &WriteTurns) -> Result<(), DbErr> {
    let passive = || sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
    let log_pages = match db.query_one_raw(passive()).await? {
        Some(row) => row.try_get_by_index::<i64>(1)?,
        None => 0,
    };
    if log_pages > WAL_RESTART_PAGES {
        // What was written while the first pass copied and synced is copied now, still off the writers'
        // path: the restart, in its turn, then copies and syncs only the last few milliseconds' pages.
        db.query_one_raw(passive()).await?;
        let started = std::time::Instant::now();
        let readers =
            if log_pages > 4 * WAL_RESTART_PAGES { LONG_LOG_WAITS_FOR_READERS } else { RESTART_WAITS_FOR_READERS };
        let restarted = turns.restart_log(readers).await?;
        let took_ms = started.elapsed().as_millis();
        tracing::debug!(log_pages, restarted, took_ms, "the write-ahead log was long: restarting checkpoint");
    }
    Ok(())
}

/// Something only one process at a time may do on a database, whichever process (`serve`, a CLI command)
/// and whichever instance starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    Migrations,
    DemoLoad,
}

impl Exclusive {
    /// The PostgreSQL advisory lock key ("slawatch" in ASCII, plus the purpose).
    fn key(self) -> i64 {
        0x736c_6177_6174_6300 + self as i64
    }

    fn name(self) -> &'static str {
        match self {
            Self::Migrations => "migrate",
            Self::DemoLoad => "demo",
        }
    }
}

/// Held while one process does an `Exclusive` thing; dropping it lets the next one in. PostgreSQL: a session
/// advisory lock on a connection of its own, closed on drop (which ends the lock with the session);
/// SQLite: an exclusive lock on the file `<database file>.<purpose>-lock` (none for an in-memory database).
#[derive(Debug)]
pub struct ExclusiveGuard {
    _postgres: Option<sea_orm::sqlx::PgConnection>,
    _file: Option<std::fs::File>,
}

/// Waits until this process alone may do `what`.
pub async fn exclusively(db: &DatabaseConnection, what: Exclusive) -> Result<ExclusiveGuard, DbErr> {
    let failed = |err: &dyn std::fmt::Display| DbErr::Custom(format!("could not take the {} lock: {err}", what.name()));
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let mut connection = db.get_postgres_connection_pool().acquire().await.map_err(|e| failed(&e))?.detach();
            sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(what.key())
                .execute(&mut connection)
                .await
                .map_err(|e| failed(&e))?;
            Ok(ExclusiveGuard { _postgres: Some(connection), _file: None })
        }
        sea_orm::DbBackend::Sqlite => {
            let file = match sqlite_file(db) {
                Some(path) => Some(lock_file(format!("{path}.{}-lock", what.name())).await.map_err(|e| failed(&e))?),
                None => None,
            };
            Ok(ExclusiveGuard { _postgres: None, _file: file })
        }
        _ => Ok(ExclusiveGuard { _postgres: None, _file: None }),
    }
}

/// Applies every pending migration, one process at a time: `serve` and CLI commands started together on a
/// new database would otherwise both create the same tables ("table users already exists", a duplicate
/// `pg_type` key). The loser waits, then finds nothing left to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let _alone = exclusively(db, Exclusive::Migrations).await?;
    Migrator::up(db, None).await
}

/// The database file of a SQLite pool (`None` in memory).
fn sqlite_file(db: &DatabaseConnection) -> Option<String> {
    let options = db.get_sqlite_connection_pool().connect_options();
    let text = options.get_filename().to_str()?.to_owned();
    (!text.is_empty() && text != ":memory:").then_some(text)
}

/// Opens (creating) `path` and waits for an exclusive lock on it, held until the file is dropped.
async fn lock_file(path: String) -> std::io::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// On SQLite, the first id a new row of `table` (an `AUTOINCREMENT` key) may take: above every id the table
/// ever had (`sqlite_sequence`) and every id it has. Only meaningful inside a write transaction, which keeps
/// other writers out until it ends; `None` on PostgreSQL, whose ids come from a sequence.
pub async fn sqlite_next_id<C: sea_orm::ConnectionTrait>(conn: &C, table: &str) -> Result<Option<i32>, DbErr> {
    if conn.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let statement = sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        format!(
            "SELECT COALESCE(MAX(n), 0) + 1 FROM (SELECT seq AS n FROM sqlite_sequence WHERE name = ?1 \
             UNION ALL SELECT MAX(id) FROM \"{table}\")"
        ),
        [table.into()],
    );
    let row = conn.query_one_raw(statement).await?.ok_or_else(|| DbErr::RecordNotFound(table.to_owned()))?;
    row.try_get_by_index::<i32>(0).map(Some)
}

/// Runs a multi-row INSERT and returns the new rows' ids in the order of the rows (`RETURNING id`; both
/// SQLite and PostgreSQL return a multi-row VALUES insert's rows in order, as Django's `bulk_create` relies
/// on). Rows skipped by an `ON CONFLICT DO NOTHING` return nothing.
pub async fn insert_returning_ids<C, A, Id>(conn: &C, insert: sea_orm::InsertMany<A>) -> Result<Vec<Id>, DbErr>
where
    C: sea_orm::ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
    Id: sea_orm::TryGetable,
{
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Query};
    let mut statement = insert.into_query();
    statement.returning(Query::returning().column(Alias::new("id")));
    let rows = conn.query_all(&statement).await?;
    rows.iter().map(|row| row.try_get_by_index::<Id>(0)).collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

    /// `.cargo/config.toml` compiles the bundled SQLite without its global memory locks: one page-cache group
    /// behind one mutex for every connection (`SQLITE_ENABLE_MEMORY_MANAGEMENT`) and a lock around every
    /// allocation to count it (`SQLITE_DEFAULT_MEMSTATUS`). Built without that file (or with a
    /// `LIBSQLITE3_FLAGS` of one's own), the day in the life's reads lose 10–35 % of their rate and its edits
    /// half, and nothing else says so. Nor would anything say that statements with a bound `LIMIT` or `LIKE`
    /// are parsed again on every run without `SQLITE_ENABLE_QPSG` (12 % of the server's time in varied pages).
    #[tokio::test]
    async fn the_bundled_sqlite_is_built_without_its_global_memory_locks_and_plans_without_bound_values() {
        let db = Database::connect("sqlite::memory:").await.expect("in-memory SQLite");
        let asked = Statement::from_string(DbBackend::Sqlite, "PRAGMA compile_options");
        let options: Vec<String> = db
            .query_all_raw(asked)
            .await
            .expect("compile options")
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("an option"))
            .collect();
        assert!(options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"), "memory statistics are on: {options:?}");
        assert!(
            !options.iter().any(|option| option == "ENABLE_MEMORY_MANAGEMENT"),
            "one page-cache group is shared by every connection: {options:?}"
        );
        assert!(options.iter().any(|option| option == "ENABLE_FTS5"), "text search needs FTS5: {options:?}");
        assert!(
            options.iter().any(|option| option == "ENABLE_QPSG"),
            "statements with a bound LIMIT are prepared again on every run: {options:?}"
        );
    }
}
