//! The lease a delivery pass holds on the rows it claimed: renewed every third of its length while the pass
//! runs, so a slow receiver's lane never lets it lapse into another worker's claim (which sent the same
//! deliveries again), and the value an outcome is recorded against, so a worker that did lose a row
//! never overwrites the outcome of the one that has it.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::RwLock;

use crate::entity::delivery;
use crate::error::ServiceResult;
use crate::state::AppState;

/// The lease of one pass.
#[derive(Debug)]
pub struct PassLease {
    ids: Vec<i32>,
    /// The lease's current end (epoch seconds): written by a renewal, read while an outcome is recorded.
    until: RwLock<i64>,
    seconds: i64,
}

impl PassLease {
    #[must_use]
    pub fn new(ids: Vec<i32>, until: i64, seconds: i64) -> Self {
        Self { ids, until: RwLock::new(until), seconds }
    }

    /// Renews the lease of the rows not yet recorded, every third of its length, for as long as it is
    /// polled (the pass's lanes run beside it).
    pub async fn keep(&self, state: &AppState) {
        let every = Duration::from_secs(u64::try_from(self.seconds / 3).unwrap_or(1).max(1));
        loop {
            tokio::time::sleep(every).await;
            let mut until = self.until.write().await;
            let renewed = state.clock.now().timestamp() + self.seconds;
            let result = delivery::Entity::update_many()
                .col_expr(delivery::Column::LeaseUntil, Expr::value(renewed))
                .filter(delivery::Column::Id.is_in(self.ids.iter().copied()))
                .filter(delivery::Column::LeaseUntil.eq(*until))
                .exec(&state.db)
                .await;
            match result {
                Ok(_) => *until = renewed,
                Err(err) => tracing::warn!(error = %err, "could not renew a delivery lease; trying again"),
            }
        }
    }

    /// Runs `record` with the lease's current end; renewals wait meanwhile, so the value stays true.
    pub async fn recording<T, F: Future<Output = T>>(&self, record: impl FnOnce(i64) -> F) -> T {
        let until = self.until.read().await;
        record(*until).await
    }

    /// Gives back the leases this pass still holds: the rows it did not get to send. Rows whose outcome was
    /// recorded have no lease; a lease another worker took since is not touched.
    pub async fn release(&self, state: &AppState) -> ServiceResult<()> {
        let until = self.until.write().await;
        let released = delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .filter(delivery::Column::Id.is_in(self.ids.iter().copied()))
            .filter(delivery::Column::LeaseUntil.eq(*until))
            .exec(&state.db)
            .await?;
        if released.rows_affected > 0 {
            tracing::info!(released = released.rows_affected, "shutting down: unsent deliveries released");
        }
        Ok(())
    }
}
