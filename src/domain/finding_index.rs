//! What counts, pages and the SLA summary read, kept in memory so a varied request costs a scan of the open
//! findings instead of a query over a million rows: every open finding with the columns the filters look at
//! (in id order), and per product, severity and SLA state how many closed findings there are (a closed
//! finding's state no longer depends on the time). Pure: `service::finding_index` feeds it from the
//! database's change log; its answers equal `service::finding_filter`'s SQL (a property test holds it to it).

use std::collections::HashMap;

use crate::domain::{FindingId, ProductId, Severity, SlaState};

mod compiled;
mod deadlines;
mod open_list;
mod sorted;

use compiled::Compiled;
use deadlines::Deadlines;
use open_list::OpenList;
use sorted::{drop_ids, page_of, page_of_every, page_of_unsorted, upsert};

/// A finding's stored columns, as far as the index looks at them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedRow {
    pub product_id: ProductId,
    pub severity: Severity,
    pub verified: bool,
    pub is_open: bool,
    pub is_mitigated: bool,
    pub mitigated_at: Option<i64>,
    pub deadline: Option<i64>,
    pub approaching_at: Option<i64>,
}

impl IndexedRow {
    /// The SLA state of a closed row (`finding_filter::state_case_sql`'s cases before the open ones): no
    /// deadline or closed unmitigated is `None`, mitigated after the deadline `Missed`, else `Met`.
    #[must_use]
    pub fn closed_state(&self) -> SlaState {
        match (self.deadline, self.is_mitigated) {
            (None, _) | (Some(_), false) => SlaState::None,
            (Some(deadline), true) if self.mitigated_at.is_some_and(|at| at > deadline) => SlaState::Missed,
            (Some(_), true) => SlaState::Met,
        }
    }
}

/// No deadline or no approaching threshold, in `OpenFinding`'s integer columns.
const NONE: i64 = i64::MIN;

/// An open finding: 32 bytes, so 150,000 of them are a 4.6 MiB scan.
#[derive(Debug, Clone, Copy)]
struct OpenFinding {
    id: FindingId,
    product_id: ProductId,
    deadline: i64,
    approaching_at: i64,
    severity: Severity,
    verified: bool,
}

impl OpenFinding {
    fn of(id: FindingId, row: &IndexedRow) -> Self {
        Self {
            id,
            product_id: row.product_id,
            deadline: row.deadline.unwrap_or(NONE),
            approaching_at: row.approaching_at.unwrap_or(NONE),
            severity: row.severity,
            verified: row.verified,
        }
    }

    /// When it leaves `OnTrack`: at its approaching threshold, or at its deadline when that comes first or it
    /// has no threshold (`NONE` without a deadline).
    fn leaves_on_track(&self) -> i64 {
        if self.approaching_at != NONE && self.approaching_at < self.deadline {
            self.approaching_at
        } else {
            self.deadline
        }
    }
}

/// The open states a query may ask for; a query about closed findings is not the index's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenStates {
    pub breached: bool,
    pub approaching: bool,
    pub on_track: bool,
}

impl OpenStates {
    /// Breached alone (`outsideSla`): counted and paged from the deadline lists.
    pub const BREACHED: Self = Self { breached: true, approaching: false, on_track: false };
}

/// Which findings a query is about: open ones in some of their states, or every finding (of its products;
/// the index knows only the product of a closed finding, so no other field may narrow such a query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Open(OpenStates),
    All,
}

/// Which findings a count or page wants: every field narrows, `None` is "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexQuery {
    pub scope: Scope,
    /// The products looked at (already the ones the actor may view), sorted, each once.
    pub products: Option<Vec<ProductId>>,
    pub severities: Option<Vec<Severity>>,
    pub verified: Option<bool>,
    /// Deadline strictly before / after (epoch seconds).
    pub deadline_before: Option<i64>,
    pub deadline_after: Option<i64>,
}

impl IndexQuery {
    /// Whether the query admits a finding whose row is `row` at `now` (a row read after the index answered).
    #[must_use]
    pub fn admits_row(&self, row: &IndexedRow, now: i64) -> bool {
        match self.scope {
            Scope::All => self.looks_at(row.product_id),
            Scope::Open(_) => row.is_open && self.admits(&OpenFinding::of(FindingId::new(0), row), now),
        }
    }

