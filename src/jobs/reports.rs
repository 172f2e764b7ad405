//! Generates scheduled compliance reports whose time has come, every sweep interval, on one instance at a time.

use super::JobContext;
use crate::service::reports;

/// Runs until the scheduler stops.
pub async fn run(context: JobContext) {
    let state = context.state.clone();
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    super::every_exclusive(context, "report_schedules", interval, || async {
        match reports::run_due(&state).await {
            Ok(0) => {}
            Ok(generated) => tracing::info!(generated, "scheduled reports generated"),
            Err(err) => tracing::warn!(error = %err.detail(), "scheduled reports failed; retrying next time"),
        }
    })
    .await;
}
