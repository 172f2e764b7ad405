//! Finding counts and pages shared by identical queries until their answer can change: a committed change in
//! this process (or announced by another instance), the next deadline of an open finding passing, or
//! `read_cache::MAX_AGE` for writes nobody announced (another process on the same SQLite file).
//!
//! A dashboard wall asking `findings(filter: {outsideSla: true}) { totalCount }` thirty times a second costs
//! one index count per change instead of one per request; concurrent identical misses wait for one query.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::finding_index::{IdPage, IndexQuery, Summary, Window, window_of};
use crate::domain::{FindingId, ProductId, Severity, SlaState};
use crate::entity::{finding, listed_rows};
use crate::error::{ServiceError, ServiceResult};
use crate::kept::read_cache::{ReadCache, Timed};
use crate::service::finding_filter::{self, FindingFilter};
use crate::service::finding_index::{self, IndexedColumns};
use crate::service::page::{self, Page, PageRequest};
use crate::service::{Actor, access, text_search};
use crate::state::AppState;

/// The findings the actor may view that match `filter`. An identical earlier answer is reused while nothing
/// changed and no deadline passed (`finding_reads`).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: &FindingFilter,
    request: PageRequest,
) -> ServiceResult<Page<Arc<finding::Listed>>> {
    filter.check()?;
    let now = state.clock.now();
    let key = format!("{}:{}|{filter:?}|{request:?}", actor.user_id, actor.is_superuser);
    kept_answer(state, &state.finding_reads.pages, key, filter, now, || async {
        let mut narrowed = text_search::narrowing(state, filter).await?;
        if let Some(page) = indexed_page(state, actor, filter, narrowed.as_mut(), request, now).await? {
            return Ok(page.map(Arc::new));
        }
        let (select, _turn) = visible_matching(state, actor, filter, narrowed.as_ref(), now).await?;
        let page: Page<finding::Listed> =
            page::fetch(&state.db, select, finding::Column::Id, request, state.config.limits.max_page_size).await?;
        Ok(page.map(Arc::new))
    })
    .await
}

