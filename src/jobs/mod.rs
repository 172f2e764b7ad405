//! Scheduler jobs: small units run in a loop until shutdown. Started by `serve` unless `--no-scheduler`.
//! On PostgreSQL each periodic job runs on one instance at a time (a lease per job, `service::job_leases`);
//! the delivery worker runs everywhere, its deliveries claimed one instance at a time by their own leases.

pub mod delivery;
pub mod housekeeping;
pub mod reports;
pub mod risk_expiry;
pub mod sla_sweep;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DbBackend;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::service::job_leases;
use crate::state::AppState;

/// The running jobs and the switch that stops them.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    state: AppState,
    instance: Arc<str>,
}

/// What a periodic job needs to run exclusively.
#[derive(Clone)]
pub struct JobContext {
    pub state: AppState,
    /// This instance's name in job leases.
    pub instance: Arc<str>,
    pub stopped: watch::Receiver<bool>,
}

impl Scheduler {
    /// Starts every job.
    #[must_use]
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let suffix = crate::security::token::random_hex(6).unwrap_or_else(|_| "instance".to_owned());
        let instance: Arc<str> = format!("{}-{suffix}", std::process::id()).into();
        let context = JobContext { state: state.clone(), instance: instance.clone(), stopped: stopped.clone() };
        let handles = vec![
            tokio::spawn(delivery::run(state.clone(), stopped)),
            tokio::spawn(risk_expiry::run(context.clone())),
            tokio::spawn(sla_sweep::run(context.clone())),
            tokio::spawn(housekeeping::run_hourly(context.clone())),
            tokio::spawn(housekeeping::run_webhook_recovery(context.clone())),
            tokio::spawn(reports::run(context)),
        ];
        Self { stop, handles, state: state.clone(), instance }
    }

    /// Asks every job to stop, waits for them to finish their current unit of work, and hands this
    /// instance's job leases over.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
        if let Err(err) = job_leases::release_all(&self.state.db, &self.instance).await {
            tracing::warn!(error = %err.detail(), "could not release the job leases; they expire on their own");
        }
    }
}

/// Runs `unit` now and then every `interval` until shutdown; on PostgreSQL only while this instance holds
/// the lease on `job`. The lease lasts a few intervals (at least a minute), so a stopped instance's job moves
/// to another one soon after.
pub async fn every_exclusive<F, Fut>(context: JobContext, job: &'static str, interval: Duration, mut unit: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let JobContext { state, instance, mut stopped } = context;
    let shared = state.db.get_database_backend() == DbBackend::Postgres;
    let ttl = i64::try_from(interval.as_secs().saturating_mul(3)).unwrap_or(i64::MAX).max(60);
    loop {
        if *stopped.borrow() {
            return;
        }
        if !shared || holds_lease(&state, job, &instance, ttl).await {
            unit().await;
        }
        tokio::select! {
            _ = stopped.changed() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}

async fn holds_lease(state: &AppState, job: &str, instance: &str, ttl: i64) -> bool {
    let now = state.clock.now().timestamp();
    match job_leases::try_acquire(&state.db, job, instance, now, ttl).await {
        Ok(held) => {
            if !held {
                tracing::debug!(job, "another instance holds the job's lease");
            }
            held
        }
        Err(err) => {
            tracing::warn!(job, error = %err.detail(), "could not take the job's lease; skipping this run");
            false
        }
    }
}
