//! What the in-memory finding index (`service::finding_index`) reads from the database: every finding's indexed
//! columns in one snapshot (a load), and the finding change log (`finding_changes`, written by triggers:
//! migrations 19 and 22) with the changed findings' rows as they are now (a catch-up). SQLite numbers the log's
//! rows without gaps in commit order (one writer at a time, a rolled-back transaction gives its numbers back),
//! so a position in it is a row number. PostgreSQL commits in another order than it numbers, so a position is
//! the snapshot last read in, and what follows it is every row that snapshot did not see.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DerivePartialModel, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QueryResult, QuerySelect, Statement,
};

use crate::domain::finding_index::{FindingIndex, IndexChange, IndexedRow};
use crate::domain::{FindingId, ProductId, Severity};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::finding_index::LogPosition;
use crate::service::finding_index::{IndexedColumns, indexed_columns};
use crate::state::AppState;

/// Change-log rows kept behind its newest (`prune`); a reader further behind loads the index whole.
const LOG_KEPT: i64 = 100_000;

/// Change-log rows one write of `prune` deletes on SQLite.
const PRUNED_PER_WRITE: u64 = 2_000;

/// Findings a whole load reads at once. sqlx copies every value of the rows a statement returns on its
/// connection's thread, in glibc's arena of that thread, where SQLite's page cache grows among them: 20,000 rows
/// (~11 MB of copies) left that arena holding 15 MiB after the load, and the server idled 10–20 MiB larger at a
/// million findings than with 2,000, which load as fast (BENCHMARKS.md, "Memory: the index's load a smaller chunk
/// at a time").
pub const LOAD_CHUNK: u64 = 2_000;

/// The logged columns, in the order both backends' queries read them.
const LOGGED_COLUMNS: &str =
    "finding_id, old_product_id, old_severity, old_is_open, old_is_mitigated, old_mitigated_at, old_sla_deadline";

/// `StoredRow`'s columns of the findings a catch-up statement joins as `f`.
const STORED_COLUMNS: &str = "f.id, f.product_id, f.severity, f.verified, f.is_open, f.is_mitigated, f.mitigated_at, \
                              f.sla_deadline, f.sla_approaching_at";

/// One row of the change log: the finding and, for an update or a deletion, what it was.
#[derive(Debug, FromQueryResult)]
struct LoggedChange {
    finding_id: FindingId,
    old_product_id: Option<ProductId>,
    old_severity: Option<Severity>,
    old_is_open: Option<bool>,
    old_is_mitigated: Option<bool>,
    old_mitigated_at: Option<i64>,
    old_sla_deadline: Option<i64>,
}

impl LoggedChange {
    /// The row before the change, as far as removing it from the index needs (`None`: it was inserted).
    fn before(&self) -> Option<IndexedRow> {
        Some(IndexedRow {
            product_id: self.old_product_id?,
            severity: self.old_severity?,
            verified: false,
            is_open: self.old_is_open?,
            is_mitigated: self.old_is_mitigated?,
            mitigated_at: self.old_mitigated_at,
            deadline: self.old_sla_deadline,
            approaching_at: None,
        })
    }
}

/// A finding's columns the index reads (the names of `findings`' columns, as `IndexedColumns` wants them; a
/// partial model, so a select reads just these).
#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "finding::Entity", from_query_result)]
struct StoredRow {
    id: FindingId,
    product_id: ProductId,
    severity: Severity,
    verified: bool,
    is_open: bool,
    is_mitigated: bool,
    mitigated_at: Option<i64>,
    sla_deadline: Option<i64>,
    sla_approaching_at: Option<i64>,
}

indexed_columns!(StoredRow);

/// Every finding in one snapshot, read in id order a chunk at a time (`LOAD_CHUNK` rows held at once): open
/// ones whole, closed ones counted per product, severity and state (`IndexedRow::closed_state`, the definition
/// catch-ups use too); and the log's position in that snapshot.
pub async fn load_whole(db: &DatabaseConnection) -> ServiceResult<(FindingIndex, LogPosition)> {
    let txn = crate::db::begin_snapshot(db).await?;
    let position = match txn.get_database_backend() {
        DbBackend::Postgres => LogPosition::Snapshot(current_snapshot(&txn).await?),
        _ => LogPosition::Row(newest_row(&txn).await?),
    };
    let mut index = FindingIndex::default();
    let mut after = FindingId::new(0);
    loop {
        let rows = finding::Entity::find()
            .filter(finding::Column::Id.gt(after))
            .order_by_asc(finding::Column::Id)
            .limit(LOAD_CHUNK)
            .into_partial_model::<StoredRow>()
            .all(&txn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            index.insert(row.id, &row.indexed_row());
        }
    }
    txn.commit().await?;
    Ok((index, position))
}

