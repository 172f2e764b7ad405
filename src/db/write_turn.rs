//! Write transactions that take turns in arrival order. SQLite has one writer; a `BEGIN IMMEDIATE` that
//! finds the lock taken sleeps in SQLite's busy handler (1, 2, 5 … up to 100 ms between tries) and is
//! overtaken by any writer that comes along while it sleeps, so under a stream of imports an edit or a
//! delivery's outcome waited seconds. Queued here first (a fair mutex, held until the commit), the next
//! writer starts as soon as the last one ends. PostgreSQL's writers do not queue (row locks do that).

use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, StreamTrait, TransactionOptions, TransactionStream, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How long a writer waits for its turn before it goes ahead without one (to SQLite's busy timeout): a
/// turn never waits forever, whatever holds the one before it.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// This process's queue of writers on one database (none on PostgreSQL).
#[derive(Clone, Debug)]
pub struct WriteTurns(Option<Arc<Mutex<()>>>);

impl WriteTurns {
    /// Writers queue on SQLite, not on PostgreSQL.
    #[must_use]
    pub fn for_backend(backend: DbBackend) -> Self {
        Self((backend == DbBackend::Sqlite).then(Arc::default))
    }

    /// Waits for this writer's turn, then begins a transaction that will write: on SQLite it takes the write
    /// lock at `BEGIN IMMEDIATE`, so another process's writer (a CLI command) queues on the busy timeout
    /// instead of failing when a read lock would have to be upgraded.
    pub async fn begin(&self, db: &DatabaseConnection) -> Result<WriteTransaction, DbErr> {
        let turn = match &self.0 {
            None => None,
            Some(queue) => match tokio::time::timeout(TURN_WAIT, queue.clone().lock_owned()).await {
                Ok(turn) => Some(turn),
                Err(_) => {
                    tracing::warn!("a writer waited 10 s for its turn; it goes ahead on SQLite's busy timeout");
                    None
                }
            },
        };
        #[allow(clippy::disallowed_methods, reason = "the one place a write transaction begins")]
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(WriteTransaction { txn, _turn: turn })
    }
}

/// A transaction that will write, holding its writer's turn until it is committed, rolled back or dropped.
#[derive(Debug)]
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
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
        let turns = WriteTurns::for_backend(DbBackend::Sqlite);
        let first = turns.begin(&db).await.expect("first");
        let second = tokio::spawn({
            let (turns, db) = (turns.clone(), db.clone());
            async move { turns.begin(&db).await.map(|_| ()) }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!second.is_finished(), "the second writer waits for its turn");
        assert!(turns.0.as_ref().is_some_and(|queue| queue.try_lock().is_err()), "the first holds the turn");
        first.commit().await.expect("commit");
        second.await.expect("joined").expect("the second writer's turn came");
        assert!(turns.0.as_ref().is_some_and(|queue| queue.try_lock().is_ok()), "its drop let the turn go");
    }

    #[tokio::test]
    async fn postgresql_writers_do_not_queue_here() {
        assert!(WriteTurns::for_backend(DbBackend::Postgres).0.is_none());
    }
}
