//! The one source of time: the system clock in production, a settable clock in tests.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// Cloneable handle to "now". The sweep and the API take time from here, never from `Utc::now()` directly.
#[derive(Clone, Debug)]
pub struct Clock(Inner);

#[derive(Clone, Debug)]
enum Inner {
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    #[must_use]
    pub fn system() -> Self {
        Self(Inner::System)
    }

    /// A clock that stands still at `start` until moved.
    #[must_use]
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self(Inner::Manual(Arc::new(Mutex::new(truncate(start)))))
    }

    /// The current instant, in whole seconds (the precision slawatch stores).
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            #[allow(clippy::disallowed_methods, reason = "the one place that reads the system clock")]
            Inner::System => truncate(Utc::now()),
            Inner::Manual(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: TimeDelta) {
        if let Inner::Manual(at) = &self.0 {
            let mut guard = at.lock().unwrap_or_else(PoisonError::into_inner);
            *guard = truncate(*guard + by);
        }
    }

    /// Sets a manual clock; does nothing to the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Inner::Manual(at) = &self.0 {
            *at.lock().unwrap_or_else(PoisonError::into_inner) = truncate(to);
        }
    }
}

fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_800_000_000, 500).expect("valid");
        let clock = Clock::manual(start);
        assert_eq!(clock.now().timestamp(), 1_800_000_000);
        assert_eq!(clock.now().timestamp_subsec_nanos(), 0);
        clock.advance(TimeDelta::hours(12));
        assert_eq!(clock.now().timestamp(), 1_800_000_000 + 12 * 3600);
    }
}
