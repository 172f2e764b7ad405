//! Cron expressions of report schedules (UTC): validation and the next run.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

/// The form a schedule's cron expression takes, for error messages.
pub const EXPECTED_FORM: &str = "5 fields, minute hour day-of-month month day-of-week (UTC), e.g. \"0 6 1 1,4,7,10 *\" for 06:00 on the first day of each quarter";

/// A cron expression of exactly five fields. A sixth would be read as seconds first by the cron library,
/// so a "quarterly" `0 6 1 1,4,7,10 * *` ran at 06:01 … on days 1–4 of every month; it is refused instead.
fn parse(expression: &str) -> Result<Cron, String> {
    let fields = expression.split_whitespace().count();
    if fields != 5 {
        return Err(format!("{expression:?} has {fields} fields; a schedule takes {EXPECTED_FORM}"));
    }
    Cron::from_str(expression.trim())
        .map_err(|err| format!("{expression:?} is not a cron expression ({err}); a schedule takes {EXPECTED_FORM}"))
}

/// The first run strictly after `after`, or why the expression is not usable.
pub fn next_run(expression: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let cron = parse(expression)?;
    cron.find_next_occurrence(&after, false).map_err(|err| format!("{expression:?} never runs: {err}"))
}

/// The next `count` runs strictly after `after` (fewer if the expression runs out).
pub fn next_runs(expression: &str, after: DateTime<Utc>, count: usize) -> Result<Vec<DateTime<Utc>>, String> {
    let cron = parse(expression)?;
    Ok(cron.iter_after(after).take(count).collect())
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
        for bad in ["", "every monday", "61 * * * *", "0 0 31 2 *", "0 6 1 1,4,7,10 * *", "@daily", "* * * *"] {
            let refused = next_run(bad, at("2026-02-10T00:00:00Z")).expect_err(bad);
            assert!(refused.contains(bad), "{refused}");
        }
        let six = next_run("0 6 1 1,4,7,10 * *", at("2026-02-10T00:00:00Z")).expect_err("six fields");
        assert!(six.contains("has 6 fields") && six.contains("minute hour day-of-month month day-of-week"), "{six}");
    }

    #[test]
    fn the_next_runs_of_a_quarterly_schedule() {
        let runs = next_runs("0 6 1 1,4,7,10 *", at("2026-02-10T00:00:00Z"), 3).expect("valid");
        assert_eq!(runs, [at("2026-04-01T06:00:00Z"), at("2026-07-01T06:00:00Z"), at("2026-10-01T06:00:00Z")]);
    }
}
