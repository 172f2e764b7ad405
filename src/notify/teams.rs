//! Microsoft Teams: an Adaptive Card in the Workflows message format, posted to the system's workflow URL.

use chrono::DateTime;
use serde_json::{Value, json};

use super::{Outgoing, SendError};

/// The Workflows message: one Adaptive Card attachment with the title, description, details and a link.
#[must_use]
pub fn card(outgoing: &Outgoing<'_>) -> Value {
    let notification = outgoing.notification;
    let facts: Vec<Value> = outgoing
        .payload
        .details()
        .into_iter()
        .map(|(title, value)| json!({ "title": title, "value": value }))
        .collect();
    let mut body = vec![
        json!({ "type": "TextBlock", "text": notification.title, "weight": "Bolder", "size": "Medium", "wrap": true }),
        json!({ "type": "TextBlock", "text": notification.description, "wrap": true }),
    ];
    if !facts.is_empty() {
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    let actions: Vec<Value> = notification
        .url
        .iter()
        .map(|url| json!({ "type": "Action.OpenUrl", "title": "Open in slawatch", "url": url }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            }
        }]
    })
}

/// Posts the card to the workflow URL.
pub async fn send(client: &reqwest::Client, url: Option<&str>, outgoing: &Outgoing<'_>) -> Result<(), SendError> {
    let Some(url) = url else {
        return Err(super::unconfigured(
            crate::domain::recipients::Channel::MsTeams,
            "no Microsoft Teams workflow URL is configured in the system settings",
        ));
    };
    let now = DateTime::from_timestamp(outgoing.now, 0).unwrap_or_default();
    let (_, sent) = super::http::outcome(client.post(url).json(&card(outgoing)).send().await, now);
    sent.map(|_| ())
}
