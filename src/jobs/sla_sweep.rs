//! Runs the SLA sweep every `SLAWATCH_SWEEP_INTERVAL` seconds (default 60), on one instance at a time,
//! and also as soon as the next SLA event it knows of is due: a deadline between two intervals is swept
//! within about a second, not up to an interval late.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::JobContext;
use crate::service::sla_sweep;
use crate::state::AppState;

/// Runs until the scheduler stops.
pub async fn run(context: JobContext) {
    let state = context.state.clone();
    let interval = std::time::Duration::from_secs(state.config.sweep_interval_seconds.max(1));
    let next = Arc::new(Mutex::new(NextEvent::default()));
    let due_sooner = || {
        let (state, next) = (state.clone(), next.clone());
        async move { next.lock().await.is_due(&state).await }
    };
    super::every_exclusive_or_sooner(
        context,
        "sla_sweep",
        interval,
        || async {
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
                Err(err) => {
                    tracing::warn!(error = %err.detail(), "SLA sweep failed; retrying next interval");
                    // Not every second: only at the interval, or when findings change.
                    next.lock().await.pause(&state);
                    return;
                }
            }
            // The sweep moved the events it handled: look again at the next check.
            next.lock().await.forget();
        },
        state.config.sweep_at_deadlines.then_some(due_sooner),
    )
    .await;
}

/// The next SLA event the sweeper knows of, and the finding changes it knew of when it looked.
#[derive(Debug, Default)]
struct NextEvent {
    /// `None`: not looked yet, or a sweep ran since.
    looked_at_changes: Option<u64>,
    at: Option<i64>,
}

impl NextEvent {
    fn forget(&mut self) {
        self.looked_at_changes = None;
    }

    /// Nothing is due until findings change (or the interval comes round).
    fn pause(&mut self, state: &AppState) {
        self.looked_at_changes = Some(state.live.changes());
        self.at = None;
    }

    /// Whether an SLA event is due now. Looks at the index again only when findings changed (or a sweep
    /// ran) since it last did: an idle server asks nothing.
    async fn is_due(&mut self, state: &AppState) -> bool {
        let changes = state.live.changes();
        if self.looked_at_changes != Some(changes) {
            match sla_sweep::next_event_at(state).await {
                Ok(at) => {
                    self.at = at;
                    self.looked_at_changes = Some(changes);
                }
                Err(err) => {
                    tracing::debug!(error = %err.detail(), "could not read the next SLA event; the interval stands");
                    return false;
                }
            }
        }
        self.at.is_some_and(|at| at <= state.clock.now().timestamp())
    }
}
