//! A bounded map from strings that requests repeat to what was computed from them (parsed GraphQL
//! documents, verified session tokens), so a dashboard's identical requests compute it once.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most `capacity` entries; when full, it starts again empty (repeated keys come back at once).
#[derive(Debug)]
pub struct Memo<V> {
    entries: Mutex<HashMap<String, V>>,
    capacity: usize,
    /// Longer keys are not kept (an odd request should not fill the memory).
    max_key_len: usize,
}

impl<V: Clone> Memo<V> {
    #[must_use]
    pub fn new(capacity: usize, max_key_len: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity, max_key_len }
    }

    /// The value kept for `key`.
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Keeps the value `make` builds for `key` (not built for a key too long to keep).
    pub fn insert_with(&self, key: &str, make: impl FnOnce() -> V) {
        if key.len() > self.max_key_len {
            return;
        }
        let value = make();
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity && !entries.contains_key(key) {
                entries.clear();
            }
            entries.insert(key.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_values_up_to_its_capacity_and_skips_long_keys() {
        let memo = Memo::new(2, 8);
        memo.insert_with("a", || 1);
        memo.insert_with("b", || 2);
        assert_eq!((memo.get("a"), memo.get("b")), (Some(1), Some(2)));
        memo.insert_with("c", || 3);
        assert_eq!((memo.get("a"), memo.get("b"), memo.get("c")), (None, None, Some(3)), "full: starts again");
        memo.insert_with("much-too-long", || unreachable!("a key too long to keep builds nothing"));
        assert_eq!(memo.get("much-too-long"), None);
    }
}
