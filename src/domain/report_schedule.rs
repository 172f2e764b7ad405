//! Cron expressions of report schedules (UTC): validation and the next run.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

/// The first run strictly after `after`, or why the expression is not usable.
pub fn next_run(expression: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let cron = Cron::from_str(expression.trim())
        .map_err(|err| format!("{expression:?} is not a cron expression (minute hour day month weekday): {err}"))?;
    cron.find_next_occurrence(&after, false).map_err(|err| format!("{expression:?} never runs: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    #[test]
    fn a_quarterly_schedule_runs_on_the_first_day_of_each_quarter() {
        let quarterly = "0 6 1 1,4,7,10 *";
        assert_eq!(next_run(quarterly, at("2026-02-10T00:00:00Z")), Ok(at("2026-04-01T06:00:00Z")));
        assert_eq!(next_run(quarterly, at("2026-04-01T06:00:00Z")), Ok(at("2026-07-01T06:00:00Z")));
        assert_eq!(next_run("* * * * *", at("2026-02-10T00:00:30Z")), Ok(at("2026-02-10T00:01:00Z")));
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for bad in ["", "every monday", "61 * * * *", "0 0 31 2 *"] {
            assert!(next_run(bad, at("2026-02-10T00:00:00Z")).is_err(), "{bad:?}");
        }
    }
}