    fn looks_at(&self, product: ProductId) -> bool {
        self.products.as_ref().is_none_or(|products| products.binary_search(&product).is_ok())
    }

    /// Whether an open finding is admitted (`Scope::All` admits every finding of its products).
    fn admits(&self, finding: &OpenFinding, now: i64) -> bool {
        Compiled::of(self, now).admits(finding)
    }
}

/// Which of a query's findings a page holds, in id order: strictly between the cursors, the first `size`
/// after skipping `skip` (or the last ones, when `from_end`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub after: Option<FindingId>,
    pub before: Option<FindingId>,
    pub skip: usize,
    pub size: usize,
    pub from_end: bool,
}

/// A page of ids in ascending order and whether the query has more beyond it (in the direction read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPage {
    pub ids: Vec<FindingId>,
    pub has_more: bool,
}

/// The ids in `window` of `ids` (ascending).
#[must_use]
pub fn window_of(ids: &[FindingId], window: &Window) -> IdPage {
    page_of_every(ids, |id| *id, window)
}

/// Counts per severity and state, and when they next change by time alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub counts: HashMap<(Severity, SlaState), u64>,
    pub next_change: Option<i64>,
}

/// A finding as the index last knew it and as it stands now (`None`: not there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexChange {
    pub id: FindingId,
    pub before: Option<IndexedRow>,
    pub after: Option<IndexedRow>,
}

/// Up to this many products, a page or count walks their own lists instead of every open finding.
const FEW_PRODUCTS: usize = 16;

/// One product's open findings of one severity (`FindingIndex::open_counts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenCounts {
    pub product_id: ProductId,
    pub severity: Severity,
    pub open: u64,
    /// Open and at or past the deadline.
    pub breached: u64,
    /// Open, past an SLA threshold and not yet at the deadline.
    pub approaching: u64,
}

/// The open findings in id order and the closed findings' counts.
#[derive(Debug, Default, Clone)]
pub struct FindingIndex {
    open: OpenList,
    deadlines: Deadlines,
    /// The open findings per product, in id order (a copy of `open`'s entries, 32 bytes each): counts, pages and
    /// summaries of a few products look at their findings alone, without a search of `open` per finding.
    by_product: HashMap<ProductId, Vec<OpenFinding>>,
    /// Every finding with its product, in id order (8 bytes each): counts and pages of `Scope::All`.
    all: Vec<(FindingId, ProductId)>,
    closed: HashMap<(ProductId, Severity, SlaState), u64>,
}

