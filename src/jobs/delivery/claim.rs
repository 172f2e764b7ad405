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
use crate::domain::recipients::{Channel, Target};
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
    let claim = Claim { state, due: Due { busy, now }, lease: now + state.config.delivery_lease_seconds };
    let rows = match state.db.get_database_backend() {
        DbBackend::Postgres => claim.locking().await?,
        _ => claim.read_first().await?,
    };
    Ok((rows, claim.lease))
}

/// One claim: of what is `due`, leased until `lease`.
struct Claim<'a> {
    state: &'a AppState,
    due: Due<'a>,
    lease: i64,
}

/// What a claim reads: the rows due at `now`, outside the `busy` lanes.
struct Due<'a> {
    busy: &'a HashSet<LaneKey>,
    now: i64,
}

impl Due<'_> {
    /// The due rows of `channel` in `status` outside the busy lanes that no live lease holds, in the order
    /// they are due, `BATCH` at most: `idx_deliveries_due_by_channel` (status, channel, due time, id) gives
    /// them in that order, and the read stops at the batch.
    fn rows(&self, channel: Channel, status: DeliveryStatus) -> Select<delivery::Entity> {
        delivery::Entity::find()
            .filter(delivery::Column::Status.eq(status))
            .filter(delivery::Column::Channel.eq(channel))
            .filter(delivery::Column::NextAttemptAt.lte(self.now))
            .filter(self.unleased())
            .filter(self.outside_busy_receivers(channel))
            .order_by_asc(delivery::Column::NextAttemptAt)
            .order_by_asc(delivery::Column::Id)
            .limit(BATCH)
    }

    /// Each channel this process sends and status a delivery is due in, but no channel whose lane is busy:
    /// its rows are not read at all (a backlog of alerts while their lane runs was walked by every claim).
    fn reads(&self) -> impl Iterator<Item = (Channel, DeliveryStatus)> + '_ {
        Channels::supported()
            .iter()
            .filter(|channel| !self.busy.contains(&LaneKey::Channel(**channel)))
            .flat_map(|channel| DeliveryStatus::DUE.into_iter().map(move |status| (*channel, status)))
    }

    /// No live lease holds the row.
    fn unleased(&self) -> Condition {
        Condition::any().add(delivery::Column::LeaseUntil.is_null()).add(delivery::Column::LeaseUntil.lt(self.now))
    }

    /// Rows of no busy receiver's lane of `channel` (a busy channel's lane is not read at all: `reads`).
    fn outside_busy_receivers(&self, channel: Channel) -> Condition {
        let busy: Vec<Target> = self
            .busy
            .iter()
            .filter_map(|key| match key {
                LaneKey::Receiver { channel: of, target } if *of == channel => Some(target.clone()),
                _ => None,
            })
            .collect();
        let mut condition = Condition::all();
        if !busy.is_empty() {
            condition = condition.add(delivery::Column::Target.is_not_in(busy));
        }
        condition
    }
}

impl Claim<'_> {
    /// PostgreSQL: the due rows locked and leased in one transaction; another instance's claim is skipped,
    /// not waited for. Each channel and status is read on its own, as on SQLite: both statuses at once were
    /// read whole and sorted (49 ms with a backlog of 100,000 alerts, against 0.1 ms a status), and the
    /// alerts lane fell behind. The rows read but not taken are locked until the commit, no longer.
    async fn locking(&self) -> ServiceResult<Vec<delivery::Model>> {
        let txn = self.state.begin_batch_write().await?;
        let mut rows = Vec::new();
        for (channel, status) in self.due.reads() {
            let read = self
                .due
                .rows(channel, status)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&txn)
                .await?;
            rows.extend(read);
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

    /// SQLite: which rows are due is read outside the writers' turns, since that read may walk what is due
    /// in a busy receiver's lane or leased; inside a turn it held up every write for 50–180 ms. Each channel
    /// and status is read on its own, in index order up to `BATCH` (both statuses at once were sorted whole).
    /// Then, in a turn, the lease is set on those still due and unleased, which are read back.
    async fn read_first(&self) -> ServiceResult<Vec<delivery::Model>> {
        let mut candidates: Vec<(i64, DeliveryId)> = Vec::new();
        for (channel, status) in self.due.reads() {
            let rows: Vec<(i64, DeliveryId)> = self
                .due
                .rows(channel, status)
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
            .filter(self.due.unleased())
            .exec_with_returning(&txn)
            .await?;
        txn.commit().await?;
        claimed.sort_unstable_by_key(|row| (row.next_attempt_at, row.id));
        Ok(claimed)
    }
}

/// The first `BATCH` of rows read a channel and status at a time, in the order they are due (`key`: due time, then id).
fn first_due<T>(mut rows: Vec<T>, key: impl Fn(&T) -> (i64, DeliveryId)) -> Vec<T> {
    rows.sort_unstable_by_key(key);
    rows.truncate(usize::try_from(BATCH).unwrap_or(usize::MAX));
    rows
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, QueryTrait, Statement};

    use crate::domain::WebhookId;

    use super::*;

    /// SQLite's plan for a claim's read of one channel and status, on a migrated file. One connection does
    /// both: an `EXPLAIN` starts no transaction, so another connection would not notice the migrations'
    /// schema change and would explain with the schema it read before.
    async fn plan_of(due: &Due<'_>, channel: Channel, status: DeliveryStatus) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("claim.db").display());
        let timeout = std::time::Duration::from_secs(5);
        let memory = crate::config::SqliteMemory::default();
        let db = crate::db::connect_writer(&url, timeout, memory).await.expect("one connection").expect("a file");
        crate::db::migrate(&db).await.expect("migrated");
        let read = due.rows(channel, status).build(DbBackend::Sqlite);
        let explain = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {}", read.sql),
            read.values.map(|values| values.0).unwrap_or_default(),
        );
        let rows = db.query_all_raw(explain).await.expect("a plan");
        rows.iter().map(|row| row.try_get_by_index::<String>(3).expect("detail")).collect::<Vec<_>>().join("; ")
    }

    #[tokio::test]
    async fn a_claim_reads_a_channel_and_status_in_index_order_and_stops_at_the_batch() {
        let busy: HashSet<LaneKey> = [
            LaneKey::Channel(Channel::Alert),
            LaneKey::Receiver { channel: Channel::Webhook, target: Target::Webhook(WebhookId::new(1)) },
        ]
        .into_iter()
        .collect();
        let due = Due { busy: &busy, now: 1_780_000_000 };
        let reads: Vec<(Channel, DeliveryStatus)> = due.reads().collect();
        assert!(reads.iter().all(|(channel, _)| *channel != Channel::Alert), "a busy channel is not read: {reads:?}");
        assert_eq!(reads.len(), 2 * (Channels::supported().len() - 1), "every other channel, in both statuses");
        let sql = |channel| due.rows(channel, DeliveryStatus::Pending).build(DbBackend::Sqlite).sql;
        assert!(sql(Channel::Webhook).contains(r#""target" NOT IN"#), "the busy webhook's lane is left out");
        assert!(!sql(Channel::Mail).contains(r#""target" NOT IN"#), "no receiver of mail is busy");
        let plan = plan_of(&due, Channel::Webhook, DeliveryStatus::Retrying).await;
        assert!(plan.contains("USING INDEX idx_deliveries_due_by_channel"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "read in order, not sorted: {plan}");
    }

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
