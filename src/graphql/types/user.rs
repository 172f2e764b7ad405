//! `User` and `ApiToken`: what may be shown of them (never a password hash or token digest).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::instant;
use crate::entity::{api_token, user};
use crate::graphql::context::ContextExt;

pub struct User(pub user::Model, pub ShownTo);

/// Whom a `User` is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownTo {
    /// Whoever sent the request (their identity decides).
    Requester,
    /// The user themself, signing in: the request carries no identity yet, but the answer is theirs.
    Themself,
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self(model, ShownTo::Requester)
    }
}

impl User {
    /// Whether the viewer may see this user's private fields: the user themself and superusers. Others
    /// (a colleague reading an engagement's lead or a note's author) see the id, username and name only.
    fn private_to(&self, ctx: &Context<'_>) -> bool {
        self.1 == ShownTo::Themself
            || ctx.actor().is_ok_and(|viewer| viewer.is_superuser || viewer.user_id == self.0.id)
    }
}

/// A user. `email`, `isSuperuser`, `isActive`, `slackEmail` and `createdAt` are null unless you are that
/// user or a superuser.
#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private_to(ctx).then_some(self.0.email.as_str())
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn is_superuser(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private_to(ctx).then_some(self.0.is_superuser)
    }
    async fn is_active(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private_to(ctx).then_some(self.0.is_active)
    }
    /// The address used to find the user in Slack (defaults to the email).
    async fn slack_email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private_to(ctx).then(|| self.0.slack_email.as_deref().unwrap_or(&self.0.email))
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.private_to(ctx).then(|| instant(self.0.created_at)).flatten()
    }
}

/// An API token. Its secret is shown once, at creation.
pub struct ApiToken(pub api_token::Model);

/// An API token of a user, for scripts (`Authorization: Token …`); its secret is shown once, at creation.
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
