//! Kept answers: what identical requests share until it can change (`read_cache`), what repeated strings
//! computed (`memo`: parsed documents, verified tokens), and the caches
//! `AppState` holds. Below both `state` and `service`: it knows entities and domain types, not the use cases
//! that fill it (`service::finding_reads`, `service::auth`).

pub mod finding_index;
pub mod memo;
pub mod piece_sample;
pub mod read_cache;

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::page::Page;
use crate::domain::sla::SummaryRow;
use crate::domain::{ProductId, UserId};
use crate::entity::{finding, product, user};
use read_cache::ReadCache;

/// The kept answers of the finding reads: pages (GraphQL), slices (REST) and SLA summaries.
#[derive(Debug, Default)]
pub struct FindingReads {
    pub pages: ReadCache<Arc<Page<Arc<finding::Listed>>>>,
    pub slices: ReadCache<Arc<(u64, Vec<finding::Listed>)>>,
    pub summaries: ReadCache<Arc<Vec<SummaryRow>>>,
}

/// The user behind each request, by user id (`None`: gone), kept the same way.
pub type Identities = ReadCache<Option<user::Model>>;

/// The user of each API token, by the token's digest (`None`: unknown or revoked), kept the same way.
pub type ApiTokens = ReadCache<Option<UserId>>;

/// The products each member may view, by user id, kept the same way.
pub type Memberships = ReadCache<Arc<Vec<ProductId>>>;

/// What requests read beside the findings and that rarely changes, kept until a catalog change
/// (`LiveBus::catalog_changes`) or `read_cache::MAX_AGE`.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Every product, by id (a few hundred bytes each: what a finding's `product` and a REST row's name
    /// read, on every live event a dashboard is sent).
    pub products: ReadCache<Arc<HashMap<ProductId, product::Model>>>,
    /// The system settings' site URL (empty: none set).
    pub site_url: ReadCache<String>,
}
