//! The hourly chores (engagement reminders and auto-close, alert and report retention) and the webhook recovery,
//! each on one instance at a time.

use super::JobContext;
use crate::service::housekeeping;

/// Every `SLAWATCH_HOUSEKEEPING_INTERVAL` seconds (default an hour).
pub async fn run_hourly(context: JobContext) {
    let state = context.state.clone();
    let interval = std::time::Duration::from_secs(state.config.housekeeping_interval_seconds.max(1));
    super::every_exclusive(context, "housekeeping", interval, || async {
        match housekeeping::engagement_reminders(&state).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "engagement reminders"),
            Err(err) => tracing::warn!(error = %err.detail(), "engagement reminders failed; retrying next time"),
        }
        match housekeeping::clean_alerts(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old alerts deleted"),
            Err(err) => tracing::warn!(error = %err.detail(), "alert cleanup failed; retrying next time"),
        }
        match crate::service::reports::delete_expired(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "kept reports past their retention deleted"),
            Err(err) => tracing::warn!(error = %err.detail(), "report cleanup failed; retrying next time"),
        }
    })
    .await;
}

/// Twice per rest period, so a resting endpoint is tried again soon after its rest.
pub async fn run_webhook_recovery(context: JobContext) {
    let state = context.state.clone();
    let seconds = u64::try_from(state.config.webhook_recovery_seconds / 2).unwrap_or(30).max(1);
    super::every_exclusive(context, "webhook_recovery", std::time::Duration::from_secs(seconds), || async {
        match housekeeping::recover_webhooks(&state).await {
            Ok(0) => {}
            Ok(recovered) => tracing::info!(recovered, "webhook endpoints back to ACTIVE_TMP after their rest"),
            Err(err) => tracing::warn!(error = %err.detail(), "webhook recovery failed; retrying next time"),
        }
    })
    .await;
}
