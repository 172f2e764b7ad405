//! `slaTrend`: reads the findings that count in a period (four columns each, one query, after a scan turn
//! like the other scanning reads) and hands them to `domain::sla_trend`.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::sla_trend::{self, TrendFinding, TrendInterval, TrendPoint};
use crate::domain::{ProductId, Severity};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::service::finding_reads::scan_turn;
use crate::service::{Actor, access};
use crate::state::AppState;

/// A finding's severity, SLA start, deadline, mitigation instant and whether it is mitigated.
type TrendRow = (Severity, i64, Option<i64>, Option<i64>, bool);

/// What a trend is asked for: a product (or every product the actor may view), the days `from..=to` (UTC,
/// `to` at most today) and the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendScope {
    pub product_id: Option<ProductId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub interval: TrendInterval,
}

/// The trend. A product the actor may not view is `NOT_FOUND`, as everywhere; without a product, the
/// products the actor may view.
pub async fn sla_trend(state: &AppState, actor: &Actor, scope: TrendScope) -> ServiceResult<Vec<TrendPoint>> {
    if let Some(id) = scope.product_id {
        access::product_role(&state.db, actor, id).await?;
    }
    let now = state.clock.now();
    if scope.to > now.date_naive() {
        return Err(ServiceError::bad_input(format!(
            "the period ends on {}, after today ({}): a trend shows what happened",
            scope.to,
            now.date_naive()
        )));
    }
    let intervals = sla_trend::intervals(scope.from, scope.to, scope.interval)
        .map_err(|err| ServiceError::bad_input(err.to_string()))?;
    let (Some(&(start, _)), Some(&(_, end))) = (intervals.first(), intervals.last()) else {
        return Ok(Vec::new());
    };
    // The findings with an SLA reported before the period's end that were open, or remediated in or
    // after it: the only ones that can be breached at an interval's end, or opened or remediated in one.
    let mut select = finding::Entity::find()
        .select_only()
        .columns([
            finding::Column::Severity,
            finding::Column::SlaStart,
            finding::Column::SlaDeadline,
            finding::Column::MitigatedAt,
            finding::Column::IsMitigated,
        ])
        .filter(finding::Column::SlaDeadline.is_not_null())
        .filter(finding::Column::SlaStart.lt(end))
        .filter(Condition::any().add(finding::Column::IsOpen.eq(true)).add(
            Condition::all().add(finding::Column::IsMitigated.eq(true)).add(finding::Column::MitigatedAt.gte(start)),
        ));
    if let Some(id) = scope.product_id {
        select = select.filter(finding::Column::ProductId.eq(id));
    }
    if let Some(condition) = access::visible_products(actor, finding::Column::ProductId) {
        select = select.filter(condition);
    }
    let _turn = scan_turn(state).await?;
    let rows: Vec<TrendRow> = select.into_tuple().all(&state.db).await?;
    let findings: Vec<TrendFinding> = rows
        .into_iter()
        .filter_map(|(severity, reported_at, deadline, mitigated_at, is_mitigated)| {
            Some(TrendFinding {
                severity,
                reported_at,
                deadline: deadline?,
                remediated_at: mitigated_at.filter(|_| is_mitigated),
            })
        })
        .collect();
    Ok(sla_trend::trend(&intervals, &findings, now.timestamp()))
}
