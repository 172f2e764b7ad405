//! Between stored finding rows and the SLA domain: the columns to store, and the schedule read back.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::sla::{self, SECONDS_PER_DAY, SlaSchedule, SlaStart};
use crate::domain::{FindingStatus, Severity, SlaPolicy};
use crate::entity::finding;

/// The derived SLA columns of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaColumns {
    pub deadline: Option<i64>,
    pub expiration_day: Option<i64>,
    pub approaching_at: Option<i64>,
    pub next_event_at: Option<i64>,
}

/// Computes the columns for a finding from its start, severity, policy and openness.
#[must_use]
pub fn columns(start: SlaStart, severity: Severity, policy: &SlaPolicy, is_open: bool) -> SlaColumns {
    let Some(schedule) = sla::schedule(start, policy.period_days(severity), policy.thresholds.largest()) else {
        return SlaColumns::default();
    };
    let deadline = schedule.deadline.timestamp();
    let approaching_at = schedule.approaching_at.map(|at| at.timestamp());
    SlaColumns {
        deadline: Some(deadline),
        expiration_day: Some(epoch_day(schedule.expiration_date)),
        approaching_at,
        next_event_at: is_open.then_some(approaching_at.unwrap_or(deadline)),
    }
}

/// Days since 1970-01-01.
#[must_use]
pub fn epoch_day(date: NaiveDate) -> i64 {
    date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp().div_euclid(SECONDS_PER_DAY)
}

/// The date of an epoch day.
#[must_use]
pub fn date_of_epoch_day(day: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(day.checked_mul(SECONDS_PER_DAY)?, 0).map(|at| at.date_naive())
}

/// An instant from stored epoch seconds.
#[must_use]
pub fn instant(epoch_seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(epoch_seconds, 0)
}

/// What a stored finding's SLA is read from: the same columns in a whole row (`finding::Model`) and in a
/// listed one (`finding::Listed`), so one macro implements it for both.
pub trait StoredSla {
    /// The lifecycle flags.
    fn status(&self) -> FindingStatus;
    /// The SLA columns.
    fn stored_schedule(&self) -> StoredSchedule;
}

macro_rules! stored_sla {
    ($($row:ty),+) => {$(
        impl StoredSla for $row {
            fn status(&self) -> FindingStatus {
                FindingStatus {
                    active: self.active,
                    verified: self.verified,
                    is_mitigated: self.is_mitigated,
                    mitigated_at: self.mitigated_at.and_then(instant),
                    false_positive: self.false_p,
                    duplicate: self.duplicate,
                    out_of_scope: self.out_of_scope,
                    risk_accepted: self.risk_accepted,
                }
            }

            fn stored_schedule(&self) -> StoredSchedule {
                StoredSchedule {
                    start: self.sla_start,
                    start_is_date: self.sla_start_is_date,
                    deadline: self.sla_deadline,
                    expiration_day: self.sla_expiration_day,
                    approaching_at: self.sla_approaching_at,
                }
            }
        }
    )+};
}

stored_sla!(finding::Model, finding::Listed);

/// The lifecycle flags of a stored finding.
#[must_use]
pub fn status(row: &impl StoredSla) -> FindingStatus {
    row.status()
}

/// Where the stored finding's clock starts.
#[must_use]
pub fn start(model: &finding::Model) -> Option<SlaStart> {
    SlaStart::from_stored(model.sla_start, model.sla_start_is_date)
}

/// The stored schedule, read back (no policy needed).
#[must_use]
pub fn schedule(row: &impl StoredSla) -> Option<SlaSchedule> {
    row.stored_schedule().read()
}

/// A finding's stored SLA columns, however they were read (a whole row, or the few an insert returns).
#[derive(Debug, Clone, Copy)]
pub struct StoredSchedule {
    pub start: i64,
    pub start_is_date: bool,
    pub deadline: Option<i64>,
    pub expiration_day: Option<i64>,
    pub approaching_at: Option<i64>,
}

impl StoredSchedule {
    /// The schedule the columns hold; `None` without an SLA.
    #[must_use]
    pub fn read(self) -> Option<SlaSchedule> {
        let deadline = instant(self.deadline?)?;
        let expiration_date = date_of_epoch_day(self.expiration_day?)?;
        let bonus = if self.start_is_date { SECONDS_PER_DAY } else { 0 };
        let period = TimeDelta::seconds(self.deadline? - self.start - bonus);
        Some(SlaSchedule { deadline, expiration_date, period, approaching_at: self.approaching_at.and_then(instant) })
    }
}

/// DefectDojo's `sla_days_remaining` of a stored finding at `now`: 0 on the expiration day, negative after,
/// frozen at the mitigation day. `None` without an SLA.
#[must_use]
pub fn days_remaining(row: &impl StoredSla, now: DateTime<Utc>) -> Option<i64> {
    let expiration = date_of_epoch_day(row.stored_schedule().expiration_day?)?;
    let mitigated_on = row.status().mitigated_at.map(|at| at.date_naive());
    Some(sla::days_remaining(expiration, now.date_naive(), mitigated_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_days_round_trip() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid");
        assert_eq!(date_of_epoch_day(epoch_day(date)), Some(date));
        assert_eq!(epoch_day(NaiveDate::from_ymd_opt(1970, 1, 2).expect("valid")), 1);
    }

    #[test]
    fn closed_findings_have_no_next_event_but_keep_their_deadline() {
        let policy = SlaPolicy::runbook_default();
        let start = SlaStart::Instant(DateTime::from_timestamp(1_800_000_000, 0).expect("valid"));
        let open = columns(start, Severity::Critical, &policy, true);
        assert_eq!(open.deadline, Some(1_800_000_000 + 86_400));
        assert_eq!(open.approaching_at, Some(1_800_000_000 + 43_200));
        assert_eq!(open.next_event_at, open.approaching_at);
        let closed = columns(start, Severity::Critical, &policy, false);
        assert_eq!(closed.deadline, open.deadline);
        assert_eq!(closed.next_event_at, None);
        assert_eq!(columns(start, Severity::Info, &policy, true), SlaColumns::default());
    }
}
