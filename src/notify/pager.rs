//! PagerDuty through its Events API v2: an SLA breach (or its escalation) triggers an incident, an SLA
//! resolution resolves it. The dedup key is the finding's SLA cycle, so a repeated send — a retry, a second
//! worker, the escalation after the breach — adds to the one incident instead of opening another.

use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::{Outgoing, SendError};
use crate::domain::{NotificationEvent, Severity};

/// PagerDuty's own endpoint, used when the system settings name none.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// PagerDuty cuts a summary at 1,024 characters.
const MAX_SUMMARY: usize = 1024;

/// The system's PagerDuty service.
#[derive(Debug, Clone)]
pub struct PagerContext {
    pub routing_key: Option<String>,
    pub events_url: Option<String>,
}

/// PagerDuty's severities: `critical`, `error`, `warning`, `info`.
#[must_use]
pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

/// The event to post, or why this notification cannot page.
pub fn event(routing_key: &str, outgoing: &Outgoing<'_>) -> Result<Value, SendError> {
    let notification = outgoing.notification;
    let action = match notification.event {
        NotificationEvent::SlaBreach | NotificationEvent::SlaBreachEscalation => "trigger",
        NotificationEvent::SlaResolved => "resolve",
        other => return Err(SendError::Permanent(format!("PAGER pages on SLA breaches, not on {}", other.as_str()))),
    };
    let (Some(finding), Some(sla)) = (&outgoing.payload.finding, &outgoing.payload.sla) else {
        return Err(SendError::Permanent("a page needs the finding and its SLA cycle".to_owned()));
    };
    let dedup_key = format!("slawatch/finding/{}/cycle/{}", finding.id, sla.cycle);
    let mut event = json!({ "routing_key": routing_key, "event_action": action, "dedup_key": dedup_key });
    if action == "resolve" {
        return Ok(event);
    }
    let mut details: Map<String, Value> =
        outgoing.payload.details().into_iter().map(|(label, value)| (label.to_owned(), Value::String(value))).collect();
    details.insert("Event".to_owned(), Value::String(notification.event.as_str().to_owned()));
    if let Some(url) = &notification.url {
        details.insert("Link".to_owned(), Value::String(url.clone()));
        event["links"] = json!([{ "href": url, "text": "Open the finding in slawatch" }]);
        event["client_url"] = Value::String(url.clone());
    }
    let product = outgoing.payload.product.as_ref().map_or("slawatch", |p| p.name.as_str());
    let timestamp = DateTime::from_timestamp(notification.created_at, 0).unwrap_or_default().to_rfc3339();
    event["client"] = Value::String("slawatch".to_owned());
    event["payload"] = json!({
        "summary": notification.title.chars().take(MAX_SUMMARY).collect::<String>(),
        "source": product,
        "severity": severity(finding.severity),
        "timestamp": timestamp,
        "component": finding.title,
        "class": notification.event.as_str(),
        "custom_details": details,
    });
    Ok(event)
}

/// Posts the event; PagerDuty answers 202 when it took it.
pub async fn send(client: &reqwest::Client, context: &PagerContext, outgoing: &Outgoing<'_>) -> Result<(), SendError> {
    let Some(routing_key) = context.routing_key.as_deref() else {
        return Err(super::unconfigured(
            crate::domain::recipients::Channel::Pager,
            "no PagerDuty integration key is configured in the system settings",
        ));
    };
    let body = event(routing_key, outgoing)?;
    let url = context.events_url.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL);
    let now = DateTime::from_timestamp(outgoing.now, 0).unwrap_or_default();
    let (_, sent) = super::http::outcome(client.post(url).json(&body).send().await, now);
    sent.map(|_| ())
}
