//! A delivery's status and how one attempt's outcome moves it: pure, so the worker only stores what this
//! says and the rule is table-tested.

use super::retry::{NextStep, RetryPolicy};

stored_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus, error UnknownStatus("delivery status") {
        /// Waiting for its first attempt (or sent again by `retryDelivery`).
        Pending = "PENDING",
        /// Failed at least once; another attempt is scheduled.
        Retrying = "RETRYING",
        Delivered = "DELIVERED",
        /// Given up: too many attempts, or refused for good.
        Dead = "DEAD",
    }
}

impl DeliveryStatus {
    /// The statuses the worker claims from.
    pub const DUE: [Self; 2] = [Self::Pending, Self::Retrying];
    /// Every status, in the order a delivery goes through them.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Retrying, Self::Delivered, Self::Dead];
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Worth trying again, after at least `retry_after_seconds` when the receiver said so.
    Failed {
        reason: String,
        retry_after_seconds: Option<i64>,
    },
    /// Will never work as it is.
    Refused(String),
    /// Not tried (the endpoint rests): wait until `until`, not counted as an attempt.
    Deferred {
        until: i64,
        reason: String,
    },
}

/// A delivery's values after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterAttempt {
    /// `None`: unchanged.
    pub status: Option<DeliveryStatus>,
    pub attempts: i32,
    /// `None`: unchanged.
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The delivery after `attempt`, made at `now` after `attempts_before` earlier attempts; `jitter` in [0.5, 1].
#[must_use]
pub fn after_attempt(
    attempts_before: i32,
    attempt: Attempt,
    now: i64,
    policy: &RetryPolicy,
    jitter: f64,
) -> AfterAttempt {
    let attempts = attempts_before + 1;
    match attempt {
        Attempt::Sent => AfterAttempt {
            status: Some(DeliveryStatus::Delivered),
            attempts,
            next_attempt_at: None,
            delivered_at: Some(now),
            last_error: None,
        },
        Attempt::Refused(reason) => AfterAttempt {
            status: Some(DeliveryStatus::Dead),
            attempts,
            next_attempt_at: None,
            delivered_at: None,
            last_error: Some(reason),
        },
        Attempt::Deferred { until, reason } => AfterAttempt {
            status: None,
            attempts: attempts_before,
            next_attempt_at: Some(until),
            delivered_at: None,
            last_error: Some(reason),
        },
        Attempt::Failed { reason, retry_after_seconds } => {
            let (status, next_attempt_at) = match policy.next_step(attempts, retry_after_seconds, jitter) {
                NextStep::RetryIn(seconds) => (DeliveryStatus::Retrying, Some(now + seconds)),
                NextStep::GiveUp => (DeliveryStatus::Dead, None),
            };
            AfterAttempt {
                status: Some(status),
                attempts,
                next_attempt_at,
                delivered_at: None,
                last_error: Some(reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_store_and_nothing_else() {
        for status in
            [DeliveryStatus::Pending, DeliveryStatus::Retrying, DeliveryStatus::Delivered, DeliveryStatus::Dead]
        {
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(status));
        }
        assert_eq!("pending".parse::<DeliveryStatus>(), Err(UnknownStatus("pending".to_owned())));
    }

    #[test]
    fn each_outcome_moves_the_delivery_as_the_retry_schedule_says() {
        let policy = RetryPolicy { base_seconds: 30, cap_seconds: 3600, max_attempts: 3 };
        let failed = |after: Option<i64>| Attempt::Failed { reason: "503".to_owned(), retry_after_seconds: after };
        let cases = [
            (0, Attempt::Sent, Some(DeliveryStatus::Delivered), 1, None, Some(1000), None),
            (0, Attempt::Refused("410".to_owned()), Some(DeliveryStatus::Dead), 1, None, None, Some("410")),
            (0, failed(None), Some(DeliveryStatus::Retrying), 1, Some(1030), None, Some("503")),
            (1, failed(None), Some(DeliveryStatus::Retrying), 2, Some(1060), None, Some("503")),
            (1, failed(Some(600)), Some(DeliveryStatus::Retrying), 2, Some(1600), None, Some("503")),
            (2, failed(None), Some(DeliveryStatus::Dead), 3, None, None, Some("503")),
            (
                2,
                Attempt::Deferred { until: 5000, reason: "rests".to_owned() },
                None,
                2,
                Some(5000),
                None,
                Some("rests"),
            ),
        ];
        for (before, attempt, status, attempts, next, delivered, error) in cases {
            let label = format!("{before} then {attempt:?}");
            let after = after_attempt(before, attempt, 1000, &policy, 1.0);
            assert_eq!(after.status, status, "{label}");
            assert_eq!(after.attempts, attempts, "{label}");
            assert_eq!(after.next_attempt_at, next, "{label}");
            assert_eq!(after.delivered_at, delivered, "{label}");
            assert_eq!(after.last_error.as_deref(), error, "{label}");
        }
    }
}
