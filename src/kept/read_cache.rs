//! Answers shared by identical queries until they can change: a change noted on the `LiveBus` (read its
//! count before the query), the answer's own time limit (the next deadline it depends on), or `MAX_AGE`
//! for changes nobody announced (another process on the same SQLite file). Identical concurrent misses
//! wait for one computation. Used for finding reads (`finding_reads`) and request identities.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::error::ServiceResult;

/// How long an answer is kept at most, for changes this process was not told about.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// Entries kept at most, the least useful evicted first (moka's `TinyLFU`: a stream of distinct queries does
/// not push out the ones a dashboard repeats).
const MAX_ENTRIES: u64 = 256;

/// An answer and the instant (epoch seconds) from which it may be wrong because a deadline passes; `None`
/// when it does not depend on the time.
#[derive(Debug)]
pub struct Timed<T> {
    pub value: T,
    pub valid_until: Option<i64>,
}

struct Slot<T> {
    generation: u64,
    filled_at: Instant,
    /// The clock's time of the query (a clock set back must not reuse a later answer).
    asked_at: i64,
    answer: OnceCell<Timed<T>>,
}

impl<T> Slot<T> {
    fn serves(&self, generation: u64, now: i64) -> bool {
        self.generation == generation
            && self.filled_at.elapsed() < MAX_AGE
            && now >= self.asked_at
            && self.answer.get().is_none_or(|timed| timed.valid_until.is_none_or(|until| now < until))
    }
}

/// Cached answers of one type, by query key.
pub struct ReadCache<T> {
    slots: moka::sync::Cache<String, Arc<Slot<T>>>,
}

impl<T: Send + Sync + 'static> Default for ReadCache<T> {
    fn default() -> Self {
        Self { slots: moka::sync::Cache::builder().max_capacity(MAX_ENTRIES).time_to_live(MAX_AGE).build() }
    }
}

impl<T> std::fmt::Debug for ReadCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> ReadCache<T> {
    /// The answer for `key`, computed by `compute` unless an answer from the same `generation` (read before
    /// the query) is still valid at `now`. Identical concurrent misses share one computation; a failed one
    /// is not kept.
    pub async fn get_or_compute<F, Fut>(&self, key: String, generation: u64, now: i64, compute: F) -> ServiceResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<Timed<T>>>,
    {
        // Atomic per key: of identical concurrent misses, one puts the slot in and the others find it.
        let slot = self
            .slots
            .entry(key)
            .or_insert_with_if(
                || Arc::new(Slot { generation, filled_at: Instant::now(), asked_at: now, answer: OnceCell::new() }),
                |kept| !kept.serves(generation, now),
            )
            .into_value();
        Ok(slot.answer.get_or_try_init(compute).await?.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn ask(cache: &ReadCache<u64>, calls: &AtomicUsize, generation: u64, now: i64, until: Option<i64>) -> u64 {
        cache
            .get_or_compute("k".to_owned(), generation, now, || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) as u64 + 1;
                Ok(Timed { value: n, valid_until: until })
            })
            .await
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn an_answer_is_reused_until_a_change_or_its_deadline() {
        let (cache, calls) = (ReadCache::default(), AtomicUsize::new(0));
        assert_eq!(ask(&cache, &calls, 1, 100, Some(200)).await, 1);
        assert_eq!(ask(&cache, &calls, 1, 199, Some(200)).await, 1, "same generation, before the deadline");
        assert_eq!(ask(&cache, &calls, 1, 200, Some(300)).await, 2, "the deadline passed");
        assert_eq!(ask(&cache, &calls, 2, 201, None).await, 3, "something changed");
        assert_eq!(ask(&cache, &calls, 2, 10_000, None).await, 3, "a time-independent answer stays");
        assert_eq!(ask(&cache, &calls, 2, 150, None).await, 4, "a clock set back asks again");
    }

    #[tokio::test]
    async fn a_repeated_query_keeps_its_answer_through_a_stream_of_distinct_ones() {
        let (cache, calls) = (ReadCache::default(), AtomicUsize::new(0));
        for round in 0..1_000_u64 {
            assert_eq!(ask(&cache, &calls, 1, 100, None).await, 1, "the dashboard's query (round {round})");
            let other = cache.get_or_compute(format!("odd-{round}"), 1, 100, || async {
                Ok(Timed { value: round, valid_until: None })
            });
            assert_eq!(other.await.ok(), Some(round));
        }
        cache.slots.run_pending_tasks();
        assert!(cache.slots.entry_count() <= MAX_ENTRIES, "bounded: {}", cache.slots.entry_count());
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_computation_and_failures_are_not_kept() {
        let cache: ReadCache<u64> = ReadCache::default();
        let calls = AtomicUsize::new(0);
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Timed { value: 7, valid_until: None })
        };
        let (a, b) = tokio::join!(
            cache.get_or_compute("k".to_owned(), 1, 0, slow),
            cache.get_or_compute("k".to_owned(), 1, 0, slow)
        );
        assert_eq!((a.ok(), b.ok(), calls.load(Ordering::SeqCst)), (Some(7), Some(7), 1));

        let failing = cache
            .get_or_compute("other".to_owned(), 1, 0, || async {
                Err::<Timed<u64>, _>(crate::error::ServiceError::internal("database gone"))
            })
            .await;
        assert!(failing.is_err());
        let retried = cache
            .get_or_compute("other".to_owned(), 1, 0, || async { Ok(Timed { value: 9, valid_until: None }) })
            .await;
        assert_eq!(retried.ok(), Some(9));
    }
}
