//! Slack: `chat.postMessage` with the bot token to a channel, or to a user found once by email
//! (`users.lookupByEmail`) whose Slack id is then cached. The API base URL is configurable.

use std::fmt::Write;

use chrono::DateTime;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};

use super::{Learned, Outgoing, SendError, Sent};
use crate::domain::UserId;
use crate::domain::recipients::Target;
use crate::entity::user;

/// What a Slack message needs.
#[derive(Debug, Clone)]
pub struct SlackContext {
    pub api_url: String,
    pub token: Option<String>,
}

/// The message text, in Slack's mrkdwn.
#[must_use]
pub fn text(outgoing: &Outgoing<'_>) -> String {
    let notification = outgoing.notification;
    let mut text = format!("*{}*\n{}", notification.title, notification.description);
    for (label, value) in outgoing.payload.details() {
        let _ = write!(text, "\n• {label}: {value}");
    }
    if let Some(url) = &notification.url {
        let _ = write!(text, "\n<{url}|Open in slawatch>");
    }
    text
}

/// Calls one Slack Web API method; Slack answers 200 with `{"ok": false, "error": …}` for refusals.
async fn call(token: &str, request: reqwest::RequestBuilder, now: i64) -> Result<Value, SendError> {
    let now = DateTime::from_timestamp(now, 0).unwrap_or_default();
    let (_, sent) = super::http::outcome(request.bearer_auth(token).send().await, now);
    let body: Value = sent?.json().await.map_err(|_| SendError::Retry {
        reason: "Slack answered with something that is not JSON".to_owned(),
        retry_after_seconds: None,
    })?;
    if body["ok"] == json!(true) {
        return Ok(body);
    }
    let error = body["error"].as_str().unwrap_or("unknown_error").to_owned();
    Err(match error.as_str() {
        "ratelimited" | "internal_error" | "service_unavailable" | "fatal_error" | "request_timeout" => {
            SendError::Retry { reason: format!("Slack: {error}"), retry_after_seconds: None }
        }
        _ => SendError::Permanent(format!("Slack refused: {error}")),
    })
}

/// The Slack id of a user: the stored one, else looked up by their Slack email (and returned as learned, for
/// the worker to store).
async fn slack_user_id<C: ConnectionTrait>(
    conn: &C,
    client: &reqwest::Client,
    context: &SlackContext,
    token: &str,
    user_id: UserId,
    now: i64,
) -> Result<(String, Option<Learned>), SendError> {
    let found = user::Entity::find_by_id(user_id)
        .one(conn)
        .await
        .map_err(super::transient)?
        .ok_or_else(|| SendError::Permanent(format!("the user {user_id} no longer exists")))?;
    if let Some(cached) = &found.slack_user_id {
        return Ok((cached.clone(), None));
    }
    let email = found.slack_email.clone().unwrap_or_else(|| found.email.clone());
    let mut lookup = url::Url::parse(&format!("{}/users.lookupByEmail", context.api_url))
        .map_err(|_| SendError::Permanent("the Slack API URL is invalid".to_owned()))?;
    lookup.query_pairs_mut().append_pair("email", &email);
    let request = client.get(lookup);
    let body = call(token, request, now).await?;
    let slack_id = body["user"]["id"]
        .as_str()
        .ok_or_else(|| SendError::Permanent("Slack's users.lookupByEmail answer has no user id".to_owned()))?
        .to_owned();
    Ok((slack_id.clone(), Some(Learned::SlackUserId { user_id, slack_user_id: slack_id })))
}

/// Posts the message to a channel or a user.
pub async fn send<C: ConnectionTrait>(
    conn: &C,
    client: &reqwest::Client,
    context: &SlackContext,
    outgoing: &Outgoing<'_>,
) -> Sent {
    let Some(token) = context.token.as_deref() else {
        return Sent::from(Err(super::unconfigured(
            crate::domain::recipients::Channel::Slack,
            "no Slack bot token is configured in the system settings",
        )));
    };
    let (channel, learned) = match outgoing.target {
        Target::SlackChannel(name) => (name.clone(), None),
        Target::SlackUser(user_id) => match slack_user_id(conn, client, context, token, *user_id, outgoing.now).await {
            Ok(found) => found,
            Err(err) => return Sent::from(Err(err)),
        },
        other => {
            return Sent::from(Err(SendError::Permanent(format!(
                "a Slack message goes to a channel or a user, not {other}"
            ))));
        }
    };
    let request = client
        .post(format!("{}/chat.postMessage", context.api_url))
        .json(&json!({ "channel": channel, "text": text(outgoing), "unfurl_links": false }));
    // The looked-up id is right even when the post fails: keep it either way.
    Sent { result: call(token, request, outgoing.now).await.map(|_| ()), learned, answer: None }
}
