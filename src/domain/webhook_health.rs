//! Webhook endpoint health, as DefectDojo: a transient failure first marks the endpoint `ACTIVE_TMP`, a
//! repeated one `INACTIVE_TMP`; a client error (4xx other than 429) marks it `INACTIVE_PERMANENT`; a success
//! makes it `ACTIVE` again. Unlike DefectDojo, the failed message itself is retried.

/// An endpoint's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Active,
    ActiveTmp,
    InactiveTmp,
    InactivePermanent,
}

impl Health {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::ActiveTmp => "ACTIVE_TMP",
            Self::InactiveTmp => "INACTIVE_TMP",
            Self::InactivePermanent => "INACTIVE_PERMANENT",
        }
    }
}

/// A stored health slawatch does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook health {0:?}")]
pub struct UnknownHealth(pub String);

impl std::str::FromStr for Health {
    type Err = UnknownHealth;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Active, Self::ActiveTmp, Self::InactiveTmp, Self::InactivePermanent]
            .into_iter()
            .find(|health| health.as_str() == text)
            .ok_or_else(|| UnknownHealth(text.to_owned()))
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
