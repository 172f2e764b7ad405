//! In-app alerts: stored per user, newest 999 kept (as DefectDojo). Idempotent per (notification, user), so
//! a delivery repeated after a crash does not alert twice.
//!
//! An alert is a row in the same database as its delivery, so the delivery worker writes a lane's alerts and
//! their outcomes in one write transaction (`write` and `trim`, called by `jobs::delivery::recorder`); `send`
//! is one alert in a transaction of its own (a test send).

use std::collections::BTreeSet;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

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
    let txn = turns.begin(db).await.map_err(retry)?;
    write(&txn, outgoing.notification, user_id, outgoing.now).await.map_err(retry)?;
    trim(&txn, [user_id]).await.map_err(retry)?;
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

/// Inserts `notification`'s alert for `user_id`, unless the user has it already. The caller trims.
pub async fn write<C: ConnectionTrait>(
    conn: &C,
    notification: &notification::Model,
    user_id: UserId,
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    let row = alert::ActiveModel {
        user_id: Set(user_id),
        notification_id: Set(Some(notification.id)),
        event: Set(notification.event),
        title: Set(notification.title.clone()),
        description: Set(notification.description.clone()),
        url: Set(notification.url.clone()),
        created_at: Set(now),
        ..Default::default()
    };
    // `uq_alerts_notification_user`: a repeat finds its alert there and writes nothing.
    let once = OnConflict::columns([alert::Column::NotificationId, alert::Column::UserId]).do_nothing().to_owned();
    alert::Entity::insert(row).on_conflict(once).exec_without_returning(conn).await?;
    Ok(())
}

/// Deletes each of `users`' alerts older than their newest `ALERTS_KEPT_PER_USER`.
pub async fn trim<C: ConnectionTrait>(conn: &C, users: impl IntoIterator<Item = UserId>) -> Result<(), sea_orm::DbErr> {
    for user_id in users.into_iter().collect::<BTreeSet<_>>() {
        let oldest_kept: Option<i32> = alert::Entity::find()
            .select_only()
            .column(alert::Column::Id)
            .filter(alert::Column::UserId.eq(user_id))
            .order_by_desc(alert::Column::Id)
            .offset(ALERTS_KEPT_PER_USER - 1)
            .limit(1)
            .into_tuple()
            .one(conn)
            .await?;
        if let Some(oldest_kept) = oldest_kept {
            alert::Entity::delete_many()
                .filter(alert::Column::UserId.eq(user_id))
                .filter(alert::Column::Id.lt(oldest_kept))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}
