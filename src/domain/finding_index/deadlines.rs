//! The open findings' deadlines per product, severity and verification: breached counts and pages of few
//! breached findings from their ranges, and SLA summaries from two binary searches a group.

use std::collections::HashMap;

use super::{Compiled, NONE, OpenFinding};
use crate::domain::{FindingId, ProductId, Severity, SlaState};

/// The open findings per product, severity and verification: an `outsideSla` count is two binary searches per
/// group instead of a look at every open finding, the breached findings of a narrow query are read from the
/// groups' ranges, and a summary counts each group's states from its two sorted lists (a walk of the 150,000
/// open findings was 0.7 ms a summary of all products at a million findings).
#[derive(Debug, Default, Clone)]
pub(super) struct Deadlines(HashMap<(ProductId, Severity, bool), Group>);

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
        let group = self.0.entry((finding.product_id, finding.severity, finding.verified)).or_default();
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
        let Some(group) = self.0.get_mut(&(finding.product_id, finding.severity, finding.verified)) else { return };
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
        self.0
            .values()
            .map(|group| {
                group.deadlines.capacity() * size_of::<(i64, FindingId)>()
                    + group.leaves_on_track.capacity() * size_of::<i64>()
            })
            .sum()
    }

    /// The open findings of each group of the products `looked_at` per SLA state at `now`, with the group's
    /// product and severity, and the first instant after `now` at which one of them changes state by time alone. In a group those at or past their deadline
    /// are breached, those at or past leaving `OnTrack` but not breached approaching, the rest of those with a
    /// deadline on track (a finding leaves `OnTrack` at its deadline at the latest).
    pub(super) fn states_at<'a>(
        &'a self,
        now: i64,
        looked_at: impl Fn(ProductId) -> bool + 'a,
    ) -> impl Iterator<Item = (ProductId, Severity, GroupStates)> + 'a {
        let groups = self.0.iter().filter(move |((product, _, _), _)| looked_at(*product));
        groups.map(move |(&(product, severity, _), group)| {
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
        self.0
            .iter()
            .filter(|((product, severity, verified), _)| query.admits_group(*product, *severity, *verified))
            .map(move |(_, group)| {
                let list = &group.deadlines;
                let from = list.partition_point(|&(deadline, _)| deadline <= query.above);
                let to = list.partition_point(|&(deadline, _)| deadline < below).max(from);
                &list[from..to]
            })
    }
}
