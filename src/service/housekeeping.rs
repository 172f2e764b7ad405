//! The hourly chores: engagement reminders (and auto-close), alert retention, and webhook endpoints'
//! return from their rest after failures.

use crate::domain::engagement_status::EngagementStatus;
use chrono::TimeDelta;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::engagement_reminders::{self, Reminder, UPCOMING_DAYS};
use crate::domain::webhook_health::Health;
use crate::entity::{alert, engagement, system_settings, webhook};
use crate::error::ServiceResult;
use crate::service::{events, outbox, products};
use crate::state::AppState;

/// Sends each due engagement reminder once and completes engagements due for auto-close. Returns how many
/// reminders were new.
pub async fn engagement_reminders(state: &AppState) -> ServiceResult<usize> {
    let now = state.clock.now();
    let today = now.date_naive();
    let auto_close_days = system_settings::Entity::find_by_id(1)
        .one(&state.db)
        .await?
        .and_then(|s| s.engagement_auto_close_days)
        .and_then(|d| u32::try_from(d).ok());
    let horizon = today + TimeDelta::days(UPCOMING_DAYS as i64);
    // Every reminder needs an open engagement that starts by the horizon (a stale one started long ago).
    let candidates = engagement::Entity::find()
        .filter(engagement::Column::Status.is_in(EngagementStatus::OPEN))
        .filter(engagement::Column::TargetStart.lte(horizon))
        .order_by_asc(engagement::Column::Id)
        .all(&state.db)
        .await?;
    let mut sent = 0;
    for found in candidates {
        let Some(reminder) =
            engagement_reminders::due(found.status, found.target_start, found.target_end, today, auto_close_days)
        else {
            continue;
        };
        let txn = state.begin_batch_write().await?;
        let product = products::get_unchecked(&txn, found.product_id).await?;
        let site = outbox::site_url(&txn).await?;
        let mut subject = found;
        if reminder == Reminder::AutoClose {
            let mut model: engagement::ActiveModel = subject.into();
            model.status = Set(EngagementStatus::Completed);
            subject = model.update(&txn).await?;
        }
        let notification = events::engagement_reminder(reminder, &subject, &product.name, &site);
        if outbox::publish(&txn, now.timestamp(), notification).await?.is_some() {
            sent += 1;
        }
        txn.commit().await?;
    }
    if sent > 0 {
        state.wake_delivery();
    }
    Ok(sent)
}

/// Deletes alerts older than the retention. Returns how many.
pub async fn clean_alerts(state: &AppState) -> ServiceResult<u64> {
    let cutoff = state.clock.now() - TimeDelta::days(state.config.alert_retention_days);
    let txn = state.begin_batch_write().await?;
    let deleted =
        alert::Entity::delete_many().filter(alert::Column::CreatedAt.lt(cutoff.timestamp())).exec(&txn).await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// Endpoints resting in `INACTIVE_TMP` since their last failure for `webhook_recovery_seconds` become
/// `ACTIVE_TMP`: the next delivery tries them again (DefectDojo's reactivation after a minute). Returns
/// how many.
pub async fn recover_webhooks(state: &AppState) -> ServiceResult<u64> {
    let rested_since = state.clock.now().timestamp() - state.config.webhook_recovery_seconds;
    let txn = state.begin_batch_write().await?;
    let recovered = webhook::Entity::update_many()
        .col_expr(webhook::Column::Status, Expr::value(Health::ActiveTmp))
        .filter(webhook::Column::Status.eq(Health::InactiveTmp))
        .filter(webhook::Column::LastErrorAt.lte(rested_since))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(recovered.rows_affected)
}
