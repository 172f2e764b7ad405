//! Vectors kept sorted by a key, as the finding index holds them: put in place, drop many, read a window.

use std::collections::HashSet;

use super::{FindingId, IdPage, Window};

/// Up to this many entries leave one by one (each a move of what follows); more, in one pass.
const ONE_BY_ONE: usize = 8;

/// Puts `item` in its place in `items` (sorted by `key`), replacing the one of the same key; a key beyond the
/// last is appended without a search.
pub(super) fn upsert<T, K: Ord + Copy>(items: &mut Vec<T>, item: T, key: impl Fn(&T) -> K) -> Option<T> {
    match place(items, key(&item), key) {
        Ok(at) => Some(std::mem::replace(&mut items[at], item)),
        Err(at) => {
            items.insert(at, item);
            None
        }
    }
}

/// Where `wanted` is in `items` (sorted by `key`: `Ok`) or belongs (`Err`), as `binary_search` says; a key
/// beyond the last, as a new finding's is, without a search.
pub(super) fn place<T, K: Ord + Copy>(items: &[T], wanted: K, key: impl Fn(&T) -> K) -> Result<usize, usize> {
    if items.last().is_none_or(|last| key(last) < wanted) {
        return Err(items.len());
    }
    items.binary_search_by_key(&wanted, key)
}

/// How many entries `found_in_order` steps over one by one before it gallops: a text search's candidates are
/// about this far apart among the open findings, and a step is a predictable load where each of a binary
/// search's waits for the one before.
const STEPPED: usize = 16;

/// Each of `keys` found in `items` (sorted by `key`), with its entry, in the order of `keys`. Keys in ascending
/// order are a merge: from where the last one was found, it steps over up to `STEPPED` entries, then gallops
/// (doubling its stride, then a binary search within the last one). A binary search over all of `items` for
/// each key was a tenth of a text search's time in `FindingIndex::admitted` (a cache miss a step). A key below
/// the last one starts again from the beginning, so any order gives the right answer.
pub(super) fn found_in_order<'a, T, K: Ord + Copy + 'a>(
    items: &'a [T],
    keys: &'a [K],
    key: impl Fn(&T) -> K + 'a,
) -> impl Iterator<Item = (K, &'a T)> + 'a {
    positions_in_order(items, keys, key).map(|(wanted, at)| (wanted, &items[at]))
}

/// `found_in_order` with the place of each entry found instead of the entry.
pub(super) fn positions_in_order<'a, T, K: Ord + Copy + 'a>(
    items: &'a [T],
    keys: &'a [K],
    key: impl Fn(&T) -> K + 'a,
) -> impl Iterator<Item = (K, usize)> + 'a {
    let mut from = 0;
    keys.iter().filter_map(move |&wanted| {
        if from > 0 && key(&items[from - 1]) >= wanted {
            from = 0;
        }
        let stepped_to = items.len().min(from + STEPPED);
        while from < stepped_to && key(&items[from]) < wanted {
            from += 1;
        }
        if from == stepped_to {
            let rest = &items[from..];
            // Double the stride until an entry at or past `wanted` (or the end) bounds the search.
            let mut stride = 1;
            while stride < rest.len() && key(&rest[stride - 1]) < wanted {
                stride *= 2;
            }
            from += rest[..stride.min(rest.len())].partition_point(|item| key(item) < wanted);
        }
        items.get(from).filter(|item| key(item) == wanted).map(|_| (wanted, from))
    })
}

/// Removes the entries whose key is in `ids` from `items` (sorted by `key`) and returns them.
pub(super) fn drop_ids<T, K: Ord + Copy + std::hash::Hash>(
    items: &mut Vec<T>,
    ids: &[K],
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut dropped = Vec::new();
    if ids.len() <= ONE_BY_ONE {
        for id in ids {
            if let Ok(at) = items.binary_search_by_key(id, &key) {
                dropped.push(items.remove(at));
            }
        }
    } else {
        let ids: HashSet<K> = ids.iter().copied().collect();
        let (kept, gone): (Vec<T>, Vec<T>) =
            std::mem::take(items).into_iter().partition(|item| !ids.contains(&key(item)));
        *items = kept;
        dropped = gone;
    }
    dropped
}

/// The ids in `window` of the `items` (in id order) that `admitted` lets through.
pub(super) fn page_of<T>(
    items: &[T],
    id: impl Fn(&T) -> FindingId,
    admitted: impl Fn(&T) -> bool,
    window: &Window,
) -> IdPage {
    page_among(within_cursors(items, &id, window).iter().filter(|item| admitted(item)), id, window)
}

/// `page_of` when every entry is admitted: the entries a deep page skips are not looked at.
pub(super) fn page_of_every<T>(items: &[T], id: impl Fn(&T) -> FindingId, window: &Window) -> IdPage {
    page_among(within_cursors(items, &id, window).iter(), id, window)
}

/// `page_of_every` for ids in any order (which it takes): the window's ids are picked out by selection, in time
/// linear in the number of ids, and only they are sorted. Sorting the ~75,000 breached findings' ids of a deep
/// REST page was an eighth of its time.
pub(super) fn page_of_unsorted(mut ids: Vec<FindingId>, window: &Window) -> IdPage {
    ids.retain(|&id| window.after.is_none_or(|after| id > after) && window.before.is_none_or(|before| id < before));
    // The positions, in id order, of the window's ids and the one beyond them that says whether there are more.
    let wanted = window.size.saturating_add(1);
    let (start, end) = if window.from_end {
        let end = ids.len().saturating_sub(window.skip);
        (end.saturating_sub(wanted), end)
    } else {
        let start = window.skip.min(ids.len());
        (start, start.saturating_add(wanted).min(ids.len()))
    };
    if start >= end {
        return IdPage { ids: Vec::new(), has_more: false };
    }
    if start > 0 {
        ids.select_nth_unstable(start);
    }
    let picked = &mut ids[start..];
    let count = end - start;
    if count < picked.len() {
        picked.select_nth_unstable(count - 1);
    }
    let mut page = picked[..count].to_vec();
    page.sort_unstable();
    let has_more = count > window.size;
    if has_more {
        if window.from_end {
            page.remove(0);
        } else {
            page.truncate(window.size);
        }
    }
    IdPage { ids: page, has_more }
}

/// The entries of `items` between the window's cursors.
fn within_cursors<'a, T>(items: &'a [T], id: &impl Fn(&T) -> FindingId, window: &Window) -> &'a [T] {
    let start = window.after.map_or(0, |after| items.partition_point(|item| id(item) <= after));
    let end = window.before.map_or(items.len(), |before| items.partition_point(|item| id(item) < before));
    items.get(start..end).unwrap_or_default()
}

/// The window's ids of `admitted` (in id order); a slice's own iterator skips without a walk.
fn page_among<'a, T: 'a>(
    admitted: impl DoubleEndedIterator<Item = &'a T>,
    id: impl Fn(&T) -> FindingId,
    window: &Window,
) -> IdPage {
    let wanted = window.size + 1;
    let mut ids: Vec<FindingId> = if window.from_end {
        admitted.rev().skip(window.skip).take(wanted).map(&id).collect()
    } else {
        admitted.skip(window.skip).take(wanted).map(&id).collect()
    };
    let has_more = ids.len() > window.size;
    ids.truncate(window.size);
    if window.from_end {
        ids.reverse();
    }
    IdPage { ids, has_more }
}
