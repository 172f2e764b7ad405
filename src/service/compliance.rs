//! The SLA compliance report: reads the findings that can count in a period (one query) and hands them to
//! `domain::compliance`.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::compliance::{self, Compliance, Period, ReportFinding};
use crate::domain::{ProductId, Severity};
use crate::entity::{finding, product, sla_configuration, system_settings};
use crate::error::{ServiceError, ServiceResult};
use crate::service::finding_sla::instant;
use crate::service::sla_profile_history::{self, ProfileChange};
use crate::service::{Actor, access, products};
use crate::state::AppState;

/// What a report is asked for: a product (or every product the actor may view) and a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    pub product_id: Option<ProductId>,
    pub period: Period,
}

/// A computed report with its product, and what its cover states.
#[derive(Debug, Clone)]
pub struct ComplianceReport {
    pub product: Option<product::Model>,
    pub compliance: Compliance,
    /// The organisation (the system settings' team name).
    pub organisation: String,
    /// Who asked for it: the requesting user, or the schedule's owner (a scheduled report runs as them).
    pub prepared_by: String,
    /// The SLA profiles applied to the report's products, as configured now.
    pub profiles: Vec<AppliedProfile>,
    /// Changes of those profiles during the period (days changed, a product moved), oldest first.
    pub profile_changes: Vec<ProfileChange>,
}

/// An SLA configuration applied to products of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedProfile {
    pub name: String,
    /// Days per severity with an SLA; `None` where the configuration does not enforce one.
    pub days: Vec<(Severity, Option<i32>)>,
    /// The report's products on it, by name.
    pub products: Vec<String>,
}

/// The period from `from`/`to` (inclusive days) or a `quarter` such as `2026-Q1`; exactly one of the two.
pub fn period_of(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    quarter: Option<&str>,
    now: DateTime<Utc>,
) -> ServiceResult<Period> {
    let period = match (from, to, quarter) {
        (None, None, Some(text)) => parse_quarter(text)?,
        (Some(from), Some(to), None) => Period::of_days(from, to).ok_or_else(|| {
            ServiceError::bad_input(format!("the period is inverted: `to` ({to}) is before `from` ({from})"))
        })?,
        (_, _, Some(_)) => return Err(ServiceError::bad_input("give either `quarter` or `from` and `to`, not both")),
        _ => return Err(ServiceError::bad_input("give the period: `from` and `to` (days, inclusive) or `quarter`")),
    };
    if period.start > now {
        return Err(ServiceError::bad_input(format!(
            "the period starts on {}, in the future",
            period.start.date_naive()
        )));
    }
    Ok(period)
}

/// `2026-Q1` (or `2026 Q1`; the year comes first).
fn parse_quarter(text: &str) -> ServiceResult<Period> {
    let invalid = || ServiceError::bad_input(format!("{text:?} is not a quarter: write it like 2026-Q1"));
    let (year, quarter) = text.trim().split_once(['-', ' ']).unwrap_or((text.trim(), ""));
    let quarter = quarter.trim().strip_prefix(['Q', 'q']).ok_or_else(invalid)?;
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let quarter: u32 = quarter.parse().map_err(|_| invalid())?;
    if !(1970..=9999).contains(&year) {
        return Err(invalid());
    }
    Period::quarter(year, quarter).ok_or_else(invalid)
}

/// Computes the report. A product the actor may not view is `NOT_FOUND`, as everywhere.
pub async fn compliance(state: &AppState, actor: &Actor, scope: &ReportScope) -> ServiceResult<ComplianceReport> {
    let product = match scope.product_id {
        Some(id) => {
            access::product_role(&state.db, actor, id).await?;
            Some(products::get_unchecked(&state.db, id).await?)
        }
        None => None,
    };
    let period = scope.period;
    // Only rows that can count or be "opened": reported before the end, not remediated before the start.
    let mut select = finding::Entity::find()
        .filter(finding::Column::SlaStart.lt(period.end.timestamp()))
        .filter(
            Condition::any()
                .add(finding::Column::MitigatedAt.is_null())
                .add(finding::Column::MitigatedAt.gte(period.start.timestamp())),
        )
        .order_by_asc(finding::Column::Id);
    if let Some(id) = scope.product_id {
        select = select.filter(finding::Column::ProductId.eq(id));
    }
    if let Some(condition) = access::visible_products(actor, finding::Column::ProductId) {
        select = select.filter(condition);
    }
    let rows = select.all(&state.db).await?;
    let findings = rows.iter().map(report_finding).collect::<ServiceResult<Vec<_>>>()?;
    let compliance = compliance::compute(&findings, period, state.clock.now(), &compliance::default_targets());
    let organisation = system_settings::Entity::find().one(&state.db).await?.map(|s| s.team_name).unwrap_or_default();
    let (profiles, profile_changes) = applied_profiles(state, actor, scope.product_id, period).await?;
    Ok(ComplianceReport {
        product,
        compliance,
        organisation,
        prepared_by: actor.username.clone(),
        profiles,
        profile_changes,
    })
}

