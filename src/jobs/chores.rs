//! The periodic chores, each on one instance at a time: risk acceptance expiry and scheduled reports every
//! sweep interval, the hourly housekeeping (engagement reminders and auto-close, alert and report
//! retention), webhook recovery, the DefectDojo syncs, and each minute's trims (users' alerts, the finding
//! change log).

use std::time::Duration;

use super::JobContext;
use crate::error::ServiceResult;
use crate::service::{alerts, housekeeping, reports, risk};

/// Logs what one chore did: nothing when it had nothing to do, a count when it did, a warning when it failed
/// (it is tried again at its next run).
fn log_outcome<N: TryInto<u64>>(outcome: ServiceResult<N>, done: &str, chore: &str) {
    match outcome.map(|count| count.try_into().unwrap_or(u64::MAX)) {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "{done}"),
        Err(err) => tracing::warn!(error = %err.detail(), "{chore} failed; retrying next time"),
    }
}

fn sweep_interval(context: &JobContext) -> Duration {
    Duration::from_secs(context.state.config.sweep_interval_seconds.max(1))
}

/// Ends risk acceptances whose expiry has come.
pub async fn risk_expiry(context: JobContext) {
    let (state, interval) = (context.state.clone(), sweep_interval(&context));
    super::every_exclusive(context, "risk_expiry", interval, || async {
        log_outcome(risk::expire_due(&state).await, "risk acceptances expired", "risk acceptance expiry");
    })
    .await;
}

/// Generates the scheduled compliance reports whose time has come, and the daily SLA digest at its hour.
pub async fn report_schedules(context: JobContext) {
    let (state, interval) = (context.state.clone(), sweep_interval(&context));
    super::every_exclusive(context, "report_schedules", interval, || async {
        log_outcome(reports::run_due(&state).await, "scheduled reports generated", "scheduled reports");
        let digests = crate::service::sla_digest::daily(&state).await;
        log_outcome(digests, "daily SLA digests written", "daily SLA digest");
    })
    .await;
}

/// Every `SLAWATCH_HOUSEKEEPING_INTERVAL` seconds (default an hour).
pub async fn hourly(context: JobContext) {
    let state = context.state.clone();
    let interval = Duration::from_secs(state.config.housekeeping_interval_seconds.max(1));
    super::every_exclusive(context, "housekeeping", interval, || async {
        log_outcome(housekeeping::engagement_reminders(&state).await, "engagement reminders", "engagement reminders");
        log_outcome(housekeeping::clean_alerts(&state).await, "old alerts deleted", "alert cleanup");
        let deleted = reports::delete_expired(&state).await;
        log_outcome(deleted, "kept reports past their retention deleted", "report cleanup");
    })
    .await;
}

/// Twice per rest period, so a resting endpoint is tried again soon after its rest.
pub async fn webhook_recovery(context: JobContext) {
    let state = context.state.clone();
    let seconds = u64::try_from(state.config.webhook_recovery_seconds / 2).unwrap_or(30).max(1);
    super::every_exclusive(context, "webhook_recovery", Duration::from_secs(seconds), || async {
        let recovered = housekeeping::recover_webhooks(&state).await;
        log_outcome(recovered, "webhook endpoints back to ACTIVE_TMP after their rest", "webhook recovery");
    })
    .await;
}

/// Syncs the DefectDojo sources whose next run has come (each at its own interval, with back-off after
/// failures); looked for every 15 seconds.
pub async fn defectdojo_sync(context: JobContext) {
    let state = context.state.clone();
    super::every_exclusive(context, "defectdojo_sync", Duration::from_secs(15), || async {
        let synced = Box::pin(crate::service::defectdojo_sync::run_due(&state)).await;
        log_outcome(synced, "DefectDojo sources synced", "DefectDojo sync");
    })
    .await;
}

/// Every minute: each user's alerts beyond their newest 999, which they no longer see.
pub async fn alert_trim(context: JobContext) {
    let state = context.state.clone();
    super::every_exclusive(context, "alert_trim", Duration::from_secs(60), || async {
        log_outcome(alerts::trim(&state).await, "alerts beyond each user's newest 999 deleted", "alert trim");
    })
    .await;
}

/// Every minute: the finding change log's rows the finding index no longer needs (SQLite).
pub async fn finding_changes_prune(context: JobContext) {
    let state = context.state.clone();
    super::every_exclusive(context, "finding_changes_prune", Duration::from_secs(60), || async {
        let pruned = crate::service::finding_changes::prune(&state).await;
        log_outcome(pruned, "finding change-log rows pruned", "finding change-log pruning");
    })
    .await;
}