/// What the log holds after a position, as of an instant after the question was asked (`unread`).
#[derive(Debug)]
pub enum Unread {
    /// Nothing: the index is current as it stands.
    Nothing,
    /// One change per finding (what it was before its first logged change and what it is now), and the
    /// position they bring the index to.
    Changes(Vec<IndexChange>, LogPosition),
    /// Some rows were pruned unread, or there are more than asked for: load the index whole instead.
    TooFarBehind,
}

/// What was logged after `since`, at most `at_most` rows of it.
pub async fn unread(db: &DatabaseConnection, since: &LogPosition, at_most: i64) -> ServiceResult<Unread> {
    match since {
        LogPosition::Row(row) => rows_after(db, *row, at_most).await,
        LogPosition::Snapshot(snapshot) => unseen_by(db, snapshot, at_most).await,
    }
}

/// SQLite: the rows numbered after `row`, which must all be there, each with its finding's row, all in one
/// statement (one snapshot, and one trip to the connection's thread: a read waits for this catch-up, and
/// under writes nearly every read has one).
async fn rows_after(db: &DatabaseConnection, row: i64, at_most: i64) -> ServiceResult<Unread> {
    let sql = format!(
        "SELECT head.newest, c.*, {STORED_COLUMNS} \
         FROM (SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'finding_changes'), 0) AS newest) \
             AS head \
         LEFT JOIN (SELECT seq, {LOGGED_COLUMNS} FROM finding_changes WHERE seq > ? ORDER BY seq LIMIT ?) AS c \
             ON 1 \
         LEFT JOIN findings AS f ON f.id = c.finding_id ORDER BY c.seq"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, [row.into(), (at_most + 1).into()]))
        .await?;
    let head = rows.first().ok_or_else(|| ServiceError::internal("the catch-up statement returned no row"))?;
    let newest: i64 = head.try_get("", "newest")?;
    if newest == row {
        return Ok(Unread::Nothing);
    }
    if newest - row > at_most {
        return Ok(Unread::TooFarBehind);
    }
    let (logged, now_stored) = logged_and_stored(&rows)?;
    // Rows are numbered without gaps: fewer than that were pruned unread.
    if i64::try_from(logged.len()).ok() != Some(newest - row) {
        return Ok(Unread::TooFarBehind);
    }
    Ok(Unread::Changes(changes(firsts(&logged), &now_stored), LogPosition::Row(newest)))
}

/// A row `$1`'s snapshot did not see: written by a transaction that had not committed when it was taken (a
/// transaction older than its `xmin` had ended, so only the rows from there on are looked at, by index).
const UNSEEN: &str = "xid >= pg_snapshot_xmin(CAST($1 AS pg_snapshot)) \
                      AND NOT pg_visible_in_snapshot(xid, CAST($1 AS pg_snapshot))";

/// Whether a row pruned from the log may not have been seen by snapshot `$1` (its transaction was not older
/// than every one the snapshot saw running); also when the note of pruned rows is missing.
const PRUNED_UNSEEN: &str = "COALESCE((SELECT newest_xid FROM finding_changes_pruned) \
                             >= pg_snapshot_xmin(CAST($1 AS pg_snapshot)), true)";

/// PostgreSQL: the rows `snapshot` did not see, each with its finding's row, and the statement's own snapshot
/// (`pg_current_snapshot()` is the snapshot the statement reads in), all in one statement. For one finding
/// the rows' order is the order of its writes: a transaction that writes a finding holds its row until it
/// commits, so the next writer's trigger numbers its log row later.
async fn unseen_by(db: &DatabaseConnection, snapshot: &str, at_most: i64) -> ServiceResult<Unread> {
    let sql = format!(
        "SELECT head.now, head.gap, c.*, {STORED_COLUMNS} \
         FROM (SELECT CAST(pg_current_snapshot() AS text) AS now, {PRUNED_UNSEEN} AS gap) AS head \
         LEFT JOIN LATERAL (SELECT seq, {LOGGED_COLUMNS} FROM finding_changes \
             WHERE NOT head.gap AND {UNSEEN} ORDER BY seq LIMIT $2) AS c ON true \
         LEFT JOIN findings AS f ON f.id = c.finding_id ORDER BY c.seq"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [snapshot.into(), (at_most + 1).into()],
        ))
        .await?;
    let head = rows.first().ok_or_else(|| ServiceError::internal("the catch-up statement returned no row"))?;
    let (now, gap): (String, bool) = (head.try_get("", "now")?, head.try_get("", "gap")?);
    if gap || i64::try_from(rows.len()).is_ok_and(|n| n > at_most) {
        return Ok(Unread::TooFarBehind);
    }
    let (logged, now_stored) = logged_and_stored(&rows)?;
    if logged.is_empty() {
        return Ok(Unread::Nothing);
    }
    Ok(Unread::Changes(changes(firsts(&logged), &now_stored), LogPosition::Snapshot(now)))
}

