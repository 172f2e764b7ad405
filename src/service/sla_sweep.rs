//! The SLA sweep: for findings whose `next_sla_event_at` has come (an index range scan: nothing due is one
//! empty probe), emit every SLA event now due, once, in order, with its notification, and move
//! `next_sla_event_at` to the next one. Plus `sla_resolved` when a finding that had crossed a threshold is
//! mitigated.

use crate::domain::notification_payload::{Named, NotificationPayload, SlaFacts};
use crate::domain::{FindingId, NotificationId, ProductId, SlaConfigurationId};
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::config::SWEEP_BATCH_SQLITE;
use crate::db;
use crate::domain::recipients::Audience;
use crate::domain::sla_events::{self, ScheduledEvent, SlaEventKind};
use crate::domain::{NotificationEvent, SlaPolicy, sla};
use crate::entity::{finding, product, sla_configuration, sla_event, system_settings};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::outbox::{self, NewNotification};
use crate::service::{finding_sla, sla_configs};
use crate::state::AppState;

/// How many due findings one transaction handles (on PostgreSQL; fewer on SQLite, `batch_of`), and how many
/// batches run at once on PostgreSQL (declared with the settings, whose default live-event buffer is sized
/// by them).
pub use crate::config::{SWEEP_BATCH as BATCH, SWEEP_BATCHES_AT_ONCE_POSTGRES as BATCHES_AT_ONCE_POSTGRES};

/// How many due findings one transaction handles on `backend`.
fn batch_of(backend: DbBackend) -> u64 {
    if backend == DbBackend::Postgres { BATCH } else { SWEEP_BATCH_SQLITE }
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Findings whose next event had come.
    pub examined: usize,
    /// SLA events emitted.
    pub emitted: usize,
}

/// Runs the sweep until nothing is due.
pub async fn sweep(state: &AppState) -> ServiceResult<SweepReport> {
    let started = std::time::Instant::now();
    let mut report = SweepReport::default();
    // PostgreSQL takes three batches at once (each skips the rows the others locked), so one batch's
    // statements run while the others' wait on their round trips; SQLite has one writer. The first probe
    // goes alone, so a sweep with nothing due stays one query.
    let at_once = if state.db.get_database_backend() == DbBackend::Postgres { BATCHES_AT_ONCE_POSTGRES } else { 1 };
    let mut batches_now = 1;
    loop {
        let batches = futures_util::future::join_all((0..batches_now).map(|_| sweep_batch(state))).await;
        batches_now = at_once;
        let mut short = false;
        for batch in batches {
            let batch = batch?;
            report.examined += batch.examined;
            report.emitted += batch.emitted;
            short |= (batch.examined as u64) < batch_of(state.db.get_database_backend());
        }
        if short {
            break;
        }
    }
    if report.emitted > 0 {
        state.wake_delivery();
    }
    state.metrics.sweep(started.elapsed(), report.examined, report.emitted);
    Ok(report)
}

/// When the next SLA event of any finding is due (epoch seconds): the first of the index the sweep reads,
/// one probe. The scheduler sweeps then rather than at the next interval.
pub async fn next_event_at(state: &AppState) -> ServiceResult<Option<i64>> {
    let first: Option<Option<i64>> = finding::Entity::find()
        .select_only()
        .column(finding::Column::NextSlaEventAt)
        .filter(finding::Column::NextSlaEventAt.is_not_null())
        .order_by_asc(finding::Column::NextSlaEventAt)
        .into_tuple()
        .one(&state.db)
        .await?;
    Ok(first.flatten())
}