/// `list`'s page from the in-memory finding index, when it can answer the filter (`None`: ask SQL). The index
/// names the ids; their rows are read with the filter applied again, so a row changed in between is left out
/// rather than shown as matching.
async fn indexed_page(
    state: &AppState,
    actor: &Actor,
    filter: &FindingFilter,
    narrowed: Option<&mut text_search::Narrowed>,
    request: PageRequest,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Page<finding::Listed>>> {
    let (size, from_end) = request.size(state.config.limits.max_page_size)?;
    let window = Window {
        after: request.after.map(FindingId::new),
        before: request.before.map(FindingId::new),
        skip: 0,
        size: usize::try_from(size).unwrap_or(usize::MAX),
        from_end,
    };
    let Some(Indexed { total_count, page: ids, query, text }) =
        indexed(state, actor, filter, narrowed, now, request.parts.total_count, request.parts.items.then_some(window))
            .await?
    else {
        return Ok(None);
    };
    let Some(ids) = ids else {
        return Ok(Some(Page { items: Vec::new(), total_count, has_previous_page: false, has_next_page: false }));
    };
    let items = rows_by_id(state, &query, text, now, ids.ids).await?;
    Ok(Some(Page {
        items,
        total_count,
        has_previous_page: if from_end { ids.has_more } else { request.after.is_some() },
        has_next_page: if from_end { request.before.is_some() } else { ids.has_more },
    }))
}

/// What the finding index answered, and the question it was asked (with the text searched for, as SQL).
struct Indexed {
    total_count: u64,
    page: Option<IdPage>,
    query: IndexQuery,
    text: Option<Condition>,
}

/// The count (when `count`) and the ids in `window` of the open findings matching `filter` that the actor may
/// view, from the finding index; `None` when the index cannot answer. A text search the trigram index narrows
/// (`text_search`) is answered here too when the rest of the filter is the index's: see `searched`.
async fn indexed(
    state: &AppState,
    actor: &Actor,
    filter: &FindingFilter,
    narrowed: Option<&mut text_search::Narrowed>,
    now: DateTime<Utc>,
    count: bool,
    window: Option<Window>,
) -> ServiceResult<Option<Indexed>> {
    let searching = filter.search_text().is_some();
    let rest =
        if searching { Cow::Owned(FindingFilter { search: None, ..filter.clone() }) } else { Cow::Borrowed(filter) };
    // No membership read for a filter only SQL answers: it reads them itself.
    if !finding_index::available(state) || !rest.index_may_answer() {
        return Ok(None);
    }
    let visible = access::kept_visible_product_ids(state, actor).await?;
    let Some(query) = rest.index_query(visible.as_deref()) else {
        return Ok(None);
    };
    if searching {
        let Some(narrowed) = narrowed else { return Ok(None) };
        let Some(candidates) = text_search::candidates(state, filter, narrowed, query.scope).await? else {
            return Ok(None);
        };
        return searched(state, filter, query, &candidates, now, count, window).await;
    }
    let at = now.timestamp();
    let answer = finding_index::read(state, |index| {
        let total = if count { index.count(&query, at) } else { 0 };
        (total, window.map(|window| index.page(&query, at, &window)))
    })
    .await?;
    Ok(answer.map(|(total_count, page)| Indexed { total_count, page, query, text: None }))
}

/// `indexed` for a text search: of the trigram index's `candidates`, those the finding index admits, then of
/// those the ones holding the text (read by id), counted and paged here. Most candidates are closed or
/// outside the filter, so most are never read.
async fn searched(
    state: &AppState,
    filter: &FindingFilter,
    query: IndexQuery,
    candidates: &text_search::Candidates,
    now: DateTime<Utc>,
    count: bool,
    window: Option<Window>,
) -> ServiceResult<Option<Indexed>> {
    let at = now.timestamp();
    let Some(admitted) = finding_index::read(state, |index| index.admitted(&query, at, &candidates.ids)).await? else {
        return Ok(None);
    };
    let holding = match candidates.text {
        text_search::CandidateText::Tested => admitted,
        text_search::CandidateText::Untested => {
            // Reading the text of a few thousand findings costs milliseconds; more take a turn, as a scan does,
            // unless the candidates' read took one already.
            let few = admitted.len() as u64 <= text_search::TURNLESS_FINDINGS;
            let _turn = if few || candidates.turn.is_some() { None } else { Some(scan_turn(state).await?) };
            text_search::holding_text(state, filter, &admitted).await?
        }
    };
    let total_count = if count { holding.len() as u64 } else { 0 };
    let page = window.map(|window| window_of(&holding, &window));
    Ok(Some(Indexed { total_count, page, query, text: filter.search_condition() }))
}

/// The findings with `ids` that the index's `query` still admits (a row changed since the index answered is
/// left out rather than shown as matching), in id order. Read by id alone: with the filter's columns beside
/// the ids SQLite may prefer their index and read every breached finding to return twenty.
async fn rows_by_id(
    state: &AppState,
    query: &IndexQuery,
    text: Option<Condition>,
    now: DateTime<Utc>,
    ids: Vec<FindingId>,
) -> ServiceResult<Vec<finding::Listed>> {
    let rows = listed_rows::listed_by_id(&state.db, &ids, text.unwrap_or_else(Condition::all)).await?;
    let at = now.timestamp();
    Ok(rows.into_iter().filter(|row| query.admits_row(&row.indexed_row(), at)).collect())
}

/// A turn to ask SQL for findings the index cannot answer (`AppState::sql_scans`), held until the answer is
/// read. Waits as long as a request waits for a pool connection, then `SERVICE_UNAVAILABLE`: a stream of slow
/// searches cannot take every connection from writers and from the reads the index answers.
pub(crate) async fn scan_turn(state: &AppState) -> ServiceResult<tokio::sync::OwnedSemaphorePermit> {
    let waited = tokio::time::timeout(state.config.db_acquire_timeout, state.sql_scans.clone().acquire_owned()).await;
    match waited {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_closed)) => Err(ServiceError::internal("the scan permits were closed")),
        Err(_elapsed) => Err(ServiceError::Unavailable(
            "too many finding searches are running: try again shortly, or narrow the filter".to_owned(),
        )),
    }
}

