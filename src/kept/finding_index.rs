//! The in-memory finding index (`domain::finding_index`) `AppState` holds, and how far into the database's
//! change log it has read. `service::finding_index` loads it and brings it up to date before each read.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::domain::finding_index::FindingIndex;

/// The index as of `position` in the change log.
#[derive(Debug)]
pub struct Loaded {
    pub index: FindingIndex,
    pub position: LogPosition,
}

/// How far into the database's change log a reader has read (`service::finding_changes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPosition {
    /// SQLite: the last row read (rows are numbered without gaps in commit order).
    Row(i64),
    /// PostgreSQL: the snapshot read in (`pg_current_snapshot()` as text): every row it did not see is unread.
    Snapshot(String),
}

/// The index (`None` until loaded, and again while a reload runs), one catch-up and one load at a time.
#[derive(Debug, Default)]
pub struct KeptFindingIndex {
    pub loaded: RwLock<Option<Loaded>>,
    /// Held while catching up; holds when the last successful catch-up started (a read that began before it
    /// needs none of its own: that catch-up saw every commit the read must see).
    pub catching_up: tokio::sync::Mutex<Option<Instant>>,
    /// Held while the index is loaded whole (in the background: reads ask SQL meanwhile).
    pub loading: Arc<tokio::sync::Mutex<()>>,
}
