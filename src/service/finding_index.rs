//! Brings the in-memory finding index (`domain::finding_index`, held in `kept::finding_index`) up to date with
//! the database before a read. The database's change log (`service::finding_changes`, written by triggers)
//! says which findings changed since the index last read it and what each was; their rows as they are now are
//! read in the same snapshot. At start-up, and after a gap (log rows pruned before this process read them) or a
//! backlog longer than `REBUILD_AFTER`, it is loaded whole in the background while SQL answers.

use std::sync::PoisonError;
use std::time::Instant;

use sea_orm::DatabaseConnection;

use crate::domain::finding_index::{FindingIndex, IndexedRow};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::finding_index::{KeptFindingIndex, Loaded};
use crate::service::finding_changes::{self, Unread};
use crate::state::AppState;

/// More unread changes than this and the index is loaded whole instead (a recomputation, a large import).
const REBUILD_AFTER: i64 = 50_000;

/// `answer` from the index as of every write committed before this call, or `None` when the index cannot
/// answer: turned off, or not loaded yet (a load is then started in the background and SQL answers meanwhile,
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

/// Whether reads can ask the index: unless `SLAWATCH_FINDING_INDEX` turned it off.
#[must_use]
pub fn available(state: &AppState) -> bool {
    state.config.finding_index
}

/// The memory the index holds as it stands (`FindingIndex::heap_bytes`; no catch-up), 0 when it is off or not
/// loaded: for `/metrics`, so that a process's memory can be told apart from the index's share of it.
#[must_use]
pub fn heap_bytes(state: &AppState) -> usize {
    let loaded = state.finding_index.loaded.read().unwrap_or_else(PoisonError::into_inner);
    loaded.as_ref().map_or(0, |loaded| loaded.index.heap_bytes())
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

/// Reads every finding in one snapshot and keeps the index as of the change log's position in it.
async fn load(db: &DatabaseConnection, kept: &KeptFindingIndex) -> ServiceResult<()> {
    let started = Instant::now();
    let (index, position) = finding_changes::load_whole(db).await?;
    tracing::info!(
        open = index.open_count(),
        mib = index.heap_bytes() >> 20,
        position = ?position,
        elapsed_ms = started.elapsed().as_millis(),
        "finding index loaded"
    );
    *kept.loaded.write().unwrap_or_else(PoisonError::into_inner) = Some(Loaded { index, position });
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
    let position = kept.loaded.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|l| l.position.clone());
    let Some(position) = position else {
        return Ok(CaughtUp::Dropped);
    };
    match finding_changes::unread(db, &position, REBUILD_AFTER).await? {
        // The index stays as it is, and readers are not stopped for the write lock. (On PostgreSQL the older
        // snapshot kept is as good: nothing it did not see had committed.)
        Unread::Nothing => Ok(CaughtUp::Current),
        Unread::Changes(changes, now) => {
            let mut loaded = kept.loaded.write().unwrap_or_else(PoisonError::into_inner);
            let current =
                loaded.as_mut().ok_or_else(|| ServiceError::internal("finding index changes without an index"))?;
            current.index.apply(&changes);
            current.position = now;
            Ok(CaughtUp::Current)
        }
        Unread::TooFarBehind => {
            tracing::info!(?position, "the finding index is too far behind its change log: loading it again");
            *kept.loaded.write().unwrap_or_else(PoisonError::into_inner) = None;
            Ok(CaughtUp::Dropped)
        }
    }
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

indexed_columns!(finding::Model, finding::Listed);
pub(crate) use indexed_columns;
