//! Scheduler jobs: small units run in a loop until shutdown. Started by `serve` unless `--no-scheduler`.

pub mod delivery;
pub mod risk_expiry;
pub mod sla_sweep;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// The running jobs and the switch that stops them.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts every job.
    #[must_use]
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handles = vec![
            tokio::spawn(delivery::run(state.clone(), stopped.clone())),
            tokio::spawn(risk_expiry::run(state.clone(), stopped.clone())),
            tokio::spawn(sla_sweep::run(state.clone(), stopped)),
        ];
        Self { stop, handles }
    }

    /// Asks every job to stop and waits for them to finish their current unit of work.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Runs `unit` now and then every `interval`, until `stopped` turns true.
pub async fn every<F, Fut>(interval: std::time::Duration, mut stopped: watch::Receiver<bool>, mut unit: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        if *stopped.borrow() {
            return;
        }
        unit().await;
        tokio::select! {
            _ = stopped.changed() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}
