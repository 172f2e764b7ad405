//! Runs the SLA sweep every `SLAWATCH_SWEEP_INTERVAL` seconds (default 60).

use tokio::sync::watch;

use crate::service::sla_sweep;
use crate::state::AppState;

/// Runs until `stopped` turns true.
pub async fn run(state: AppState, stopped: watch::Receiver<bool>) {
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    super::every(interval, stopped, || async {
        let started = std::time::Instant::now();
        match sla_sweep::sweep(&state).await {
            Ok(report) if report.emitted > 0 => {
                tracing::info!(
                    examined = report.examined,
                    emitted = report.emitted,
                    elapsed_ms = started.elapsed().as_millis(),
                    "SLA sweep"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err.detail(), "SLA sweep failed; retrying next interval"),
        }
    })
    .await;
}
