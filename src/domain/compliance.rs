//! The SLA compliance report of a period (the runbook's quarterly report to the auditor): which findings
//! count, which were remediated on time, which breached, the rates per severity and the targets.
//!
//! Definitions (also in the README). The period is the half-open interval `[start, end)`; the report is
//! computed as of `cutoff = min(end, now)`, so a report of the running quarter counts what has happened so far.
//! - **Opened**: findings reported (SLA start) in the period.
//! - A finding with an SLA **counts** in the period unless it was remediated before the period began, and it
//!   either was remediated before the cutoff or had its deadline before the cutoff. Findings closed without
//!   remediation (false positive, duplicate, out of scope, risk accepted and not mitigated) and findings
//!   without an SLA (Info, or a severity the configuration does not enforce) never count.
//! - **On time**: counted and remediated before the cutoff at or before its deadline.
//! - **Breached**: counted and not on time: remediated after its deadline, or still open past its deadline at
//!   the cutoff. Breach duration: remediation (or cutoff) minus deadline.
//! - **Compliance rate** per severity: on time ÷ (on time + breached) × 100, absent when nothing counted.
//!   Overall: the same over all severities.
//! - **Targets**: Critical 100 %, High ≥ 95 % by default; a severity without findings that count passes.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use crate::domain::{FindingId, Severity};

/// A finding as the report sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFinding {
    pub id: FindingId,
    pub title: String,
    /// The external reference (ticket), if any.
    pub reference: Option<String>,
    pub severity: Severity,
    /// When it was reported (its SLA start).
    pub reported_at: DateTime<Utc>,
    /// `None`: no SLA.
    pub deadline: Option<DateTime<Utc>>,
    /// When it was mitigated, if it was.
    pub remediated_at: Option<DateTime<Utc>>,
    /// Closed without remediation (false positive, duplicate, out of scope, accepted risk).
    pub closed_unremediated: bool,
}

/// The period and the instant the report is made at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// The calendar days `from..=to` (UTC); `None` when `to` is before `from`.
    #[must_use]
    pub fn of_days(from: NaiveDate, to: NaiveDate) -> Option<Self> {
        if to < from {
            return None;
        }
        let start = from.and_hms_opt(0, 0, 0)?.and_utc();
        let end = to.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc();
        Some(Self { start, end })
    }

    /// The calendar quarter `quarter` (1–4) of `year`.
    #[must_use]
    pub fn quarter(year: i32, quarter: u32) -> Option<Self> {
        if !(1..=4).contains(&quarter) {
            return None;
        }
        let first_month = (quarter - 1) * 3 + 1;
        let from = NaiveDate::from_ymd_opt(year, first_month, 1)?;
        let next = if quarter == 4 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, first_month + 3, 1)?
        };
        Self::of_days(from, next.pred_opt()?)
    }

    /// The last day of the period.
    #[must_use]
    pub fn last_day(&self) -> NaiveDate {
        (self.end - TimeDelta::seconds(1)).date_naive()
    }
}

stored_enum! {
    /// A period relative to the moment a scheduled report runs: the last complete quarter, month or week.
    pub enum RelativePeriod, error UnknownPeriod("report period") {
        PreviousQuarter = "PREVIOUS_QUARTER",
        PreviousMonth = "PREVIOUS_MONTH",
        /// Monday to Sunday.
        PreviousWeek = "PREVIOUS_WEEK",
    }
}

impl RelativePeriod {
    /// The complete period before `now`.
    #[must_use]
    pub fn before(self, now: DateTime<Utc>) -> Option<Period> {
        let today = now.date_naive();
        match self {
            Self::PreviousQuarter => {
                let quarter = today.month0() / 3 + 1;
                if quarter == 1 {
                    Period::quarter(today.year() - 1, 4)
                } else {
                    Period::quarter(today.year(), quarter - 1)
                }
            }
            Self::PreviousMonth => {
                let first_of_this = today.with_day(1)?;
                let last_of_previous = first_of_this.pred_opt()?;
                Period::of_days(last_of_previous.with_day(1)?, last_of_previous)
            }
            Self::PreviousWeek => {
                let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()) + 7);
                Period::of_days(monday, monday + TimeDelta::days(6))
            }
        }
    }
}

/// A compliance target: the lowest acceptable rate for a severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub severity: Severity,
    pub minimum_rate: f64,
}

/// The runbook's targets: Critical 100 %, High at least 95 %.
#[must_use]
pub fn default_targets() -> Vec<Target> {
    vec![
        Target { severity: Severity::Critical, minimum_rate: 100.0 },
        Target { severity: Severity::High, minimum_rate: 95.0 },
    ]
}

