//! An `IndexQuery` compiled for one instant: what every count, page and summary of the index tests each open
//! finding or group with.

use super::{IndexQuery, NONE, OpenFinding, OpenStates, Scope};
use crate::domain::{ProductId, Severity};

/// An `IndexQuery` at one instant, as one comparison or bit test per field: the loop of every count runs it
/// over each open finding.
pub(super) struct Compiled<'a> {
    /// A bit per product id looked at (`None`: all).
    pub(super) products: Option<Vec<u64>>,
    /// The same products, sorted, each once (`IndexQuery::products`).
    pub(super) product_list: Option<&'a [ProductId]>,
    /// A bit per `Severity` (its position in `Severity::ALL`).
    pub(super) severities: u8,
    /// Bit 0: unverified findings admitted; bit 1: verified ones.
    pub(super) verified: u8,
    /// `None` for `Scope::All`.
    pub(super) states: Option<OpenStates>,
    /// The deadline must be strictly above and below these (no deadline is `NONE`, never above).
    pub(super) above: i64,
    pub(super) below: i64,
    pub(super) now: i64,
}

impl<'a> Compiled<'a> {
    pub(super) fn of(query: &'a IndexQuery, now: i64) -> Self {
        let products = query.products.as_ref().map(|ids| {
            let mut bits = Vec::new();
            for id in ids.iter().filter_map(|id| usize::try_from(id.get()).ok()) {
                if bits.len() <= id / 64 {
                    bits.resize(id / 64 + 1, 0_u64);
                }
                bits[id / 64] |= 1 << (id % 64);
            }
            bits
        });
        let severities = query
            .severities
            .as_ref()
            .map_or(u8::MAX, |wanted| wanted.iter().fold(0, |bits, &severity| bits | 1 << severity as u8));
        let verified = query.verified.map_or(0b11, |verified| if verified { 0b10 } else { 0b01 });
        let states = match query.scope {
            Scope::Open(states) => Some(states),
            Scope::All => None,
        };
        Self {
            products,
            product_list: query.products.as_deref(),
            severities,
            verified,
            states,
            above: query.deadline_after.unwrap_or(NONE),
            below: query.deadline_before.unwrap_or(i64::MAX),
            now,
        }
    }

    pub(super) fn looks_at(&self, product: ProductId) -> bool {
        let Some(bits) = &self.products else { return true };
        usize::try_from(product.get())
            .ok()
            .and_then(|id| bits.get(id / 64).map(|word| word >> (id % 64) & 1 == 1))
            .unwrap_or(false)
    }

    /// Whether open findings of this severity and verification may be admitted (in a product looked at).
    pub(super) fn admits_kind(&self, severity: Severity, verified: bool) -> bool {
        self.severities >> severity as u8 & 1 == 1 && self.verified >> u8::from(verified) & 1 == 1
    }

    pub(super) fn admits(&self, finding: &OpenFinding) -> bool {
        let Some(states) = self.states else { return self.looks_at(finding.product_id) };
        if finding.deadline <= self.above || finding.deadline >= self.below {
            return false;
        }
        if self.severities >> finding.severity as u8 & 1 == 0 || self.verified >> u8::from(finding.verified) & 1 == 0 {
            return false;
        }
        let in_state = if finding.deadline <= self.now {
            states.breached
        } else if finding.approaching_at != NONE && finding.approaching_at <= self.now {
            states.approaching
        } else {
            states.on_track
        };
        in_state && self.looks_at(finding.product_id)
    }
}