async fn sweep_batch(state: &AppState) -> ServiceResult<SweepReport> {
    let now = state.clock.now();
    let backend = state.db.get_database_backend();
    let limit = batch_of(backend);
    let planned = if backend == DbBackend::Postgres {
        let txn = state.begin_batch_write().await?;
        // Statistics gathered while little was due make a bitmap scan of every due finding plus a sort
        // look cheaper than reading `idx_findings_next_sla_event` in order up to the limit: 13 instead of
        // 2.5 ms a batch with 10,000 due, and a bitmap scan never marks dead index entries, so an idle
        // sweep slows down until the next vacuum (0.4 → 5 ms). The index order is always right here.
        txn.execute_unprepared("SET LOCAL enable_bitmapscan = off").await?;
        let plan = BatchPlan::read(&txn, now, limit, true).await?;
        plan.map(|plan| (txn, plan))
    } else {
        // SQLite has one writer, and every other write waits while a batch holds it: the batch is read and
        // planned on a snapshot first (most of its time), and in the write turn only checked and written.
        let snapshot = db::begin_snapshot(&state.db).await?;
        let plan = BatchPlan::read(&snapshot, now, limit, false).await?;
        snapshot.commit().await?;
        match plan {
            None => None,
            Some(plan) => {
                let txn = state.begin_batch_write().await?;
                if plan.is_current(&txn).await? {
                    Some((txn, plan))
                } else {
                    BatchPlan::read(&txn, now, limit, false).await?.map(|plan| (txn, plan))
                }
            }
        }
    };
    // Nothing due: a transaction left here is rolled back when dropped, having written nothing.
    let Some((txn, plan)) = planned else { return Ok(SweepReport::default()) };
    let examined = plan.due.len();
    let changed: BTreeSet<FindingId> = plan.events.iter().map(|(id, _, _)| *id).collect();
    let event_ids = plan.write(&txn, now).await?;
    txn.commit().await?;

    let mut signals: Vec<Signal> = event_ids.iter().map(|&id| Signal::Sla { id }).collect();
    signals.extend(changed.into_iter().map(|id| Signal::Finding { id }));
    state.announce(signals).await;
    Ok(SweepReport { examined, emitted: event_ids.len() })
}

/// What one sweep batch writes, worked out from what it read.
struct BatchPlan {
    /// The findings whose next event had come, as read.
    due: Vec<finding::Model>,
    /// The events now due: finding, SLA cycle, event.
    events: Vec<(FindingId, i32, ScheduledEvent)>,
    /// Which of `events` are notified (all but unverified findings' when only verified ones notify), in
    /// the order of the first notifications in `notifications`; the product digests follow them.
    notified: Vec<usize>,
    notifications: Vec<NewNotification>,
    directory: outbox::Directory,
    next_event_at: Vec<(FindingId, Option<i64>)>,
}

