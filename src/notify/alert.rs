//! In-app alerts: stored per user, newest 999 kept (as DefectDojo). Idempotent per (notification, user), so
//! a delivery repeated after a crash does not alert twice.
//!
//! An alert is a row in the same database as its delivery, so the delivery worker writes a lane's alerts and
//! their outcomes in one write transaction (`write_many`, called by `jobs::delivery::recorder`); `send` is one
//! alert in a transaction of its own (a test send). Which alerts a user keeps, and the trim of the others, is
//! `service::alerts`' (not at each write: finding each user's 999th-newest alert there was most of an alerts
//! write's time on PostgreSQL).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::{Outgoing, SendError};
use crate::db::WriteTurns;
use crate::domain::UserId;
use crate::domain::recipients::Target;
use crate::entity::{alert, notification};

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
