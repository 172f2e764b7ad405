//! HS256 JWTs for sessions. Expiry is checked against slawatch's clock, not the system time.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::UserId;
use crate::kept::memo::Memo;

/// How many verified tokens are kept, and the longest kept (ours are about 150 bytes).
const VERIFIED_TOKENS_KEPT: usize = 4096;
const MAX_TOKEN_LEN_KEPT: usize = 512;

/// What a session token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token generation when it was issued (absent in tokens from before generations: 0).
    #[serde(rename = "gen", default)]
    pub generation: i32,
}

/// What a verified token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    /// Refused once the user's token generation has moved past it.
    pub generation: i32,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// Signing and verification keys from one secret.
#[derive(Clone)]
pub struct JwtKeys {
    /// Shared by every clone of the state (each subscription and data loader holds one): a clone of the
    /// keys themselves copies their bytes.
    keys: Arc<(EncodingKey, DecodingKey)>,
    ttl: TimeDelta,
    /// Tokens whose signature checked out: token → (user id, expiry). A dashboard sends the same token
    /// with every request; its expiry is still checked each time.
    verified: Arc<Memo<VerifiedToken>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Why a token was refused. Deliberately vague towards the client.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the session token is invalid")]
    Invalid,
    #[error("the session token has expired")]
    Expired,
    #[error("the session token could not be signed")]
    Signing,
}

impl JwtKeys {
    #[must_use]
    pub fn new(secret: &[u8], ttl: TimeDelta) -> Self {
        Self {
            keys: Arc::new((EncodingKey::from_secret(secret), DecodingKey::from_secret(secret))),
            ttl,
            verified: Arc::new(Memo::new(VERIFIED_TOKENS_KEPT, MAX_TOKEN_LEN_KEPT)),
        }
    }

    /// Issues a token for `user_id` under its token `generation`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        user_id: UserId,
        generation: i32,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), JwtError> {
        let expires = now + self.ttl;
        let claims = Claims { sub: user_id.to_string(), iat: now.timestamp(), exp: expires.timestamp(), generation };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.keys.0)
            .map_err(|_| JwtError::Signing)?;
        Ok((token, expires))
    }

    /// Verifies the signature and algorithm, then the expiry against `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, JwtError> {
        let verified = match self.verified.get(token) {
            Some(kept) => kept,
            None => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.validate_exp = false;
                validation.required_spec_claims.clear();
                let data =
                    jsonwebtoken::decode::<Claims>(token, &self.keys.1, &validation).map_err(|_| JwtError::Invalid)?;
                let user_id = UserId::new(data.claims.sub.parse().map_err(|_| JwtError::Invalid)?);

                let verified =
                    VerifiedToken { user_id, generation: data.claims.generation, expires_at: data.claims.exp };
                self.verified.insert_with(token, || verified);
                verified
            }
        };
        if verified.expires_at <= now.timestamp() {
            return Err(JwtError::Expired);
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", TimeDelta::minutes(60));
        let (token, expires) = keys.issue(UserId::new(7), 3, now()).expect("signs");
        assert_eq!(expires, now() + TimeDelta::minutes(60));
        let verified = VerifiedToken { user_id: UserId::new(7), generation: 3, expires_at: expires.timestamp() };
        assert_eq!(keys.verify(&token, now()), Ok(verified));
        assert_eq!(keys.verify(&token, now()), Ok(verified), "kept after the first check");
        assert_eq!(keys.verify(&token, now() + TimeDelta::minutes(61)), Err(JwtError::Expired), "kept, still expires");
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", TimeDelta::minutes(60));
        let attacker = JwtKeys::new(b"ffffffffffffffffffffffffffffffff", TimeDelta::minutes(60));
        let (forged, _) = attacker.issue(UserId::new(1), 0, now()).expect("signs");
        assert_eq!(keys.verify(&forged, now()), Err(JwtError::Invalid));
        assert_eq!(keys.verify("not.a.jwt", now()), Err(JwtError::Invalid));
    }
}
