//! Claiming due deliveries: a lease (`lease_until`) on up to `BATCH` rows that are due, of a channel this
//! process can send, not leased by anyone, and not of a lane this worker is already running (those wait
//! for their lane, so a receiver's deliveries stay in order and one hanging receiver is not claimed over
//! and over).

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lane::LaneKey;
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
    let txn = state.begin_write().await?;
    let mut due = delivery::Entity::find()
        .filter(delivery::Column::Status.is_in(DeliveryStatus::DUE))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(delivery::Column::Channel.is_in(Channels::supported().iter().copied()))
        .filter(Condition::any().add(delivery::Column::LeaseUntil.is_null()).add(delivery::Column::LeaseUntil.lt(now)))
        .filter(outside(busy))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .order_by_asc(delivery::Column::Id)
        .limit(BATCH);
    if txn.get_database_backend() == DbBackend::Postgres {
        // Another instance's claim is skipped, not waited for.
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = due.all(&txn).await?;
    let lease = now + state.config.delivery_lease_seconds;
    if !rows.is_empty() {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(lease))
            .filter(delivery::Column::Id.is_in(rows.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((rows, lease))
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
