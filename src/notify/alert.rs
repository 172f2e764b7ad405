//! In-app alerts: stored per user, newest 999 kept (as DefectDojo). Idempotent per (notification, user), so
//! a delivery repeated after a crash does not alert twice.
//!
//! An alert is a row in the same database as its delivery, so the delivery worker writes a lane's alerts and
//! their outcomes in one write transaction (`write_many` and `trim`, called by `jobs::delivery::recorder`);
//! `send` is one alert in a transaction of its own (a test send).

use std::collections::BTreeSet;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

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

/// Inserts each notification's alert for its user in one statement, but for users who have it already.
/// The caller trims.
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

/// Deletes each of `users`' alerts older than their newest `ALERTS_KEPT_PER_USER`, in one statement: each
/// user's oldest kept alert is looked up once (`MATERIALIZED`: not again for every alert it is compared
/// with), then their older alerts are deleted through `idx_alerts_user`.
pub async fn trim<C: ConnectionTrait>(conn: &C, users: impl IntoIterator<Item = UserId>) -> Result<(), sea_orm::DbErr> {
    let users: BTreeSet<UserId> = users.into_iter().collect();
    if users.is_empty() {
        return Ok(());
    }
    // The ids are integers from typed ids, not text from a request.
    let listed: Vec<String> = users.iter().map(|user| format!("SELECT {} AS user_id", user.get())).collect();
    let sql = format!(
        "WITH kept AS MATERIALIZED (SELECT u.user_id, (SELECT b.id FROM alerts b WHERE b.user_id = u.user_id \
         ORDER BY b.id DESC LIMIT 1 OFFSET {skipped}) AS oldest_kept FROM ({users}) u) \
         DELETE FROM alerts WHERE id IN (SELECT a.id FROM kept JOIN alerts a ON a.user_id = kept.user_id \
         AND a.id < kept.oldest_kept)",
        skipped = ALERTS_KEPT_PER_USER - 1,
        users = listed.join(" UNION ALL "),
    );
    conn.execute_unprepared(&sql).await?;
    Ok(())
}
