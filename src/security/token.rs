//! Random secrets: API tokens (shown once, stored as SHA-256) and generated passwords and JWT secrets.

use sha2::{Digest, Sha256};

/// Every API token starts with this, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "swt_";

#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// `bytes` random bytes from the operating system, as lower-case hex.
pub fn random_hex(bytes: usize) -> Result<String, RandomError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|_| RandomError)?;
    Ok(to_hex(&buffer))
}

/// `count` values of `bytes` random bytes each, as lower-case hex, from one read of the system generator.
pub fn random_hex_many(count: usize, bytes: usize) -> Result<Vec<String>, RandomError> {
    let mut buffer = vec![0u8; count * bytes];
    getrandom::fill(&mut buffer).map_err(|_| RandomError)?;
    Ok(buffer.chunks(bytes.max(1)).take(count).map(to_hex).collect())
}

/// `count` unique ids for things created at `at` (epoch seconds): 32 lower-case hex digits, the first ten
/// the time and the rest 88 random bits. Ids that sort by time land at one end of their unique index; random
/// ones each wrote an index page of their own (a delivery's key was 31 % of the write-ahead log under the
/// day-in-the-life bench).
pub fn time_ordered_ids(count: usize, at: i64) -> Result<Vec<String>, RandomError> {
    let seconds = u64::try_from(at).unwrap_or(0).min(0xff_ffff_ffff);
    let time = format!("{seconds:010x}");
    Ok(random_hex_many(count, 11)?.into_iter().map(|random| format!("{time}{random}")).collect())
}

/// A new API token: 256 random bits.
pub fn new_api_token() -> Result<String, RandomError> {
    Ok(format!("{TOKEN_PREFIX}{}", random_hex(32)?))
}

/// What is stored for a token. Tokens are 256-bit random, so a fast hash is enough (no dictionary to try).
#[must_use]
pub fn token_digest(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// The part of a token that may be shown again to identify it (prefix + 6 characters).
#[must_use]
pub fn display_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

/// Lower-case hex of `bytes` (by table: formatting each byte with `{:02x}` was a few per cent of an import,
/// which hashes every finding).
#[must_use]
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Whether two secrets are equal, compared through their SHA-256 digests so the time taken says nothing
/// about how much of a guess was right.
#[must_use]
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected.as_bytes()));
    given.iter().zip(expected.iter()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_random_values_come_apart() {
        let keys = random_hex_many(3, 16).expect("random works");
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| k.len() == 32));
        assert!(keys[0] != keys[1] && keys[1] != keys[2]);
        assert!(random_hex_many(0, 16).expect("random works").is_empty());
    }

    #[test]
    fn time_ordered_ids_sort_by_time_and_come_apart() {
        let earlier = time_ordered_ids(2, 1_700_000_000).expect("random works");
        let later = time_ordered_ids(1, 1_700_000_001).expect("random works");
        assert!(earlier.iter().chain(&later).all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())));
        assert_ne!(earlier[0], earlier[1]);
        assert!(earlier.iter().all(|id| id < &later[0]));
        assert!(earlier[0].starts_with("006553f100"));
        assert!(time_ordered_ids(1, -5).expect("random works")[0].starts_with("0000000000"));
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_api_token().expect("random works");
        let b = new_api_token().expect("random works");
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
        assert!(!token_digest(&a).contains(&a[TOKEN_PREFIX.len()..]));
        assert_eq!(display_prefix(&a).len(), TOKEN_PREFIX.len() + 6);
    }
}