impl FindingIndex {
    /// How many open findings it holds.
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// About how much memory it holds: its vectors' capacities (the maps' tables are small beside them).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.open.heap_bytes()
            + self.all.capacity() * size_of::<(FindingId, ProductId)>()
            + self.by_product.values().map(|open| open.capacity() * size_of::<OpenFinding>()).sum::<usize>()
            + self.deadlines.heap_bytes()
    }

    /// Adds `n` closed findings of a product and severity in `state` (a rebuild reads them grouped).
    pub fn add_closed(&mut self, product_id: ProductId, severity: Severity, state: SlaState, n: u64) {
        *self.closed.entry((product_id, severity, state)).or_default() += n;
    }

    /// Takes in finding `id` as `row` now stands (replacing what the index held of the same id).
    pub fn insert(&mut self, id: FindingId, row: &IndexedRow) {
        upsert(&mut self.all, (id, row.product_id), |entry| entry.0);
        if row.is_open {
            self.put_open(OpenFinding::of(id, row));
        } else {
            self.add_closed(row.product_id, row.severity, row.closed_state(), 1);
        }
    }

    fn put_open(&mut self, finding: OpenFinding) {
        if let Some(replaced) = self.open.upsert(finding) {
            self.untrack(&replaced);
        }
        self.deadlines.add(&finding);
        upsert(self.by_product.entry(finding.product_id).or_default(), finding, |f| f.id);
    }

    /// Forgets an open finding that left `open` in the per-group lists.
    fn untrack(&mut self, finding: &OpenFinding) {
        self.deadlines.remove(finding);
        if let Some(open) = self.by_product.get_mut(&finding.product_id)
            && let Ok(at) = open.binary_search_by_key(&finding.id, |f| f.id)
        {
            open.remove(at);
        }
    }

    /// The open findings of `query`'s products, when it names few: a page or count then looks at those
    /// products' findings only.
    fn few_products<'a>(&'a self, query: &'a IndexQuery) -> Option<impl Iterator<Item = &'a [OpenFinding]> + 'a> {
        let products = query.products.as_deref()?;
        (products.len() <= FEW_PRODUCTS)
            .then(|| products.iter().filter_map(|product| self.by_product.get(product).map(Vec::as_slice)))
    }

    /// Forgets finding `id` as it stood (`row`): the change log says what it was.
    pub fn remove(&mut self, id: FindingId, row: &IndexedRow) {
        if let Ok(at) = self.all.binary_search_by_key(&id, |entry| entry.0) {
            self.all.remove(at);
        }
        if row.is_open {
            if let Some(gone) = self.open.remove(id) {
                self.untrack(&gone);
            }
        } else {
            self.forget_closed(row);
        }
    }

    fn forget_closed(&mut self, row: &IndexedRow) {
        let key = (row.product_id, row.severity, row.closed_state());
        if let Some(n) = self.closed.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.closed.remove(&key);
            }
        }
    }

    /// Brings the index from each change's `before` to its `after` (one change per finding). An entry that
    /// stays is replaced in place and a new one is mostly appended (ids grow); what leaves goes in one pass
    /// when there is much of it.
    pub fn apply(&mut self, changes: &[IndexChange]) {
        let mut leaving_open = Vec::new();
        let mut deleted = Vec::new();
        for change in changes {
            match (&change.before, &change.after) {
                (Some(before), after) if before.is_open && !after.is_some_and(|a| a.is_open) => {
                    leaving_open.push(change.id);
                }
                (Some(before), _) if !before.is_open => self.forget_closed(before),
                _ => {}
            }
            if change.before.is_some() && change.after.is_none() {
                deleted.push(change.id);
            }
        }
        for gone in self.open.drop_ids(&leaving_open) {
            self.untrack(&gone);
        }
        drop_ids(&mut self.all, &deleted, |entry| entry.0);
        for change in changes {
            let Some(after) = &change.after else { continue };
            upsert(&mut self.all, (change.id, after.product_id), |entry| entry.0);
            if after.is_open {
                self.put_open(OpenFinding::of(change.id, after));
            } else {
                self.add_closed(after.product_id, after.severity, after.closed_state(), 1);
            }
        }
    }

    /// How many findings `query` admits at `now`.
    #[must_use]
    pub fn count(&self, query: &IndexQuery, now: i64) -> u64 {
        let compiled = Compiled::of(query, now);
        let admitted = match (query.scope, &query.products) {
            (Scope::All, None) => self.all.len(),
            (Scope::All, Some(_)) => self.all.iter().filter(|(_, product)| compiled.looks_at(*product)).count(),
            (Scope::Open(OpenStates::BREACHED), _) => self.deadlines.count_breached(&compiled),
            (Scope::Open(_), _) => match self.few_products(query) {
                Some(lists) => lists.flat_map(|open| open.iter()).filter(|f| compiled.admits(f)).count(),
                None => self.open.as_slice().iter().filter(|f| compiled.admits(f)).count(),
            },
        };
        admitted as u64
    }

    /// Of `ids` (ascending), those `query` admits at `now`: a text search's candidates, narrowed here before
    /// their text is read.
    #[must_use]
    pub fn admitted(&self, query: &IndexQuery, now: i64, ids: &[FindingId]) -> Vec<FindingId> {
        let compiled = Compiled::of(query, now);
        match query.scope {
            Scope::All => sorted::found_in_order(&self.all, ids, |entry| entry.0)
                .filter(|(_, entry)| compiled.looks_at(entry.1))
                .map(|(id, _)| id)
                .collect(),
            Scope::Open(_) => match self.few_products(query) {
                // A few products' candidates are looked up in those products' lists, which lie together in
                // a few cache lines, rather than among every open finding (a cache miss a step of the
                // search: a seventh of a text search's time); a candidate of another product is in none.
                Some(lists) => {
                    let mut admitted: Vec<FindingId> = lists
                        .flat_map(|open| sorted::found_in_order(open, ids, |f: &OpenFinding| f.id))
                        .filter(|(_, f)| compiled.admits(f))
                        .map(|(id, _)| id)
                        .collect();
                    admitted.sort_unstable();
                    admitted
                }
                // Among every open finding, by their ids alone (`OpenList`).
                None => self.open.found_in_order(ids).filter(|(_, f)| compiled.admits(f)).map(|(id, _)| id).collect(),
            },
        }
    }

    /// The ids in `window` of the findings `query` admits at `now`.
    #[must_use]
    pub fn page(&self, query: &IndexQuery, now: i64, window: &Window) -> IdPage {
        let compiled = Compiled::of(query, now);
        match query.scope {
            Scope::All if compiled.products.is_none() => page_of_every(&self.all, |entry| entry.0, window),
            Scope::All => page_of(&self.all, |entry| entry.0, |entry| compiled.looks_at(entry.1), window),
            Scope::Open(_) => match self.few_products(query) {
                Some(lists) => {
                    // Each product's first (or last) matches within the cursors, merged in id order.
                    let wanted = window.skip + window.size + 1;
                    let mut candidates = Vec::new();
                    for open in lists {
                        let matching = page_of(
                            open,
                            |f| f.id,
                            |f| compiled.admits(f),
                            &Window { skip: 0, size: wanted, ..*window },
                        );
                        candidates.extend(matching.ids);
                    }
                    candidates.sort_unstable();
                    page_of_every(&candidates, |id| *id, &Window { after: None, before: None, ..*window })
                }
                None => self
                    .breached_page(&compiled, window)
                    .unwrap_or_else(|| page_of(self.open.as_slice(), |f| f.id, |f| compiled.admits(f), window)),
            },
        }
    }

    /// A page of breached findings from the deadlines' ranges, when they are so few that picking the page out of
    /// them (in time linear in their number) costs less than the walk of the open findings, which looks at about
    /// `wanted × open / matching` of them; `None`: walk.
    fn breached_page(&self, compiled: &Compiled, window: &Window) -> Option<IdPage> {
        if compiled.states != Some(OpenStates::BREACHED) {
            return None;
        }
        let wanted = window.skip.saturating_add(window.size).saturating_add(1);
        let ids = self.deadlines.breached_ids(compiled, wanted.saturating_mul(self.open.len()).isqrt())?;
        Some(page_of_unsorted(ids, window))
    }

    /// The open findings per product and severity at `now`, each group's count of all of them, of the breached
    /// and of the approaching (`Breached`, `Approaching`): `/metrics`' gauges, without a walk of every open row
    /// in SQL at each scrape. Products without open findings are left out, as SQL's `GROUP BY` leaves them.
    #[must_use]
    pub fn open_counts(&self, now: i64) -> Vec<OpenCounts> {
        let mut per_group: HashMap<(ProductId, Severity), OpenCounts> = HashMap::new();
        for (product_id, severity, states) in self.deadlines.states_at(now, None) {
            let counts = per_group.entry((product_id, severity)).or_insert(OpenCounts {
                product_id,
                severity,
                open: 0,
                breached: 0,
                approaching: 0,
            });
            counts.open += states.open();
            counts.breached += states.breached;
            counts.approaching += states.approaching;
        }
        per_group.into_values().filter(|counts| counts.open > 0).collect()
    }

    /// Findings per severity and SLA state at `now` in `products` (`None`: all, else sorted, each once), and the
    /// first instant after `now` at which an open one's state changes by time alone.
    #[must_use]
    pub fn summary(&self, products: Option<&[ProductId]>, now: i64) -> Summary {
        // Added up in an array first (a thousand groups and more), then only the states some finding is in.
        let mut open = [[0_u64; SlaState::ALL.len()]; Severity::ALL.len()];
        let mut next_change: Option<i64> = None;
        for (_, severity, states) in self.deadlines.states_at(now, products) {
            for (state, n) in states.by_state() {
                open[severity as usize][state as usize] += n;
            }
            next_change = next_change.into_iter().chain(states.next_change).min();
        }
        let mut counts: HashMap<(Severity, SlaState), u64> = HashMap::new();
        for severity in Severity::ALL {
            for state in SlaState::ALL {
                let n = open[severity as usize][state as usize];
                if n > 0 {
                    counts.insert((severity, state), n);
                }
            }
        }
        for (&(product, severity, state), &n) in &self.closed {
            if products.is_none_or(|products| products.binary_search(&product).is_ok()) {
                *counts.entry((severity, state)).or_default() += n;
            }
        }
        Summary { counts, next_change }
    }
}

#[cfg(test)]
mod tests;
