//! Write transactions that take turns. SQLite has one writer; a `BEGIN IMMEDIATE` that finds the lock taken
//! sleeps in SQLite's busy handler (1, 2, 5 … up to 100 ms between tries) and is overtaken by any writer that
//! comes along while it sleeps, so under a stream of imports an edit or a delivery's outcome waited seconds.
//! Queued here first (`turn_queue`: prompt writes before batches, each in arrival order; the turn is held
//! until the commit), the next writer starts as soon as the last one ends, on the one connection kept for
//! writing (`db::connect_writer`), whose page cache the writes keep. PostgreSQL's writers do not queue (row
//! locks do that).

use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, StreamTrait, TransactionOptions, TransactionStream, TransactionTrait,
};

use super::turn_queue::{Turn, TurnQueue, WriteClass};
use super::turn_times::{HeldTurn, TurnTimes, WriterLabel};

/// How long a writer waits for its turn before it goes ahead without one (to SQLite's busy timeout): a
/// turn never waits forever, whatever holds the one before it.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// This process's queue of writers on one database (none on PostgreSQL).
#[derive(Clone, Debug)]
pub struct WriteTurns(Option<Writers>);

/// SQLite's queue, the connection a writer whose turn came writes on (`None`: the pool's), and how long
/// writers wait and hold their turns.
#[derive(Clone, Debug)]
struct Writers {
    turn: Arc<TurnQueue>,
    writer: Option<DatabaseConnection>,
    times: TurnTimes,
}

impl WriteTurns {
    /// Writers queue on SQLite, not on PostgreSQL, and write on `writer` (from `db::connect_writer`; `None`:
    /// on the pool's connections).
    #[must_use]
    pub fn with_writer(backend: DbBackend, writer: Option<DatabaseConnection>) -> Self {
        Self((backend == DbBackend::Sqlite).then(|| Writers {
            turn: Arc::default(),
            writer,
            times: TurnTimes::default(),
        }))
    }

    /// Waits for this writer's turn in `class`'s part of the line, then begins a transaction that will write:
    /// on SQLite it takes the write lock at `BEGIN IMMEDIATE`, so another process's writer (a CLI command)
    /// queues on the busy timeout instead of failing when a read lock would have to be upgraded.
    /// The caller (or its caller's, through `#[track_caller]` functions such as `AppState::begin_write`) is
    /// named in the turn times.
    #[track_caller]
    pub fn begin<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        class: WriteClass,
    ) -> impl Future<Output = Result<WriteTransaction, DbErr>> + Send + 'a {
        self.begin_as(db, class, WriterLabel::at(std::panic::Location::caller()))
    }

    async fn begin_as(
        &self,
        db: &DatabaseConnection,
        class: WriteClass,
        writer: WriterLabel,
    ) -> Result<WriteTransaction, DbErr> {
        let asked = std::time::Instant::now();
        let turn = match &self.0 {
            None => None,
            Some(writers) => match tokio::time::timeout(TURN_WAIT, writers.turn.take(class)).await {
                Ok(turn) => Some(turn),
                Err(_) => {
                    tracing::warn!("a writer waited 10 s for its turn; it goes ahead on SQLite's busy timeout");
                    None
                }
            },
        };
        let held = self.0.as_ref().map(|writers| writers.times.turn_taken(writer, asked.elapsed()));
        // Without its turn a writer must not wait for the writing connection, which the turn's holder has.
        let on = match (&self.0, &turn) {
            (Some(writers), Some(_)) => writers.writer.as_ref().unwrap_or(db),
            _ => db,
        };
        #[allow(clippy::disallowed_methods, reason = "the one place a write transaction begins")]
        let txn = on
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(WriteTransaction { txn, _turn: turn, _held: held })
    }

    /// Whether this process's writers take turns (SQLite), so that what a write does before its turn shortens
    /// the turn every other writer waits for.
    #[must_use]
    pub fn taken_in_turn(&self) -> bool {
        self.0.is_some()
    }

    /// How many writers of this process wait for their turn (none on PostgreSQL, where writers do not queue):
    /// a test that holds the turn learns this way that the write it started has come to wait for it.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.0.as_ref().map_or(0, |writers| writers.turn.waiting())
    }

    /// SQLite: copies the whole write-ahead log back into the database file so that the next write starts it
    /// over from its beginning, as the writer whose turn it is, on the writing connection. A `RESTART`
    /// checkpoint holds SQLite's write lock while it waits for readers on older snapshots; on the busy
    /// timeout that was up to 2 s, with every writer asleep in the busy handler. Here it waits at most
    /// `readers` for them (writers queue for their turn meanwhile) and otherwise gives up until the next try.
    /// The file is not cut to nothing (`TRUNCATE` did, 8–19 ms of its turn, and the log's next frames then
    /// made the file grow again): the next commit cuts it to `journal_size_limit` if it is longer. Returns
    /// whether the log will start over (`false` without a writing connection: on PostgreSQL and in memory
    /// there is nothing to do).
    pub async fn restart_log(&self, readers: Duration) -> Result<bool, DbErr> {
        let Some(Writers { turn, writer: Some(writer), times }) = &self.0 else { return Ok(false) };
        let asked = std::time::Instant::now();
        let _turn = turn.take(WriteClass::Batch).await;
        let _held = times.turn_taken(WriterLabel::named("PRAGMA wal_checkpoint(RESTART)"), asked.elapsed());
        let millis = readers.as_millis();
        writer.execute_unprepared(&format!("PRAGMA busy_timeout = {millis}")).await?;
        let checkpoint = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(RESTART)");
        let done = writer.query_one_raw(checkpoint).await;
        let restored = super::BUSY_TIMEOUT.as_millis();
        writer.execute_unprepared(&format!("PRAGMA busy_timeout = {restored}")).await?;
        // Its first column is 1 when the checkpoint gave up on the busy timeout.
        match done? {
            Some(row) => Ok(row.try_get_by_index::<i64>(0)? == 0),
            None => Ok(false),
        }
    }

    /// How long writers waited for their turns and held them (none on PostgreSQL).
    #[must_use]
    pub fn times(&self) -> Option<&TurnTimes> {
        self.0.as_ref().map(|writers| &writers.times)
    }

    /// Closes the writing connection (if there is one), after the writer whose turn it is. SQLite copies its
    /// log into the file and removes it when its last connection closes; a connection left open keeps the
    /// log, so a copy of the file alone would miss the latest writes.
    pub async fn close(&self) -> Result<(), DbErr> {
        let Some(writers) = &self.0 else { return Ok(()) };
        let _turn = writers.turn.take(WriteClass::Batch).await;
        match &writers.writer {
            Some(writer) => writer.clone().close().await,
            None => Ok(()),
        }
    }
}

