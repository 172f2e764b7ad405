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

#[cfg(test)]
mod tests {
    use super::*;

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
