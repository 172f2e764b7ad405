//! Keyset pagination by id (Relay `first/after`, `last/before`) with a total count.

use sea_orm::sea_query::Order;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, PartialModelTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

use crate::error::{ServiceError, ServiceResult};

/// What a client asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest {
    pub first: Option<i32>,
    pub after: Option<i32>,
    pub last: Option<i32>,
    pub before: Option<i32>,
    pub parts: PageParts,
}

/// The parts of a page the client reads; a part nobody reads is not queried (a dashboard asking only for
/// `totalCount` costs one index count, not a count and a page of rows).
#[derive(Debug, Clone, Copy)]
pub struct PageParts {
    pub total_count: bool,
    /// The rows and whether there are more.
    pub items: bool,
}

impl Default for PageParts {
    fn default() -> Self {
        Self { total_count: true, items: true }
    }
}

pub use crate::domain::page::Page;

/// Used when the client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

impl PageRequest {
    /// Validates the sizes against the maximum page size.
    pub fn size(&self, max: u64) -> ServiceResult<(u64, bool)> {
        let check = |name: &str, value: i32| -> ServiceResult<u64> {
            u64::try_from(value)
                .ok()
                .filter(|v| (1..=max).contains(v))
                .ok_or_else(|| ServiceError::bad_input(format!("`{name}` must be between 1 and {max}, got {value}")))
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(ServiceError::bad_input("pass either `first` or `last`, not both")),
            (Some(first), None) => Ok((check("first", first)?, false)),
            (None, Some(last)) => Ok((check("last", last)?, true)),
            (None, None) => Ok((DEFAULT_PAGE_SIZE.min(max), false)),
        }
    }
}

/// Runs `select` (already filtered) as a page ordered by `id_column`, each row read as `Row`: the entity's
/// model, or a partial one when the page shows only some columns.
pub async fn fetch<E, Row, C>(
    conn: &C,
    select: Select<E>,
    id_column: E::Column,
    request: PageRequest,
    max_page_size: u64,
) -> ServiceResult<Page<Row>>
where
    E: EntityTrait,
    E::Model: Sync,
    Row: PartialModelTrait + Send + Sync,
    C: ConnectionTrait,
{
    let (size, from_end) = request.size(max_page_size)?;
    let total_count = if request.parts.total_count { select.clone().count(conn).await? } else { 0 };
    if !request.parts.items {
        return Ok(Page { items: Vec::new(), total_count, has_previous_page: false, has_next_page: false });
    }
    let mut window = select;
    if let Some(after) = request.after {
        window = window.filter(id_column.gt(after));
    }
    if let Some(before) = request.before {
        window = window.filter(id_column.lt(before));
    }
    let order = if from_end { Order::Desc } else { Order::Asc };
    let mut rows = window.order_by(id_column, order).limit(size + 1).into_partial_model::<Row>().all(conn).await?;
    let has_more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if from_end {
        rows.reverse();
    }
    Ok(Page {
        items: rows,
        total_count,
        has_previous_page: if from_end { has_more } else { request.after.is_some() },
        has_next_page: if from_end { request.before.is_some() } else { has_more },
    })
}
