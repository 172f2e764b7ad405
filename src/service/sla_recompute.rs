//! Set-based recomputation of stored SLA columns after a configuration change: one UPDATE, in the
//! caller's transaction, whatever the number of findings.
//!
//! The SQL below is `domain::sla::schedule` written as integer arithmetic on epoch seconds; the integration
//! test `recomputation_agrees_with_the_domain_formula` checks both give the same columns.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::domain::sla::SECONDS_PER_DAY;
use crate::domain::{ProductId, Severity, SlaConfigurationId, SlaPolicy};
use crate::entity::{finding, product};

/// Which findings a policy change affects.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Every product using this configuration.
    Configuration(SlaConfigurationId),
    /// One product (its configuration was switched).
    Product(ProductId),
}

/// Whether two policies give different stored deadlines or threshold instants.
#[must_use]
pub fn deadlines_differ(before: &SlaPolicy, after: &SlaPolicy) -> bool {
    after.changed_periods(before).next().is_some() || before.thresholds.largest() != after.thresholds.largest()
}

/// Rewrites `sla_deadline`, `sla_expiration_day`, `sla_approaching_at` and `next_sla_event_at` of every
/// finding in `scope` from `policy`. Returns the number of findings touched.
pub async fn recompute<C: ConnectionTrait>(conn: &C, policy: &SlaPolicy, scope: Scope) -> Result<u64, DbErr> {
    let largest = policy.thresholds.largest();
    let deadline = by_severity(policy, deadline_sql);
    let expiration = by_severity(policy, expiration_sql);
    let approaching = by_severity(policy, |days| approaching_sql(days, largest));
    let next_event = by_severity(policy, |days| {
        let first = if largest.is_some() { approaching_sql(days, largest) } else { deadline_sql(days) };
        format!("CASE WHEN is_open THEN {first} ELSE NULL END")
    });
    let update = finding::Entity::update_many()
        .col_expr(finding::Column::SlaDeadline, Expr::cust(deadline))
        .col_expr(finding::Column::SlaExpirationDay, Expr::cust(expiration))
        .col_expr(finding::Column::SlaApproachingAt, Expr::cust(approaching))
        .col_expr(finding::Column::NextSlaEventAt, Expr::cust(next_event));
    let update = match scope {
        Scope::Product(id) => update.filter(finding::Column::ProductId.eq(id)),
        Scope::Configuration(id) => update.filter(
            finding::Column::ProductId.in_subquery(
                Query::select()
                    .column(product::Column::Id)
                    .from(product::Entity)
                    .and_where(Expr::col(product::Column::SlaConfigurationId).eq(id))
                    .to_owned(),
            ),
        ),
    };
    Ok(update.exec(conn).await?.rows_affected)
}

/// `CASE severity WHEN 'Critical' THEN … END`, with no branch (NULL) for severities without an SLA.
fn by_severity(policy: &SlaPolicy, expression: impl Fn(i64) -> String) -> String {
    let branches: String = Severity::WITH_SLA
        .iter()
        .filter_map(|&s| {
            policy.period_days(s).map(|days| format!(" WHEN '{}' THEN {}", s.as_str(), expression(i64::from(days))))
        })
        .collect();
    if branches.is_empty() { "NULL".to_owned() } else { format!("CASE severity{branches} ELSE NULL END") }
}

/// Instant start: start + days; date start: midnight after the expiration date.
fn deadline_sql(days: i64) -> String {
    format!("(sla_start + ({days} + CASE WHEN sla_start_is_date THEN 1 ELSE 0 END) * {SECONDS_PER_DAY})")
}

/// The epoch day of the expiration date.
fn expiration_sql(days: i64) -> String {
    format!(
        "(CASE WHEN sla_start_is_date THEN sla_start / {SECONDS_PER_DAY} + {days} \
         ELSE (sla_start + {days} * {SECONDS_PER_DAY}) / {SECONDS_PER_DAY} END)"
    )
}

/// deadline − p % × period, exact: days × 86400 × p / 100 = days × 864 × p.
fn approaching_sql(days: i64, largest_threshold: Option<u8>) -> String {
    match largest_threshold {
        Some(percent) => format!("({} - {})", deadline_sql(days), days * 864 * i64::from(percent)),
        None => "NULL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unenforced_severities_get_no_branch() {
        let mut policy = SlaPolicy::runbook_default();
        policy.low.enforced = false;
        let sql = by_severity(&policy, deadline_sql);
        assert!(sql.contains("'Critical'") && sql.contains("'Medium'"));
        assert!(!sql.contains("'Low'") && !sql.contains("'Info'"));
    }

    #[test]
    fn only_period_or_first_threshold_changes_need_recomputation() {
        let before = SlaPolicy::runbook_default();
        let mut after = before.clone();
        after.restart_sla_on_reactivation = true;
        assert!(!deadlines_differ(&before, &after));
        after.high.days = crate::domain::SlaDays::new(5).expect("valid");
        assert!(deadlines_differ(&before, &after));
    }
}
