//! `slaTrend`: per interval and severity, the findings open past their deadline, opened and remediated —
//! what the dashboard's chart draws.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, parse_id};
use super::types::Date;
use super::types::enums::Severity;
use crate::domain::sla_trend::{TrendCounts, TrendPoint};
use crate::service::sla_trend::{self, TrendScope};

#[derive(Default)]
pub struct TrendQuery;

#[Object]
impl TrendQuery {
    /// Per interval of the days `from`..`to` (inclusive, UTC; `to` at most today, at most 366 intervals) and
    /// per severity with an SLA: the findings open past their deadline at the interval's end (today's: now),
    /// and those opened and remediated in it. One product (`NOT_FOUND` unless you may view it), or every
    /// product you may view. Definitions: README, "SLA trends".
    async fn sla_trend(
        &self,
        ctx: &Context<'_>,
        product_id: Option<ID>,
        from: Date,
        to: Date,
        interval: TrendInterval,
    ) -> Result<Vec<SlaTrendPoint>> {
        let product_id = product_id.map(|id| parse_id(&id)).transpose()?;
        let scope = TrendScope { product_id, from: from.0, to: to.0, interval: interval.into() };
        let points = sla_trend::sla_trend(ctx.state()?, ctx.actor()?, scope).await?;
        Ok(points.into_iter().map(SlaTrendPoint::from).collect())
    }
}

/// How long each interval of a trend is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::sla_trend::TrendInterval")]
pub enum TrendInterval {
    Day,
    /// Seven days from `from` (the last interval ends with the period).
    Week,
}

/// One interval of a trend: `[start, end)`.
#[derive(SimpleObject)]
pub struct SlaTrendPoint {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// One entry per severity with an SLA (CRITICAL, HIGH, MEDIUM, LOW), in that order.
    pub by_severity: Vec<SlaTrendCounts>,
}

/// One severity's figures in one interval of a trend.
#[derive(SimpleObject)]
pub struct SlaTrendCounts {
    pub severity: Severity,
    /// Open past their deadline at the interval's end (for today's interval: now).
    pub breached: u64,
    /// Reported (SLA start) in the interval.
    pub opened: u64,
    /// Remediated (mitigated) in the interval.
    pub remediated: u64,
}

impl From<TrendPoint> for SlaTrendPoint {
    fn from(point: TrendPoint) -> Self {
        let by_severity = point
            .by_severity
            .into_iter()
            .map(|(severity, TrendCounts { breached, opened, remediated })| SlaTrendCounts {
                severity: severity.into(),
                breached,
                opened,
                remediated,
            })
            .collect();
        Self { start: point.start, end: point.end, by_severity }
    }
}
