//! The open findings' deadlines per product, severity and verification: breached counts and pages of few
//! breached findings from their ranges, and SLA summaries from two binary searches a group.

use std::collections::HashMap;

use super::{Compiled, NONE, OpenFinding};
use crate::domain::{FindingId, ProductId, Severity, SlaState};

/// The open findings per product, severity and verification: an `outsideSla` count is two binary searches per
/// group instead of a look at every open finding, the breached findings of a narrow query are read from the
/// groups' ranges, and a summary counts each group's states from its two sorted lists (a walk of the 150,000
/// open findings was 0.7 ms a summary of all products at a million findings). A product's groups lie together,
/// so a read of a few products looks at theirs alone (a walk of every group was 3 % of a varied page's time).
#[derive(Debug, Default, Clone)]
pub(super) struct Deadlines(HashMap<ProductId, ProductGroups>);

/// One product's groups, one per severity and verification (`slot`).
#[derive(Debug, Default, Clone)]
struct ProductGroups([Group; GROUPS]);

const GROUPS: usize = Severity::ALL.len() * 2;

/// Where the group of a severity and verification lies in `ProductGroups`.
fn slot(severity: Severity, verified: bool) -> usize {
    severity as usize * 2 + usize::from(verified)
}

/// One product's open findings of one severity and verification.
#[derive(Debug, Default, Clone)]
struct Group {
    /// The deadlines of those with one, each with the finding's id, sorted.
    deadlines: Vec<(i64, FindingId)>,
    /// When each of the same findings leaves `OnTrack` (`OpenFinding::leaves_on_track`), sorted: at any
    /// instant those at or past it are breached or approaching, and the deadlines tell which.
    leaves_on_track: Vec<i64>,
    /// How many have no deadline (their state is `None`).
    no_deadline: u64,
}

/// One group's open findings per SLA state at an instant, and when the first of them changes state next.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupStates {
    pub(super) breached: u64,
    pub(super) approaching: u64,
    pub(super) on_track: u64,
    pub(super) no_deadline: u64,
    pub(super) next_change: Option<i64>,
}

impl GroupStates {
    pub(super) fn open(&self) -> u64 {
        self.breached + self.approaching + self.on_track + self.no_deadline
    }

    /// Its counts with their states.
    pub(super) fn by_state(&self) -> [(SlaState, u64); 4] {
        [
            (SlaState::Breached, self.breached),
            (SlaState::Approaching, self.approaching),
            (SlaState::OnTrack, self.on_track),
            (SlaState::None, self.no_deadline),
        ]
    }
}

impl Deadlines {
    pub(super) fn add(&mut self, finding: &OpenFinding) {
        let group = &mut self.0.entry(finding.product_id).or_default().0[slot(finding.severity, finding.verified)];
        if finding.deadline == NONE {
            group.no_deadline += 1;
            return;
        }
        let entry = (finding.deadline, finding.id);
        let at = group.deadlines.partition_point(|&held| held < entry);
        group.deadlines.insert(at, entry);
        let leaves = finding.leaves_on_track();
        let at = group.leaves_on_track.partition_point(|&held| held < leaves);
        group.leaves_on_track.insert(at, leaves);
    }

    /// Forgets an open finding as `add` took it in.
    pub(super) fn remove(&mut self, finding: &OpenFinding) {
        let Some(groups) = self.0.get_mut(&finding.product_id) else { return };
        let group = &mut groups.0[slot(finding.severity, finding.verified)];
        if finding.deadline == NONE {
            group.no_deadline = group.no_deadline.saturating_sub(1);
        } else if let Ok(at) = group.deadlines.binary_search(&(finding.deadline, finding.id)) {
            group.deadlines.remove(at);
            let at = group.leaves_on_track.binary_search(&finding.leaves_on_track());
            debug_assert!(at.is_ok(), "a group's two lists hold the same findings");
            if let Ok(at) = at {
                group.leaves_on_track.remove(at);
            }
        }
    }

    /// The bytes its lists hold (their capacity), without the map's own table.
    pub(super) fn heap_bytes(&self) -> usize {
        self.groups(None)
            .map(|(_, _, _, group)| {
                group.deadlines.capacity() * size_of::<(i64, FindingId)>()
                    + group.leaves_on_track.capacity() * size_of::<i64>()
            })
            .sum::<usize>()
            + self.0.len() * size_of::<ProductGroups>()
    }

    /// Each group of `products` (sorted, each once; `None`: of every product) with its product, severity and
    /// verification.
    fn groups<'a>(
        &'a self,
        products: Option<&'a [ProductId]>,
    ) -> impl Iterator<Item = (ProductId, Severity, bool, &'a Group)> + 'a {
        let listed = products.map(|products| {
            products.iter().filter_map(|&product| self.0.get(&product).map(|groups| (product, groups)))
        });
        let every = products.is_none().then(|| self.0.iter().map(|(&product, groups)| (product, groups)));
        listed.into_iter().flatten().chain(every.into_iter().flatten()).flat_map(|(product, groups)| {
            groups.0.iter().enumerate().map(move |(at, group)| (product, Severity::ALL[at / 2], at % 2 == 1, group))
        })
    }

    /// The open findings of each group of `products` (sorted, each once; `None`: all) per SLA state at `now`,
    /// with the group's product and severity, and the first instant after `now` at which one of them changes
    /// state by time alone. In a group those at or past their deadline are breached, those at or past leaving
    /// `OnTrack` but not breached approaching, the rest of those with a deadline on track (a finding leaves
    /// `OnTrack` at its deadline at the latest).
    pub(super) fn states_at<'a>(
        &'a self,
        now: i64,
        products: Option<&'a [ProductId]>,
    ) -> impl Iterator<Item = (ProductId, Severity, GroupStates)> + 'a {
        self.groups(products).map(move |(product, severity, _, group)| {
            let breached = group.deadlines.partition_point(|&(deadline, _)| deadline <= now);
            let off_track = group.leaves_on_track.partition_point(|&at| at <= now);
            let coming = [
                group.deadlines.get(breached).map(|&(deadline, _)| deadline),
                group.leaves_on_track.get(off_track).copied(),
            ];
            let states = GroupStates {
                breached: breached as u64,
                approaching: off_track.saturating_sub(breached) as u64,
                on_track: (group.deadlines.len() - off_track) as u64,
                no_deadline: group.no_deadline,
                next_change: coming.into_iter().flatten().min(),
            };
            (product, severity, states)
        })
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
        self.groups(query.product_list).filter(|&(_, severity, verified, _)| query.admits_kind(severity, verified)).map(
            move |(_, _, _, group)| {
                let list = &group.deadlines;
                let from = list.partition_point(|&(deadline, _)| deadline <= query.above);
                let to = list.partition_point(|&(deadline, _)| deadline < below).max(from);
                &list[from..to]
            },
        )
    }
}