/// One severity's figures (serialized as the report files write them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeverityFigures {
    pub severity: Severity,
    pub opened: u32,
    #[serde(rename = "closed_within_sla")]
    pub on_time: u32,
    pub breached: u32,
    /// Breached and still open at the cutoff (part of `breached`).
    pub still_open_breached: u32,
    /// Percent, absent when nothing counted.
    pub compliance_rate: Option<f64>,
    pub target: Option<f64>,
    /// `None` without a target; a severity with nothing counted passes.
    pub passed: Option<bool>,
}

/// A breach listed in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub finding_id: FindingId,
    pub title: String,
    pub reference: Option<String>,
    pub severity: Severity,
    pub deadline: DateTime<Utc>,
    /// Remediation minus deadline, or cutoff minus deadline when still open.
    pub duration: TimeDelta,
    pub remediated_at: Option<DateTime<Utc>>,
}

/// A finding that counts in the period (on time or breached), as the report's appendix lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedFinding {
    pub finding_id: FindingId,
    pub title: String,
    pub reference: Option<String>,
    pub severity: Severity,
    pub reported_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// Remediated before the cutoff (else still open at it).
    pub remediated_at: Option<DateTime<Utc>>,
    pub breached: bool,
}

impl CountedFinding {
    /// Days from report to remediation, for the remediated ones.
    #[must_use]
    pub fn days_to_remediate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss, reason = "seconds of a finding's life fit an f64 exactly")]
        self.remediated_at.map(|at| (at - self.reported_at).num_seconds() as f64 / 86_400.0)
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Compliance {
    pub period: Period,
    pub cutoff: DateTime<Utc>,
    pub severities: Vec<SeverityFigures>,
    pub opened: u32,
    pub on_time: u32,
    pub breached: u32,
    pub overall_rate: Option<f64>,
    /// Every target met.
    pub passed: bool,
    /// Breaches of the severities with a target (High and Critical by default), most severe first, then by
    /// deadline.
    pub listed_breaches: Vec<Breach>,
    /// Every finding that counts (`on_time + breached` of them), most severe first, then by deadline.
    pub counted: Vec<CountedFinding>,
}

enum Outcome {
    OnTime,
    Breached { duration: TimeDelta, still_open: bool },
}

fn outcome(finding: &ReportFinding, period: &Period, cutoff: DateTime<Utc>) -> Option<Outcome> {
    let deadline = finding.deadline?;
    if finding.closed_unremediated && finding.remediated_at.is_none() {
        return None;
    }
    match finding.remediated_at {
        Some(at) if at < period.start => None,
        Some(at) if at < cutoff => Some(if at <= deadline {
            Outcome::OnTime
        } else {
            Outcome::Breached { duration: at - deadline, still_open: false }
        }),
        _ if deadline < cutoff => Some(Outcome::Breached { duration: cutoff - deadline, still_open: true }),
        _ => None,
    }
}

fn rate(on_time: u32, breached: u32) -> Option<f64> {
    let counted = on_time + breached;
    (counted > 0).then(|| f64::from(on_time) * 100.0 / f64::from(counted))
}