/// The SLA configurations of the report's products (the one product, or every product the actor may view),
/// each with the products on it, and their changes during `period`.
async fn applied_profiles(
    state: &AppState,
    actor: &Actor,
    product_id: Option<ProductId>,
    period: Period,
) -> ServiceResult<(Vec<AppliedProfile>, Vec<ProfileChange>)> {
    let mut products = product::Entity::find().order_by_asc(product::Column::Name);
    if let Some(id) = product_id {
        products = products.filter(product::Column::Id.eq(id));
    }
    if let Some(condition) = access::visible_products(actor, product::Column::Id) {
        products = products.filter(condition);
    }
    let products = products.all(&state.db).await?;
    let configurations = sla_configuration::Entity::find()
        .filter(sla_configuration::Column::Id.is_in(products.iter().map(|p| p.sla_configuration_id)))
        .order_by_asc(sla_configuration::Column::Name)
        .all(&state.db)
        .await?;
    let product_ids: Vec<ProductId> = products.iter().map(|p| p.id).collect();
    let configuration_ids: Vec<_> = configurations.iter().map(|c| c.id).collect();
    let changes = sla_profile_history::changes_in(&state.db, period, &product_ids, &configuration_ids).await?;
    let profiles = configurations
        .into_iter()
        .map(|c| AppliedProfile {
            days: vec![
                (Severity::Critical, c.enforce_critical.then_some(c.critical_days)),
                (Severity::High, c.enforce_high.then_some(c.high_days)),
                (Severity::Medium, c.enforce_medium.then_some(c.medium_days)),
                (Severity::Low, c.enforce_low.then_some(c.low_days)),
            ],
            products: products.iter().filter(|p| p.sla_configuration_id == c.id).map(|p| p.name.clone()).collect(),
            name: c.name,
        })
        .collect();
    Ok((profiles, changes))
}

fn report_finding(row: &finding::Model) -> ServiceResult<ReportFinding> {
    let severity = row.severity;
    Ok(ReportFinding {
        id: row.id,
        title: row.title.clone(),
        reference: row.external_reference.clone(),
        severity,
        reported_at: instant(row.sla_start).ok_or_else(|| ServiceError::internal("SLA start out of range"))?,
        deadline: row.sla_deadline.and_then(instant),
        remediated_at: row.mitigated_at.filter(|_| row.is_mitigated).and_then(instant),
        closed_unremediated: !row.is_open && !row.is_mitigated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-10T12:00:00Z").expect("valid").with_timezone(&Utc)
    }

    #[test]
    fn periods_come_from_days_or_a_quarter_and_bad_ones_are_refused() {
        let q1 = period_of(None, None, Some("2026-Q1"), now()).expect("quarter");
        assert_eq!(q1, Period::quarter(2026, 1).expect("valid"));
        let days = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid");
        let march = period_of(Some(days("2026-03-01")), Some(days("2026-03-31")), None, now()).expect("days");
        assert_eq!(march.last_day(), days("2026-03-31"));
        for (from, to, quarter) in [
            (Some(days("2026-03-31")), Some(days("2026-03-01")), None),
            (None, None, None),
            (Some(days("2026-03-01")), None, None),
            (Some(days("2026-03-01")), Some(days("2026-03-02")), Some("2026-Q1")),
            (None, None, Some("2026-Q5")),
            (None, None, Some("Q1")),
            (None, None, Some("2027-Q1")),
        ] {
            assert!(
                matches!(period_of(from, to, quarter, now()), Err(ServiceError::BadInput(_))),
                "{from:?} {to:?} {quarter:?}"
            );
        }
    }
}
