//! The open findings' deadlines per product, severity and verification, for breached counts and for pages of
//! few breached findings.

use std::collections::HashMap;

use super::{Compiled, NONE, OpenFinding};
use crate::domain::{FindingId, ProductId, Severity};

/// The deadlines of the open findings per product, severity and verification, each list sorted (with the
/// finding's id): an `outsideSla` count is two binary searches per group instead of a look at every open
/// finding, and the breached findings of a narrow query are read from the groups' ranges.
#[derive(Debug, Default, Clone)]
pub(super) struct Deadlines(HashMap<(ProductId, Severity, bool), Vec<(i64, FindingId)>>);

impl Deadlines {
    pub(super) fn add(&mut self, finding: &OpenFinding) {
        if finding.deadline == NONE {
            return;
        }
        let list = self.0.entry((finding.product_id, finding.severity, finding.verified)).or_default();
        let entry = (finding.deadline, finding.id);
        let at = list.partition_point(|&held| held < entry);
        list.insert(at, entry);
    }

    pub(super) fn remove(&mut self, finding: &OpenFinding) {
        if let Some(list) = self.0.get_mut(&(finding.product_id, finding.severity, finding.verified))
            && let Ok(at) = list.binary_search(&(finding.deadline, finding.id))
        {
            list.remove(at);
        }
    }

    /// The bytes its lists hold (their capacity), without the map's own table.
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.values().map(|list| list.capacity() * size_of::<(i64, FindingId)>()).sum()
    }

    /// How many open findings past their deadline at `query.now` the query admits.
    pub(super) fn count_breached(&self, query: &Compiled) -> usize {
        self.breached_ranges(query).map(<[_]>::len).sum()
    }

    /// The ids (unordered) of the open findings past their deadline that the query admits, if there are at
    /// most `most`: a page of them is then a sort of a few ids instead of a walk of the open findings.
    pub(super) fn breached_ids(&self, query: &Compiled, most: usize) -> Option<Vec<FindingId>> {
        let mut ids = Vec::new();
        for range in self.breached_ranges(query) {
            if ids.len() + range.len() > most {
                return None;
            }
            ids.extend(range.iter().map(|&(_, id)| id));
        }
        Some(ids)
    }

    /// The part of each admitted group's list past its deadline at `query.now` and within the query's
    /// deadline bounds.
    fn breached_ranges<'a>(&'a self, query: &'a Compiled) -> impl Iterator<Item = &'a [(i64, FindingId)]> + 'a {
        let below = query.below.min(query.now.saturating_add(1));
        self.0
            .iter()
            .filter(|((product, severity, verified), _)| query.admits_group(*product, *severity, *verified))
            .map(move |(_, list)| {
                let from = list.partition_point(|&(deadline, _)| deadline <= query.above);
                let to = list.partition_point(|&(deadline, _)| deadline < below).max(from);
                &list[from..to]
            })
    }
}
