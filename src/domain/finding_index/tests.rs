//! Tests of `domain::finding_index`.

use super::*;

fn open(product: i32, severity: Severity, deadline: Option<i64>, approaching_at: Option<i64>) -> IndexedRow {
    IndexedRow {
        product_id: ProductId::new(product),
        severity,
        verified: false,
        is_open: true,
        is_mitigated: false,
        mitigated_at: None,
        deadline,
        approaching_at,
    }
}

fn any_open() -> IndexQuery {
    IndexQuery {
        products: None,
        severities: None,
        verified: None,
        scope: Scope::Open(OpenStates { breached: true, approaching: true, on_track: true }),
        deadline_before: None,
        deadline_after: None,
    }
}

#[test]
fn an_open_finding_moves_from_on_track_to_approaching_to_breached_with_the_time() {
    let mut index = FindingIndex::default();
    index.insert(FindingId::new(1), &open(1, Severity::High, Some(100), Some(50)));
    let breached = IndexQuery { scope: Scope::Open(OpenStates::BREACHED), ..any_open() };
    assert_eq!([index.count(&breached, 49), index.count(&breached, 99), index.count(&breached, 100)], [0, 0, 1]);
    assert_eq!(index.summary(None, 49).counts[&(Severity::High, SlaState::OnTrack)], 1);
    assert_eq!(index.summary(None, 49).next_change, Some(50));
    assert_eq!(index.summary(None, 50).next_change, Some(100));
    assert_eq!(index.summary(None, 100).next_change, None);
    assert_eq!(index.summary(None, 50).counts[&(Severity::High, SlaState::Approaching)], 1);
    assert_eq!(index.summary(None, 100).counts[&(Severity::High, SlaState::Breached)], 1);
}

#[test]
fn a_closed_finding_is_counted_by_its_state_and_forgotten_as_it_was() {
    let mut index = FindingIndex::default();
    let late = IndexedRow {
        is_open: false,
        is_mitigated: true,
        mitigated_at: Some(200),
        ..open(1, Severity::Low, Some(100), None)
    };
    let on_time = IndexedRow { mitigated_at: Some(100), ..late };
    let unmitigated = IndexedRow { is_mitigated: false, ..late };
    for (id, row) in [(1, late), (2, on_time), (3, unmitigated)] {
        index.insert(FindingId::new(id), &row);
    }
    let summary = index.summary(None, 0).counts;
    let states = [SlaState::Missed, SlaState::Met, SlaState::None].map(|s| summary[&(Severity::Low, s)]);
    assert_eq!(states, [1, 1, 1]);
    index.remove(FindingId::new(1), &late);
    assert!(!index.summary(None, 0).counts.contains_key(&(Severity::Low, SlaState::Missed)));
    assert_eq!(index.open_count(), 0);
}

#[test]
fn pages_run_in_id_order_from_either_end_within_the_cursors() {
    let mut index = FindingIndex::default();
    for id in 1..=10 {
        index.insert(FindingId::new(id), &open(id % 2, Severity::Critical, Some(0), None));
    }
    let odd = IndexQuery { products: Some(vec![ProductId::new(1)]), ..any_open() };
    let ids = |window: Window| {
        let page = index.page(&odd, 5, &window);
        (page.ids.iter().map(|id| id.get()).collect::<Vec<_>>(), page.has_more)
    };
    let first_two = Window { size: 2, ..Window::default() };
    assert_eq!(ids(first_two), (vec![1, 3], true));
    assert_eq!(ids(Window { after: Some(FindingId::new(3)), ..first_two }), (vec![5, 7], true));
    assert_eq!(ids(Window { skip: 3, ..first_two }), (vec![7, 9], false));
    assert_eq!(ids(Window { from_end: true, ..first_two }), (vec![7, 9], true));
    let between = Window { after: Some(FindingId::new(5)), before: Some(FindingId::new(9)), size: 5, ..first_two };
    assert_eq!(ids(between), (vec![7], false));
}

