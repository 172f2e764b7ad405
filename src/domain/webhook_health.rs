//! Webhook endpoint health, as DefectDojo: a transient failure first marks the endpoint `ACTIVE_TMP`, a
//! repeated one `INACTIVE_TMP`; a client error (4xx other than 429) marks it `INACTIVE_PERMANENT`; a success
//! makes it `ACTIVE` again. Unlike DefectDojo, the failed message itself is retried.

stored_enum! {
    /// An endpoint's health.
    pub enum Health, error UnknownHealth("webhook health") {
        Active = "ACTIVE",
        ActiveTmp = "ACTIVE_TMP",
        InactiveTmp = "INACTIVE_TMP",
        InactivePermanent = "INACTIVE_PERMANENT",
    }
}

/// How one attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Success,
    /// 5xx, 429, a timeout or a connection error: worth retrying.
    TransientFailure,
    /// Any other 4xx: the request itself is refused.
    ClientError,
}

/// The health after an attempt.
#[must_use]
pub fn after(current: Health, attempt: Attempt) -> Health {
    match (attempt, current) {
        (Attempt::Success, _) => Health::Active,
        (Attempt::ClientError, _) | (Attempt::TransientFailure, Health::InactivePermanent) => Health::InactivePermanent,
        (Attempt::TransientFailure, Health::Active) => Health::ActiveTmp,
        (Attempt::TransientFailure, Health::ActiveTmp | Health::InactiveTmp) => Health::InactiveTmp,
    }
}

/// An endpoint's stored health: its status and its failing streak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRecord {
    pub status: Health,
    /// The first failure of the current streak; `None` while the endpoint works.
    pub first_error_at: Option<i64>,
    pub last_error_at: Option<i64>,
    /// The last failure's reason.
    pub note: String,
}

/// The record after an attempt at `now` (`failure`: the reason it failed), or `None` when nothing changes
/// (a success of a healthy endpoint), so the common case writes nothing.
#[must_use]
pub fn record_after(current: &HealthRecord, attempt: Attempt, failure: Option<&str>, now: i64) -> Option<HealthRecord> {
    let status = after(current.status, attempt);
    let was_failing = current.first_error_at.is_some();
    match failure {
        None if !was_failing && status == current.status => None,
        None => Some(HealthRecord { status, first_error_at: None, ..current.clone() }),
        Some(reason) => Some(HealthRecord {
            status,
            first_error_at: current.first_error_at.or(Some(now)),
            last_error_at: Some(now),
            note: reason.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_changes_only_when_something_happened() {
        let healthy =
            HealthRecord { status: Health::Active, first_error_at: None, last_error_at: None, note: String::new() };
        assert_eq!(record_after(&healthy, Attempt::Success, None, 10), None, "nothing to write");
        let failing = record_after(&healthy, Attempt::TransientFailure, Some("HTTP 503"), 10).expect("a failure");
        assert_eq!(
            failing,
            HealthRecord {
                status: Health::ActiveTmp,
                first_error_at: Some(10),
                last_error_at: Some(10),
                note: "HTTP 503".to_owned()
            }
        );
        let again = record_after(&failing, Attempt::TransientFailure, Some("timeout"), 20).expect("a failure");
        assert_eq!(
            (again.status, again.first_error_at, again.last_error_at),
            (Health::InactiveTmp, Some(10), Some(20))
        );
        let recovered = record_after(&again, Attempt::Success, None, 30).expect("a recovery");
        assert_eq!(
            (recovered.status, recovered.first_error_at, recovered.note.as_str()),
            (Health::Active, None, "timeout")
        );
    }

    #[test]
    fn failures_degrade_and_a_success_recovers() {
        let mut health = Health::Active;
        for (attempt, expected) in [
            (Attempt::TransientFailure, Health::ActiveTmp),
            (Attempt::TransientFailure, Health::InactiveTmp),
            (Attempt::TransientFailure, Health::InactiveTmp),
            (Attempt::Success, Health::Active),
            (Attempt::ClientError, Health::InactivePermanent),
            (Attempt::TransientFailure, Health::InactivePermanent),
        ] {
            health = after(health, attempt);
            assert_eq!(health, expected);
        }
        for health in [Health::Active, Health::ActiveTmp, Health::InactiveTmp, Health::InactivePermanent] {
            assert_eq!(health.as_str().parse::<Health>(), Ok(health));
        }
    }
}
