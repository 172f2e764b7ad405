//! In-app alerts: stored per user, newest 999 kept (as DefectDojo). Idempotent per (notification, user), so
//! a delivery repeated after a crash does not alert twice.
//!
//! An alert is a row in the same database as its delivery, so the delivery worker writes a lane's alerts and
//! their outcomes in one write transaction (`write_many`, called by `jobs::delivery::recorder`); `send` is one
//! alert in a transaction of its own (a test send). A user sees only their newest `ALERTS_KEPT_PER_USER`
//! (`service::alerts`), and the older ones are deleted every minute (`trim`, by `housekeeping::trim_alerts`):
//! finding each user's 999th-newest alert on every write was most of an alerts write's time on PostgreSQL.

use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query, QueryStatementBuilder, SimpleExpr};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};

use super::{Outgoing, SendError};
use crate::db::WriteTurns;
use crate::domain::UserId;
use crate::domain::recipients::Target;
use crate::entity::{alert, notification};

/// How many alerts a user keeps.
pub const ALERTS_KEPT_PER_USER: u64 = 999;

/// Writes one alert in a write transaction of its own (after the writers before it, on SQLite).
pub async fn send(
    turns: &WriteTurns,
    db: &sea_orm::DatabaseConnection,
    outgoing: &Outgoing<'_>,
) -> Result<(), SendError> {
    let user_id = user_of(outgoing.target)?;
    let txn = turns.begin(db, crate::db::WriteClass::Batch).await.map_err(retry)?;
    write_many(&txn, &[(outgoing.notification, user_id)], outgoing.now).await.map_err(retry)?;
    txn.commit().await.map_err(retry)
}

/// The user an alert goes to; any other target is a delivery that can never be made.
pub fn user_of(target: &Target) -> Result<UserId, SendError> {
    match target {
        Target::User(user_id) => Ok(*user_id),
        other => Err(SendError::Permanent(format!("an alert goes to a user, not {other}"))),
    }
}

/// A database error while writing an alert: worth trying again.
fn retry(err: sea_orm::DbErr) -> SendError {
    SendError::Retry { reason: err.to_string(), retry_after_seconds: None }
}

/// Inserts each notification's alert for its user in one statement, but for users who have it already.
pub async fn write_many<C: ConnectionTrait>(
    conn: &C,
    alerts: &[(&notification::Model, UserId)],
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    if alerts.is_empty() {
        return Ok(());
    }
    let rows = alerts.iter().map(|(notification, user_id)| alert::ActiveModel {
        user_id: Set(*user_id),
        notification_id: Set(Some(notification.id)),
        event: Set(notification.event),
        title: Set(notification.title.clone()),
        description: Set(notification.description.clone()),
        url: Set(notification.url.clone()),
        created_at: Set(now),
        ..Default::default()
    });
    // `uq_alerts_notification_user`: a repeat finds its alert there and writes nothing.
    let once = OnConflict::columns([alert::Column::NotificationId, alert::Column::UserId]).do_nothing().to_owned();
    alert::Entity::insert_many(rows).on_conflict(once).exec_without_returning(conn).await?;
    Ok(())
}

/// Deletes up to `most` of `user`'s oldest alerts among those older than their newest `ALERTS_KEPT_PER_USER`
/// (which are all they see meanwhile), in one statement: their oldest kept alert is looked up once, then the
/// older ones are read and deleted through `idx_alerts_user`. Returns how many.
pub async fn trim<C: ConnectionTrait>(conn: &C, user: UserId, most: u64) -> Result<u64, sea_orm::DbErr> {
    // The id is an integer from a typed id, not text from a request.
    let user = user.get();
    let sql = format!(
        "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a WHERE a.user_id = {user} AND a.id < \
         (SELECT b.id FROM alerts b WHERE b.user_id = {user} ORDER BY b.id DESC LIMIT 1 OFFSET {skipped}) \
         ORDER BY a.id LIMIT {most})",
        skipped = ALERTS_KEPT_PER_USER - 1,
    );
    Ok(conn.execute_unprepared(&sql).await?.rows_affected())
}

/// The users holding more than `ALERTS_KEPT_PER_USER` alerts (one walk of `idx_alerts_user`).
pub async fn users_over_the_limit<C: ConnectionTrait>(conn: &C) -> Result<Vec<UserId>, sea_orm::DbErr> {
    alert::Entity::find()
        .select_only()
        .column(alert::Column::UserId)
        .group_by(alert::Column::UserId)
        .having(Expr::col(alert::Column::Id).count().gt(ALERTS_KEPT_PER_USER))
        .into_tuple()
        .all(conn)
        .await
}

/// The oldest id among `user`'s newest `ALERTS_KEPT_PER_USER` alerts, or 0 while they hold fewer: their alerts
/// from it on are the ones they keep (a walk of `idx_alerts_user` from the newest, once a statement).
#[must_use]
pub fn oldest_kept(user: UserId) -> SimpleExpr {
    let oldest = Query::select()
        .column(alert::Column::Id)
        .from(alert::Entity)
        .and_where(Expr::col(alert::Column::UserId).eq(user.get()))
        .order_by(alert::Column::Id, Order::Desc)
        .limit(1)
        .offset(ALERTS_KEPT_PER_USER - 1)
        .to_owned();
    Func::coalesce([SimpleExpr::SubQuery(None, Box::new(oldest.into_sub_query_statement())), Expr::val(0)]).into()
}
