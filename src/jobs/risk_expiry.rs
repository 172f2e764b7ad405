//! Ends risk acceptances whose expiry has come, every sweep interval, on one instance at a time.

use super::JobContext;
use crate::service::risk;

/// Runs until the scheduler stops.
pub async fn run(context: JobContext) {
    let state = context.state.clone();
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    super::every_exclusive(context, "risk_expiry", interval, || async {
        match risk::expire_due(&state).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "risk acceptances expired"),
            Err(err) => tracing::warn!(error = %err.detail(), "risk acceptance expiry failed; retrying next time"),
        }
    })
    .await;
}
