//! The delivery worker: claims due deliveries with a lease (`delivery_lease_seconds`, renewed while they
//! wait or are sent), sends them in independent lanes, and records each outcome with retries (exponential
//! backoff, jitter, `Retry-After`) until `DEAD`. A crash leaves leases that expire, and the delivery is
//! sent again with the same delivery key.
//!
//! Lanes run on their own tasks, at most `LANES_AT_ONCE`, one request in flight per lane. The worker
//! claims again as soon as a lane slot is free, leaving out the lanes it runs, so a receiver that hangs
//! until its timeout delays only its own deliveries.

mod claim;
mod lane;
mod lease;
mod recorder;

use std::collections::{HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use claim::BATCH;
use lane::{Lane, LaneKey};
use lease::ClaimLease;

use crate::error::ServiceResult;
use crate::notify::Channels;
use crate::state::AppState;

/// How many lanes send at once (each one request at a time): the bound on requests in flight.
const LANES_AT_ONCE: usize = 16;

/// How long the worker may go on after shutdown was asked for: the requests in flight get this long to
/// finish; what is still leased then is released for the next start (or another instance).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs until `stopped` turns true.
pub async fn run(state: AppState, stopped: watch::Receiver<bool>) {
    let channels = Channels::from_state(&state);
    Worker::new(state, channels, stopped).run_until_stopped().await;
}

/// One claim, sent to the end: returns how many deliveries were claimed (0: none was due). For tests and
/// benchmarks, which run the worker on demand.
pub async fn run_once(state: &AppState, channels: &Channels) -> ServiceResult<usize> {
    let (_keep, never) = watch::channel(false);
    let mut worker = Worker::new(state.clone(), channels.clone(), never);
    let claimed = worker.claim_more().await?;
    worker.drain().await?;
    Ok(claimed)
}

/// What a finished lane task hands back: its key, and its result (or that it panicked).
type Finished = (LaneKey, Result<ServiceResult<()>, Box<dyn std::any::Any + Send>>);

struct Worker {
    state: AppState,
    channels: Channels,
    stopped: watch::Receiver<bool>,
    running: JoinSet<Finished>,
    /// Lanes claimed but not started (more lanes than `LANES_AT_ONCE`).
    waiting: VecDeque<Lane>,
    /// The lanes running or waiting: a claim leaves their rows out.
    busy: HashSet<LaneKey>,
    /// The leases of claims with a lane still running or waiting.
    leases: Vec<Arc<ClaimLease>>,
    /// The lanes the last claim left out: when one of them ends, its remaining rows may be claimed.
    left_out: HashSet<LaneKey>,
}

impl Worker {
    fn new(state: AppState, channels: Channels, stopped: watch::Receiver<bool>) -> Self {
        Self {
            state,
            channels,
            stopped,
            running: JoinSet::new(),
            waiting: VecDeque::new(),
            busy: HashSet::new(),
            leases: Vec::new(),
            left_out: HashSet::new(),
        }
    }

    async fn run_until_stopped(mut self) {
        let poll = Duration::from_secs(self.state.config.delivery_poll_seconds.max(1));
        let renewal_every = ClaimLease::renewal_every(self.state.config.delivery_lease_seconds);
        let mut next_renewal = Instant::now() + renewal_every;
        // Whether a claim could find something: not after every lane's end (each claim is a write
        // transaction, on SQLite the write lock), only when new work was announced, the poll came round,
        // the last claim was full, or a lane it left out has ended.
        let mut claim_wanted = true;
        while !*self.stopped.borrow() {
            if Instant::now() >= next_renewal {
                self.renew().await;
                next_renewal = Instant::now() + renewal_every;
            }
            self.start_waiting();
            if claim_wanted && self.can_claim() {
                match self.claim_more().await {
                    Ok(claimed) => claim_wanted = claimed as u64 == BATCH,
                    Err(err) => {
                        claim_wanted = false;
                        tracing::warn!(error = %err.detail(), "could not claim deliveries; trying again");
                    }
                }
                self.start_waiting();
                if claim_wanted && self.can_claim() {
                    continue;
                }
            }
            let finished = tokio::select! {
                Some(done) = self.running.join_next(), if !self.running.is_empty() => Some(done),
                () = stop_requested(self.stopped.clone()) => None,
                () = self.state.delivery_wakeup.notified() => { claim_wanted = true; None }
                () = tokio::time::sleep(poll) => { claim_wanted = true; None }
                () = tokio::time::sleep_until(next_renewal) => None,
            };
            if let Some(done) = finished {
                if let (Some(key), _) = self.finished(done) {
                    claim_wanted |= self.left_out.contains(&key);
                }
                self.settle_leases().await;
            }
        }
        self.shut_down().await;
    }

    /// Runs what was claimed to the end. Returns the first lane's error, if any.
    async fn drain(&mut self) -> ServiceResult<()> {
        let renewal_every = ClaimLease::renewal_every(self.state.config.delivery_lease_seconds);
        let mut next_renewal = Instant::now() + renewal_every;
        let mut first_error = Ok(());
        loop {
            self.start_waiting();
            if self.running.is_empty() {
                return first_error;
            }
            tokio::select! {
                Some(done) = self.running.join_next() => {
                    if let (_, Err(err)) = self.finished(done)
                        && first_error.is_ok()
                    {
                        first_error = Err(err);
                    }
                    self.settle_leases().await;
                }
                () = tokio::time::sleep_until(next_renewal) => {
                    self.renew().await;
                    next_renewal = Instant::now() + renewal_every;
                }
            }
        }
    }

    /// Whether a claim could start a lane now.
    fn can_claim(&self) -> bool {
        self.waiting.is_empty() && self.running.len() < LANES_AT_ONCE && !*self.stopped.borrow()
    }

    /// Claims due deliveries outside the busy lanes and queues their lanes; returns how many were claimed.
    async fn claim_more(&mut self) -> ServiceResult<usize> {
        self.left_out.clone_from(&self.busy);
        let (rows, until) = claim::claim(&self.state, &self.busy).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let claimed = rows.len();
        let lease = Arc::new(ClaimLease::new(
            rows.iter().map(|d| d.id).collect(),
            until,
            self.state.config.delivery_lease_seconds,
        ));
        let notifications = match crate::entity::delivery_view::notifications_of(&self.state.db, &rows).await {
            Ok(found) => Arc::new(found),
            Err(err) => {
                // Handed back at once rather than left to expire.
                let _ = lease.release(&self.state).await;
                return Err(err.into());
            }
        };
        for lane in lane::lanes_of(rows, &notifications, &lease) {
            self.busy.insert(lane.key.clone());
            self.waiting.push_back(lane);
        }
        self.leases.push(lease);
        Ok(claimed)
    }

    /// Starts waiting lanes while there is room.
    fn start_waiting(&mut self) {
        while self.running.len() < LANES_AT_ONCE
            && let Some(lane) = self.waiting.pop_front()
        {
            let key = lane.key.clone();
            let run = lane.run(self.state.clone(), self.channels.clone(), self.stopped.clone());
            self.running.spawn(async move { (key, AssertUnwindSafe(run).catch_unwind().await) });
        }
    }

    /// Notes a lane's end: its receiver may be claimed again. Returns the lane's key (none for a task
    /// aborted at shutdown) and its result.
    fn finished(&mut self, done: Result<Finished, tokio::task::JoinError>) -> (Option<LaneKey>, ServiceResult<()>) {
        let (key, result) = match done {
            Ok(finished) => finished,
            Err(err) => {
                // Only an abort at shutdown ends a lane task without its key; nothing to free then.
                tracing::warn!(error = %err, "a delivery lane ended abnormally");
                return (None, Ok(()));
            }
        };
        self.busy.remove(&key);
        let result = match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => {
                tracing::warn!(lane = ?key, error = %err.detail(), "a delivery lane stopped; its rest is released");
                Err(err)
            }
            Err(_) => {
                tracing::error!(lane = ?key, "a delivery lane panicked; its rest is released");
                Ok(())
            }
        };
        (Some(key), result)
    }

    async fn renew(&self) {
        for lease in &self.leases {
            lease.renew(&self.state).await;
        }
    }

    /// Lets go of the leases of claims none of whose lanes runs or waits any more (this worker holds the
    /// last reference): rows a lane did not get to (stopped, or a failed record) are released for the
    /// next claim rather than kept, or left to expire.
    async fn settle_leases(&mut self) {
        let (done, open): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.leases).into_iter().partition(|lease| Arc::strong_count(lease) == 1);
        self.leases = open;
        for lease in done.into_iter().filter(|lease| lease.has_outstanding()) {
            match lease.release(&self.state).await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "deliveries not sent released"),
                Err(err) => {
                    tracing::warn!(error = %err.detail(), "could not release delivery leases; they expire on their own");
                }
            }
        }
    }

    /// Claims nothing more, gives the sends in flight `SHUTDOWN_GRACE`, then releases every lease still
    /// held (the rows not sent).
    async fn shut_down(mut self) {
        self.waiting.clear();
        let grace = tokio::time::sleep(SHUTDOWN_GRACE);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                done = self.running.join_next() => match done {
                    Some(done) => { let _ = self.finished(done); }
                    None => break,
                },
                () = &mut grace => {
                    self.running.shutdown().await;
                    break;
                }
            }
        }
        self.settle_leases().await;
    }
}

/// Resolves once a stop is asked for (never, when nobody can ask any more).
async fn stop_requested(mut stopped: watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
