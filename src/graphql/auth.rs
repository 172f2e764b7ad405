//! Sign-in, the current user, users (admin) and API tokens.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, connection_complexity, page_request, parse_id};
use super::types::user::ShownTo;
use super::types::{ApiToken, TotalCount, User, connection};
use crate::service::users::{NewUser, UserChanges};
use crate::service::{auth, tokens, users};

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User::from(users::me(ctx.state()?, ctx.actor()?).await?))
    }

    /// All users (superusers).
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, User, TotalCount>> {
        let page = users::list(ctx.state()?, ctx.actor()?, page_request(ctx, first, after, last, before)?).await?;
        Ok(connection(page, |u| u.id, User::from))
    }

    /// The signed-in user's API tokens, newest first.
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        Ok(tokens::list_own(ctx.state()?, ctx.actor()?).await?.into_iter().map(ApiToken).collect())
    }
}

/// A session token from `login`.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A new API token: the secret is shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// Send as `Authorization: Token <token>`. Not retrievable later.
    pub token: String,
    pub api_token: ApiToken,
}

/// A new user (superusers).
#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password: Option<String>,
    #[graphql(default)]
    pub is_superuser: bool,
    pub slack_email: Option<String>,
}

/// Changes to a user; omitted fields keep their values.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub is_superuser: Option<bool>,
    pub is_active: Option<bool>,
    /// Empty clears it (the email is used).
    pub slack_email: Option<String>,
    /// Your current password: required to change your own password.
    pub current_password: Option<String>,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Exchanges a username and password for a JWT (one per request). Failed attempts back off per client
    /// address and per username.
    async fn login(&self, ctx: &Context<'_>, username: String, password: String) -> Result<LoginPayload> {
        let origin = ctx.origin()?;
        origin.take_login()?;
        let session = auth::login(ctx.state()?, &username, &password, origin.address).await?;
        Ok(LoginPayload {
            token: session.token,
            expires_at: session.expires_at,
            user: User(session.user, ShownTo::Themself),
        })
    }

    /// Creates an API token for the signed-in user.
    async fn create_api_token(&self, ctx: &Context<'_>, name: String) -> Result<CreatedApiToken> {
        let created = tokens::create(ctx.state()?, ctx.actor()?, &name).await?;
        Ok(CreatedApiToken { token: created.secret, api_token: ApiToken(created.token) })
    }

    /// Revokes an API token (one's own; superusers: any).
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        Ok(ApiToken(tokens::revoke(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Creates a user (superusers).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let CreateUserInput { username, email, display_name, password, is_superuser, slack_email } = input;
        let new = NewUser { username, email, display_name, password, is_superuser, slack_email };
        Ok(User::from(users::create(ctx.state()?, ctx.actor()?, new).await?))
    }

    /// Updates a user: superusers anyone; users themselves, except privileges.
    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UpdateUserInput) -> Result<User> {
        let UpdateUserInput { email, display_name, password, is_superuser, is_active, slack_email, current_password } =
            input;
        let changes =
            UserChanges { email, display_name, password, is_superuser, is_active, slack_email, current_password };
        let client = ctx.origin()?.address;
        Ok(User::from(users::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, changes, client).await?))
    }

    /// Signs out everywhere: every session token (JWT) of the signed-in user stops working, and their live
    /// connections are closed. API tokens are revoked one by one (`revokeApiToken`).
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        users::end_sessions(ctx.state()?, ctx.actor()?).await?;
        Ok(true)
    }
}
