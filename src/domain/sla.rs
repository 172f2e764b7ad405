//! SLA arithmetic: deadlines, expiration dates, days remaining, threshold instants and the SLA state.
//!
//! All instants are whole UTC seconds. The same formulas are written once more as SQL in
//! `service::sla_recompute` (for set-based recomputation); a test there checks both agree.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::FindingStatus;

pub const SECONDS_PER_DAY: i64 = 86_400;

/// Where a finding's SLA clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStart {
    /// At an instant (a report time or an explicit `slaStart`): due exactly `days × 24 h` later.
    Instant(DateTime<Utc>),
    /// On a date, DefectDojo's model: expires `days` later and is breached from the day after.
    Date(NaiveDate),
}

impl SlaStart {
    /// The instant the clock starts: the instant itself, or midnight UTC of the date.
    #[must_use]
    pub fn instant(self) -> DateTime<Utc> {
        match self {
            Self::Instant(at) => at,
            Self::Date(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }

    /// Rebuild from the stored form (epoch seconds and the "started on a date" flag).
    #[must_use]
    pub fn from_stored(epoch_seconds: i64, is_date: bool) -> Option<Self> {
        let instant = DateTime::from_timestamp(epoch_seconds, 0)?;
        Some(if is_date { Self::Date(instant.date_naive()) } else { Self::Instant(instant) })
    }

    #[must_use]
    pub fn is_date(self) -> bool {
        matches!(self, Self::Date(_))
    }
}

/// The deadline of one SLA cycle and the instants derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaSchedule {
    /// The finding is in breach from this instant on.
    pub deadline: DateTime<Utc>,
    /// DefectDojo's `sla_expiration_date`: the last day within the SLA.
    pub expiration_date: NaiveDate,
    /// The SLA period (`days × 24 h`); thresholds are fractions of it.
    pub period: TimeDelta,
    /// When the first (largest) threshold is crossed; `None` without thresholds.
    pub approaching_at: Option<DateTime<Utc>>,
}

/// Computes a finding's SLA schedule, or `None` when its severity has no enforced SLA.
///
/// `largest_threshold` is the first threshold to be crossed (percent of the period remaining).
#[must_use]
pub fn schedule(start: SlaStart, period_days: Option<u32>, largest_threshold: Option<u8>) -> Option<SlaSchedule> {
    let days = period_days?;
    let period = TimeDelta::days(i64::from(days));
    let (deadline, expiration_date) = match start {
        SlaStart::Instant(at) => {
            let deadline = at + period;
            (deadline, deadline.date_naive())
        }
        SlaStart::Date(date) => {
            let expiration = date.checked_add_days(Days::new(u64::from(days)))?;
            let breach_day = expiration.checked_add_days(Days::new(1))?;
            (breach_day.and_time(chrono::NaiveTime::MIN).and_utc(), expiration)
        }
    };
    let approaching_at = largest_threshold.map(|percent| threshold_instant(deadline, period, percent));
    Some(SlaSchedule { deadline, expiration_date, period, approaching_at })
}

/// The instant at which `percent` % of the period remains: `deadline − percent % × period`.
/// Exact in whole seconds, since a day is 864 × 100 seconds.
#[must_use]
pub fn threshold_instant(deadline: DateTime<Utc>, period: TimeDelta, percent: u8) -> DateTime<Utc> {
    deadline - TimeDelta::seconds(period.num_seconds() * i64::from(percent) / 100)
}

/// DefectDojo's `sla_days_remaining`: days from today (or from the mitigation day, frozen) to the
/// expiration date; 0 on the expiration day, negative after it, never clamped.
#[must_use]
pub fn days_remaining(expiration_date: NaiveDate, today: NaiveDate, mitigated_on: Option<NaiveDate>) -> i64 {
    (expiration_date - mitigated_on.unwrap_or(today)).num_days()
}

stored_enum! {
    /// Where a finding stands against its SLA. `state` is its one definition; the SQL forms
    /// (`service::finding_filter`) are held to it by `sla::state_filters_and_the_summary_agree_with_each_findings_state`.
    pub enum SlaState, error UnknownSlaState("SLA state") {
        /// No SLA: no enforced period, or closed without mitigation (false positive, risk accepted, …).
        None = "NONE",
        /// Open, no threshold crossed yet.
        OnTrack = "ON_TRACK",
        /// Open, a threshold crossed, deadline not yet passed.
        Approaching = "APPROACHING",
        /// Open and past its deadline.
        Breached = "BREACHED",
        /// Mitigated by the deadline.
        Met = "MET",
        /// Mitigated after the deadline.
        Missed = "MISSED",
    }
}

impl SlaState {
    pub const ALL: [SlaState; 6] =
        [Self::None, Self::OnTrack, Self::Approaching, Self::Breached, Self::Met, Self::Missed];
}

/// One row of the SLA summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRow {
    pub severity: super::Severity,
    pub state: SlaState,
    pub count: u64,
}