/// Computes the report of `findings` for `period` as of `now`.
#[must_use]
pub fn compute(findings: &[ReportFinding], period: Period, now: DateTime<Utc>, targets: &[Target]) -> Compliance {
    let cutoff = now.min(period.end);
    let mut severities: Vec<SeverityFigures> = Severity::WITH_SLA
        .iter()
        .map(|&severity| {
            let target = targets.iter().find(|t| t.severity == severity).map(|t| t.minimum_rate);
            SeverityFigures {
                severity,
                opened: 0,
                on_time: 0,
                breached: 0,
                still_open_breached: 0,
                compliance_rate: None,
                target,
                passed: None,
            }
        })
        .collect();
    let mut listed_breaches = Vec::new();
    let mut counted = Vec::new();
    let mut opened_info = 0;
    for finding in findings {
        let reported_in_period = period.start <= finding.reported_at && finding.reported_at < period.end;
        let Some(figures) = severities.iter_mut().find(|f| f.severity == finding.severity) else {
            opened_info += u32::from(reported_in_period);
            continue;
        };
        figures.opened += u32::from(reported_in_period);
        let result = outcome(finding, &period, cutoff);
        if let (Some(result), Some(deadline)) = (&result, finding.deadline) {
            counted.push(CountedFinding {
                finding_id: finding.id,
                title: finding.title.clone(),
                reference: finding.reference.clone(),
                severity: finding.severity,
                reported_at: finding.reported_at,
                deadline,
                remediated_at: finding.remediated_at.filter(|at| *at < cutoff),
                breached: matches!(result, Outcome::Breached { .. }),
            });
        }
        match result {
            Some(Outcome::OnTime) => figures.on_time += 1,
            Some(Outcome::Breached { duration, still_open }) => {
                figures.breached += 1;
                figures.still_open_breached += u32::from(still_open);
                if let (Some(deadline), true) = (finding.deadline, figures.target.is_some()) {
                    listed_breaches.push(Breach {
                        finding_id: finding.id,
                        title: finding.title.clone(),
                        reference: finding.reference.clone(),
                        severity: finding.severity,
                        deadline,
                        duration,
                        remediated_at: finding.remediated_at.filter(|at| *at < cutoff),
                    });
                }
            }
            None => {}
        }
    }
    for figures in &mut severities {
        figures.compliance_rate = rate(figures.on_time, figures.breached);
        figures.passed = figures.target.map(|minimum| figures.compliance_rate.is_none_or(|r| r >= minimum - 1e-9));
    }
    listed_breaches.sort_by_key(|b| (b.severity, b.deadline, b.finding_id));
    counted.sort_by_key(|c| (c.severity, c.deadline, c.finding_id));
    let on_time = severities.iter().map(|f| f.on_time).sum();
    let breached = severities.iter().map(|f| f.breached).sum();
    Compliance {
        period,
        cutoff,
        opened: severities.iter().map(|f| f.opened).sum::<u32>() + opened_info,
        on_time,
        breached,
        overall_rate: rate(on_time, breached),
        passed: severities.iter().all(|f| f.passed != Some(false)),
        severities,
        listed_breaches,
        counted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    fn finding(id: i32, severity: Severity, reported: &str, deadline: &str, remediated: Option<&str>) -> ReportFinding {
        ReportFinding {
            id: FindingId::new(id),
            title: format!("finding {id}"),
            reference: None,
            severity,
            reported_at: at(reported),
            deadline: Some(at(deadline)),
            remediated_at: remediated.map(at),
            closed_unremediated: false,
        }
    }

    fn q1() -> Period {
        Period::quarter(2026, 1).expect("valid quarter")
    }

    #[test]
    fn scheduled_reports_cover_the_last_complete_quarter_month_or_week() {
        let now = at("2026-04-01T06:00:00Z"); // a Wednesday
        assert_eq!(RelativePeriod::PreviousQuarter.before(now), Period::quarter(2026, 1));
        assert_eq!(RelativePeriod::PreviousQuarter.before(at("2026-02-10T00:00:00Z")), Period::quarter(2025, 4));
        let march = RelativePeriod::PreviousMonth.before(now).expect("month");
        assert_eq!((march.start, march.end), (at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z")));
        let january = RelativePeriod::PreviousMonth.before(at("2026-01-15T00:00:00Z")).expect("month");
        assert_eq!(january.start, at("2025-12-01T00:00:00Z"));
        let week = RelativePeriod::PreviousWeek.before(now).expect("week");
        assert_eq!((week.start, week.end), (at("2026-03-23T00:00:00Z"), at("2026-03-30T00:00:00Z")));
        assert_eq!("PREVIOUS_MONTH".parse(), Ok(RelativePeriod::PreviousMonth));
        assert!("LAST_YEAR".parse::<RelativePeriod>().is_err());
    }

    #[test]
    fn quarters_and_day_ranges_are_half_open_utc_intervals() {
        let q1 = q1();
        assert_eq!((q1.start, q1.end), (at("2026-01-01T00:00:00Z"), at("2026-04-01T00:00:00Z")));
        assert_eq!(q1.last_day(), NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid"));
        let q4 = Period::quarter(2026, 4).expect("valid");
        assert_eq!(q4.end, at("2027-01-01T00:00:00Z"));
        assert_eq!(Period::quarter(2026, 5), None);
        let day = NaiveDate::from_ymd_opt(2026, 2, 1).expect("valid");
        assert_eq!(Period::of_days(day, day.pred_opt().expect("valid")), None);
    }

    #[test]
    fn on_time_late_open_past_deadline_and_not_yet_due_are_told_apart() {
        use Severity::{Critical, High};
        let findings = [
            finding(1, Critical, "2026-02-01T09:00:00Z", "2026-02-02T09:00:00Z", Some("2026-02-01T20:00:00Z")),
            finding(2, High, "2026-02-01T09:00:00Z", "2026-02-08T09:00:00Z", Some("2026-02-10T09:00:00Z")),
            finding(3, High, "2026-03-01T09:00:00Z", "2026-03-08T09:00:00Z", None),
            finding(4, High, "2026-03-30T09:00:00Z", "2026-04-06T09:00:00Z", None),
            finding(5, High, "2026-03-01T09:00:00Z", "2026-03-08T09:00:00Z", Some("2026-03-05T09:00:00Z")),
            // Remediated before the period: belongs to the previous report.
            finding(6, High, "2025-12-01T09:00:00Z", "2025-12-08T09:00:00Z", Some("2025-12-05T09:00:00Z")),
            // Breached before the period and still open in it: breached again.
            finding(7, Critical, "2025-12-30T09:00:00Z", "2025-12-31T09:00:00Z", None),
        ];
        let report = compute(&findings, q1(), at("2026-05-01T00:00:00Z"), &default_targets());
        assert_eq!(report.cutoff, q1().end);
        let critical = &report.severities[0];
        assert_eq!((critical.opened, critical.on_time, critical.breached, critical.still_open_breached), (1, 1, 1, 1));
        assert_eq!(critical.compliance_rate, Some(50.0));
        assert_eq!(critical.passed, Some(false));
        let high = &report.severities[1];
        assert_eq!((high.opened, high.on_time, high.breached, high.still_open_breached), (4, 1, 2, 1));
        assert!(high.compliance_rate.is_some_and(|r| (r - 100.0 / 3.0).abs() < 1e-9));
        assert_eq!(high.passed, Some(false));
        assert_eq!(report.severities[2].passed, None);
        assert_eq!((report.opened, report.on_time, report.breached), (5, 2, 3));
        assert_eq!(report.overall_rate, Some(40.0));
        assert!(!report.passed);
        let listed: Vec<(i32, i64)> =
            report.listed_breaches.iter().map(|b| (b.finding_id.get(), b.duration.num_hours())).collect();
        // Critical first; the open one is in breach from its deadline to the end of the quarter.
        assert_eq!(listed, [(7, 90 * 24 + 15), (2, 48), (3, 23 * 24 + 15)]);
        assert_eq!(report.listed_breaches[1].remediated_at, Some(at("2026-02-10T09:00:00Z")));
        assert_eq!(report.listed_breaches[0].remediated_at, None);
        // The appendix: every counted finding (on time or breached), most severe first, then by deadline;
        // the one not yet due (4) and the one remediated before the period (6) are not in it; 3 and 5 share a
        // deadline and go by id.
        let counted: Vec<(i32, bool)> = report.counted.iter().map(|c| (c.finding_id.get(), c.breached)).collect();
        assert_eq!(counted, [(7, true), (1, false), (2, true), (3, true), (5, false)]);
        assert_eq!(counted.len(), (report.on_time + report.breached) as usize);
        let days: Vec<Option<f64>> = report.counted.iter().map(CountedFinding::days_to_remediate).collect();
        assert_eq!(days, [None, Some(11.0 / 24.0), Some(9.0), None, Some(4.0)]);
    }

    #[test]
    fn a_running_period_counts_up_to_now_and_an_empty_severity_passes() {
        let findings = [
            finding(1, Severity::High, "2026-03-01T09:00:00Z", "2026-03-08T09:00:00Z", None),
            finding(2, Severity::High, "2026-03-01T09:00:00Z", "2026-03-08T09:00:00Z", Some("2026-03-07T09:00:00Z")),
        ];
        // On 5 March nothing was due or remediated yet; on 9 March one is on time, one breached for a day.
        let early = compute(&findings, q1(), at("2026-03-05T00:00:00Z"), &default_targets());
        assert_eq!((early.on_time, early.breached, early.overall_rate), (0, 0, None));
        assert!(early.passed, "nothing counted: every target passes");
        let later = compute(&findings, q1(), at("2026-03-09T09:00:00Z"), &default_targets());
        assert_eq!((later.on_time, later.breached), (1, 1));
        assert_eq!(later.listed_breaches[0].duration, TimeDelta::days(1));
        assert_eq!(later.severities[0].passed, Some(true), "no Critical: passes");
    }

    #[test]
    fn findings_without_sla_or_closed_unremediated_never_count() {
        let mut accepted = finding(1, Severity::Critical, "2026-02-01T09:00:00Z", "2026-02-02T09:00:00Z", None);
        accepted.closed_unremediated = true;
        let mut info = finding(2, Severity::Info, "2026-02-01T09:00:00Z", "2026-02-02T09:00:00Z", None);
        info.deadline = None;
        let report = compute(&[accepted, info], q1(), at("2026-05-01T00:00:00Z"), &default_targets());
        assert_eq!((report.opened, report.on_time, report.breached), (2, 0, 0));
        assert!(report.passed);
        // Exactly at the deadline is on time.
        let exact =
            finding(3, Severity::High, "2026-02-01T09:00:00Z", "2026-02-08T09:00:00Z", Some("2026-02-08T09:00:00Z"));
        let report = compute(&[exact], q1(), at("2026-05-01T00:00:00Z"), &default_targets());
        assert_eq!(report.severities[1].compliance_rate, Some(100.0));
    }
}
