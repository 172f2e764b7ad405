//! Logging in, throttling failed logins, and turning an `Authorization` header into an `Actor`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::entity::{api_token, user};
use crate::error::{ServiceError, ServiceResult};
use crate::security::{password, token};
use crate::service::Actor;
use crate::service::read_cache::Timed;
use crate::state::AppState;

/// How a request identified itself.
#[derive(Debug, Clone)]
pub enum Identity {
    Anonymous,
    Authenticated(Actor),
    /// Credentials were sent but refused; the reason is safe to show.
    Refused(String),
}

impl Identity {
    /// The actor, or UNAUTHENTICATED.
    pub fn actor(&self) -> ServiceResult<&Actor> {
        match self {
            Self::Authenticated(actor) => Ok(actor),
            Self::Anonymous => Err(ServiceError::Unauthenticated(
                "sign in first: send Authorization: Bearer <jwt> or Token <api token>".to_owned(),
            )),
            Self::Refused(reason) => Err(ServiceError::Unauthenticated(reason.clone())),
        }
    }
}

/// Failed logins per username within a sliding window; past the allowance, logins are refused for a while.
#[derive(Debug)]
pub struct LoginThrottle {
    allowed: u32,
    window: TimeDelta,
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

impl LoginThrottle {
    #[must_use]
    pub fn new(allowed: u32, window_seconds: i64) -> Self {
        Self { allowed, window: TimeDelta::seconds(window_seconds), failures: Mutex::new(HashMap::new()) }
    }

    fn check(&self, username: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = failures.entry(username.to_lowercase()).or_default();
        recent.retain(|at| now - *at < self.window);
        if recent.len() as u32 >= self.allowed {
            let retry = recent.first().map_or(0, |first| (*first + self.window - now).num_seconds().max(1));
            return Err(ServiceError::RateLimited(format!(
                "too many failed logins for this user; try again in {retry} s"
            )));
        }
        Ok(())
    }

    fn record_failure(&self, username: &str, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        // Bound memory under a username-spraying attack: forget everything rather than grow without limit.
        if failures.len() > 100_000 {
            failures.clear();
        }
        failures.entry(username.to_lowercase()).or_default().push(now);
    }

    fn record_success(&self, username: &str) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&username.to_lowercase());
    }
}

/// A successful login.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// Checks a username and password and issues a JWT. Unknown user and wrong password look the same.
pub async fn login(state: &AppState, username: &str, password_text: &str) -> ServiceResult<Session> {
    let now = state.clock.now();
    state.login_throttle.check(username, now)?;
    let found = user::Entity::find().filter(user::Column::Username.eq(username)).one(&state.db).await?;
    let verified = match &found {
        Some(u) if u.is_active => u.password_hash.as_deref().is_some_and(|phc| password::verify(password_text, phc)),
        _ => {
            password::burn_verification_time(password_text);
            false
        }
    };
    let Some(user) = found.filter(|_| verified) else {
        state.login_throttle.record_failure(username, now);
        return Err(ServiceError::Unauthenticated("invalid username or password".to_owned()));
    };
    state.login_throttle.record_success(username);
    let (token, expires_at) = state.jwt.issue(user.id, now).map_err(ServiceError::internal)?;
    Ok(Session { token, expires_at, user })
}

/// Resolves an `Authorization` header value (`Bearer <jwt>` or `Token <api token>`).
pub async fn authenticate(state: &AppState, header: Option<&str>) -> ServiceResult<Identity> {
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(Identity::Anonymous) };
    let (scheme, credential) = value.split_once(' ').map_or((value, ""), |(s, c)| (s, c.trim()));
    let now = state.clock.now();
    let user_id = if scheme.eq_ignore_ascii_case("bearer") {
        match state.jwt.verify(credential, now) {
            Ok(id) => id,
            Err(err) => return Ok(Identity::Refused(err.to_string())),
        }
    } else if scheme.eq_ignore_ascii_case("token") {
        match api_token_user(state, credential, now).await? {
            Some(id) => id,
            None => return Ok(Identity::Refused("the API token is invalid or revoked".to_owned())),
        }
    } else {
        return Ok(Identity::Refused("unsupported Authorization scheme: use Bearer or Token".to_owned()));
    };
    // Every request needs the user: kept between requests until a change is announced (users::update
    // notes one) or `read_cache::MAX_AGE` passes.
    let generation = state.live.changes();
    let actor = state
        .identities
        .get_or_compute(user_id.to_string(), generation, now.timestamp(), || async {
            let found = user::Entity::find_by_id(user_id).one(&state.db).await?;
            let actor = found.filter(|u| u.is_active).map(|u| Actor {
                user_id: u.id,
                username: u.username,
                is_superuser: u.is_superuser,
            });
            Ok(Timed { value: actor, valid_until: None })
        })
        .await?;
    match actor {
        Some(actor) => Ok(Identity::Authenticated(actor)),
        None => Ok(Identity::Refused("the user is inactive or no longer exists".to_owned())),
    }
}

/// The user of a live API token, recording its use (at most once a minute, to keep reads cheap).
async fn api_token_user(state: &AppState, credential: &str, now: DateTime<Utc>) -> ServiceResult<Option<i32>> {
    let digest = token::token_digest(credential);
    let Some(found) = api_token::Entity::find().filter(api_token::Column::TokenHash.eq(digest)).one(&state.db).await?
    else {
        return Ok(None);
    };
    if found.revoked_at.is_some() {
        return Ok(None);
    }
    let user_id = found.user_id;
    if found.last_used_at.is_none_or(|last| now.timestamp() - last >= 60) {
        let mut touched: api_token::ActiveModel = found.into();
        touched.last_used_at = Set(Some(now.timestamp()));
        touched.update(&state.db).await?;
    }
    Ok(Some(user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_refuses_after_the_allowance_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, 300);
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        for _ in 0..3 {
            assert!(throttle.check("Cheery", t0).is_ok());
            throttle.record_failure("Cheery", t0);
        }
        assert!(matches!(throttle.check("cheery", t0), Err(ServiceError::RateLimited(_))));
        assert!(throttle.check("otto", t0).is_ok(), "other users are not affected");
        assert!(throttle.check("cheery", t0 + TimeDelta::seconds(301)).is_ok());
    }
}
