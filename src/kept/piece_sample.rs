//! The sample of findings' text pieces that text searches consult (`service::text_search`), `AppState` holds
//! it and `service::text_search` takes it anew once it is older than `MAX_AGE_SECONDS`: one search at a
//! time takes it (`Renewal`), while the others go on with the old one.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// The latest sample and when it was taken (`None`: none yet), and whether someone is taking the next.
#[derive(Debug, Default)]
pub struct KeptPieceSample {
    slot: Mutex<Option<(i64, Arc<Sampled>)>>,
    renewing: AtomicBool,
}

/// What a search finds kept at an instant.
#[derive(Debug)]
pub struct Found {
    /// The kept sample, however old (`None`: none yet).
    pub sample: Option<Arc<Sampled>>,
    /// Given to one caller when the sample is missing or older than `MAX_AGE_SECONDS` and nobody is taking
    /// the next one: that caller takes it. (Under load a stale sample had every search of the next
    /// half-second read and count one, all at once.)
    pub renewal: Option<Renewal>,
}

impl KeptPieceSample {
    /// The kept sample at `now` (seconds), with the renewal when it is this caller's to take.
    pub fn find(self: &Arc<Self>, now: i64) -> Found {
        let sample = self.slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let stale = sample.as_ref().is_none_or(|(taken, _)| now - taken >= MAX_AGE_SECONDS);
        let renewal =
            (stale && !self.renewing.swap(true, Ordering::AcqRel)).then(|| Renewal { kept: Arc::clone(self) });
        Found { sample: sample.map(|(_, sample)| sample), renewal }
    }
}

/// The right to take the next sample; whoever holds it last lets the next caller take one (after a
/// failure too, as it is dropped).
#[derive(Debug)]
pub struct Renewal {
    kept: Arc<KeptPieceSample>,
}

impl Renewal {
    /// Keeps `sample`, taken at `now`.
    pub fn keep(self, now: i64, sample: Arc<Sampled>) {
        *self.kept.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, sample));
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.kept.renewing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_caller_at_a_time_takes_a_missing_or_stale_sample_and_the_others_go_on_with_the_old_one() {
        let kept = Arc::new(KeptPieceSample::default());
        let first = kept.find(0);
        assert!(first.sample.is_none());
        let renewal = first.renewal.expect("the first caller takes the first sample");
        assert!(kept.find(0).renewal.is_none(), "while it is taken, nobody else takes one");
        renewal.keep(0, Arc::new(Sampled { findings: 7, ..Sampled::default() }));
        let fresh = kept.find(MAX_AGE_SECONDS - 1);
        assert_eq!((fresh.sample.map(|s| s.findings), fresh.renewal.is_none()), (Some(7), true));
        let stale = kept.find(MAX_AGE_SECONDS);
        assert_eq!(stale.sample.as_ref().map(|s| s.findings), Some(7), "the old sample serves meanwhile");
        let renewal = stale.renewal.expect("a stale sample is renewed");
        let meanwhile = kept.find(MAX_AGE_SECONDS);
        assert_eq!((meanwhile.sample.map(|s| s.findings), meanwhile.renewal.is_none()), (Some(7), true));
        drop(renewal);
        assert!(kept.find(MAX_AGE_SECONDS).renewal.is_some(), "a renewal dropped without a sample lets another try");
    }
}
