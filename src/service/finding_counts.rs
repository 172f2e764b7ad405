//! Open and breached finding counts per product and severity, as `/metrics` reports them at each scrape.
//! "Breached" is `outsideSla` (open, and at or past the deadline), so the gauges equal
//! `findings(filter: {outsideSla: true})` per severity (the metrics test compares them).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::{ProductId, Severity, SlaState};
use crate::entity::{finding, product};
use crate::error::ServiceResult;
use crate::service::finding_index;
use crate::state::AppState;

/// One product's open findings of one severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    /// The product's name (its id when the product went meanwhile).
    pub product: String,
    pub severity: Severity,
    pub open: i64,
    /// Open and at or past the deadline.
    pub breached: i64,
    /// Open, past an SLA threshold and not yet at the deadline (the SLA state `APPROACHING`).
    pub approaching: i64,
}

/// A product id, a severity, and its open, breached and approaching counts.
type CountRow = (ProductId, Severity, i64, Option<i64>, Option<i64>);

/// The counts of every product with open findings, at the clock's instant: from the finding index when it is
/// loaded (a walk of every open row in SQL took 0.35–1.4 s a scrape at 1–1.6 million findings, BENCHMARKS
/// "Statements prepared once"), else from SQL.
pub async fn open_and_breached(state: &AppState) -> ServiceResult<Vec<OpenCount>> {
    let now = state.clock.now().timestamp();
    let indexed = finding_index::read(state, |index| index.open_counts(now)).await?;
    let rows = match indexed {
        Some(counts) => counts
            .into_iter()
            .map(|counts| {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let (open, breached, approaching) =
                    (count(counts.open), count(counts.breached), count(counts.approaching));
                (counts.product_id, counts.severity, open, Some(breached), Some(approaching))
            })
            .collect(),
        None => counted_in_sql(state, state.clock.now()).await?,
    };
    let names: HashMap<ProductId, String> = product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::Name)
        .into_tuple()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(product_id, severity, open, breached, approaching)| OpenCount {
            product: names.get(&product_id).cloned().unwrap_or_else(|| product_id.to_string()),
            severity,
            open,
            breached: breached.unwrap_or(0),
            approaching: approaching.unwrap_or(0),
        })
        .collect())
}

/// The counts per product and severity at `now`, from SQL.
async fn counted_in_sql(state: &AppState, now: DateTime<Utc>) -> ServiceResult<Vec<CountRow>> {
    // `now` is an integer of ours, not input: safe to inline.
    let past_deadline = crate::service::finding_filter::past_deadline_sql(now.timestamp());
    let breached_sql = Expr::cust(format!("CAST(SUM(CASE WHEN {past_deadline} THEN 1 ELSE 0 END) AS BIGINT)"));
    // The one SQL form of the SLA state (held to `domain::sla::state` by the SLA tests).
    let state_sql = crate::service::finding_filter::state_case_sql(now);
    let approaching = SlaState::Approaching.as_str();
    let approaching_sql =
        Expr::cust(format!("CAST(SUM(CASE WHEN ({state_sql}) = '{approaching}' THEN 1 ELSE 0 END) AS BIGINT)"));
    let rows: Vec<CountRow> = finding::Entity::find()
        .select_only()
        .column(finding::Column::ProductId)
        .column(finding::Column::Severity)
        .column_as(finding::Column::Id.count(), "open_count")
        .column_as(breached_sql, "breached_count")
        .column_as(approaching_sql, "approaching_count")
        .filter(finding::Column::IsOpen.eq(true))
        .group_by(finding::Column::ProductId)
        .group_by(finding::Column::Severity)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows)
}
