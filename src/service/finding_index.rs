//! Brings the in-memory finding index (`domain::finding_index`, held in `kept::finding_index`) up to date with
//! the database before a read. SQLite's `finding_changes` log (written by triggers: migration 19) says which
//! findings changed since the index last read it and what each was; their rows as they are now are read in
//! the same snapshot. At start-up, and after a gap (log rows pruned before this process read them) or a
//! backlog longer than `REBUILD_AFTER`, it is loaded whole in the background while SQL answers. PostgreSQL
//! keeps no such log: `read` answers `None` there and the caller asks SQL.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::Instant;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};

use crate::domain::finding_index::{FindingIndex, IndexChange, IndexedRow};
use crate::domain::{FindingId, ProductId, Severity};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::finding_index::{KeptFindingIndex, Loaded};
use crate::state::AppState;

/// More unread changes than this and the index is loaded whole instead (a recomputation, a large import).
const REBUILD_AFTER: i64 = 50_000;

/// Change-log rows kept behind its head (`prune`); a reader further behind loads the index whole.
pub const LOG_KEPT: i64 = 100_000;

/// Findings a whole load reads at once (a few MiB).
const LOAD_CHUNK: u64 = 20_000;

/// Findings read by id at once.
const IDS_PER_QUERY: usize = 1_000;

/// `answer` from the index as of every write committed before this call, or `None` when the index cannot
/// answer: PostgreSQL, or not loaded yet (a load is then started in the background and SQL answers meanwhile,
/// so no request waits for a pass over a million findings).
pub async fn read<R>(state: &AppState, answer: impl FnOnce(&FindingIndex) -> R) -> ServiceResult<Option<R>> {
    if !available(state) {
        return Ok(None);
    }
    let asked = Instant::now();
    let kept = &state.finding_index;
    if !is_loaded(kept) {
        start_loading(state);
        return Ok(None);
    }
    {
        let mut last_started = kept.catching_up.lock().await;
        if last_started.is_none_or(|started| started < asked) {
            let started = Instant::now();
            if catch_up(&state.db, kept).await? == CaughtUp::Dropped {
                start_loading(state);
                return Ok(None);
            }
            *last_started = Some(started);
        }
    }
    let loaded = kept.loaded.read().unwrap_or_else(PoisonError::into_inner);
    Ok(loaded.as_ref().map(|loaded| answer(&loaded.index)))
}

/// Whether reads can ask the index: on SQLite, unless `SLAWATCH_FINDING_INDEX` turned it off.
#[must_use]
pub fn available(state: &AppState) -> bool {
    state.config.finding_index && !state.config.is_postgres()
}

fn is_loaded(kept: &KeptFindingIndex) -> bool {
    kept.loaded.read().unwrap_or_else(PoisonError::into_inner).is_some()
}

/// Loads the index whole in the background unless it is loaded or a load is under way (start-up, and reads
/// that find none).
pub fn start_loading(state: &AppState) {
    if !available(state) {
        return;
    }
    let Ok(alone) = state.finding_index.loading.clone().try_lock_owned() else {
        return; // a load is under way
    };
    let (db, kept) = (state.db.clone(), state.finding_index.clone());
    tokio::spawn(async move {
        if !is_loaded(&kept)
            && let Err(err) = load(&db, &kept).await
        {
            tracing::warn!(error = %err.detail(), "loading the finding index failed; reads ask SQL until a later read retries");
        }
        drop(alone);
    });
}

/// Waits until the index is loaded, loading it now unless a load is under way (tests, which want the
/// index's answers from their first read). Nothing to do where there is no index.
pub async fn ensure_loaded(state: &AppState) -> ServiceResult<()> {
    if !available(state) {
        return Ok(());
    }
    let _alone = state.finding_index.loading.lock().await;
    if !is_loaded(&state.finding_index) {
        load(&state.db, &state.finding_index).await?;
    }
    Ok(())
}

/// Reads every finding in one snapshot and keeps the index as of the change log's head in it.
async fn load(db: &DatabaseConnection, kept: &KeptFindingIndex) -> ServiceResult<()> {
    let started = Instant::now();
    let txn = db.begin().await?;
    let head = log_head(&txn).await?;
    let index = load_whole(&txn).await?;
    txn.commit().await?;
    tracing::info!(
        open = index.open_count(),
        mib = index.heap_bytes() >> 20,
        watermark = head,
        elapsed_ms = started.elapsed().as_millis(),
        "finding index loaded"
    );
    *kept.loaded.write().unwrap_or_else(PoisonError::into_inner) = Some(Loaded { index, watermark: head });
    Ok(())
}

/// How a catch-up ended.
#[derive(Debug, PartialEq, Eq)]
enum CaughtUp {
    /// The index is as of the log's head.
    Current,
    /// Too far behind (a gap, or more than `REBUILD_AFTER` changes): the index was dropped to be loaded again.
    Dropped,
}