/// The findings the actor may view that match `filter` at `now`, and the scan turn held while they are read
/// (`scan_turn`): none for a text search the trigram index narrows to a few findings (`text_search`), which
/// costs milliseconds, not a scan.
async fn visible_matching(
    state: &AppState,
    actor: &Actor,
    filter: &FindingFilter,
    narrowed: Option<&text_search::Narrowed>,
    now: DateTime<Utc>,
) -> ServiceResult<(sea_orm::Select<finding::Entity>, Option<tokio::sync::OwnedSemaphorePermit>)> {
    let mut matching = filter.condition(now);
    if let Some(visible) = access::visible_products(actor, finding::Column::ProductId) {
        matching = matching.add(visible);
    }
    let select = finding::Entity::find();
    Ok(match narrowed {
        Some(narrowed) => {
            let turn = if narrowed.few { None } else { Some(scan_turn(state).await?) };
            let backend = state.db.get_database_backend();
            (select.filter(narrowed.condition()).filter(text_search::tested_on_each(backend, matching)), turn)
        }
        None => (select.filter(matching), Some(scan_turn(state).await?)),
    })
}

/// `fetch`'s answer to `filter` at `now`, shared through `cache` under `key` (`finding_reads`) unless the
/// filter is on SLA states (approaching thresholds are not indexed, so their next crossing is not cheap to
/// find; `outsideSla`'s is).
async fn kept_answer<T, F, Fut>(
    state: &AppState,
    cache: &ReadCache<Arc<T>>,
    key: String,
    filter: &FindingFilter,
    now: DateTime<Utc>,
    fetch: F,
) -> ServiceResult<T>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ServiceResult<T>>,
{
    let generation = state.live.changes();
    if filter.sla_states.is_some() || !state.config.kept_answers {
        return fetch().await;
    }
    let kept = cache
        .get_or_compute(key, generation, now.timestamp(), || async {
            let value = fetch().await?;
            Ok(Timed { value: Arc::new(value), valid_until: next_crossing(&state.db, filter, now).await? })
        })
        .await?;
    Ok(Arc::unwrap_or_clone(kept))
}

/// The first instant after `now` at which `filter`'s answer may change by time alone: the next deadline of
/// an open finding, when the filter looks at deadlines relative to now.
async fn next_crossing<C: ConnectionTrait>(
    conn: &C,
    filter: &FindingFilter,
    now: DateTime<Utc>,
) -> ServiceResult<Option<i64>> {
    if filter.outside_sla.is_none() {
        return Ok(None);
    }
    let next: Option<Option<i64>> = finding::Entity::find()
        .select_only()
        .column_as(finding::Column::SlaDeadline.min(), "next")
        .filter(finding::Column::IsOpen.eq(true))
        .filter(finding::Column::SlaDeadline.gt(now.timestamp()))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(next.flatten())
}

/// A DRF-style slice of the findings the actor may view that match `filter`: the total and the rows
/// `offset..offset + limit` in id order, with the columns a list shows (the REST `/api/v2/findings/`).
pub async fn slice(
    state: &AppState,
    actor: &Actor,
    filter: &FindingFilter,
    limit: u64,
    offset: u64,
) -> ServiceResult<(u64, Vec<finding::Listed>)> {
    use sea_orm::{PaginatorTrait, QueryOrder};
    filter.check()?;
    let now = state.clock.now();
    let key = format!("{}:{}|{filter:?}|{limit}+{offset}", actor.user_id, actor.is_superuser);
    kept_answer(state, &state.finding_reads.slices, key, filter, now, || async {
        let window = Window {
            skip: usize::try_from(offset).unwrap_or(usize::MAX),
            size: usize::try_from(limit).unwrap_or(usize::MAX),
            ..Window::default()
        };
        let mut narrowed = text_search::narrowing(state, filter).await?;
        if let Some(Indexed { total_count, page: Some(page), query, text }) =
            indexed(state, actor, filter, narrowed.as_mut(), now, true, Some(window)).await?
        {
            return Ok((total_count, rows_by_id(state, &query, text, now, page.ids).await?));
        }
        let (select, _turn) = visible_matching(state, actor, filter, narrowed.as_ref(), now).await?;
        let count = select.clone().count(&state.db).await?;
        let rows = if offset >= count {
            Vec::new()
        } else {
            let page = select.order_by_asc(finding::Column::Id).offset(offset).limit(limit);
            page.into_partial_model().all(&state.db).await?
        };
        Ok((count, rows))
    })
    .await
}

pub use crate::domain::sla::SummaryRow;

