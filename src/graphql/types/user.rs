//! `User` and `ApiToken`: what may be shown of them (never a password hash or token digest).

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::instant;
use crate::entity::{api_token, user};

pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn is_superuser(&self) -> bool {
        self.0.is_superuser
    }
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// The address used to find the user in Slack (defaults to the email).
    async fn slack_email(&self) -> &str {
        self.0.slack_email.as_deref().unwrap_or(&self.0.email)
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
}

/// An API token. Its secret is shown once, at creation.
pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the token, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
    /// When it was last used (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.and_then(instant)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.and_then(instant)
    }
}