async fn catch_up(db: &DatabaseConnection, kept: &KeptFindingIndex) -> ServiceResult<CaughtUp> {
    let watermark = kept.loaded.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|l| l.watermark);
    let Some(watermark) = watermark else {
        return Ok(CaughtUp::Dropped);
    };
    if log_head(db).await? == watermark {
        return Ok(CaughtUp::Current);
    }
    // One snapshot for the log and the rows it names (SQLite's deferred transaction reads one).
    let txn = db.begin().await?;
    let head = log_head(&txn).await?;
    let changes = if head - watermark <= REBUILD_AFTER { changes_since(&txn, watermark, head).await? } else { None };
    txn.commit().await?;
    let mut loaded = kept.loaded.write().unwrap_or_else(PoisonError::into_inner);
    match (changes, loaded.as_mut()) {
        (Some(changes), Some(current)) => {
            current.index.apply(&changes);
            current.watermark = head;
            Ok(CaughtUp::Current)
        }
        (None, _) => {
            tracing::info!(watermark, head, "the finding index is too far behind its change log: loading it again");
            *loaded = None;
            Ok(CaughtUp::Dropped)
        }
        (Some(_), None) => Err(ServiceError::internal("finding index changes without an index")),
    }
}

/// The number of the change log's last row ever written (0 before the first).
async fn log_head<C: ConnectionTrait>(conn: &C) -> ServiceResult<i64> {
    let sql = "SELECT seq FROM sqlite_sequence WHERE name = 'finding_changes'";
    let row = conn.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// A finding's columns the index reads.
#[derive(Debug, FromQueryResult)]
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

/// A stored finding's row that holds the columns the index holds (the same names in each, so one macro
/// implements it for all).
pub trait IndexedColumns {
    /// What the finding index holds of it.
    fn indexed_row(&self) -> IndexedRow;
}

macro_rules! indexed_columns {
    ($($row:ty),+) => {$(
        impl IndexedColumns for $row {
            fn indexed_row(&self) -> IndexedRow {
                IndexedRow {
                    product_id: self.product_id,
                    severity: self.severity,
                    verified: self.verified,
                    is_open: self.is_open,
                    is_mitigated: self.is_mitigated,
                    mitigated_at: self.mitigated_at,
                    deadline: self.sla_deadline,
                    approaching_at: self.sla_approaching_at,
                }
            }
        }
    )+};
}

indexed_columns!(finding::Model, finding::Listed, StoredRow);

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

fn selected_columns<E: EntityTrait>(select: sea_orm::Select<E>) -> sea_orm::Select<E> {
    use finding::Column as C;
    select.select_only().columns([
        C::Id,
        C::ProductId,
        C::Severity,
        C::Verified,
        C::IsOpen,
        C::IsMitigated,
        C::MitigatedAt,
        C::SlaDeadline,
        C::SlaApproachingAt,
    ])
}

/// The changes after `watermark` up to `head`, one per finding, or `None` when some were pruned unread.
async fn changes_since<C: ConnectionTrait>(
    conn: &C,
    watermark: i64,
    head: i64,
) -> ServiceResult<Option<Vec<IndexChange>>> {
    let sql = "SELECT finding_id, old_product_id, old_severity, old_is_open, old_is_mitigated, old_mitigated_at, \
               old_sla_deadline FROM finding_changes WHERE seq > ? AND seq <= ? ORDER BY seq";
    let logged = LoggedChange::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        sql,
        [watermark.into(), head.into()],
    ))
    .all(conn)
    .await?;
    if i64::try_from(logged.len()).ok() != Some(head - watermark) {
        return Ok(None);
    }
    // What each finding was before its first unread change; what it is now is read below.
    let mut before: HashMap<FindingId, Option<IndexedRow>> = HashMap::new();
    let mut order = Vec::new();
    for change in &logged {
        before.entry(change.finding_id).or_insert_with(|| {
            order.push(change.finding_id);
            change.before()
        });
    }
    let mut now_stored: HashMap<FindingId, IndexedRow> = HashMap::with_capacity(order.len());
    for ids in order.chunks(IDS_PER_QUERY) {
        let rows = selected_columns(finding::Entity::find())
            .filter(finding::Column::Id.is_in(ids.iter().copied()))
            .into_model::<StoredRow>()
            .all(conn)
            .await?;
        now_stored.extend(rows.iter().map(|row| (row.id, row.indexed_row())));
    }
    Ok(Some(
        order
            .into_iter()
            .map(|id| IndexChange {
                id,
                before: before.get(&id).copied().flatten(),
                after: now_stored.get(&id).copied(),
            })
            .collect(),
    ))
}

/// Every finding, read in id order a chunk at a time (`LOAD_CHUNK` rows held at once; all in the caller's
/// one snapshot): open ones whole, closed ones counted per product, severity and state
/// (`IndexedRow::closed_state`, the definition catch-ups use too).
async fn load_whole<C: ConnectionTrait>(conn: &C) -> ServiceResult<FindingIndex> {
    let mut index = FindingIndex::default();
    let mut after = FindingId::new(0);
    loop {
        let rows = selected_columns(finding::Entity::find())
            .filter(finding::Column::Id.gt(after))
            .order_by_asc(finding::Column::Id)
            .limit(LOAD_CHUNK)
            .into_model::<StoredRow>()
            .all(conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            index.insert(row.id, &row.indexed_row());
        }
    }
    Ok(index)
}

/// Deletes change-log rows more than `LOG_KEPT` behind its head (SQLite; nothing elsewhere). Returns how many.
pub async fn prune(db: &DatabaseConnection) -> ServiceResult<u64> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(0);
    }
    let sql = format!(
        "DELETE FROM finding_changes WHERE seq <= \
         (SELECT seq FROM sqlite_sequence WHERE name = 'finding_changes') - {LOG_KEPT}"
    );
    Ok(db.execute_unprepared(&sql).await?.rows_affected())
}
