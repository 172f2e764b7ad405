//! The signed-in user's in-app alerts: listed newest first, counted, marked read.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Select};

use crate::domain::AlertId;
use crate::entity::alert;
use crate::error::ServiceResult;
use crate::service::Actor;
use crate::service::page::{self, Page, PageRequest};
use crate::state::AppState;

/// The actor's alerts, in id order (use `last` for the newest): their newest `ALERTS_KEPT_PER_USER`, as a
/// chore deletes the older ones only every minute.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    unread_only: bool,
    request: PageRequest,
) -> ServiceResult<Page<alert::Model>> {
    let mut select = kept(actor);
    if unread_only {
        select = select.filter(alert::Column::ReadAt.is_null());
    }
    page::fetch(&state.db, select, alert::Column::Id, request, state.config.limits.max_page_size).await
}

/// How many of the alerts the actor keeps are unread.
pub async fn unread_count(state: &AppState, actor: &Actor) -> ServiceResult<u64> {
    Ok(kept(actor).filter(alert::Column::ReadAt.is_null()).count(&state.db).await?)
}

/// The alerts `actor` keeps: their newest `ALERTS_KEPT_PER_USER`.
fn kept(actor: &Actor) -> Select<alert::Entity> {
    alert::Entity::find()
        .filter(alert::Column::UserId.eq(actor.user_id))
        .filter(Expr::col((alert::Entity, alert::Column::Id)).gte(crate::notify::alert::oldest_kept(actor.user_id)))
}

/// Marks the actor's alerts read (the given ones, or all); returns how many changed. Ids of other users'
/// alerts are ignored.
pub async fn mark_read(state: &AppState, actor: &Actor, ids: Option<Vec<AlertId>>) -> ServiceResult<u64> {
    let mut update = alert::Entity::update_many()
        .col_expr(alert::Column::ReadAt, Expr::value(state.clock.now().timestamp()))
        .filter(alert::Column::UserId.eq(actor.user_id))
        .filter(alert::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(alert::Column::Id.is_in(ids));
    }
    Ok(update.exec(&state.db).await?.rows_affected)
}
