//! SLA trends: per interval of a period and per severity, how many findings were open past their deadline
//! at the interval's end, how many were opened and how many remediated in it — computed from the stored
//! SLA starts, deadlines and mitigation instants, so no snapshot table is needed.
//!
//! Which findings count: those with an SLA (a deadline) that are open or were remediated; findings closed
//! without remediation (false positive, duplicate, out of scope, accepted risk) never count, as in the
//! compliance report. A finding is open past its deadline at instant `t` when it was reported by `t`,
//! `t` is at or past its deadline (`domain::sla::state`'s breached), and it was not remediated by `t`.
//! The deadline is the one stored now (a finding reactivated since keeps only its current cycle).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::Severity;

/// The most intervals one trend may have (a year of days, two years of weeks).
pub const MAX_INTERVALS: usize = 366;

/// How long each interval of a trend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendInterval {
    Day,
    /// Seven days from the period's first day (the last interval ends with the period).
    Week,
}

impl TrendInterval {
    fn length(self) -> TimeDelta {
        match self {
            Self::Day => TimeDelta::days(1),
            Self::Week => TimeDelta::days(7),
        }
    }
}

/// What the trend needs of a finding (instants in epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendFinding {
    pub severity: Severity,
    /// Its SLA start (when it was reported).
    pub reported_at: i64,
    pub deadline: i64,
    /// When it was remediated, if it was.
    pub remediated_at: Option<i64>,
}

/// One severity's figures in one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrendCounts {
    /// Open past the deadline at the interval's end.
    pub breached: u64,
    /// Reported in the interval.
    pub opened: u64,
    /// Remediated in the interval.
    pub remediated: u64,
}

/// One interval `[start, end)` and its figures per severity, in `Severity::WITH_SLA` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub by_severity: Vec<(Severity, TrendCounts)>,
}

/// Why a trend cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrendError {
    #[error("the period is inverted: `to` ({to}) is before `from` ({from})")]
    Inverted { from: NaiveDate, to: NaiveDate },
    #[error("the period has {intervals} intervals; at most {MAX_INTERVALS} (ask for weeks, or a shorter period)")]
    TooLong { intervals: usize },
}

/// The intervals of the days `from..=to` (UTC): their starts, and their ends (the last one the period's).
pub fn intervals(from: NaiveDate, to: NaiveDate, interval: TrendInterval) -> Result<Vec<(i64, i64)>, TrendError> {
    if to < from {
        return Err(TrendError::Inverted { from, to });
    }
    let days = usize::try_from((to - from).num_days()).unwrap_or(usize::MAX).saturating_add(1);
    let count = match interval {
        TrendInterval::Day => days,
        TrendInterval::Week => days.div_ceil(7),
    };
    if count > MAX_INTERVALS {
        return Err(TrendError::TooLong { intervals: count });
    }
    let start = from.and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
    let end = start + (to - from).num_seconds() + TimeDelta::days(1).num_seconds();
    let step = interval.length().num_seconds();
    Ok((0..count)
        .map(|i| {
            let i = i64::try_from(i).unwrap_or(i64::MAX);
            let from = start + i * step;
            (from, (from + step).min(end))
        })
        .collect())
}

