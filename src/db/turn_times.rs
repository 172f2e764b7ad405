//! How long SQLite's writers wait for their turn and hold it, by the place in the code that began the write
//! (`AppState::begin_write`'s caller): `/metrics` shows them, so what keeps writers waiting has a name.

use std::panic::Location;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// A place in the code that begins writes, as `src/service/findings.rs:338`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriterLabel {
    writer: String,
}

impl WriterLabel {
    #[must_use]
    pub fn at(location: &Location<'_>) -> Self {
        Self { writer: format!("{}:{}", location.file(), location.line()) }
    }

    /// A writer that is not a place in the code of a write transaction (the checkpointer).
    #[must_use]
    pub fn named(name: &str) -> Self {
        Self { writer: name.to_owned() }
    }
}

/// The two histograms, shared by every clone (registered once in `metrics::Metrics`).
#[derive(Clone, Debug)]
pub struct TurnTimes {
    pub waited: Family<WriterLabel, Histogram, fn() -> Histogram>,
    pub held: Family<WriterLabel, Histogram, fn() -> Histogram>,
}

/// From a tenth of a millisecond to six and a half seconds, four times apart.
fn buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 4.0, 9))
}

impl Default for TurnTimes {
    fn default() -> Self {
        Self { waited: Family::new_with_constructor(buckets), held: Family::new_with_constructor(buckets) }
    }
}

impl TurnTimes {
    /// Notes how long `writer` waited for its turn; the returned guard notes how long it held it when dropped.
    #[must_use]
    pub fn turn_taken(&self, writer: WriterLabel, waited: Duration) -> HeldTurn {
        self.waited.get_or_create(&writer).observe(waited.as_secs_f64());
        HeldTurn { times: self.clone(), writer, since: Instant::now() }
    }
}

/// A turn being held; dropped with the transaction that holds it (after its commit or rollback).
#[derive(Debug)]
pub struct HeldTurn {
    times: TurnTimes,
    writer: WriterLabel,
    since: Instant,
}

impl Drop for HeldTurn {
    fn drop(&mut self) {
        self.times.held.get_or_create(&self.writer).observe(self.since.elapsed().as_secs_f64());
    }
}