#[test]
fn a_query_narrows_by_every_field_and_deadlineless_findings_match_no_deadline_bound() {
    let mut index = FindingIndex::default();
    index.insert(FindingId::new(1), &IndexedRow { verified: true, ..open(1, Severity::High, Some(10), None) });
    index.insert(FindingId::new(2), &open(2, Severity::Info, None, None));
    let all = any_open();
    assert_eq!(index.count(&all, 5), 1, "a finding without a deadline is in no open state the filter names");
    assert_eq!(index.count(&IndexQuery { verified: Some(false), ..all.clone() }, 5), 0);
    assert_eq!(index.count(&IndexQuery { severities: Some(vec![Severity::Low]), ..all.clone() }, 5), 0);
    assert_eq!(index.count(&IndexQuery { deadline_before: Some(10), ..all.clone() }, 5), 0);
    assert_eq!(index.count(&IndexQuery { deadline_after: Some(9), ..all.clone() }, 5), 1);
    assert_eq!(index.summary(Some(&[ProductId::new(2)]), 5).counts[&(Severity::Info, SlaState::None)], 1);
}

#[test]
fn a_breach_count_takes_the_deadline_bounds_and_the_instant_exactly() {
    let mut index = FindingIndex::default();
    for (id, deadline) in [(1, 99), (2, 100), (3, 101), (4, 50), (5, 49)] {
        index.insert(FindingId::new(id), &open(1, Severity::High, Some(deadline), None));
    }
    let breached = IndexQuery { scope: Scope::Open(OpenStates::BREACHED), ..any_open() };
    assert_eq!(index.count(&breached, 100), 4, "a deadline at the instant is past");
    assert_eq!(index.count(&breached, 99), 3);
    assert_eq!(index.count(&IndexQuery { deadline_before: Some(100), ..breached.clone() }, 100), 3);
    assert_eq!(index.count(&IndexQuery { deadline_after: Some(49), ..breached.clone() }, 100), 3);
    let scanned = IndexQuery { deadline_before: Some(100), deadline_after: Some(49), ..breached.clone() };
    assert_eq!(index.count(&scanned, 100), 2);
    assert_eq!(index.page(&scanned, 100, &Window { size: 10, ..Window::default() }).ids.len(), 2);
}

/// A small xorshift, so the test below draws the same cases on every run.
pub(super) struct Draws(pub(super) u64);

