//! When to try a failed delivery again: exponential backoff with jitter, `Retry-After` honoured, a cap.

/// The retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure, in seconds.
    pub base_seconds: i64,
    /// The longest delay, in seconds.
    pub cap_seconds: i64,
    /// After this many attempts the delivery is `DEAD`.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base_seconds: 30, cap_seconds: 3600, max_attempts: 8 }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    RetryIn(i64),
    GiveUp,
}

impl RetryPolicy {
    /// After `attempts` failed attempts: retry after `base × 2^(attempts−1)` capped, scaled by `jitter` in
    /// [0.5, 1] so that many failures do not retry in lockstep, but never sooner than the receiver's
    /// `Retry-After`; give up after `max_attempts`.
    #[must_use]
    pub fn next_step(&self, attempts: i32, retry_after_seconds: Option<i64>, jitter: f64) -> NextStep {
        if attempts >= self.max_attempts {
            return NextStep::GiveUp;
        }
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let backoff = self.base_seconds.saturating_mul(1_i64 << exponent).min(self.cap_seconds);
        let jittered = ((backoff as f64) * jitter.clamp(0.5, 1.0)).round() as i64;
        NextStep::RetryIn(jittered.max(retry_after_seconds.unwrap_or(0)).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_then_the_delivery_dies() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_step(1, None, 1.0), NextStep::RetryIn(30));
        assert_eq!(policy.next_step(2, None, 1.0), NextStep::RetryIn(60));
        assert_eq!(policy.next_step(5, None, 1.0), NextStep::RetryIn(480));
        assert_eq!(policy.next_step(7, None, 1.0), NextStep::RetryIn(1920));
        assert_eq!(RetryPolicy { max_attempts: 20, ..policy }.next_step(12, None, 1.0), NextStep::RetryIn(3600));
        assert_eq!(policy.next_step(8, None, 1.0), NextStep::GiveUp);
    }

    #[test]
    fn jitter_shortens_but_retry_after_wins() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_step(2, None, 0.5), NextStep::RetryIn(30));
        assert_eq!(policy.next_step(2, None, 0.1), NextStep::RetryIn(30), "jitter is clamped to [0.5, 1]");
        assert_eq!(policy.next_step(1, Some(120), 0.5), NextStep::RetryIn(120));
        assert_eq!(policy.next_step(1, Some(0), 1.0), NextStep::RetryIn(30));
    }
}
