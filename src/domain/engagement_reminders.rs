//! Engagement reminders, as DefectDojo means them (its own never fire: their time windows are a run interval
//! wide and a day off): which are due for an engagement on a given day. Pure.

use chrono::{Days, NaiveDate};

use super::engagement_status::EngagementStatus;

/// Days before `target_start` that `upcoming_engagement` goes out.
pub const UPCOMING_DAYS: u64 = 3;

/// A reminder about an engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Not started, and `target_start` is within `UPCOMING_DAYS`.
    Upcoming,
    /// Still open after `target_end`.
    Stale,
    /// Open `auto_close_days` after `target_end`: complete it.
    AutoClose,
}

/// What an engagement needs on `today`.
#[must_use]
pub fn due(
    status: EngagementStatus,
    target_start: NaiveDate,
    target_end: NaiveDate,
    today: NaiveDate,
    auto_close_days: Option<u32>,
) -> Option<Reminder> {
    if !status.is_open() {
        return None;
    }
    if let Some(days) = auto_close_days
        && target_end.checked_add_days(Days::new(u64::from(days))).is_some_and(|close_on| close_on <= today)
    {
        return Some(Reminder::AutoClose);
    }
    if target_end < today {
        return Some(Reminder::Stale);
    }
    let soon = today.checked_add_days(Days::new(UPCOMING_DAYS)).unwrap_or(today);
    (status == EngagementStatus::NotStarted && today <= target_start && target_start <= soon)
        .then_some(Reminder::Upcoming)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn upcoming_from_three_days_before_the_start_until_it() {
        let (start, end) = (day("2026-03-10"), day("2026-03-20"));
        assert_eq!(due(EngagementStatus::NotStarted, start, end, day("2026-03-06"), None), None);
        assert_eq!(due(EngagementStatus::NotStarted, start, end, day("2026-03-07"), None), Some(Reminder::Upcoming));
        assert_eq!(due(EngagementStatus::NotStarted, start, end, day("2026-03-10"), None), Some(Reminder::Upcoming));
        assert_eq!(due(EngagementStatus::NotStarted, start, end, day("2026-03-11"), None), None);
        assert_eq!(due(EngagementStatus::InProgress, start, end, day("2026-03-08"), None), None, "already started");
    }

    #[test]
    fn stale_once_past_the_target_end_while_open() {
        let (start, end) = (day("2026-03-10"), day("2026-03-20"));
        assert_eq!(
            due(EngagementStatus::InProgress, start, end, day("2026-03-20"), None),
            None,
            "the end day itself is fine"
        );
        assert_eq!(due(EngagementStatus::InProgress, start, end, day("2026-03-21"), None), Some(Reminder::Stale));
        assert_eq!(due(EngagementStatus::NotStarted, start, end, day("2026-03-21"), None), Some(Reminder::Stale));
        assert_eq!(due(EngagementStatus::Completed, start, end, day("2026-03-21"), None), None);
        assert_eq!(due(EngagementStatus::Cancelled, start, end, day("2026-04-21"), Some(3)), None);
    }

    #[test]
    fn auto_close_after_the_configured_days_only() {
        let (start, end) = (day("2026-03-10"), day("2026-03-20"));
        assert_eq!(due(EngagementStatus::InProgress, start, end, day("2026-03-22"), Some(3)), Some(Reminder::Stale));
        assert_eq!(
            due(EngagementStatus::InProgress, start, end, day("2026-03-23"), Some(3)),
            Some(Reminder::AutoClose)
        );
        assert_eq!(
            due(EngagementStatus::InProgress, start, end, day("2026-09-23"), None),
            Some(Reminder::Stale),
            "off"
        );
    }
}