impl Draws {
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Open finding `id` of product `1 + id % 40`: a drawn severity, a deadline in 0..1,000 (or, one in twenty,
/// none), verified three times in ten.
fn drawn_open_row(draws: &mut Draws, id: i32) -> IndexedRow {
    let severity = Severity::ALL[usize::try_from(draws.below(5)).unwrap_or(0)];
    let deadline = (!draws.chance(5)).then(|| i64::try_from(draws.below(1_000)).unwrap_or(0));
    IndexedRow { verified: draws.chance(30), ..open(1 + id % 40, severity, deadline, None) }
}

#[test]
fn a_page_of_few_breached_findings_from_the_deadlines_equals_the_walk_of_the_open_findings() {
    let mut draws = Draws(0x5eed_cafe);
    let mut index = FindingIndex::default();
    for id in 1..=3_000 {
        index.insert(FindingId::new(id), &drawn_open_row(&mut draws, id));
    }
    let (mut from_deadlines, mut walked) = (0, 0);
    for _ in 0..2_000 {
        let bound = |draws: &mut Draws| draws.chance(50).then(|| i64::try_from(draws.below(1_000)).unwrap_or(0));
        let query = IndexQuery {
            scope: Scope::Open(OpenStates::BREACHED),
            products: draws.chance(30).then(|| (1..=40).filter(|_| draws.chance(70)).map(ProductId::new).collect()),
            severities: draws.chance(60).then(|| Severity::ALL.into_iter().filter(|_| draws.chance(30)).collect()),
            verified: draws.chance(40).then(|| draws.chance(50)),
            deadline_before: bound(&mut draws),
            deadline_after: bound(&mut draws),
        };
        let cursor = |draws: &mut Draws| {
            draws.chance(30).then(|| FindingId::new(i32::try_from(draws.below(3_000)).unwrap_or(0)))
        };
        let window = Window {
            after: cursor(&mut draws),
            before: cursor(&mut draws),
            skip: usize::try_from(draws.below(4)).unwrap_or(0),
            size: usize::try_from(1 + draws.below(30)).unwrap_or(1),
            from_end: draws.chance(30),
        };
        let now = i64::try_from(draws.below(1_100)).unwrap_or(0);
        let compiled = Compiled::of(&query, now);
        let walk = page_of(index.open.as_slice(), |f| f.id, |f| compiled.admits(f), &window);
        if index.few_products(&query).is_none() {
            match index.breached_page(&compiled, &window) {
                Some(_) => from_deadlines += 1,
                None => walked += 1,
            }
        }
        assert_eq!(index.page(&query, now, &window), walk, "{query:?} at {now} in {window:?}");
        let counted = index.open.as_slice().iter().filter(|f| compiled.admits(f)).count() as u64;
        assert_eq!(index.count(&query, now), counted, "the breached count from the groups: {query:?} at {now}");
    }
    assert!(from_deadlines > 100 && walked > 100, "both ways were taken: {from_deadlines} and {walked}");
}

#[test]
fn candidates_admitted_from_a_few_products_lists_or_from_every_open_finding_are_those_a_query_admits() {
    let mut draws = Draws(0xadd1_77ed);
    let mut index = FindingIndex::default();
    for id in 1..=3_000 {
        let row = drawn_open_row(&mut draws, id);
        index.insert(FindingId::new(id), &IndexedRow { is_open: !draws.chance(40), ..row });
    }
    let open_by_id: HashMap<FindingId, &OpenFinding> = index.open.as_slice().iter().map(|f| (f.id, f)).collect();
    let (mut few, mut every) = (0, 0);
    for _ in 0..1_000 {
        let products = match draws.below(3) {
            0 => None,
            1 => Some((1..=40).filter(|_| draws.chance(70)).map(ProductId::new).collect::<Vec<_>>()),
            _ => Some((1..=40).filter(|_| draws.chance(8)).map(ProductId::new).collect()),
        };
        let states =
            OpenStates { breached: draws.chance(60), approaching: draws.chance(60), on_track: draws.chance(60) };
        let query = IndexQuery {
            scope: Scope::Open(states),
            products,
            severities: draws.chance(50).then(|| Severity::ALL.into_iter().filter(|_| draws.chance(50)).collect()),
            verified: draws.chance(30).then(|| draws.chance(50)),
            deadline_before: None,
            deadline_after: draws.chance(30).then(|| i64::try_from(draws.below(1_000)).unwrap_or(0)),
        };
        // Ids ascending, some of no finding and some of closed ones, as a trigram index names them.
        let ids: Vec<FindingId> = (1..=3_200).filter(|_| draws.chance(20)).map(FindingId::new).collect();
        let now = i64::try_from(draws.below(1_100)).unwrap_or(0);
        let compiled = Compiled::of(&query, now);
        let expected: Vec<FindingId> =
            ids.iter().copied().filter(|id| open_by_id.get(id).is_some_and(|f| compiled.admits(f))).collect();
        match index.few_products(&query) {
            Some(_) => few += 1,
            None => every += 1,
        }
        assert_eq!(index.admitted(&query, now, &ids), expected, "{query:?} at {now}");
    }
    assert!(few > 200 && every > 200, "both ways were taken: {few} and {every}");
}

#[test]
fn keys_found_in_order_are_those_a_binary_search_finds_in_any_order_of_the_keys() {
    let mut draws = Draws(0x0dd_ba11);
    for round in 0..300 {
        let size = usize::try_from(draws.below(400)).unwrap_or(0);
        let mut items: Vec<(u64, u64)> = (0..size).map(|at| (draws.below(1_000), at as u64)).collect();
        items.sort_unstable();
        items.dedup_by_key(|item| item.0);
        let mut keys: Vec<u64> = (0..draws.below(200)).map(|_| draws.below(1_100)).collect();
        // Most rounds ascending, as the text search's candidates come; some in any order, with repeats.
        if round % 4 != 0 {
            keys.sort_unstable();
        }
        let expected: Vec<(u64, u64)> = keys
            .iter()
            .filter_map(|&key| items.binary_search_by_key(&key, |item| item.0).ok().map(|at| (key, items[at].1)))
            .collect();
        let found: Vec<(u64, u64)> =
            sorted::found_in_order(&items, &keys, |item| item.0).map(|(key, item)| (key, item.1)).collect();
        assert_eq!(found, expected, "items {items:?}, keys {keys:?}");
    }
}

#[test]
fn a_page_picked_out_of_ids_in_any_order_equals_the_page_of_the_sorted_ids() {
    let mut draws = Draws(0xfeed_f00d);
    for _ in 0..3_000 {
        let mut ids: Vec<FindingId> = (1..=i32::try_from(draws.below(300)).unwrap_or(0))
            .filter(|_| draws.chance(60))
            .map(FindingId::new)
            .collect();
        let cursor =
            |draws: &mut Draws| draws.chance(30).then(|| FindingId::new(i32::try_from(draws.below(320)).unwrap_or(0)));
        let window = Window {
            after: cursor(&mut draws),
            before: cursor(&mut draws),
            skip: usize::try_from(if draws.chance(50) { draws.below(5) } else { draws.below(250) }).unwrap_or(0),
            size: usize::try_from(draws.below(40)).unwrap_or(0),
            from_end: draws.chance(40),
        };
        let expected = window_of(&ids, &window);
        // Shuffled, as the deadline groups hand them over.
        for at in (1..ids.len()).rev() {
            ids.swap(at, usize::try_from(draws.below(at as u64 + 1)).unwrap_or(0));
        }
        assert_eq!(sorted::page_of_unsorted(ids, &window), expected, "{window:?}");
    }
}

#[test]
fn open_counts_per_product_and_severity_are_the_index_counts_of_open_breached_and_approaching_findings() {
    let mut draws = Draws(0x5eed_c0de);
    let mut index = FindingIndex::default();
    let mut rows = Vec::new();
    for id in 1..=400 {
        let deadline = draws.chance(80).then(|| i64::try_from(draws.below(200)).unwrap_or(0));
        let approaching_at = deadline.filter(|_| draws.chance(70)).map(|at| at - 20);
        let severity = Severity::ALL[usize::try_from(draws.below(5)).unwrap_or(0)];
        let product = i32::try_from(draws.below(6)).unwrap_or(0) + 1;
        let row = IndexedRow { is_open: draws.chance(80), ..open(product, severity, deadline, approaching_at) };
        index.insert(FindingId::new(id), &row);
        rows.push(row);
    }
    for now in [0, 60, 120, 250] {
        let counts = index.open_counts(now);
        for product in (1..=6).map(ProductId::new) {
            for severity in Severity::ALL {
                let counted = |breached: bool, approaching: bool, on_track: bool| {
                    let states = OpenStates { breached, approaching, on_track };
                    let query = IndexQuery {
                        products: Some(vec![product]),
                        severities: Some(vec![severity]),
                        scope: Scope::Open(states),
                        ..any_open()
                    };
                    index.count(&query, now) as u64
                };
                // Every open finding, with a deadline or without (no SLA state query names the latter).
                let open =
                    rows.iter().filter(|r| r.is_open && r.product_id == product && r.severity == severity).count()
                        as u64;
                assert!(open >= counted(true, true, true));
                let expected = (open > 0).then(|| OpenCounts {
                    product_id: product,
                    severity,
                    open,
                    breached: counted(true, false, false),
                    approaching: counted(false, true, false),
                });
                let found = counts.iter().find(|c| c.product_id == product && c.severity == severity).copied();
                assert_eq!(found, expected, "{product:?}, {severity:?} at {now}");
            }
        }
    }
}

/// A row's state at `now` by the domain's one definition (`sla::state`).
fn state_of(row: &IndexedRow, now: i64) -> SlaState {
    let instant = |at: i64| chrono::DateTime::from_timestamp(at, 0).expect("in range");
    let schedule = row.deadline.map(|deadline| crate::domain::sla::SlaSchedule {
        deadline: instant(deadline),
        expiration_date: instant(deadline).date_naive(),
        period: chrono::TimeDelta::days(1),
        approaching_at: row.approaching_at.map(instant),
    });
    let status = crate::domain::FindingStatus {
        active: row.is_open,
        is_mitigated: row.is_mitigated && !row.is_open,
        mitigated_at: row.mitigated_at.map(instant),
        ..crate::domain::FindingStatus::default()
    };
    crate::domain::sla::state(schedule.as_ref(), &status, instant(now))
}

/// The summary a walk of every finding gives: each one's state at `now`, and the first instant after `now` at
/// which any open finding's state differs from its state at `now`.
fn walked_summary(rows: &HashMap<i32, IndexedRow>, products: Option<&[ProductId]>, now: i64) -> Summary {
    let looked_at = |row: &&IndexedRow| products.is_none_or(|products| products.contains(&row.product_id));
    let mut counts: HashMap<(Severity, SlaState), u64> = HashMap::new();
    let mut instants = Vec::new();
    for row in rows.values().filter(looked_at) {
        *counts.entry((row.severity, state_of(row, now))).or_default() += 1;
        if row.is_open {
            instants.extend([row.deadline, row.approaching_at].into_iter().flatten().filter(|&at| at > now));
        }
    }
    instants.sort_unstable();
    let next_change = instants.into_iter().find(|&at| {
        rows.values().filter(|row| row.is_open && looked_at(row)).any(|row| state_of(row, at) != state_of(row, now))
    });
    Summary { counts, next_change }
}

#[test]
fn a_summary_from_the_groups_equals_the_walk_of_every_finding_under_random_changes() {
    let mut draws = Draws(0x0dd_ba11);
    let mut index = FindingIndex::default();
    let mut rows: HashMap<i32, IndexedRow> = HashMap::new();
    for round in 0..300 {
        let mut changes = Vec::new();
        let drawn_ids: Vec<i32> = (1..=120).filter(|_| draws.chance(15)).collect();
        for id in drawn_ids {
            let before = rows.get(&id).copied();
            let after = (!draws.chance(15)).then(|| {
                let deadline = draws.chance(85).then(|| i64::try_from(draws.below(300)).unwrap_or(0));
                // Mostly before the deadline; sometimes at it, after it (no state change then), or without one.
                let approaching_at = match draws.below(10) {
                    0 => None,
                    1 => deadline,
                    2 => deadline.map(|at| at + 10),
                    _ => deadline.map(|at| at - i64::try_from(draws.below(50)).unwrap_or(0)),
                };
                let severity = Severity::ALL[usize::try_from(draws.below(5)).unwrap_or(0)];
                let product = i32::try_from(draws.below(8)).unwrap_or(0) + 1;
                IndexedRow {
                    verified: draws.chance(40),
                    is_open: draws.chance(75),
                    is_mitigated: draws.chance(50),
                    mitigated_at: Some(i64::try_from(draws.below(300)).unwrap_or(0)),
                    ..open(product, severity, deadline, approaching_at)
                }
            });
            match after {
                Some(row) => rows.insert(id, row),
                None => rows.remove(&id),
            };
            changes.push(IndexChange { id: FindingId::new(id), before, after });
        }
        index.apply(&changes);
        for _ in 0..5 {
            let now = i64::try_from(draws.below(320)).unwrap_or(0) - 10;
            let mut products: Vec<ProductId> = (1..=8).filter(|_| draws.chance(30)).map(ProductId::new).collect();
            products.sort_unstable();
            let products = draws.chance(40).then_some(products);
            let expected = walked_summary(&rows, products.as_deref(), now);
            assert_eq!(index.summary(products.as_deref(), now), expected, "round {round}, {products:?} at {now}");
        }
    }
}
