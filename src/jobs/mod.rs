//! Scheduler jobs: small units run in a loop until shutdown. Started by `serve` unless `--no-scheduler`.
//! On PostgreSQL each periodic job runs on one instance at a time (a lease per job, `service::job_leases`);
//! the delivery worker runs everywhere, its deliveries claimed one instance at a time by their own leases.

pub mod chores;
pub mod delivery;
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
        let instance: Arc<str> = instance_name(state).into();
        let context = JobContext { state: state.clone(), instance: instance.clone(), stopped: stopped.clone() };
        let handles = vec![
            tokio::spawn(delivery::run(state.clone(), stopped)),
            tokio::spawn(chores::risk_expiry(context.clone())),
            tokio::spawn(sla_sweep::run(context.clone())),
            tokio::spawn(chores::hourly(context.clone())),
            tokio::spawn(chores::webhook_recovery(context.clone())),
            tokio::spawn(chores::report_schedules(context.clone())),
            tokio::spawn(chores::defectdojo_sync(context.clone())),
            tokio::spawn(chores::alert_trim(context.clone())),
            tokio::spawn(chores::finding_changes_prune(context)),
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

/// Runs every job's unit once, as the scheduler would when all are due, on this instance without leases:
/// the SLA sweep, risk expiry, scheduled reports, the hourly chores, webhook recovery, the DefectDojo
/// sources whose sync is due, then the delivery
/// worker until nothing is due. For tests and administrators who run jobs on demand instead of waiting.
pub async fn run_due_once(state: &AppState) -> crate::error::ServiceResult<()> {
    use crate::service::{housekeeping, reports, risk, sla_sweep};
    sla_sweep::sweep(state).await?;
    risk::expire_due(state).await?;
    reports::run_due(state).await?;
    crate::service::sla_digest::daily(state).await?;
    housekeeping::engagement_reminders(state).await?;
    housekeeping::clean_alerts(state).await?;
    reports::delete_expired(state).await?;
    housekeeping::recover_webhooks(state).await?;
    crate::service::defectdojo_sync::run_due(state).await?;
    crate::service::finding_changes::prune(state).await?;
    let channels = crate::notify::Channels::from_state(state);
    while delivery::run_once(state, &channels).await? > 0 {}
    Ok(())
}

/// How long a job lease lasts without renewal, and how often it is renewed (and a free one looked for): a
/// crashed holder's jobs move to another instance within `LEASE_TTL_SECONDS`, whatever the job's interval.
const LEASE_TTL_SECONDS: i64 = 15;
const LEASE_RENEWAL: Duration = Duration::from_secs(5);

/// This instance's name as a lease holder: the host and the address it serves, so a process restarted in
/// its place takes its leases back at once (a crashed one's cannot be released), while two instances on
/// one host stay apart.
fn instance_name(state: &AppState) -> String {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}/{}", state.config.bind)
}

/// Runs `unit` now and then every `interval` until shutdown; on PostgreSQL only while this instance holds
/// the lease on `job`, which it renews every `LEASE_RENEWAL` (also while `unit` runs).
pub async fn every_exclusive<F, Fut>(context: JobContext, job: &'static str, interval: Duration, unit: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    every_exclusive_or_sooner(context, job, interval, unit, None::<fn() -> std::future::Ready<bool>>).await;
}

/// How often `every_exclusive_or_sooner` asks whether its unit is due before its interval.
const SOONER_CHECK: Duration = Duration::from_secs(1);

/// `every_exclusive`, and also whenever `due_sooner` (asked every `SOONER_CHECK` while the lease is held)
/// says the unit has work before its interval comes round.
pub async fn every_exclusive_or_sooner<F, Fut, S, SFut>(
    context: JobContext,
    job: &'static str,
    interval: Duration,
    mut unit: F,
    mut due_sooner: Option<S>,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
    S: FnMut() -> SFut,
    SFut: std::future::Future<Output = bool>,
{
    let JobContext { state, instance, mut stopped } = context;
    let shared = state.db.get_database_backend() == DbBackend::Postgres;
    let mut next_run = tokio::time::Instant::now();
    // The lease is taken or renewed every `LEASE_RENEWAL` (a write on PostgreSQL), not at every wake-up:
    // `due_sooner` wakes the loop every second.
    let mut held = !shared;
    let mut lease_checked: Option<tokio::time::Instant> = None;
    loop {
        if *stopped.borrow() {
            return;
        }
        if shared && lease_checked.is_none_or(|at| at.elapsed() >= LEASE_RENEWAL) {
            held = holds_lease(&state, job, &instance, LEASE_TTL_SECONDS).await;
            lease_checked = Some(tokio::time::Instant::now());
        }
        state.metrics.job_lease(job, held);
        let due = tokio::time::Instant::now() >= next_run
            || (held
                && match due_sooner.as_mut() {
                    Some(check) => check().await,
                    None => false,
                });
        if held && due {
            next_run = tokio::time::Instant::now() + interval;
            if shared {
                tokio::select! {
                    () = unit() => {}
                    () = keep_lease(&state, job, &instance) => {}
                }
            } else {
                unit().await;
            }
        }
        let mut wait = next_run.saturating_duration_since(tokio::time::Instant::now());
        if shared {
            wait = wait.min(LEASE_RENEWAL);
        }
        if due_sooner.is_some() {
            wait = wait.min(SOONER_CHECK);
        }
        tokio::select! {
            _ = stopped.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Renews the lease every `LEASE_RENEWAL` for as long as it is polled (while a unit runs).
async fn keep_lease(state: &AppState, job: &str, instance: &str) {
    loop {
        tokio::time::sleep(LEASE_RENEWAL).await;
        holds_lease(state, job, instance, LEASE_TTL_SECONDS).await;
    }
}

async fn holds_lease(state: &AppState, job: &str, instance: &str, ttl: i64) -> bool {
    let now = state.clock.now().timestamp();
    let taken = async {
        let txn = state.begin_batch_write().await?;
        let held = job_leases::try_acquire(&txn, job, instance, now, ttl).await?;
        txn.commit().await?;
        Ok::<_, crate::error::ServiceError>(held)
    };
    match taken.await {
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