/// The log rows of a catch-up statement's result, and the rows of the findings they name as they are now (a
/// deleted finding has none; a result with no log row has its head alone).
fn logged_and_stored(rows: &[QueryResult]) -> ServiceResult<(Vec<LoggedChange>, HashMap<FindingId, IndexedRow>)> {
    let mut logged = Vec::with_capacity(rows.len());
    let mut now_stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(change) = LoggedChange::from_query_result_optional(row, "")? else { continue };
        if let Some(stored) = StoredRow::from_query_result_optional(row, "")? {
            now_stored.insert(stored.id, stored.indexed_row());
        }
        logged.push(change);
    }
    Ok((logged, now_stored))
}

/// Each finding `logged` names, once, with what it was before its first change there (in that order).
fn firsts(logged: &[LoggedChange]) -> Vec<(FindingId, Option<IndexedRow>)> {
    let mut seen = std::collections::HashSet::with_capacity(logged.len());
    logged
        .iter()
        .filter(|change| seen.insert(change.finding_id))
        .map(|change| (change.finding_id, change.before()))
        .collect()
}

/// The changes of `firsts`' findings: what each was and what it is now (`now_stored`; absent: deleted).
fn changes(
    firsts: Vec<(FindingId, Option<IndexedRow>)>,
    now_stored: &HashMap<FindingId, IndexedRow>,
) -> Vec<IndexChange> {
    firsts.into_iter().map(|(id, before)| IndexChange { id, before, after: now_stored.get(&id).copied() }).collect()
}

/// SQLite: the number of the log's last row ever written (0 before the first).
async fn newest_row<C: ConnectionTrait>(conn: &C) -> ServiceResult<i64> {
    let sql = "SELECT seq FROM sqlite_sequence WHERE name = 'finding_changes'";
    let row = conn.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// PostgreSQL: the transaction's snapshot, as text (`xmin:xmax:in-progress ids`).
async fn current_snapshot(txn: &DatabaseTransaction) -> ServiceResult<String> {
    let sql = "SELECT CAST(pg_current_snapshot() AS text)";
    let row = txn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
    let row = row.ok_or_else(|| ServiceError::internal("pg_current_snapshot() returned no row"))?;
    Ok(row.try_get_by_index::<String>(0)?)
}

/// Deletes log rows more than `LOG_KEPT` behind the newest (a chore). Returns how many.
pub async fn prune(state: &AppState) -> ServiceResult<u64> {
    prune_keeping(state, LOG_KEPT).await
}

/// Deletes log rows more than `kept` behind the newest. Returns how many. On SQLite `PRUNED_PER_WRITE` at a
/// time, each a write of its own (the writers queued meanwhile wait for one, not for the minute's whole
/// log); on PostgreSQL only rows every running transaction sees, noting the newest transaction id among them
/// for readers to compare with (`finding_changes_pruned`).
pub async fn prune_keeping(state: &AppState, kept: i64) -> ServiceResult<u64> {
    let db = &state.db;
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let sql = format!(
                "DELETE FROM finding_changes WHERE seq <= min( \
                 (SELECT seq FROM sqlite_sequence WHERE name = 'finding_changes') - {kept}, \
                 (SELECT min(seq) FROM finding_changes) + {PRUNED_PER_WRITE} - 1)"
            );
            let mut pruned = 0;
            loop {
                let txn = state.begin_batch_write().await?;
                let deleted = txn.execute_unprepared(&sql).await?.rows_affected();
                txn.commit().await?;
                pruned += deleted;
                if deleted < PRUNED_PER_WRITE {
                    return Ok(pruned);
                }
            }
        }
        DbBackend::Postgres => {
            let sql = format!(
                "WITH gone AS (DELETE FROM finding_changes \
                     WHERE seq <= (SELECT max(seq) FROM finding_changes) - {kept} \
                     AND xid < pg_snapshot_xmin(pg_current_snapshot()) RETURNING xid), \
                 noted AS (UPDATE finding_changes_pruned \
                     SET newest_xid = greatest(newest_xid, (SELECT max(xid) FROM gone)) \
                     WHERE EXISTS (SELECT 1 FROM gone)) \
                 SELECT count(*) FROM gone"
            );
            let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
            Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.map_or(0, i64::unsigned_abs))
        }
        _ => Ok(0),
    }
}