/// Counts of visible findings by severity and SLA state: every combination, zeros included, so a
/// dashboard can draw a fixed grid.
pub async fn sla_summary(
    state: &AppState,
    actor: &Actor,
    product_id: Option<ProductId>,
) -> ServiceResult<Vec<SummaryRow>> {
    if let Some(id) = product_id {
        access::product_role(&state.db, actor, id).await?;
    }
    let generation = state.live.changes();
    let now = state.clock.now();
    if !state.config.kept_answers {
        return Ok(count_by_severity_and_state(state, actor, product_id, now).await?.value.as_ref().clone());
    }
    let key = format!("{}:{}|{product_id:?}", actor.user_id, actor.is_superuser);
    let rows = state
        .finding_reads
        .summaries
        .get_or_compute(key, generation, now.timestamp(), || count_by_severity_and_state(state, actor, product_id, now))
        .await?;
    Ok(rows.as_ref().clone())
}

/// Severity, state, count, and the next deadline and approaching threshold of the group's open findings.
type SummaryGroup = (String, String, i64, Option<i64>, Option<i64>);

/// The summary's one scan: counts per severity and state, and when the first open finding will cross its
/// approaching threshold or deadline (the answer's validity).
async fn count_by_severity_and_state(
    state: &AppState,
    actor: &Actor,
    product_id: Option<ProductId>,
    now: DateTime<Utc>,
) -> ServiceResult<Timed<Arc<Vec<SummaryRow>>>> {
    use sea_orm::sea_query::Expr;
    if let Some(summary) = indexed_summary(state, actor, product_id, now).await? {
        return Ok(Timed { value: Arc::new(summary_rows(&summary.counts)), valid_until: summary.next_change });
    }
    let filter = FindingFilter { product_id, ..FindingFilter::default() };
    let (select, _turn) = visible_matching(state, actor, &filter, None, now).await?;
    let at = now.timestamp();
    // `at` is an integer of ours, not input: safe to inline.
    let next = |column: &str| {
        Expr::cust(format!("CAST(MIN(CASE WHEN is_open AND {column} > {at} THEN {column} END) AS BIGINT)"))
    };
    let counted: Vec<SummaryGroup> = select
        .select_only()
        .column(finding::Column::Severity)
        .column_as(Expr::cust(finding_filter::state_case_sql(now)), "sla_state")
        .column_as(finding::Column::Id.count(), "n")
        .column_as(next("sla_deadline"), "next_deadline")
        .column_as(next("sla_approaching_at"), "next_approaching")
        .group_by(finding::Column::Severity)
        .group_by(Expr::cust("sla_state"))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut counts: HashMap<(Severity, SlaState), u64> = HashMap::new();
    let mut valid_until: Option<i64> = None;
    for (severity, state_name, n, next_deadline, next_approaching) in counted {
        let severity: Severity = severity.parse().map_err(ServiceError::internal)?;
        let state: SlaState = state_name.parse().map_err(ServiceError::internal)?;
        *counts.entry((severity, state)).or_default() += u64::try_from(n).unwrap_or(0);
        valid_until = [valid_until, next_deadline, next_approaching].into_iter().flatten().min();
    }
    Ok(Timed { value: Arc::new(summary_rows(&counts)), valid_until })
}

/// Every severity and state with its count, zeros included.
fn summary_rows(counts: &HashMap<(Severity, SlaState), u64>) -> Vec<SummaryRow> {
    Severity::ALL
        .iter()
        .flat_map(|&severity| SlaState::ALL.iter().map(move |&state| (severity, state)))
        .map(|(severity, state)| SummaryRow {
            severity,
            state,
            count: counts.get(&(severity, state)).copied().unwrap_or(0),
        })
        .collect()
}

/// The summary from the finding index (`None` where there is none).
async fn indexed_summary(
    state: &AppState,
    actor: &Actor,
    product_id: Option<ProductId>,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Summary>> {
    if !finding_index::available(state) {
        return Ok(None);
    }
    // A product asked for was checked by `sla_summary` (`access::product_role`): no membership read then.
    let visible = match product_id {
        Some(_) => None,
        None => access::kept_visible_product_ids(state, actor).await?,
    };
    let products = finding_filter::looked_at(product_id, visible.as_deref());
    finding_index::read(state, |index| index.summary(products.as_deref(), now.timestamp())).await
}