/// The trend over `intervals` (as `intervals` makes them) of `findings`, which the caller has already
/// narrowed to the ones that count (an SLA; open or remediated). An interval that ends after `now` (today's)
/// shows what is breached at `now`.
#[must_use]
pub fn trend(intervals: &[(i64, i64)], findings: &[TrendFinding], now: i64) -> Vec<TrendPoint> {
    let n = intervals.len();
    let severities = Severity::WITH_SLA;
    // Per severity: a difference array of the breached counts, and the opened and remediated counts.
    let mut breached_steps = vec![vec![0i64; n + 1]; severities.len()];
    let mut opened = vec![vec![0u64; n]; severities.len()];
    let mut remediated = vec![vec![0u64; n]; severities.len()];
    let ends: Vec<i64> = intervals.iter().map(|&(_, end)| end).collect();
    // The instants the breached counts are taken at: each interval's end, or now.
    let seen_at: Vec<i64> = ends.iter().map(|&end| end.min(now)).collect();
    let within = |at: i64| {
        let i = ends.partition_point(|&end| end <= at);
        (i < n && at >= intervals[i].0).then_some(i)
    };
    for finding in findings {
        let Some(s) = severities.iter().position(|&severity| severity == finding.severity) else { continue };
        // Breached at the end `e` of an interval: e >= deadline (and so e >= its report, which comes
        // before its deadline) and not remediated by e (remediated_at > e).
        let first = seen_at.partition_point(|&end| end < finding.deadline.max(finding.reported_at));
        let last = finding.remediated_at.map_or(n, |at| seen_at.partition_point(|&end| end < at));
        if first < last {
            breached_steps[s][first] += 1;
            breached_steps[s][last] -= 1;
        }
        if let Some(i) = within(finding.reported_at) {
            opened[s][i] += 1;
        }
        if let Some(i) = finding.remediated_at.and_then(within) {
            remediated[s][i] += 1;
        }
    }
    let mut running = vec![0i64; severities.len()];
    intervals
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| TrendPoint {
            start: DateTime::from_timestamp(start, 0).unwrap_or_default(),
            end: DateTime::from_timestamp(end, 0).unwrap_or_default(),
            by_severity: severities
                .iter()
                .enumerate()
                .map(|(s, &severity)| {
                    running[s] += breached_steps[s][i];
                    let counts = TrendCounts {
                        breached: u64::try_from(running[s]).unwrap_or(0),
                        opened: opened[s][i],
                        remediated: remediated[s][i],
                    };
                    (severity, counts)
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid")
    }

    fn at(d: u32, hour: u32) -> i64 {
        day(d).and_hms_opt(hour, 0, 0).expect("valid").and_utc().timestamp()
    }

    fn counts(points: &[TrendPoint], severity: Severity) -> Vec<TrendCounts> {
        points
            .iter()
            .map(|p| p.by_severity.iter().find(|(s, _)| *s == severity).map(|(_, c)| *c).expect("severity"))
            .collect()
    }

    #[test]
    fn a_finding_breached_on_day_3_and_fixed_on_day_5_counts_on_days_3_and_4_only() {
        let days = intervals(day(1), day(7), TrendInterval::Day).expect("a week of days");
        let finding = TrendFinding {
            severity: Severity::High,
            reported_at: at(1, 9),
            deadline: at(3, 12),
            remediated_at: Some(at(5, 10)),
        };
        let points = trend(&days, &[finding], at(30, 0));
        let high = counts(&points, Severity::High);
        assert_eq!(high.iter().map(|c| c.breached).collect::<Vec<_>>(), [0, 0, 1, 1, 0, 0, 0]);
        assert_eq!(high.iter().map(|c| c.opened).collect::<Vec<_>>(), [1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(high.iter().map(|c| c.remediated).collect::<Vec<_>>(), [0, 0, 0, 0, 1, 0, 0]);
        assert!(counts(&points, Severity::Critical).iter().all(|c| *c == TrendCounts::default()));
    }

    #[test]
    fn a_finding_still_open_stays_breached_to_the_end_and_one_fixed_in_time_never_is() {
        let days = intervals(day(1), day(4), TrendInterval::Day).expect("days");
        let open = TrendFinding {
            severity: Severity::Critical,
            reported_at: at(1, 0),
            deadline: at(2, 0),
            remediated_at: None,
        };
        let on_time = TrendFinding {
            severity: Severity::Critical,
            reported_at: at(1, 0),
            deadline: at(3, 0),
            remediated_at: Some(at(2, 5)),
        };
        let breached = counts(&trend(&days, &[open, on_time], at(30, 0)), Severity::Critical);
        // Day 1 ends at the deadline of `open` (2 March, 00:00): at or past it, so breached from day 1 on.
        assert_eq!(breached.iter().map(|c| c.breached).collect::<Vec<_>>(), [1, 1, 1, 1]);
    }

    #[test]
    fn weeks_start_on_the_first_day_and_the_last_one_ends_with_the_period() {
        let weeks = intervals(day(1), day(10), TrendInterval::Week).expect("weeks");
        assert_eq!(weeks, [(at(1, 0), at(8, 0)), (at(8, 0), at(11, 0))]);
        let before = TrendFinding {
            severity: Severity::Low,
            reported_at: at(1, 0) - 1,
            deadline: at(9, 0),
            remediated_at: None,
        };
        let points = trend(&weeks, &[before], at(30, 0));
        let low = counts(&points, Severity::Low);
        assert_eq!(low.iter().map(|c| (c.opened, c.breached)).collect::<Vec<_>>(), [(0, 0), (0, 1)]);
    }

    #[test]
    fn today_s_interval_shows_what_is_breached_now() {
        let days = intervals(day(1), day(2), TrendInterval::Day).expect("days");
        let due_this_evening = TrendFinding {
            severity: Severity::Medium,
            reported_at: at(1, 0),
            deadline: at(2, 18),
            remediated_at: None,
        };
        let due_this_morning = TrendFinding { deadline: at(2, 6), ..due_this_evening };
        let medium = counts(&trend(&days, &[due_this_evening, due_this_morning], at(2, 12)), Severity::Medium);
        assert_eq!(medium.iter().map(|c| c.breached).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn inverted_and_overlong_periods_are_refused() {
        assert_eq!(
            intervals(day(5), day(4), TrendInterval::Day),
            Err(TrendError::Inverted { from: day(5), to: day(4) })
        );
        let from = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid");
        let to = NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid");
        assert!(matches!(intervals(from, to, TrendInterval::Day), Err(TrendError::TooLong { intervals: 731 })));
        assert_eq!(intervals(from, to, TrendInterval::Week).map(|w| w.len()), Ok(105));
    }
}
