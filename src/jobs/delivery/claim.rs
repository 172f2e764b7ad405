//! Claiming due deliveries: a lease (`lease_until`) on up to `BATCH` rows that are due, of a channel this
//! process can send, not leased by anyone, and not of a lane this worker is already running (those wait
//! for their lane, so a receiver's deliveries stay in order and one hanging receiver is not claimed over
//! and over).

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::lane::LaneKey;
use crate::domain::DeliveryId;
use crate::domain::delivery::DeliveryStatus;
use crate::entity::delivery;
use crate::error::ServiceResult;
use crate::notify::Channels;
use crate::state::AppState;

/// How many deliveries one claim takes.
pub const BATCH: u64 = 50;

/// Takes a lease on up to `BATCH` due deliveries outside the `busy` lanes; returns them (in the order
/// they are due) and the lease's end.
pub async fn claim(state: &AppState, busy: &HashSet<LaneKey>) -> ServiceResult<(Vec<delivery::Model>, i64)> {
    let now = state.clock.now().timestamp();
    let claim = Claim { state, busy, now, lease: now + state.config.delivery_lease_seconds };
    let rows = match state.db.get_database_backend() {
        DbBackend::Postgres => claim.locking().await?,
        _ => claim.read_first().await?,
    };
    Ok((rows, claim.lease))
}

/// One claim: at `now`, outside the `busy` lanes, leased until `lease`.
struct Claim<'a> {
    state: &'a AppState,
    busy: &'a HashSet<LaneKey>,
    now: i64,
    lease: i64,
}

impl Claim<'_> {
    /// The due rows outside the busy lanes that no live lease holds, in the order they are due, `BATCH` at
    /// most.
    fn due(&self) -> Select<delivery::Entity> {
        delivery::Entity::find()
            .filter(delivery::Column::NextAttemptAt.lte(self.now))
            .filter(delivery::Column::Channel.is_in(Channels::supported().iter().copied()))
            .filter(self.unleased())
            .filter(outside(self.busy))
            .order_by_asc(delivery::Column::NextAttemptAt)
            .order_by_asc(delivery::Column::Id)
            .limit(BATCH)
    }

    /// No live lease holds the row.
    fn unleased(&self) -> Condition {
        Condition::any().add(delivery::Column::LeaseUntil.is_null()).add(delivery::Column::LeaseUntil.lt(self.now))
    }

    /// PostgreSQL: the due rows locked and leased in one transaction; another instance's claim is skipped,
    /// not waited for. Each status is read on its own, as on SQLite: both at once were read whole and sorted
    /// (49 ms with a backlog of 100,000 alerts, against 0.1 ms a status), and the alerts lane fell behind.
    /// The rows of a status not taken are locked until the commit, no longer.
    async fn locking(&self) -> ServiceResult<Vec<delivery::Model>> {
        let txn = self.state.begin_batch_write().await?;
        let mut rows = Vec::new();
        for status in DeliveryStatus::DUE {
            let of_status = self
                .due()
                .filter(delivery::Column::Status.eq(status))
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&txn)
                .await?;
            rows.extend(of_status);
        }
        let rows = first_due(rows, |row| (row.next_attempt_at, row.id));
        if !rows.is_empty() {
            delivery::Entity::update_many()
                .col_expr(delivery::Column::LeaseUntil, Expr::value(self.lease))
                .filter(delivery::Column::Id.is_in(rows.iter().map(|d| d.id)))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(rows)
    }

    /// SQLite: which rows are due is read outside the writers' turns, since that read walks whatever is due
    /// in busy lanes or leased (a backlog of thousands of alerts); inside a turn it held up every write for
    /// 50–180 ms. Each status is read on its own, so `idx_deliveries_due` (status, due time, then the row id)
    /// gives the rows in order and the read stops at `BATCH` (both at once were sorted whole). Then, in a turn,
    /// the lease is set on those still due and unleased, which are read back.
    async fn read_first(&self) -> ServiceResult<Vec<delivery::Model>> {
        let mut candidates: Vec<(i64, DeliveryId)> = Vec::new();
        for status in DeliveryStatus::DUE {
            let rows: Vec<(i64, DeliveryId)> = self
                .due()
                .filter(delivery::Column::Status.eq(status))
                .select_only()
                .columns([delivery::Column::NextAttemptAt, delivery::Column::Id])
                .into_tuple()
                .all(&self.state.db)
                .await?;
            candidates.extend(rows);
        }
        let candidates = first_due(candidates, |candidate| *candidate);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.state.begin_batch_write().await?;
        let mut claimed = delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(self.lease))
            .filter(delivery::Column::Id.is_in(candidates.iter().map(|(_, id)| *id)))
            .filter(delivery::Column::Status.is_in(DeliveryStatus::DUE))
            .filter(self.unleased())
            .exec_with_returning(&txn)
            .await?;
        txn.commit().await?;
        claimed.sort_unstable_by_key(|row| (row.next_attempt_at, row.id));
        Ok(claimed)
    }
}

/// The first `BATCH` of rows read a status at a time, in the order they are due (`key`: due time, then id).
fn first_due<T>(mut rows: Vec<T>, key: impl Fn(&T) -> (i64, DeliveryId)) -> Vec<T> {
    rows.sort_unstable_by_key(key);
    rows.truncate(usize::try_from(BATCH).unwrap_or(usize::MAX));
    rows
}

/// Rows of none of the `busy` lanes (as many terms as lanes run at once, so the query stays small).
fn outside(busy: &HashSet<LaneKey>) -> Condition {
    let mut condition = Condition::all();
    for key in busy {
        condition = condition.add(match key {
            LaneKey::Receiver { channel, target } => Condition::all()
                .add(delivery::Column::Channel.eq(*channel))
                .add(delivery::Column::Target.eq(target.clone()))
                .not(),
            LaneKey::Channel(channel) => Condition::all().add(delivery::Column::Channel.ne(*channel)),
        });
    }
    condition
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_due_of_both_statuses_are_taken_in_the_order_they_are_due() {
        let batch = i32::try_from(BATCH).expect("small");
        // Read a status at a time: the pending rows first (due later), then the retrying ones (due earlier;
        // the last of them at the same second as the first pending row, with a lower id).
        let pending = (0..batch).map(|n| (100 + i64::from(n), DeliveryId::new(1_000 + n)));
        let retrying: Vec<(i64, DeliveryId)> = (0..10).map(|n| (i64::from(n) * 10 + 10, DeliveryId::new(n))).collect();
        let taken = first_due(pending.chain(retrying.iter().copied()).collect(), |row| *row);
        assert_eq!(taken.len(), BATCH as usize);
        assert_eq!(taken[..10], retrying[..], "the retrying rows due earlier come first");
        assert_eq!(taken[10], (100, DeliveryId::new(1_000)), "at the same second, the lower id first");
        assert_eq!(taken.last(), Some(&(100 + i64::from(batch) - 11, DeliveryId::new(1_000 + batch - 11))));
    }
}
