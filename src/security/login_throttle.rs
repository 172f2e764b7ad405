//! Login attempts, throttled per client address and per username with exponential back-off. An attempt
//! is reserved *before* its password is checked, so concurrent requests cannot buy more guesses, and
//! password checks run on the blocking pool, a few at a time, so a flood cannot starve the async workers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Semaphore;

use crate::error::{ServiceError, ServiceResult};

/// Keys a table forgets all at once past this size, so a spray of usernames or addresses cannot grow memory.
const MAX_KEYS: usize = 100_000;

/// How many times more failures a username may collect (from all addresses together) than one address may:
/// one address guessing cannot slow its victim's own sign-in, many together can only delay it, never lock it.
const USERNAME_ALLOWANCE_FACTOR: u32 = 4;

/// The attempts of one kind of key (an address, a username) in a sliding window, with back-off once more
/// than `allowed` failed: the next attempt waits 1 s after the latest, then 2 s, 4 s … at most the window.
#[derive(Debug)]
struct Backoff {
    allowed: u32,
    window: TimeDelta,
    attempts: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

impl Backoff {
    fn new(allowed: u32, window: TimeDelta) -> Self {
        Self { allowed, window, attempts: Mutex::new(HashMap::new()) }
    }

    /// The seconds until `key` may try again, or `None` when it may now.
    fn wait(&self, attempts: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<i64> {
        let count = attempts.len() as u32;
        if count < self.allowed {
            return None;
        }
        let latest = attempts.iter().max()?;
        let exponent = (count - self.allowed).min(30);
        let delay = TimeDelta::seconds(1_i64 << exponent).min(self.window);
        let next = *latest + delay;
        (now < next).then(|| (next - now).num_seconds().max(1))
    }

    fn forget(&self, key: &str) {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Takes back one attempt of `key` made at `at`.
    fn take_back(&self, key: &str, at: DateTime<Utc>) {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(times) = attempts.get_mut(key)
            && let Some(index) = times.iter().position(|t| *t == at)
        {
            times.swap_remove(index);
        }
    }
}

/// A reserved attempt: counted as a failure unless `succeeded` is called.
#[derive(Debug)]
pub struct Attempt {
    username: String,
    address: String,
    at: DateTime<Utc>,
}

/// Failed-login back-off per client address and per username.
#[derive(Debug)]
pub struct LoginThrottle {
    by_address: Backoff,
    by_username: Backoff,
    /// Password checks in flight at once (argon2 takes a core for tens of milliseconds each).
    checks: Semaphore,
}

impl LoginThrottle {
    /// `allowed` failures per address within `window_seconds` before back-off (per username: four times as many).
    #[must_use]
    pub fn new(allowed: u32, window_seconds: i64) -> Self {
        let window = TimeDelta::seconds(window_seconds);
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            by_address: Backoff::new(allowed, window),
            by_username: Backoff::new(allowed.saturating_mul(USERNAME_ALLOWANCE_FACTOR), window),
            checks: Semaphore::new(cores),
        }
    }

    /// Counts an attempt for `username` from `address` before its password is checked, or refuses it with
    /// `RATE_LIMITED` while either is backing off. Both tables are updated under their locks together, so
    /// concurrent attempts see each other.
    pub fn reserve(&self, username: &str, address: IpAddr, now: DateTime<Utc>) -> ServiceResult<Attempt> {
        let username = username.to_lowercase();
        let address = address.to_string();
        let mut by_address = self.by_address.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut by_username = self.by_username.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        for table in [&mut *by_address, &mut *by_username] {
            if table.len() > MAX_KEYS {
                table.clear();
            }
        }
        let address_attempts = recent(&mut by_address, &address, now, self.by_address.window);
        let username_attempts = recent(&mut by_username, &username, now, self.by_username.window);
        let wait = self
            .by_address
            .wait(address_attempts, now)
            .into_iter()
            .chain(self.by_username.wait(username_attempts, now))
            .max();
        if let Some(seconds) = wait {
            return Err(ServiceError::RateLimited(format!("too many failed logins; try again in {seconds} s")));
        }
        by_address.entry(address.clone()).or_default().push(now);
        by_username.entry(username.clone()).or_default().push(now);
        Ok(Attempt { username, address, at: now })
    }

    /// The attempt's password was right: the username starts afresh, and the address loses this attempt
    /// only (signing in to one's own account must not wipe out the guesses made at others from there).
    pub fn succeeded(&self, attempt: &Attempt) {
        self.by_username.forget(&attempt.username);
        self.by_address.take_back(&attempt.address, attempt.at);
    }

    /// Runs a password check on the blocking pool, at most one per core at a time.
    pub async fn check_password<F>(&self, check: F) -> ServiceResult<bool>
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        let _permit = self.checks.acquire().await.map_err(ServiceError::internal)?;
        tokio::task::spawn_blocking(check).await.map_err(ServiceError::internal)
    }
}

/// The attempts of `key` still within the window (pruned in place).
fn recent<'a>(
    table: &'a mut HashMap<String, Vec<DateTime<Utc>>>,
    key: &str,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> &'a [DateTime<Utc>] {
    match table.get_mut(key) {
        Some(attempts) => {
            attempts.retain(|at| now - *at < window);
            attempts
        }
        None => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    fn address(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn refused(result: &ServiceResult<Attempt>) -> bool {
        matches!(result, Err(ServiceError::RateLimited(_)))
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let throttle = LoginThrottle::new(5, 300);
        let reserved: Vec<_> = (0..100).map(|_| throttle.reserve("cheery", address(1), t0())).collect();
        assert_eq!(reserved.iter().filter(|r| r.is_ok()).count(), 5, "five at once, however many ask");
    }

    #[test]
    fn back_off_doubles_after_the_allowance_and_the_window_forgets() {
        let throttle = LoginThrottle::new(3, 300);
        for _ in 0..3 {
            assert!(throttle.reserve("Cheery", address(1), t0()).is_ok());
        }
        assert!(refused(&throttle.reserve("cheery", address(1), t0())), "the name is case-insensitive");
        let one = t0() + TimeDelta::seconds(1);
        assert!(throttle.reserve("cheery", address(1), one).is_ok(), "1 s after the latest");
        assert!(refused(&throttle.reserve("cheery", address(1), one + TimeDelta::seconds(1))), "now 2 s");
        assert!(throttle.reserve("cheery", address(1), one + TimeDelta::seconds(2)).is_ok());
        assert!(throttle.reserve("cheery", address(1), t0() + TimeDelta::seconds(400)).is_ok(), "window passed");
    }

    #[test]
    fn one_address_guessing_does_not_slow_the_user_elsewhere() {
        let throttle = LoginThrottle::new(5, 300);
        for second in 0..60 {
            let _ = throttle.reserve("cheery", address(66), t0() + TimeDelta::seconds(second));
        }
        assert!(refused(&throttle.reserve("cheery", address(66), t0() + TimeDelta::seconds(60))));
        assert!(throttle.reserve("cheery", address(1), t0() + TimeDelta::seconds(60)).is_ok());
        assert!(throttle.reserve("otto", address(2), t0() + TimeDelta::seconds(60)).is_ok());
    }

    #[test]
    fn many_addresses_can_delay_a_username_but_only_briefly() {
        let throttle = LoginThrottle::new(5, 300);
        for last in 0..20 {
            assert!(throttle.reserve("cheery", address(last), t0()).is_ok());
        }
        assert!(refused(&throttle.reserve("cheery", address(200), t0())), "the username backs off too");
        assert!(throttle.reserve("cheery", address(200), t0() + TimeDelta::seconds(1)).is_ok());
    }

    #[test]
    fn one_address_spraying_usernames_backs_off() {
        let throttle = LoginThrottle::new(5, 300);
        for n in 0..5 {
            assert!(throttle.reserve(&format!("user{n}"), address(9), t0()).is_ok());
        }
        assert!(refused(&throttle.reserve("user99", address(9), t0())));
    }

    #[test]
    fn success_starts_afresh() {
        let throttle = LoginThrottle::new(2, 300);
        let _ = throttle.reserve("cheery", address(1), t0());
        let attempt = throttle.reserve("cheery", address(1), t0()).expect("second allowed");
        throttle.succeeded(&attempt);
        assert!(throttle.reserve("cheery", address(1), t0()).is_ok());
    }

    #[test]
    fn signing_in_to_ones_own_account_does_not_wipe_out_guesses_at_others() {
        let throttle = LoginThrottle::new(3, 300);
        for _ in 0..2 {
            let _ = throttle.reserve("cheery", address(66), t0());
        }
        let own = throttle.reserve("nobby", address(66), t0()).expect("third allowed");
        throttle.succeeded(&own);
        assert!(throttle.reserve("otto", address(66), t0()).is_ok(), "the sign-in itself is taken back");
        assert!(refused(&throttle.reserve("cheery", address(66), t0())), "the guesses still count");
    }
}
