//! Runs the SLA sweep every `SLAWATCH_SWEEP_INTERVAL` seconds (default 60), on one instance at a time.

use super::JobContext;
use crate::service::sla_sweep;

/// Runs until the scheduler stops.
pub async fn run(context: JobContext) {
    let state = context.state.clone();
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    super::every_exclusive(context, "sla_sweep", interval, || async {
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
