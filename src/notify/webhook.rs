//! Webhooks: DefectDojo-compatible JSON (its base keys plus the event's data) or GELF 1.1 for Graylog,
//! with the event and delivery id in headers, an optional static auth header and HMAC-SHA256 signature, and
//! the endpoint's health after each attempt returned for the worker to store.

use std::time::Duration;

use chrono::DateTime;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Learned, Outgoing, SendError, Sent};
use crate::domain::webhook_health::{self, Attempt, Health, HealthRecord};
use crate::domain::{NotificationPayload, Severity};
use crate::entity::{notification, webhook};

/// `User-Agent` of every outgoing request (set once, on the shared client).
pub const USER_AGENT: &str = concat!("slawatch/", env!("CARGO_PKG_VERSION"));

/// What a webhook message needs from the system settings.
#[derive(Debug, Clone)]
pub struct WebhookContext {
    pub site_url: String,
    pub disclaimer: String,
    pub timeout: Duration,
    /// How long an `INACTIVE_TMP` endpoint rests after its last failure.
    pub rest_seconds: i64,
    /// Refuse a URL whose host is a private address (names are checked by `PublicOnlyResolver`).
    pub deny_private: bool,
}

/// DefectDojo's keys (`title`, `description`, `url_ui`, `url_api`, `user`, `disclaimer`) plus `event` and
/// the event's data (for SLA events: finding, product, severity, deadline, remaining, threshold).
#[must_use]
pub fn json_body(notification: &notification::Model, payload: &NotificationPayload, context: &WebhookContext) -> Value {
    let mut body = match serde_json::to_value(payload) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let url_api =
        notification.finding_id.map(|id| format!("{}/api/v2/findings/{id}/", context.site_url.trim_end_matches('/')));
    body.insert("event".to_owned(), json!(notification.event));
    body.insert("title".to_owned(), json!(notification.title));
    body.insert("description".to_owned(), json!(notification.description));
    body.insert("url_ui".to_owned(), json!(notification.url));
    body.insert("url_api".to_owned(), json!(url_api));
    body.insert("user".to_owned(), json!(payload.by));
    body.insert("disclaimer".to_owned(), json!(context.disclaimer));
    Value::Object(body)
}

/// Syslog level from a severity: Critical 2 (critical) … Info 6 (informational); 6 without a finding.
fn gelf_level(severity: Option<Severity>) -> u8 {
    match severity {
        Some(Severity::Critical) => 2,
        Some(Severity::High) => 3,
        Some(Severity::Medium) => 4,
        Some(Severity::Low) => 5,
        Some(Severity::Info) | None => 6,
    }
}

/// GELF 1.1: `host` is the webhook's source (the runbook's Graylog stream matches `source = defectdojo`),
/// `short_message` the title (SLA events say "SLA" in it), extra fields with a leading underscore.
#[must_use]
pub fn gelf_body(
    notification: &notification::Model,
    payload: &NotificationPayload,
    source: &str,
    delivery_key: &str,
) -> Value {
    let finding = payload.finding.as_ref();
    let sla = payload.sla.as_ref();
    let severity = finding.map(|f| f.severity);
    let mut body = json!({
        "version": "1.1",
        "host": source,
        "short_message": notification.title,
        "full_message": notification.description,
        "timestamp": notification.created_at,
        "level": gelf_level(severity),
        "_event": notification.event,
        "_delivery_id": delivery_key,
    });
    for (field, value) in [
        ("_finding_id", json!(finding.map(|f| f.id))),
        ("_finding_title", json!(finding.map(|f| &f.title))),
        ("_product", json!(payload.product.as_ref().map(|p| &p.name))),
        ("_severity", json!(severity)),
        ("_sla_deadline", json!(sla.and_then(|s| s.deadline.as_ref()))),
        ("_sla_remaining_seconds", json!(sla.and_then(|s| s.remaining_seconds))),
        ("_sla_threshold", json!(sla.and_then(|s| s.threshold))),
        ("_url", json!(notification.url)),
    ] {
        if !value.is_null() {
            body[field] = value;
        }
    }
    body
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
#[must_use]
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", crate::security::token::to_hex(&mac.finalize().into_bytes()))
}

/// Why the endpoint is not tried now, if it is not: refused after a client error, resting after failures,
/// or at a private address the system refuses.
fn not_tried(hook: &webhook::Model, context: &WebhookContext, now: i64) -> Option<SendError> {
    if hook.status == Health::InactivePermanent {
        return Some(SendError::Permanent(format!(
            "the webhook {:?} is INACTIVE_PERMANENT after a refusal; update it to resume, then retry",
            hook.name
        )));
    }
    if let Some(until) = resting_until(hook, context.rest_seconds).filter(|until| *until > now) {
        return Some(SendError::Defer {
            until,
            reason: format!("the webhook {:?} rests after repeated failures (INACTIVE_TMP)", hook.name),
        });
    }
    if context.deny_private && crate::domain::outbound::names_private_host(&hook.url) {
        return Some(SendError::Permanent(format!(
            "the webhook {:?} points at a private address, refused by SLAWATCH_WEBHOOK_DENY_PRIVATE",
            hook.name
        )));
    }
    None
}

