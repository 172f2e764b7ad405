//! Logging in, throttling failed logins, and turning an `Authorization` header into an `Actor`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::domain::UserId;
use crate::entity::{api_token, user};
use crate::error::{ServiceError, ServiceResult};
use crate::kept::read_cache::Timed;
use crate::security::{password, token};
use crate::service::Actor;
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

/// A successful login.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// Checks a username and password and issues a JWT. Unknown user and wrong password look the same. The
/// attempt is counted against `client` and the username before the password is checked.
pub async fn login(state: &AppState, username: &str, password_text: &str, client: IpAddr) -> ServiceResult<Session> {
    let now = state.clock.now();
    let attempt = state.login_throttle.reserve(username, client, now)?;
    let found = user::Entity::find().filter(user::Column::Username.eq(username)).one(&state.db).await?;
    let stored = found.as_ref().filter(|u| u.is_active).and_then(|u| u.password_hash.clone());
    let given = password_text.to_owned();
    let verified = state
        .login_throttle
        .check_password(move || match stored {
            Some(phc) => password::verify(&given, &phc),
            None => {
                password::burn_verification_time(&given);
                false
            }
        })
        .await?;
    let Some(user) = found.filter(|_| verified) else {
        return Err(ServiceError::Unauthenticated("invalid username or password".to_owned()));
    };
    state.login_throttle.succeeded(&attempt);
    let (token, expires_at) = state.jwt.issue(user.id, user.token_generation, now).map_err(ServiceError::internal)?;
    Ok(Session { token, expires_at, user })
}

/// Resolves an `Authorization` header value (`Bearer <jwt>` or `Token <api token>`).
pub async fn authenticate(state: &AppState, header: Option<&str>) -> ServiceResult<Identity> {
    Ok(authenticate_session(state, header).await?.0)
}

/// `authenticate`, with the instant (epoch seconds) at which a session token's session ends (`None` for an
/// API token, which lasts until revoked): what a websocket needs to close itself in time.
pub async fn authenticate_session(state: &AppState, header: Option<&str>) -> ServiceResult<(Identity, Option<i64>)> {
    let refused = |reason: String| Ok((Identity::Refused(reason), None));
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else { return Ok((Identity::Anonymous, None)) };
    let (scheme, credential) = value.split_once(' ').map_or((value, ""), |(s, c)| (s, c.trim()));
    let now = state.clock.now();
    // A session token names the token generation it was issued under; API tokens are revoked one by one.
    // An API token is recognised by its prefix whichever scheme carries it (clients such as Prometheus and
    // graphql-ws examples send every credential as `Bearer`).
    let is_api_token = scheme.eq_ignore_ascii_case("token")
        || (scheme.eq_ignore_ascii_case("bearer") && credential.starts_with(token::TOKEN_PREFIX));
    let (user_id, session) = if scheme.eq_ignore_ascii_case("bearer") && !is_api_token {
        match state.jwt.verify(credential, now) {
            Ok(verified) => (verified.user_id, Some(verified)),
            Err(err) if looks_like_jwt(credential) => return refused(err.to_string()),
            Err(err) => {
                return refused(format!(
                    "{err}: Bearer carries a session token (from login); send an API token as \
                     Authorization: Token <token>"
                ));
            }
        }
    } else if is_api_token {
        match api_token_user(state, credential, now).await? {
            Some(id) => (id, None),
            None if looks_like_jwt(credential) => {
                return refused(
                    "this is a session token (from login), not an API token: send it as Authorization: Bearer <token>"
                        .to_owned(),
                );
            }
            None => return refused("the API token is invalid or revoked".to_owned()),
        }
    } else {
        return refused("unsupported Authorization scheme: use Bearer or Token".to_owned());
    };
    // Every request needs the user: kept between requests until a change to users is announced
    // (users::update announces one) or `read_cache::MAX_AGE` passes; findings' changes keep it.
    let generation = state.live.catalog_changes();
    let signed_in = state
        .identities
        .get_or_compute(user_id.to_string(), generation, now.timestamp(), || async {
            let found = user::Entity::find_by_id(user_id).one(&state.db).await?;
            Ok(Timed { value: found, valid_until: None })
        })
        .await?
        .filter(|u| u.is_active);
    match signed_in {
        Some(user) if session.is_none_or(|s| s.generation == user.token_generation) => {
            Ok((Identity::Authenticated(Actor::from(user)), session.map(|s| s.expires_at)))
        }
        Some(_) => refused("the session has ended (signed out or password changed): sign in again".to_owned()),
        None => refused("the user is inactive or no longer exists".to_owned()),
    }
}

/// Whether a credential has a JWT's shape (three base64url parts, the header a JSON object): the hint for
/// a session token sent with the API token's scheme, and the reverse.
fn looks_like_jwt(credential: &str) -> bool {
    credential.starts_with("eyJ") && credential.split('.').count() == 3
}

/// How often a token's use is recorded at most (seconds), to keep reads cheap.
const TOKEN_USE_RECORDED_EVERY: i64 = 60;

/// The user of a live API token, recording its use (at most once a minute). Kept between requests like the
/// user (a revocation announces a change to the user; a new token notes a change), until its use is due to
/// be recorded again.
async fn api_token_user(state: &AppState, credential: &str, now: DateTime<Utc>) -> ServiceResult<Option<UserId>> {
    let digest = token::token_digest(credential);
    let generation = state.live.catalog_changes();
    let at = now.timestamp();
    state
        .api_tokens
        .get_or_compute(digest.clone(), generation, at, || async {
            let found =
                api_token::Entity::find().filter(api_token::Column::TokenHash.eq(digest)).one(&state.db).await?;
            let Some(found) = found.filter(|token| token.revoked_at.is_none()) else {
                return Ok(Timed { value: None, valid_until: None });
            };
            let user_id = found.user_id;
            let mut last_used = found.last_used_at;
            if last_used.is_none_or(|last| at - last >= TOKEN_USE_RECORDED_EVERY) {
                let mut touched: api_token::ActiveModel = found.into();
                touched.last_used_at = Set(Some(at));
                touched.update(&state.db).await?;
                last_used = Some(at);
            }
            let valid_until = last_used.map(|last| last + TOKEN_USE_RECORDED_EVERY);
            Ok(Timed { value: Some(user_id), valid_until })
        })
        .await
}
