//! How an HTTP answer becomes a delivery outcome, for every channel that posts over HTTP.

use chrono::{DateTime, Utc};

use super::SendError;
use crate::domain::webhook_health::Attempt;

/// Seconds to wait from a `Retry-After` value (seconds, or an HTTP date).
#[must_use]
pub fn retry_after_seconds(value: &str, now: DateTime<Utc>) -> Option<i64> {
    let value = value.trim();
    value.parse::<i64>().ok().map(|s| s.max(0)).or_else(|| {
        DateTime::parse_from_rfc2822(value).ok().map(|at| (at.with_timezone(&Utc) - now).num_seconds().max(0))
    })
}

/// Classifies a sent request: 2xx succeeds (the response is returned for channels that read it); 5xx,
/// 429 (with its `Retry-After`), timeouts and connection failures are worth retrying; any other 4xx is a
/// refusal.
pub fn outcome(
    sent: Result<reqwest::Response, reqwest::Error>,
    now: DateTime<Utc>,
) -> (Attempt, Result<reqwest::Response, SendError>) {
    match sent {
        Ok(response) if response.status().is_success() => (Attempt::Success, Ok(response)),
        Ok(response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after_seconds(v, now));
            let reason = format!("the receiver answered {status}");
            if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
                (Attempt::ClientError, Err(SendError::Permanent(reason)))
            } else {
                (Attempt::TransientFailure, Err(SendError::Retry { reason, retry_after_seconds: retry_after }))
            }
        }
        Err(err) => {
            let reason = if err.is_timeout() { "the receiver timed out" } else { "the receiver could not be reached" }
                .to_owned();
            (Attempt::TransientFailure, Err(SendError::Retry { reason, retry_after_seconds: None }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:30:00Z").expect("valid").with_timezone(&Utc);
        assert_eq!(retry_after_seconds("120", now), Some(120));
        assert_eq!(retry_after_seconds("Mon, 02 Mar 2026 09:31:00 GMT", now), Some(60));
        assert_eq!(retry_after_seconds("soon", now), None);
    }
}
