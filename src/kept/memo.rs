//! A bounded map from strings that requests repeat to what was computed from them (parsed GraphQL
//! documents, verified session tokens), so a dashboard's identical requests compute it once.

/// At most about `capacity` entries, the least useful evicted first (moka's `TinyLFU`: a stream of distinct
/// keys does not push out the ones requests repeat).
pub struct Memo<V> {
    entries: moka::sync::Cache<String, V>,
    /// Longer keys are not kept (an odd request should not fill the memory).
    max_key_len: usize,
}

impl<V> std::fmt::Debug for Memo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").field("entries", &self.entries.entry_count()).finish_non_exhaustive()
    }
}

impl<V: Clone + Send + Sync + 'static> Memo<V> {
    #[must_use]
    pub fn new(capacity: usize, max_key_len: usize) -> Self {
        Self { entries: moka::sync::Cache::new(u64::try_from(capacity).unwrap_or(u64::MAX)), max_key_len }
    }

    /// The value kept for `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key)
    }

    /// Keeps the value `make` builds for `key` (not built for a key too long to keep).
    pub fn insert_with(&self, key: &str, make: impl FnOnce() -> V) {
        if key.len() > self.max_key_len {
            return;
        }
        self.entries.insert(key.to_owned(), make());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_keys_through_a_stream_of_distinct_ones_and_skips_long_keys() {
        let memo = Memo::new(16, 12);
        memo.insert_with("dashboard", || 0);
        for round in 0..200 {
            assert_eq!(memo.get("dashboard"), Some(0), "the repeated key stays (round {round})");
            memo.insert_with(&format!("odd-{round}"), || round);
        }
        memo.entries.run_pending_tasks();
        assert!(memo.entries.entry_count() <= 16, "bounded: {}", memo.entries.entry_count());
        memo.insert_with("much-too-long", || unreachable!("a key too long to keep builds nothing"));
        assert_eq!(memo.get("much-too-long"), None);
    }
}