/// Posts the message; returns the endpoint's new health for the caller to store (and applies it to `hook`,
/// for the next send).
pub async fn send(
    client: &reqwest::Client,
    hook: &mut webhook::Model,
    outgoing: &Outgoing<'_>,
    context: &WebhookContext,
) -> Sent {
    if let Some(refusal) = not_tried(hook, context, outgoing.now) {
        return Sent::from(Err(refusal));
    }
    let notification = outgoing.notification;
    let body = if hook.format == crate::domain::webhook_format::WebhookFormat::Gelf {
        gelf_body(notification, outgoing.payload, &hook.source, outgoing.delivery_key)
    } else {
        json_body(notification, outgoing.payload, context)
    };
    let bytes = match serde_json::to_vec(&body) {
        Ok(bytes) => bytes,
        Err(err) => return Sent::from(Err(SendError::Permanent(err.to_string()))),
    };
    let mut request = client
        .post(&hook.url)
        .timeout(context.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-DefectDojo-Event", notification.event.as_str())
        .header("X-Slawatch-Event", notification.event.as_str())
        .header("X-Slawatch-Delivery", outgoing.delivery_key);
    if let (Some(name), Some(value)) = (&hook.header_name, &hook.header_value) {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(secret) = &hook.hmac_secret {
        request = request.header("X-Slawatch-Signature", signature(secret, &bytes));
    }
    let now = DateTime::from_timestamp(outgoing.now, 0).unwrap_or_default();
    let (attempt, sent) = super::http::outcome(request.body(bytes).send().await, now);
    let result = sent.map(|_| ());
    let learned = learn_health(hook, attempt, result.as_ref().err(), outgoing.now);
    Sent { result, learned, answer: None }
}

/// When an `INACTIVE_TMP` endpoint may be tried again.
fn resting_until(hook: &webhook::Model, rest_seconds: i64) -> Option<i64> {
    let resting = hook.status == Health::InactiveTmp && rest_seconds > 0;
    resting.then(|| hook.last_error_at.map(|at| at + rest_seconds)).flatten()
}

/// The endpoint's health record after this attempt, if it changed; applied to `hook` so the next send of
/// the run sees it.
fn learn_health(hook: &mut webhook::Model, attempt: Attempt, error: Option<&SendError>, now: i64) -> Option<Learned> {
    let failure = match error {
        None => None,
        Some(SendError::Retry { reason, .. } | SendError::Permanent(reason)) => Some(reason.as_str()),
        Some(SendError::Defer { .. }) => return None,
    };
    let current = HealthRecord {
        status: hook.status,
        first_error_at: hook.first_error_at,
        last_error_at: hook.last_error_at,
        note: hook.note.clone(),
    };
    let record = webhook_health::record_after(&current, attempt, failure, now)?;
    hook.status = record.status;
    hook.first_error_at = record.first_error_at;
    hook.last_error_at = record.last_error_at;
    hook.note.clone_from(&record.note);
    Some(Learned::WebhookHealth { webhook_id: hook.id, record })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FindingId, NotificationId, ProductId};

    fn sla_notification() -> notification::Model {
        notification::Model {
            id: NotificationId::new(1),
            event: crate::domain::NotificationEvent::SlaBreach,
            product_id: Some(ProductId::new(3)),
            finding_id: Some(FindingId::new(7)),
            title: "SLA breached: RCE in payment gateway".to_owned(),
            description: "Critical finding past its deadline".to_owned(),
            url: Some("https://slawatch.golemtrust.am/?finding=7".to_owned()),
            payload: sla_payload().to_stored(),
            dedupe_key: None,
            created_at: 1_772_530_200,
        }
    }

    fn sla_payload() -> NotificationPayload {
        use crate::domain::notification_payload::{FindingFacts, Named, SlaFacts};
        NotificationPayload {
            finding: Some(FindingFacts {
                id: FindingId::new(7),
                title: "RCE in payment gateway".to_owned(),
                severity: Severity::Critical,
            }),
            product: Some(Named { id: ProductId::new(3), name: "Royal-Bank-Integration".to_owned() }),
            sla: Some(SlaFacts {
                kind: crate::domain::SlaEventKind::Breach,
                cycle: 1,
                deadline: Some("2026-03-03T09:30:00Z".to_owned()),
                remaining_seconds: Some(0),
                remaining: None,
                threshold: None,
            }),
            ..NotificationPayload::default()
        }
    }

    #[test]
    fn gelf_carries_the_runbook_stream_fields() {
        let body = gelf_body(&sla_notification(), &sla_payload(), "defectdojo", "abc");
        assert_eq!(body["version"], "1.1");
        assert_eq!(body["host"], "defectdojo");
        assert!(body["short_message"].as_str().is_some_and(|m| m.contains("SLA")));
        assert_eq!(body["level"], 2);
        assert_eq!(body["_finding_id"], 7);
        assert_eq!(body["_product"], "Royal-Bank-Integration");
        assert_eq!(body["_severity"], "Critical");
        assert_eq!(body["_event"], "sla_breach");
        assert!(body.get("_sla_threshold").is_none(), "null fields are left out");
    }

    #[test]
    fn json_has_defectdojos_keys_and_the_sla_data() {
        let context = WebhookContext {
            site_url: "https://slawatch.golemtrust.am/".to_owned(),
            disclaimer: "Internal".to_owned(),
            timeout: Duration::from_secs(5),
            rest_seconds: 60,
            deny_private: false,
        };
        let body = json_body(&sla_notification(), &sla_payload(), &context);
        for key in ["title", "description", "url_ui", "url_api", "user", "disclaimer"] {
            assert!(body.get(key).is_some(), "{key}");
        }
        assert_eq!(body["url_api"], "https://slawatch.golemtrust.am/api/v2/findings/7/");
        assert_eq!(body["sla"]["deadline"], "2026-03-03T09:30:00Z");
        assert_eq!(body["product"]["name"], "Royal-Bank-Integration");
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
