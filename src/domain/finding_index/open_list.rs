//! The open findings in id order, with their ids beside them in a vector of their own: a text search looks
//! its candidates up among the ids (4 bytes each, 600 KB at 150,000 open findings, in the processor's cache)
//! and reads only the entries it found, where a search among the 32-byte entries (4.8 MB) waited on a cache
//! line at every step.

use super::sorted::{drop_ids, place, positions_in_order};
use super::{FindingId, OpenFinding};

/// `entries` sorted by id, and `ids[i] == entries[i].id` for every `i`: each change below is made to both.
#[derive(Debug, Default, Clone)]
pub(super) struct OpenList {
    entries: Vec<OpenFinding>,
    ids: Vec<FindingId>,
}

impl OpenList {
    pub(super) fn as_slice(&self) -> &[OpenFinding] {
        &self.entries
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<OpenFinding>() + self.ids.capacity() * size_of::<FindingId>()
    }

    /// Puts `finding` in its place, found among the ids, replacing the entry of the same id (returned).
    pub(super) fn upsert(&mut self, finding: OpenFinding) -> Option<OpenFinding> {
        match place(&self.ids, finding.id, |id| *id) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at], finding)),
            Err(at) => {
                self.ids.insert(at, finding.id);
                self.entries.insert(at, finding);
                None
            }
        }
    }

    /// Takes out the entry of `id`, if there is one.
    pub(super) fn remove(&mut self, id: FindingId) -> Option<OpenFinding> {
        let at = self.ids.binary_search(&id).ok()?;
        self.ids.remove(at);
        Some(self.entries.remove(at))
    }

    /// Takes out the entries whose id is in `ids` and returns them.
    pub(super) fn drop_ids(&mut self, ids: &[FindingId]) -> Vec<OpenFinding> {
        drop_ids(&mut self.ids, ids, |id| *id);
        drop_ids(&mut self.entries, ids, |f| f.id)
    }

    /// Each of `candidates` (ascending) that is here, with its entry, in order.
    pub(super) fn found_in_order<'a>(
        &'a self,
        candidates: &'a [FindingId],
    ) -> impl Iterator<Item = (FindingId, &'a OpenFinding)> + 'a {
        positions_in_order(&self.ids, candidates, |id| *id).map(|(id, at)| (id, &self.entries[at]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::finding_index::tests::Draws;
    use crate::domain::{ProductId, Severity};

    fn entry(id: i32) -> OpenFinding {
        OpenFinding {
            id: FindingId::new(id),
            product_id: ProductId::new(id % 7),
            deadline: 0,
            approaching_at: 0,
            severity: Severity::High,
            verified: false,
        }
    }

    #[test]
    fn the_ids_stay_those_of_the_entries_through_every_change_and_look_ups_find_the_entries() {
        let mut xorshift = Draws(23);
        let mut drawn = |n: i32| i32::try_from(xorshift.below(u64::try_from(n).unwrap_or(1))).unwrap_or(0);
        let mut list = OpenList::default();
        let mut model = std::collections::BTreeSet::new();
        for _ in 0..3_000 {
            match drawn(10) {
                0..5 => {
                    let id = drawn(400);
                    list.upsert(entry(id));
                    model.insert(id);
                }
                5..7 => {
                    let id = drawn(400);
                    assert_eq!(list.remove(FindingId::new(id)).map(|f| f.id), model.take(&id).map(FindingId::new));
                }
                _ => {
                    let mut ids: Vec<i32> = (0..drawn(20)).map(|_| drawn(400)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let wanted: Vec<FindingId> = ids.iter().copied().map(FindingId::new).collect();
                    let mut dropped: Vec<i32> = list.drop_ids(&wanted).iter().map(|f| f.id.get()).collect();
                    dropped.sort_unstable();
                    let expected: Vec<i32> = ids.iter().copied().filter(|id| model.remove(id)).collect();
                    assert_eq!(dropped, expected);
                }
            }
            let entry_ids: Vec<FindingId> = list.entries.iter().map(|f| f.id).collect();
            assert_eq!(list.ids, entry_ids, "the ids beside the entries");
            assert_eq!(entry_ids, model.iter().copied().map(FindingId::new).collect::<Vec<_>>(), "in id order");
        }
        let candidates: Vec<FindingId> = (0..400).step_by(3).map(FindingId::new).collect();
        let found: Vec<(FindingId, FindingId)> = list.found_in_order(&candidates).map(|(id, f)| (id, f.id)).collect();
        let expected: Vec<(FindingId, FindingId)> =
            candidates.iter().filter(|id| model.contains(&id.get())).map(|id| (*id, *id)).collect();
        assert_eq!(found, expected);
    }
}