/// The SLA state of a finding at `now`.
#[must_use]
pub fn state(schedule: Option<&SlaSchedule>, status: &FindingStatus, now: DateTime<Utc>) -> SlaState {
    let Some(schedule) = schedule else { return SlaState::None };
    if status.is_mitigated {
        return match status.mitigated_at {
            Some(at) if at > schedule.deadline => SlaState::Missed,
            _ => SlaState::Met,
        };
    }
    if !status.is_open() {
        return SlaState::None;
    }
    if now >= schedule.deadline {
        SlaState::Breached
    } else if schedule.approaching_at.is_some_and(|at| now >= at) {
        SlaState::Approaching
    } else {
        SlaState::OnTrack
    }
}

/// DefectDojo's `outside_of_sla`: open and at or past the deadline.
#[must_use]
pub fn is_outside_sla(schedule: Option<&SlaSchedule>, status: &FindingStatus, now: DateTime<Utc>) -> bool {
    status.is_open() && schedule.is_some_and(|s| now >= s.deadline)
}

/// Where the SLA clock stands after reactivating a mitigated finding at `now`: a new cycle starting `now`
/// when the configuration restarts the SLA on reactivation, otherwise the old start (and deadline) stands.
#[must_use]
pub fn start_after_reactivation(current: SlaStart, cycle: i32, restart: bool, now: DateTime<Utc>) -> (SlaStart, i32) {
    if restart { (SlaStart::Instant(now), cycle + 1) } else { (current, cycle) }
}

