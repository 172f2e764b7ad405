//! API tokens: created for oneself (shown once), listed with their last use, revoked.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::validated;
use crate::domain::{ApiTokenId, UserId};
use crate::entity::api_token;
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::security::token;
use crate::service::Actor;
use crate::state::AppState;

/// A token just created: the only time its secret is available.
#[derive(Debug)]
pub struct CreatedToken {
    pub secret: String,
    pub token: api_token::Model,
}

/// Creates a token for `user_id` without an authorization check (CLI).
pub async fn create_unchecked<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    name: &str,
    now: i64,
) -> ServiceResult<CreatedToken> {
    let name = validated::name("name", name)?;
    let secret = token::new_api_token().map_err(ServiceError::internal)?;
    let model = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name),
        token_hash: Set(token::token_digest(&secret)),
        token_prefix: Set(token::display_prefix(&secret)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    };
    let token = model.insert(conn).await?;
    Ok(CreatedToken { secret, token })
}

/// Creates a token for the acting user.
pub async fn create(state: &AppState, actor: &Actor, name: &str) -> ServiceResult<CreatedToken> {
    let created = create_unchecked(&state.db, actor.user_id, name, state.clock.now().timestamp()).await?;
    // A request may have been refused with this token a moment ago: that answer is kept no longer.
    state.note_change();
    Ok(created)
}

/// The acting user's tokens, newest first.
pub async fn list_own(state: &AppState, actor: &Actor) -> ServiceResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(actor.user_id))
        .order_by_desc(api_token::Column::Id)
        .all(&state.db)
        .await?)
}

/// Every API token, or one user's (superusers only), newest first: the CLI's `token list`.
pub async fn list_all(
    state: &AppState,
    actor: &Actor,
    user_id: Option<UserId>,
) -> ServiceResult<Vec<api_token::Model>> {
    actor.require_superuser()?;
    let mut select = api_token::Entity::find().order_by_desc(api_token::Column::Id);
    if let Some(user_id) = user_id {
        select = select.filter(api_token::Column::UserId.eq(user_id));
    }
    Ok(select.all(&state.db).await?)
}

/// Revokes a token of one's own (superusers: anyone's). Revoking twice is harmless.
pub async fn revoke(state: &AppState, actor: &Actor, id: ApiTokenId) -> ServiceResult<api_token::Model> {
    let found = api_token::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|t| actor.is_superuser || t.user_id == actor.user_id)
        .ok_or_else(|| ServiceError::not_found("API token"))?;
    if found.revoked_at.is_some() {
        return Ok(found);
    }
    let mut model: api_token::ActiveModel = found.into();
    model.revoked_at = Set(Some(state.clock.now().timestamp()));
    let revoked = model.update(&state.db).await?;
    // Live connections signed in with it check their credentials again (and are closed).
    state.announce(vec![Signal::User { user: revoked.user_id }]).await;
    Ok(revoked)
}
