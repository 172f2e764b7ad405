//! The open findings' deadlines per product, severity and verification, for breached counts.

use std::collections::HashMap;

use super::{Compiled, NONE, OpenFinding};
use crate::domain::{ProductId, Severity};

/// The deadlines of the open findings per product, severity and verification, each list sorted: an
/// `outsideSla` count is two binary searches per group instead of a look at every open finding.
#[derive(Debug, Default, Clone)]
pub(super) struct Deadlines(HashMap<(ProductId, Severity, bool), Vec<i64>>);

impl Deadlines {
    pub(super) fn add(&mut self, finding: &OpenFinding) {
        if finding.deadline == NONE {
            return;
        }
        let list = self.0.entry((finding.product_id, finding.severity, finding.verified)).or_default();
        let at = list.partition_point(|&deadline| deadline < finding.deadline);
        list.insert(at, finding.deadline);
    }

    pub(super) fn remove(&mut self, finding: &OpenFinding) {
        if let Some(list) = self.0.get_mut(&(finding.product_id, finding.severity, finding.verified))
            && let Ok(at) = list.binary_search(&finding.deadline)
        {
            list.remove(at);
        }
    }

    /// The bytes its lists hold (their capacity), without the map's own table.
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.values().map(|list| list.capacity() * size_of::<i64>()).sum()
    }

    /// How many open findings past their deadline at `query.now` the query admits.
    pub(super) fn count_breached(&self, query: &Compiled) -> usize {
        let below = query.below.min(query.now.saturating_add(1));
        self.0
            .iter()
            .filter(|((product, severity, verified), _)| query.admits_group(*product, *severity, *verified))
            .map(|(_, list)| {
                let from = list.partition_point(|&deadline| deadline <= query.above);
                let to = list.partition_point(|&deadline| deadline < below);
                to.saturating_sub(from)
            })
            .sum()
    }
}