/// "3 d 4 h", "2 h 24 min", "overdue by 5 h".
#[must_use]
pub fn human_duration(seconds: i64) -> String {
    let (prefix, seconds) = if seconds < 0 { ("overdue by ", -seconds) } else { ("", seconds) };
    let (days, hours, minutes) = (seconds / 86_400, (seconds % 86_400) / 3600, (seconds % 3600) / 60);
    let text = if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    };
    format!("{prefix}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_write_them() {
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert_eq!(human_duration(2 * 3600 + 24 * 60), "2 h 24 min");
        assert_eq!(human_duration(-5 * 3600), "overdue by 5 h 0 min");
        assert_eq!(human_duration(59), "0 min");
    }
    use crate::domain::{Severity, SlaPolicy};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid instant in test").with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid date in test")
    }

    fn runbook(severity: Severity, start: SlaStart) -> Option<SlaSchedule> {
        let policy = SlaPolicy::runbook_default();
        schedule(start, policy.period_days(severity), policy.thresholds.largest())
    }

    #[test]
    fn a_critical_reported_at_an_instant_is_due_24_hours_later() {
        let s = runbook(Severity::Critical, SlaStart::Instant(at("2026-03-02T09:30:00Z"))).expect("has SLA");
        assert_eq!(s.deadline, at("2026-03-03T09:30:00Z"));
        assert_eq!(s.expiration_date, day("2026-03-03"));
        assert_eq!(s.approaching_at, Some(at("2026-03-02T21:30:00Z")), "50 % is 12 h before");
    }

    #[test]
    fn every_severity_gets_its_runbook_period() {
        let start = at("2026-01-10T00:00:00Z");
        for (severity, days) in
            [(Severity::Critical, 1), (Severity::High, 7), (Severity::Medium, 30), (Severity::Low, 90)]
        {
            let s = runbook(severity, SlaStart::Instant(start)).expect("has SLA");
            assert_eq!(s.deadline - start, TimeDelta::days(days), "{severity}");
            assert_eq!(s.period, TimeDelta::days(days));
        }
    }

    #[test]
    fn info_and_unenforced_severities_have_no_schedule() {
        let start = SlaStart::Instant(at("2026-01-10T00:00:00Z"));
        assert_eq!(runbook(Severity::Info, start), None);
        let mut policy = SlaPolicy::runbook_default();
        policy.low.enforced = false;
        assert_eq!(schedule(start, policy.period_days(Severity::Low), Some(50)), None);
        let status = FindingStatus::new_active();
        assert_eq!(state(None, &status, at("2030-01-01T00:00:00Z")), SlaState::None);
        assert!(!is_outside_sla(None, &status, at("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn a_date_start_expires_like_defectdojo() {
        // DefectDojo: a Critical dated today expires tomorrow and is outside its SLA only after that day.
        let s = runbook(Severity::Critical, SlaStart::Date(day("2026-05-04"))).expect("has SLA");
        assert_eq!(s.expiration_date, day("2026-05-05"));
        assert_eq!(s.deadline, at("2026-05-06T00:00:00Z"));
        assert_eq!(days_remaining(s.expiration_date, day("2026-05-04"), None), 1);
        assert_eq!(days_remaining(s.expiration_date, day("2026-05-05"), None), 0);
        assert_eq!(days_remaining(s.expiration_date, day("2026-05-09"), None), -4);
        let status = FindingStatus::new_active();
        assert!(!is_outside_sla(Some(&s), &status, at("2026-05-05T23:59:59Z")));
        assert!(is_outside_sla(Some(&s), &status, at("2026-05-06T00:00:00Z")));
    }

    #[test]
    fn a_high_in_the_royal_bank_profile_is_due_five_days_later() {
        let start = at("2026-02-01T08:00:00Z");
        let s = schedule(SlaStart::Instant(start), Some(5), Some(50)).expect("has SLA");
        assert_eq!(s.deadline, at("2026-02-06T08:00:00Z"));
    }

    #[test]
    fn thresholds_are_fractions_of_the_period_before_the_deadline() {
        let deadline = at("2026-03-03T09:30:00Z");
        assert_eq!(threshold_instant(deadline, TimeDelta::days(1), 10), at("2026-03-03T07:06:00Z"), "2.4 h");
        assert_eq!(threshold_instant(deadline, TimeDelta::days(7), 50), at("2026-02-27T21:30:00Z"), "3.5 days");
        assert_eq!(threshold_instant(deadline, TimeDelta::days(7), 10), at("2026-03-02T16:42:00Z"), "16.8 h");
    }

    #[test]
    fn state_follows_the_clock_for_an_open_finding() {
        let s = runbook(Severity::Critical, SlaStart::Instant(at("2026-03-02T09:30:00Z"))).expect("has SLA");
        let open = FindingStatus::new_active();
        assert_eq!(state(Some(&s), &open, at("2026-03-02T10:00:00Z")), SlaState::OnTrack);
        assert_eq!(state(Some(&s), &open, at("2026-03-02T21:30:00Z")), SlaState::Approaching);
        assert_eq!(state(Some(&s), &open, at("2026-03-03T09:29:59Z")), SlaState::Approaching);
        assert_eq!(state(Some(&s), &open, at("2026-03-03T09:30:00Z")), SlaState::Breached);
    }

    #[test]
    fn mitigation_on_time_is_met_and_late_is_missed_with_frozen_days_remaining() {
        let s = runbook(Severity::High, SlaStart::Date(day("2026-01-01"))).expect("has SLA");
        assert_eq!(s.expiration_date, day("2026-01-08"));
        let mitigated = |when: &str| FindingStatus {
            is_mitigated: true,
            active: false,
            mitigated_at: Some(at(when)),
            ..FindingStatus::default()
        };
        let later = at("2026-06-01T00:00:00Z");
        assert_eq!(state(Some(&s), &mitigated("2026-01-08T23:59:59Z"), later), SlaState::Met);
        assert_eq!(state(Some(&s), &mitigated("2026-01-09T00:00:01Z"), later), SlaState::Missed);
        assert_eq!(days_remaining(s.expiration_date, day("2026-06-01"), Some(day("2026-01-06"))), 2);
        assert_eq!(days_remaining(s.expiration_date, day("2026-06-01"), Some(day("2026-01-11"))), -3);
    }

    #[test]
    fn closed_without_mitigation_has_no_sla_state_and_is_never_outside_sla() {
        let s = runbook(Severity::Critical, SlaStart::Date(day("2026-01-01"))).expect("has SLA");
        let late = at("2026-12-01T00:00:00Z");
        for status in [
            FindingStatus { false_positive: true, ..FindingStatus::new_active() },
            FindingStatus { risk_accepted: true, ..FindingStatus::new_active() },
            FindingStatus { duplicate: true, ..FindingStatus::new_active() },
            FindingStatus { out_of_scope: true, ..FindingStatus::new_active() },
            FindingStatus { active: false, ..FindingStatus::default() },
        ] {
            assert_eq!(state(Some(&s), &status, late), SlaState::None);
            assert!(!is_outside_sla(Some(&s), &status, late));
        }
    }

    #[test]
    fn reactivation_restarts_the_clock_only_when_configured() {
        let old = SlaStart::Date(day("2026-01-01"));
        let now = at("2026-04-01T12:00:00Z");
        assert_eq!(start_after_reactivation(old, 1, false, now), (old, 1));
        let (restarted, cycle) = start_after_reactivation(old, 1, true, now);
        assert_eq!((restarted, cycle), (SlaStart::Instant(now), 2));
        let s = runbook(Severity::Critical, restarted).expect("has SLA");
        assert_eq!(s.deadline, at("2026-04-02T12:00:00Z"));
        // Without restart the old deadline stands, so the reactivated finding is in breach at once.
        let kept = runbook(Severity::Critical, old).expect("has SLA");
        assert_eq!(state(Some(&kept), &FindingStatus::new_active(), now), SlaState::Breached);
    }

    #[test]
    fn stored_start_round_trips() {
        let instant = SlaStart::Instant(at("2026-03-02T09:30:00Z"));
        assert_eq!(SlaStart::from_stored(instant.instant().timestamp(), false), Some(instant));
        let date = SlaStart::Date(day("2026-03-02"));
        assert_eq!(SlaStart::from_stored(date.instant().timestamp(), true), Some(date));
    }
}
