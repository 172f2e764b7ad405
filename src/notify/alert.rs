//! In-app alerts: stored per user, newest 999 kept (as DefectDojo). Idempotent per (notification, user), so
//! a delivery repeated after a crash does not alert twice.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{Outgoing, SendError};
use crate::domain::UserId;
use crate::domain::recipients::Target;
use crate::entity::alert;

/// How many alerts a user keeps.
pub const ALERTS_KEPT_PER_USER: u64 = 999;

pub async fn send<C: ConnectionTrait>(conn: &C, outgoing: &Outgoing<'_>) -> Result<(), SendError> {
    let Target::User(user_id) = outgoing.target else {
        return Err(SendError::Permanent(format!("an alert goes to a user, not {}", outgoing.target)));
    };
    let retry = |err: sea_orm::DbErr| SendError::Retry { reason: err.to_string(), retry_after_seconds: None };
    let notification = outgoing.notification;
    let existing = alert::Entity::find()
        .filter(alert::Column::NotificationId.eq(notification.id))
        .filter(alert::Column::UserId.eq(*user_id))
        .one(conn)
        .await
        .map_err(retry)?;
    if existing.is_some() {
        return Ok(());
    }
    alert::ActiveModel {
        user_id: Set(*user_id),
        notification_id: Set(Some(notification.id)),
        event: Set(notification.event),
        title: Set(notification.title.clone()),
        description: Set(notification.description.clone()),
        url: Set(notification.url.clone()),
        created_at: Set(outgoing.now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(retry)?;
    trim(conn, *user_id).await.map_err(retry)
}

/// Deletes a user's alerts older than the newest `ALERTS_KEPT_PER_USER`.
async fn trim<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<(), sea_orm::DbErr> {
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
    Ok(())
}
