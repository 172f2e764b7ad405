//! Finding counts and pages shared by identical queries until their answer can change: a committed change in
//! this process (or announced by another instance), the next deadline of an open finding passing, or
//! `read_cache::MAX_AGE` for writes nobody announced (another process on the same SQLite file).
//!
//! A dashboard wall asking `findings(filter: {outsideSla: true}) { totalCount }` thirty times a second costs
//! one index count per change instead of one per request; concurrent identical misses wait for one query.

use std::sync::Arc;

use crate::entity::finding;
use crate::service::page::Page;
use crate::service::read_cache::ReadCache;

/// The kept answers of `findings::list` (GraphQL), `findings::slice` (REST) and `findings::sla_summary`.
#[derive(Debug, Default)]
pub struct FindingReads {
    pub pages: ReadCache<Arc<Page<Arc<finding::Model>>>>,
    pub slices: ReadCache<Arc<(u64, Vec<finding::Model>)>>,
    pub summaries: ReadCache<Arc<Vec<crate::service::findings::SummaryRow>>>,
}