/// A transaction that will write, holding its writer's turn until it is committed, rolled back or dropped.
#[derive(Debug)]
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    _turn: Option<Turn>,
    /// Notes the time held when the transaction ends (declared after the turn: dropped once it is given back).
    _held: Option<HeldTurn>,
}

impl WriteTransaction {
    /// Commits, then lets the next writer go.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls back, then lets the next writer go.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DbBackend {
        ConnectionTrait::get_database_backend(&self.txn)
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

impl StreamTrait for WriteTransaction {
    type Stream<'a> = TransactionStream<'a>;

    fn get_database_backend(&self) -> DbBackend {
        ConnectionTrait::get_database_backend(&self.txn)
    }

    fn stream_raw<'a>(
        &'a self,
        stmt: Statement,
    ) -> Pin<Box<dyn Future<Output = Result<Self::Stream<'a>, DbErr>> + 'a + Send>> {
        self.txn.stream_raw(stmt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite() -> DatabaseConnection {
        sea_orm::Database::connect("sqlite::memory:").await.expect("in-memory SQLite")
    }

    #[tokio::test]
    async fn a_second_writer_starts_only_after_the_first_commits() {
        let db = sqlite().await;
        let turns = WriteTurns::with_writer(DbBackend::Sqlite, None);
        let first = turns.begin(&db, WriteClass::Prompt).await.expect("first");
        let second = tokio::spawn({
            let (turns, db) = (turns.clone(), db.clone());
            async move { turns.begin(&db, WriteClass::Prompt).await.map(|_| ()) }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!second.is_finished(), "the second writer waits for its turn");
        assert!(turns.0.as_ref().is_some_and(|queue| queue.turn.is_held()), "the first holds the turn");
        first.commit().await.expect("commit");
        second.await.expect("joined").expect("the second writer's turn came");
        assert!(turns.0.as_ref().is_some_and(|queue| !queue.turn.is_held()), "its drop let the turn go");
    }

    /// Whether `conn` is the connection that made `temp.marker` (a temporary table exists on its connection
    /// only).
    async fn holds_the_marker(conn: &impl ConnectionTrait) -> bool {
        let asked = Statement::from_string(DbBackend::Sqlite, "SELECT count(*) FROM temp.marker");
        conn.query_one_raw(asked).await.is_ok()
    }

    #[tokio::test]
    async fn on_a_sqlite_file_every_write_transaction_runs_on_the_one_writing_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("turns.db").display());
        let memory = crate::config::SqliteMemory::default();
        let db = crate::db::connect(&url, Duration::from_secs(5), memory).await.expect("pool");
        let writer = crate::db::connect_writer(&url, Duration::from_secs(5), memory).await.expect("writer");
        assert!(writer.is_some(), "a SQLite file gets a writing connection");
        let turns = WriteTurns::with_writer(DbBackend::Sqlite, writer);
        let first = turns.begin(&db, WriteClass::Prompt).await.expect("first");
        first.execute_unprepared("CREATE TEMP TABLE marker (x)").await.expect("marker");
        first.commit().await.expect("commit");
        // The pool's connections stay busy meanwhile, so a write on any of them would be a different one.
        let mut readers = Vec::new();
        for _ in 0..crate::db::SQLITE_CONNECTIONS {
            let reader = db.begin().await.expect("a reader");
            assert!(!holds_the_marker(&reader).await, "a pool connection is not the writer");
            readers.push(reader);
        }
        for _ in 0..5 {
            let next = turns.begin(&db, WriteClass::Prompt).await.expect("next writer");
            assert!(holds_the_marker(&next).await, "each write transaction is on the writing connection");
            next.commit().await.expect("commit");
        }
        drop(readers);
    }

    async fn one_number(conn: &impl ConnectionTrait, sql: &str) -> i64 {
        let row = conn.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await.expect(sql);
        row.expect("a row").try_get_by_index::<i64>(0).expect("a number")
    }

    #[tokio::test]
    async fn a_restarting_checkpoint_starts_the_log_over_in_a_turn_and_soon_gives_up_on_an_older_reader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("log.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let memory = crate::config::SqliteMemory::default();
        let db = crate::db::connect(&url, Duration::from_secs(5), memory).await.expect("pool");
        let writer = crate::db::connect_writer(&url, Duration::from_secs(5), memory).await.expect("writer");
        let turns = WriteTurns::with_writer(DbBackend::Sqlite, writer);
        let write = |sql: &'static str| {
            let (turns, db) = (turns.clone(), db.clone());
            async move {
                let txn = turns.begin(&db, WriteClass::Prompt).await.expect("a turn");
                txn.execute_unprepared(sql).await.expect(sql);
                txn.commit().await.expect("commit");
            }
        };
        write("CREATE TABLE t (x)").await;
        write("INSERT INTO t VALUES (1)").await;
        let log = file.with_extension("db-wal");
        // A reader that began before the next write holds an older snapshot, which the log must keep.
        let reader = db.begin().await.expect("a reader");
        assert_eq!(one_number(&reader, "SELECT count(*) FROM t").await, 1);
        write("INSERT INTO t VALUES (2)").await;
        let started = std::time::Instant::now();
        let restarted = turns.restart_log(Duration::from_millis(50)).await.expect("checkpoint");
        assert!(!restarted, "an older reader keeps the log");
        assert!(started.elapsed() < Duration::from_secs(2), "it gave up on its own wait, not the busy timeout");
        let next = turns.begin(&db, WriteClass::Prompt).await.expect("the next writer");
        assert_eq!(one_number(&next, "PRAGMA busy_timeout").await, 10_000, "the writer's busy timeout is back");
        next.commit().await.expect("commit");
        reader.rollback().await.expect("the reader ends");
        // A log longer than `journal_size_limit` (16 MiB): 24 MB in one write.
        write(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 24) \
             INSERT INTO t SELECT randomblob(1000000) FROM n",
        )
        .await;
        let log_frames = |db: DatabaseConnection| async move {
            let checkpoint = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
            let row = db.query_one_raw(checkpoint).await.expect("checkpoint").expect("a row");
            row.try_get_by_index::<i64>(1).expect("the log's frames")
        };
        let frames_before = log_frames(db.clone()).await;
        assert!(std::fs::metadata(&log).expect("the log").len() > 20 << 20);
        assert!(turns.restart_log(Duration::from_millis(50)).await.expect("checkpoint"), "no reader left");
        write("INSERT INTO t VALUES (3)").await;
        let after = log_frames(db.clone()).await;
        assert!(after < 10 && after < frames_before, "the log started over: {after} frames after {frames_before}");
        let size = std::fs::metadata(&log).expect("the log").len();
        assert!(size <= 16 << 20, "the next commit cut the file to journal_size_limit: {size} bytes");
        assert_eq!(one_number(&db, "SELECT count(*) FROM t").await, 27, "nothing written was lost");
        let memory_turns = WriteTurns::with_writer(DbBackend::Sqlite, None);
        assert!(!memory_turns.restart_log(Duration::from_millis(50)).await.expect("nothing to do"));
    }

    #[tokio::test]
    async fn postgresql_and_in_memory_sqlite_get_no_writing_connection() {
        let memory = crate::config::SqliteMemory::default();
        let timeout = Duration::from_secs(1);
        for url in ["sqlite::memory:", "sqlite://file.db?mode=memory", "postgres://nobody@127.0.0.1:1/none"] {
            let writer = crate::db::connect_writer(url, timeout, memory).await.expect("nothing to connect");
            assert!(writer.is_none(), "{url}");
        }
    }

    #[tokio::test]
    async fn postgresql_writers_do_not_queue_here() {
        assert!(WriteTurns::with_writer(DbBackend::Postgres, None).0.is_none());
    }
}
