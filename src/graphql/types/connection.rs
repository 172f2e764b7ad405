//! Relay connections with `totalCount`, built from a service `Page`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::service::page::Page;

/// Extra fields on every connection.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// How many items match, across all pages.
    pub total_count: u64,
}

/// A connection whose cursors are the items' ids.
pub fn connection<M, N: OutputType, Id: std::fmt::Display>(
    page: Page<M>,
    id_of: impl Fn(&M) -> Id,

    node: impl Fn(M) -> N,
) -> Connection<String, N, TotalCount> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        TotalCount { total_count: page.total_count },
    );
    connection.edges.extend(page.items.into_iter().map(|item| Edge::new(id_of(&item).to_string(), node(item))));
    connection
}
