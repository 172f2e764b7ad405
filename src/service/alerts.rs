//! The signed-in user's in-app alerts: listed newest first, counted, marked read; and which a user keeps,
//! their newest `ALERTS_KEPT_PER_USER` (as DefectDojo), the older ones deleted by a chore every minute
//! (`trim`) rather than at each alerts write (`notify::alert`), where it was most of the write's time.

use sea_orm::sea_query::{Expr, ExprTrait, Func, Order, Query, QueryStatementBuilder, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select};

use crate::domain::{AlertId, UserId};
use crate::entity::alert;
use crate::error::ServiceResult;
use crate::service::Actor;
use crate::service::page::{self, Page, PageRequest};
use crate::state::AppState;

/// How many alerts a user keeps.
pub const ALERTS_KEPT_PER_USER: u64 = 999;

/// How many alerts one write of `trim` deletes at most: a minute of a thousand alerts a second is 60,000 to
/// delete, which in one write held SQLite's writer 80 ms, and 5,000 at a time 48 ms each (about 10 µs an
/// alert with its indexes); 500 hold it about as long as an edit does.
const TRIMMED_AT_ONCE: u64 = 500;

/// The actor's alerts, in id order (use `last` for the newest): the ones they keep, as the chore deletes the
/// older ones only every minute.
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
        .filter(Expr::col((alert::Entity, alert::Column::Id)).gte(oldest_kept(actor.user_id)))
}

/// The oldest id among `user`'s newest `ALERTS_KEPT_PER_USER` alerts, or 0 while they hold fewer: their alerts
/// from it on are the ones they keep (a walk of `idx_alerts_user` from the newest, once a statement).
fn oldest_kept(user: UserId) -> SimpleExpr {
    let oldest = Query::select()
        .column(alert::Column::Id)
        .from(alert::Entity)
        .and_where(Expr::col(alert::Column::UserId).eq(user))
        .order_by(alert::Column::Id, Order::Desc)
        .limit(1)
        .offset(ALERTS_KEPT_PER_USER - 1)
        .to_owned();
    Func::coalesce([SimpleExpr::SubQuery(None, Box::new(oldest.into_sub_query_statement())), Expr::val(0)]).into()
}

/// Deletes every user's alerts older than the ones they keep, at most `TRIMMED_AT_ONCE` a write, so the writes
/// someone waits for are not held up behind it (the chore, every minute). Returns how many.
pub async fn trim(state: &AppState) -> ServiceResult<u64> {
    let over: Vec<UserId> = alert::Entity::find()
        .select_only()
        .column(alert::Column::UserId)
        .group_by(alert::Column::UserId)
        .having(Expr::col(alert::Column::Id).count().gt(ALERTS_KEPT_PER_USER))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut deleted = 0;
    for user in over {
        loop {
            let txn = state.begin_batch_write().await?;
            let now_deleted = trim_oldest(&txn, user, TRIMMED_AT_ONCE).await?;
            txn.commit().await?;
            deleted += now_deleted;
            if now_deleted < TRIMMED_AT_ONCE {
                break;
            }
        }
    }
    Ok(deleted)
}

/// Deletes up to `most` of `user`'s oldest alerts among those older than the ones they keep, in one statement
/// through `idx_alerts_user`. Returns how many.
pub async fn trim_oldest<C: ConnectionTrait>(conn: &C, user: UserId, most: u64) -> Result<u64, DbErr> {
    let oldest_first = Query::select()
        .column(alert::Column::Id)
        .from(alert::Entity)
        .and_where(Expr::col(alert::Column::UserId).eq(user))
        .and_where(Expr::col(alert::Column::Id).lt(oldest_kept(user)))
        .order_by(alert::Column::Id, Order::Asc)
        .limit(most)
        .to_owned();
    let deleted = alert::Entity::delete_many().filter(alert::Column::Id.in_subquery(oldest_first)).exec(conn).await?;
    Ok(deleted.rows_affected)
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
