//! The SLA events of one cycle, in order: each threshold crossed (largest first), the breach at the deadline,
//! the escalation after the escalation delay. Pure: what is due at an instant, and when the next one comes.

use chrono::{DateTime, TimeDelta, Utc};

use super::sla::{self, SlaSchedule};

stored_enum! {
    /// What happened in a finding's SLA.
    #[derive(PartialOrd, Ord)]
    pub enum SlaEventKind, error UnknownKind("SLA event kind") {
        /// A threshold of the period remaining was crossed.
        BreachApproaching = "BREACH_APPROACHING",
        /// The deadline passed.
        Breach = "BREACH",
        /// In breach for longer than the escalation delay.
        Escalation = "ESCALATION",
        /// Mitigated after a threshold was crossed.
        Resolved = "RESOLVED",
    }
}

/// One scheduled event of a cycle: its kind, its threshold (0 unless approaching) and its instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledEvent {
    pub kind: SlaEventKind,
    pub threshold: u8,
    pub at: DateTime<Utc>,
}

/// Every scheduled event of a cycle, in the order they happen.
#[must_use]
pub fn cycle_events(schedule: &SlaSchedule, thresholds: &[u8], escalation_hours: u32) -> Vec<ScheduledEvent> {
    let mut events: Vec<ScheduledEvent> = thresholds
        .iter()
        .map(|&p| ScheduledEvent {
            kind: SlaEventKind::BreachApproaching,
            threshold: p,
            at: sla::threshold_instant(schedule.deadline, schedule.period, p),
        })
        .collect();
    events.push(ScheduledEvent { kind: SlaEventKind::Breach, threshold: 0, at: schedule.deadline });
    events.push(ScheduledEvent {
        kind: SlaEventKind::Escalation,
        threshold: 0,
        at: schedule.deadline + TimeDelta::hours(i64::from(escalation_hours)),
    });
    events.sort_by_key(|e| (e.at, e.kind, std::cmp::Reverse(e.threshold)));
    events
}

/// The events due at `now` (in order) and the instant of the next one still to come (`None` when the cycle
/// has nothing left). Events already emitted are skipped, so running it again emits nothing twice.
#[must_use]
pub fn due(
    events: &[ScheduledEvent],
    already: &[(SlaEventKind, u8)],
    now: DateTime<Utc>,
) -> (Vec<ScheduledEvent>, Option<DateTime<Utc>>) {
    let pending = events.iter().filter(|e| !already.contains(&(e.kind, e.threshold)));
    let (due, later): (Vec<ScheduledEvent>, Vec<ScheduledEvent>) = pending.partition(|e| e.at <= now);
    (due, later.first().map(|e| e.at))
}

/// For a finding imported with its history: the events already due at `now` that are to count as done
/// without a notification, so it announces at most the state it is in now, once — every due event but the
/// last, or all of them when the breach is older than `post_breach` (DefectDojo's `SLA_NOTIFY_POST_BREACH`).
#[must_use]
pub fn quieted_history(events: &[ScheduledEvent], now: DateTime<Utc>, post_breach: TimeDelta) -> Vec<ScheduledEvent> {
    let due: Vec<ScheduledEvent> = events.iter().copied().filter(|e| e.at <= now).collect();
    let long_breached = due.iter().any(|e| e.kind == SlaEventKind::Breach && now - e.at > post_breach);
    let keep = usize::from(!long_breached && !due.is_empty());
    due[..due.len() - keep].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::{SlaStart, schedule};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    fn critical() -> Vec<ScheduledEvent> {
        let s = schedule(SlaStart::Instant(at("2026-03-02T09:30:00Z")), Some(1), Some(50)).expect("has SLA");
        cycle_events(&s, &[50, 10], 48)
    }

    #[test]
    fn a_critical_cycle_has_the_runbooks_four_moments() {
        let events = critical();
        let summary: Vec<(SlaEventKind, u8, DateTime<Utc>)> =
            events.iter().map(|e| (e.kind, e.threshold, e.at)).collect();
        assert_eq!(
            summary,
            vec![
                (SlaEventKind::BreachApproaching, 50, at("2026-03-02T21:30:00Z")),
                (SlaEventKind::BreachApproaching, 10, at("2026-03-03T07:06:00Z")),
                (SlaEventKind::Breach, 0, at("2026-03-03T09:30:00Z")),
                (SlaEventKind::Escalation, 0, at("2026-03-05T09:30:00Z")),
            ]
        );
    }

    #[test]
    fn due_events_come_in_order_once_and_say_what_is_next() {
        let events = critical();
        let (first, next) = due(&events, &[], at("2026-03-02T22:00:00Z"));
        assert_eq!(first.iter().map(|e| e.threshold).collect::<Vec<_>>(), [50]);
        assert_eq!(next, Some(at("2026-03-03T07:06:00Z")));
        let (again, _) = due(&events, &[(SlaEventKind::BreachApproaching, 50)], at("2026-03-02T22:00:00Z"));
        assert!(again.is_empty(), "nothing twice");
        // After three days of downtime everything still due comes out, in order.
        let (catch_up, next) = due(&events, &[(SlaEventKind::BreachApproaching, 50)], at("2026-03-06T00:00:00Z"));
        let kinds: Vec<SlaEventKind> = catch_up.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [SlaEventKind::BreachApproaching, SlaEventKind::Breach, SlaEventKind::Escalation]);
        assert_eq!(next, None);
    }

    #[test]
    fn a_high_on_the_royal_bank_clock_approaches_at_two_and_a_half_days() {
        let s = schedule(SlaStart::Instant(at("2026-03-02T08:00:00Z")), Some(5), Some(50)).expect("has SLA");
        let events = cycle_events(&s, &[50, 10], 48);
        assert_eq!(events[0].at, at("2026-03-04T20:00:00Z"));
        assert_eq!(events[1].at, at("2026-03-06T20:00:00Z"));
        assert_eq!(events[2].at, at("2026-03-07T08:00:00Z"));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in
            [SlaEventKind::BreachApproaching, SlaEventKind::Breach, SlaEventKind::Escalation, SlaEventKind::Resolved]
        {
            assert_eq!(kind.as_str().parse::<SlaEventKind>(), Ok(kind));
        }
    }

    #[test]
    fn imported_history_announces_only_its_present_state_and_nothing_long_breached() {
        let events = critical(); // 50 % at 12 h, 10 % at 21.6 h, breach at 24 h, escalation at 72 h
        let start = at("2026-03-02T09:30:00Z");
        let week = TimeDelta::days(7);
        assert!(quieted_history(&events, start, week).is_empty(), "nothing due yet");
        let approaching = quieted_history(&events, start + TimeDelta::hours(22), week);
        assert_eq!(approaching.len(), 1, "the 50 % threshold is quiet, the 10 % one is announced");
        let breached = quieted_history(&events, start + TimeDelta::hours(30), week);
        assert_eq!(breached.iter().map(|e| e.kind).collect::<Vec<_>>(), [SlaEventKind::BreachApproaching; 2]);
        let escalated = quieted_history(&events, start + TimeDelta::days(4), week);
        assert_eq!(escalated.len(), 3, "only the escalation is announced");
        let long_ago = quieted_history(&events, start + TimeDelta::days(9), week);
        assert_eq!(long_ago.len(), 4, "breached 8 days ago: nothing of its own");
    }
}
