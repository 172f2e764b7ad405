//! The sample of findings' text pieces that text searches consult (`service::text_search`), `AppState` holds
//! it and `service::text_search` takes it anew once it is older than `MAX_AGE_SECONDS`.

use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::trigrams::PieceSample;

/// How long a sample serves: which pieces are rare changes slowly, with the findings imported.
pub const MAX_AGE_SECONDS: i64 = 600;

/// A sample and how many findings there were when it was taken.
#[derive(Debug, Default)]
pub struct Sampled {
    /// Each finding's three searched texts counted as one (SQLite's FTS5 index holds them as one row).
    pub pieces: PieceSample,
    /// The title, description and external reference counted apart (PostgreSQL has an index per column).
    pub columns: [PieceSample; 3],
    pub findings: u64,
}

/// The latest sample and when it was taken (`None`: none yet).
#[derive(Debug, Default)]
pub struct KeptPieceSample {
    slot: Mutex<Option<(i64, Arc<Sampled>)>>,
}

impl KeptPieceSample {
    /// The sample, unless older than `MAX_AGE_SECONDS` at `now` (seconds).
    pub fn fresh(&self, now: i64) -> Option<Arc<Sampled>> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().filter(|(taken, _)| now - taken < MAX_AGE_SECONDS).map(|(_, sample)| Arc::clone(sample))
    }

    /// Keeps `sample`, taken at `now`.
    pub fn keep(&self, now: i64, sample: Arc<Sampled>) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, sample));
    }
}
