//! Ends risk acceptances whose expiry has come, every sweep interval.

use tokio::sync::watch;

use crate::service::risk;
use crate::state::AppState;

/// Runs until `stopped` turns true.
pub async fn run(state: AppState, stopped: watch::Receiver<bool>) {
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    super::every(interval, stopped, || async {
        match risk::expire_due(&state).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "risk acceptances expired"),
            Err(err) => tracing::warn!(error = %err.detail(), "risk acceptance expiry failed; retrying next time"),
        }
    })
    .await;
}
