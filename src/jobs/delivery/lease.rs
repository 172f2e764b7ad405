//! The lease the delivery worker holds on the rows of one claim: renewed every third of its length while
//! their lanes run or wait, so a slow receiver's lane never lets it lapse into another worker's claim (which sent the same
//! deliveries again), and the value an outcome is recorded against, so a worker that did lose a row
//! never overwrites the outcome of the one that has it. Its writes take their turn with the others
//! (`AppState::begin_write`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::RwLock;

use crate::domain::DeliveryId;
use crate::entity::delivery;
use crate::error::ServiceResult;
use crate::state::AppState;

/// The lease on the rows of one claim.
#[derive(Debug)]
pub struct ClaimLease {
    ids: Vec<DeliveryId>,
    /// The lease's current end (epoch seconds): written by a renewal, read while an outcome is recorded.
    until: RwLock<i64>,
    seconds: i64,
    /// How many of the rows have no outcome recorded yet.
    outstanding: AtomicUsize,
}

impl ClaimLease {
    #[must_use]
    pub fn new(ids: Vec<DeliveryId>, until: i64, seconds: i64) -> Self {
        let outstanding = AtomicUsize::new(ids.len());
        Self { ids, until: RwLock::new(until), seconds, outstanding }
    }

    /// How often a lease of `seconds` is renewed: every third of its length.
    #[must_use]
    pub fn renewal_every(seconds: i64) -> Duration {
        Duration::from_secs(u64::try_from(seconds / 3).unwrap_or(1).max(1))
    }

    /// Moves the lease of the rows not yet recorded to a full length from now. Records wait meanwhile; a
    /// failed renewal is tried again at the next one (the lease is three renewals long).
    pub async fn renew(&self, state: &AppState) {
        let mut until = self.until.write().await;
        let renewed = state.clock.now().timestamp() + self.seconds;
        let renewal = delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(renewed))
            .filter(delivery::Column::Id.is_in(self.ids.iter().copied()))
            .filter(delivery::Column::LeaseUntil.eq(*until));
        let result = async {
            let txn = state.begin_batch_write().await?;
            renewal.exec(&txn).await?;
            txn.commit().await
        }
        .await;
        match result {
            Ok(()) => *until = renewed,
            Err(err) => tracing::warn!(error = %err, "could not renew a delivery lease; trying again"),
        }
    }

    /// Runs `record`, which stores outcomes of the claim's rows, with the lease's current end; renewals wait
    /// meanwhile, so the value stays true. The caller then says how many it stored (`recorded`).
    pub async fn recording<T, F: Future<Output = ServiceResult<T>>>(
        &self,
        record: impl FnOnce(i64) -> F,
    ) -> ServiceResult<T> {
        let until = self.until.read().await;
        record(*until).await
    }

    /// Notes that the outcomes of `rows` of the claim's rows are stored.
    pub fn recorded(&self, rows: usize) {
        self.outstanding.fetch_sub(rows, Ordering::Relaxed);
    }

    /// Whether some row still waits for its outcome.
    #[must_use]
    pub fn has_outstanding(&self) -> bool {
        self.outstanding.load(Ordering::Relaxed) > 0
    }

    /// Gives back the leases this claim still holds: the rows it did not get to send. Rows whose outcome was
    /// recorded have no lease; a lease another worker took since is not touched. Returns how many.
    pub async fn release(&self, state: &AppState) -> ServiceResult<u64> {
        let until = self.until.write().await;
        let txn = state.begin_batch_write().await?;
        let released = delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .filter(delivery::Column::Id.is_in(self.ids.iter().copied()))
            .filter(delivery::Column::LeaseUntil.eq(*until))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(released.rows_affected)
    }
}