impl BatchPlan {
    /// Reads up to `limit` due findings (locking them, skipping locked ones, when `lock`), what they need, and
    /// plans every due event of the batch in memory. `None` when nothing is due.
    async fn read<C: ConnectionTrait>(
        conn: &C,
        now: DateTime<Utc>,
        limit: u64,
        lock: bool,
    ) -> ServiceResult<Option<Self>> {
        let mut query = finding::Entity::find()
            .filter(finding::Column::NextSlaEventAt.lte(now.timestamp()))
            .order_by_asc(finding::Column::NextSlaEventAt)
            .order_by_asc(finding::Column::Id)
            .limit(limit);
        if lock {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let due = query.all(conn).await?;
        if due.is_empty() {
            return Ok(None);
        }
        let ids: Vec<FindingId> = due.iter().map(|f| f.id).collect();
        let mut emitted: HashMap<(FindingId, i32), Vec<(SlaEventKind, u8)>> = HashMap::new();
        for row in sla_event::Entity::find().filter(sla_event::Column::FindingId.is_in(ids)).all(conn).await? {
            let threshold = u8::try_from(row.threshold).unwrap_or(0);
            emitted.entry((row.finding_id, row.cycle)).or_default().push((row.kind, threshold));
        }
        let settings = system_settings::Entity::find_by_id(1).one(conn).await?;
        let only_verified = settings.as_ref().is_some_and(|s| s.notify_only_verified);
        let site = settings.map(|s| s.site_url).unwrap_or_default();
        let products = products_with_policies(conn, due.iter().map(|f| f.product_id)).await?;

        let mut planned: Vec<(&finding::Model, &product::Model, ScheduledEvent)> = Vec::new();
        let mut next_event_at: Vec<(FindingId, Option<i64>)> = Vec::with_capacity(due.len());
        for found in &due {
            let (product, policy) =
                products.get(&found.product_id).ok_or_else(|| ServiceError::not_found("product"))?;
            let (events, next) = match finding_sla::schedule(found).filter(|_| found.is_open) {
                Some(schedule) => {
                    let events =
                        sla_events::cycle_events(&schedule, policy.thresholds.as_slice(), policy.escalation.get());
                    let already = emitted.get(&(found.id, found.sla_cycle)).map_or(&[][..], Vec::as_slice);
                    sla_events::due(&events, already, now)
                }
                None => (Vec::new(), None),
            };
            planned.extend(events.into_iter().map(|event| (found, product, event)));
            next_event_at.push((found.id, next.map(|at| at.timestamp())));
        }
        let notified: Vec<usize> =
            (0..planned.len()).filter(|&index| !only_verified || planned[index].0.verified).collect();
        let mut notifications: Vec<NewNotification> = notified
            .iter()
            .map(|&index| {
                let (found, product, event) = &planned[index];
                notification_for(found, product, event, &site, now)
            })
            .collect();
        // After the per-finding ones (whose ids are matched to `notified` when written): one digest per product.
        let digested: Vec<_> = notified.iter().map(|&index| planned[index]).collect();
        notifications.extend(crate::service::sla_digest::digests(&digested, &site, now));
        let directory = outbox::Directory::load(conn, &notifications).await?;
        let events = planned.iter().map(|(found, _, event)| (found.id, found.sla_cycle, *event)).collect();
        Ok(Some(Self { due, events, notified, notifications, directory, next_event_at }))
    }

    /// Whether the due findings are still as they were read. Only the findings decide which events are due
    /// (their deadlines, state and cycle; the unique keys of events and notifications turn a repeat into
    /// nothing); a product, setting or recipient changed meanwhile is as if the batch had run just before.
    async fn is_current<C: ConnectionTrait>(&self, conn: &C) -> ServiceResult<bool> {
        let ids: Vec<FindingId> = self.due.iter().map(|f| f.id).collect();
        let mut now = finding::Entity::find().filter(finding::Column::Id.is_in(ids)).all(conn).await?;
        now.sort_by_key(|f| f.id);
        let mut read: Vec<&finding::Model> = self.due.iter().collect();
        read.sort_by_key(|f| f.id);
        Ok(now.len() == read.len() && now.iter().zip(read).all(|(now, read)| now == read))
    }

    /// Writes the batch's notifications, events and next event times. Returns the new events' ids.
    async fn write<C: ConnectionTrait>(self, conn: &C, now: DateTime<Utc>) -> ServiceResult<Vec<i32>> {
        let mut notification_ids: Vec<Option<NotificationId>> = vec![None; self.events.len()];
        let published = outbox::publish_many(conn, now.timestamp(), &self.directory, self.notifications).await?;
        for (index, id) in self.notified.into_iter().zip(published) {
            notification_ids[index] = id;
        }
        let mut event_ids = Vec::with_capacity(self.events.len());
        for (chunk, chunk_notifications) in self.events.chunks(500).zip(notification_ids.chunks(500)) {
            let rows = chunk.iter().zip(chunk_notifications).map(|((finding_id, cycle, event), notification_id)| {
                event_row(*finding_id, *cycle, event, *notification_id, now)
            });
            let insert = sla_event::Entity::insert_many(rows).on_conflict(
                OnConflict::columns([
                    sla_event::Column::FindingId,
                    sla_event::Column::Cycle,
                    sla_event::Column::Kind,
                    sla_event::Column::Threshold,
                ])
                .do_nothing()
                .to_owned(),
            );
            event_ids.extend(db::insert_returning_ids::<_, _, i32>(conn, insert).await?);
        }
        set_next_event_at(conn, &self.next_event_at).await?;
        Ok(event_ids)
    }
}

/// The products of a batch with their SLA policies, in two queries.
async fn products_with_policies<C: ConnectionTrait>(
    conn: &C,
    product_ids: impl Iterator<Item = ProductId>,
) -> ServiceResult<HashMap<ProductId, (product::Model, SlaPolicy)>> {
    let product_ids: BTreeSet<ProductId> = product_ids.collect();
    let products = product::Entity::find().filter(product::Column::Id.is_in(product_ids)).all(conn).await?;
    let config_ids: BTreeSet<SlaConfigurationId> = products.iter().map(|p| p.sla_configuration_id).collect();
    let mut policies = HashMap::new();
    for config in
        sla_configuration::Entity::find().filter(sla_configuration::Column::Id.is_in(config_ids)).all(conn).await?
    {
        policies.insert(config.id, sla_configs::policy_of(&config)?);
    }
    products
        .into_iter()
        .map(|product| {
            let policy = policies
                .get(&product.sla_configuration_id)
                .cloned()
                .ok_or_else(|| ServiceError::not_found("SLA configuration"))?;
            Ok((product.id, (product, policy)))
        })
        .collect()
}

/// Moves each finding's `next_sla_event_at` in one statement (the values are integers from the database).
async fn set_next_event_at<C: ConnectionTrait>(
    conn: &C,
    next_event_at: &[(FindingId, Option<i64>)],
) -> ServiceResult<()> {
    use std::fmt::Write as _;
    if next_event_at.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("UPDATE findings SET next_sla_event_at = CAST(CASE id");
    for (id, next) in next_event_at {
        match next {
            Some(at) => write!(sql, " WHEN {id} THEN {at}"),
            None => write!(sql, " WHEN {id} THEN NULL"),
        }
        .map_err(ServiceError::internal)?;
    }
    sql.push_str(" END AS BIGINT) WHERE id IN (");
    for (index, (id, _)) in next_event_at.iter().enumerate() {
        write!(sql, "{}{id}", if index == 0 { "" } else { "," }).map_err(ServiceError::internal)?;
    }
    sql.push(')');
    conn.execute_unprepared(&sql).await?;
    Ok(())
}

pub(crate) fn event_row(
    finding_id: FindingId,
    cycle: i32,
    event: &ScheduledEvent,
    notification_id: Option<NotificationId>,
    now: DateTime<Utc>,
) -> sla_event::ActiveModel {
    sla_event::ActiveModel {
        finding_id: Set(finding_id),
        cycle: Set(cycle),
        kind: Set(event.kind),
        threshold: Set(i32::from(event.threshold)),
        occurred_at: Set(event.at.timestamp()),
        created_at: Set(now.timestamp()),
        notification_id: Set(notification_id),
        ..Default::default()
    }
}

/// The notification's dedupe key: one per finding, cycle, kind and threshold.
fn dedupe_key(found: &finding::Model, event: &ScheduledEvent) -> String {
    format!("sla:{}:{}:{}:{}", found.id, found.sla_cycle, event.kind.as_str(), event.threshold)
}

/// Inserts a mitigation's `sla_resolved` event (a no-op if it exists) with its notification. Returns the
/// new event's id.
async fn record_event<C: ConnectionTrait>(
    conn: &C,
    found: &finding::Model,
    product: &product::Model,
    event: &ScheduledEvent,
    site: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Option<i32>> {
    let exists = sla_event::Entity::find()
        .filter(sla_event::Column::FindingId.eq(found.id))
        .filter(sla_event::Column::Cycle.eq(found.sla_cycle))
        .filter(sla_event::Column::Kind.eq(event.kind.as_str()))
        .filter(sla_event::Column::Threshold.eq(i32::from(event.threshold)))
        .one(conn)
        .await?;
    if exists.is_some() {
        return Ok(None);
    }
    let notification =
        outbox::publish(conn, now.timestamp(), notification_for(found, product, event, site, now)).await?;
    let inserted = event_row(found.id, found.sla_cycle, event, notification, now).insert(conn).await?;
    Ok(Some(inserted.id))
}

fn notification_for(
    found: &finding::Model,
    product: &product::Model,
    event: &ScheduledEvent,
    site: &str,
    now: DateTime<Utc>,
) -> NewNotification {
    let remaining = found.sla_deadline.map(|deadline| deadline - now.timestamp());
    let deadline = found.sla_deadline.and_then(|d| DateTime::from_timestamp(d, 0)).map(|d| d.to_rfc3339());
    let (kind_event, title) = match event.kind {
        SlaEventKind::BreachApproaching => (
            NotificationEvent::SlaBreachApproaching,
            format!("SLA breach approaching ({}% of the period left): {}", event.threshold, found.title),
        ),
        SlaEventKind::Breach => (NotificationEvent::SlaBreach, format!("SLA breached: {}", found.title)),
        SlaEventKind::Escalation => {
            (NotificationEvent::SlaBreachEscalation, format!("SLA breach escalation: {}", found.title))
        }
        SlaEventKind::Resolved => (NotificationEvent::SlaResolved, format!("SLA resolved: {}", found.title)),
    };
    NewNotification {
        event: kind_event,
        audience: Audience::FanOut,
        product_id: Some(found.product_id),
        finding_id: Some(found.id),
        description: format!(
            "{} finding \"{}\" in {}: deadline {}.",
            found.severity,
            found.title,
            product.name,
            deadline.clone().unwrap_or_else(|| "none".to_owned())
        ),
        title,
        url: Some(format!("{}/?finding={}", site.trim_end_matches('/'), found.id)),
        payload: NotificationPayload {
            finding: Some(crate::service::events::finding_facts(found)),
            product: Some(Named { id: product.id, name: product.name.clone() }),
            sla: Some(SlaFacts {
                kind: event.kind,
                cycle: found.sla_cycle,
                deadline,
                remaining_seconds: remaining,
                remaining: remaining.map(sla::human_duration),
                threshold: (event.kind == SlaEventKind::BreachApproaching).then_some(event.threshold),
            }),
            ..NotificationPayload::default()
        },
        dedupe_key: Some(dedupe_key(found, event)),
        extra_targets: Vec::new(),
    }
}

/// In the mitigation's transaction: `sla_resolved` when the finding had crossed a threshold (or breached) in
/// its current cycle. Returns the new event's id.
pub async fn resolve_on_mitigation<C: ConnectionTrait>(
    conn: &C,
    found: &finding::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<i32>> {
    let crossed = sla_event::Entity::find()
        .filter(sla_event::Column::FindingId.eq(found.id))
        .filter(sla_event::Column::Cycle.eq(found.sla_cycle))
        .filter(
            sla_event::Column::Kind.is_in([SlaEventKind::BreachApproaching.as_str(), SlaEventKind::Breach.as_str()]),
        )
        .one(conn)
        .await?
        .is_some();
    if !crossed {
        return Ok(None);
    }
    let product = crate::service::products::get_unchecked(conn, found.product_id).await?;
    let site = outbox::site_url(conn).await?;
    let event = ScheduledEvent { kind: SlaEventKind::Resolved, threshold: 0, at: now };
    record_event(conn, found, &product, &event, &site, now).await
}

/// The SLA events of a finding, oldest first.
pub async fn events_of(state: &AppState, finding_id: FindingId) -> ServiceResult<Vec<sla_event::Model>> {
    sla_event::Entity::find()
        .filter(sla_event::Column::FindingId.eq(finding_id))
        .order_by_asc(sla_event::Column::Id)
        .all(&state.db)
        .await
        .map_err(ServiceError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated SQLite file with one product and one open Critical finding whose deadline passed an hour
    /// before `now`.
    async fn one_breached_finding(dir: &std::path::Path, now: i64) -> sea_orm::DatabaseConnection {
        let url = format!("sqlite://{}?mode=rwc", dir.join("sweep.db").display());
        let timeout = std::time::Duration::from_secs(5);
        let db = db::connect(&url, timeout, crate::config::SqliteMemory::default()).await.expect("pool");
        db::migrate(&db).await.expect("migrated");
        let (deadline, start) = (now - 3_600, now - 3_600 - 7 * 86_400);
        let rows = format!(
            "INSERT INTO product_types (name, created_at) VALUES ('type', 0);
             INSERT INTO products (name, product_type_id, sla_configuration_id, created_at) VALUES ('product', 1, 1, 0);
             INSERT INTO findings (product_id, title, severity, date, sla_start, sla_start_is_date, active, verified,
                 is_mitigated, false_p, duplicate, out_of_scope, risk_accepted, is_open, sla_deadline,
                 sla_expiration_day, next_sla_event_at, created_at, updated_at)
             VALUES (1, 'finding', 'Critical', '2026-01-01', {start}, FALSE, TRUE, TRUE, FALSE, FALSE, FALSE, FALSE,
                 FALSE, TRUE, {deadline}, {day}, {deadline}, {start}, {start});",
            day = deadline.div_euclid(86_400),
        );
        db.execute_unprepared(&rows).await.expect("rows");
        db
    }

    #[tokio::test]
    async fn a_batch_read_before_its_turn_is_read_again_when_a_due_finding_changed_meanwhile() {
        let dir = tempfile::tempdir().expect("temp dir");
        let now = DateTime::from_timestamp(1_780_000_000, 0).expect("an instant");
        let db = one_breached_finding(dir.path(), now.timestamp()).await;

        let plan = BatchPlan::read(&db, now, 100, false).await.expect("read").expect("a finding is due");
        assert!(plan.events.iter().any(|(_, _, event)| event.kind == SlaEventKind::Breach), "{:?}", plan.events);
        assert!(!plan.notifications.is_empty());
        assert!(plan.is_current(&db).await.expect("checked"), "nothing changed");

        db.execute_unprepared("UPDATE findings SET is_open = FALSE, active = FALSE").await.expect("closed");
        assert!(!plan.is_current(&db).await.expect("checked"), "the finding was closed after the read");
        let again = BatchPlan::read(&db, now, 100, false).await.expect("read").expect("still due once");
        assert!(again.events.is_empty() && again.notifications.is_empty(), "a closed finding breaches nothing");
        assert_eq!(again.next_event_at, vec![(plan.due[0].id, None)]);

        db.execute_unprepared("DELETE FROM findings").await.expect("deleted");
        assert!(!plan.is_current(&db).await.expect("checked"), "the finding is gone");
        assert!(BatchPlan::read(&db, now, 100, false).await.expect("read").is_none());
    }
}
