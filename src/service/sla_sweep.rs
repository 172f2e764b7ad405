//! The SLA sweep: for findings whose `next_sla_event_at` has come (an index range scan: nothing due is one
//! empty probe), emit every SLA event now due, once, in order, with its notification, and move
//! `next_sla_event_at` to the next one. Plus `sla_resolved` when a finding that had crossed a threshold is
//! mitigated.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use crate::db;
use crate::domain::recipients::Audience;
use crate::domain::sla_events::{self, ScheduledEvent, SlaEventKind};
use crate::domain::{NotificationEvent, SlaPolicy};
use crate::entity::{finding, product, sla_event, system_settings};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::outbox::{self, NewNotification};
use crate::service::{finding_sla, sla_configs};
use crate::state::AppState;

/// How many due findings one transaction handles.
pub const BATCH: u64 = 500;

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
    loop {
        let batch = sweep_batch(state).await?;
        report.examined += batch.examined;
        report.emitted += batch.emitted;
        if (batch.examined as u64) < BATCH {
            break;
        }
    }
    if report.emitted > 0 {
        state.wake_delivery();
    }
    state.metrics.sweep(started.elapsed(), report.examined, report.emitted);
    Ok(report)
}

async fn sweep_batch(state: &AppState) -> ServiceResult<SweepReport> {
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut query = finding::Entity::find()
        .filter(finding::Column::NextSlaEventAt.lte(now.timestamp()))
        .order_by_asc(finding::Column::NextSlaEventAt)
        .order_by_asc(finding::Column::Id)
        .limit(BATCH);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let due_findings = query.all(&txn).await?;
    if due_findings.is_empty() {
        txn.commit().await?;
        return Ok(SweepReport::default());
    }
    let ids: Vec<i32> = due_findings.iter().map(|f| f.id).collect();
    let mut emitted: HashMap<(i32, i32), Vec<(SlaEventKind, u8)>> = HashMap::new();
    for row in sla_event::Entity::find().filter(sla_event::Column::FindingId.is_in(ids)).all(&txn).await? {
        if let Some(kind) = SlaEventKind::from_stored(&row.kind) {
            let threshold = u8::try_from(row.threshold).unwrap_or(0);
            emitted.entry((row.finding_id, row.cycle)).or_default().push((kind, threshold));
        }
    }
    let only_verified = system_settings::Entity::find_by_id(1).one(&txn).await?.is_some_and(|s| s.notify_only_verified);
    let site = outbox::site_url(&txn).await?;
    let mut products: HashMap<i32, (product::Model, SlaPolicy)> = HashMap::new();
    let mut report = SweepReport { examined: due_findings.len(), emitted: 0 };
    let mut signals = Vec::new();
    for found in due_findings {
        if let std::collections::hash_map::Entry::Vacant(slot) = products.entry(found.product_id) {
            let product = crate::service::products::get_unchecked(&txn, found.product_id).await?;
            let policy = sla_configs::policy_of(&sla_configs::get(&txn, product.sla_configuration_id).await?)?;
            slot.insert((product, policy));
        }
        let (product, policy) = &products[&found.product_id];
        let schedule = finding_sla::schedule(&found).filter(|_| found.is_open);
        let (due, next) = match &schedule {
            Some(schedule) => {
                let events = sla_events::cycle_events(schedule, policy.thresholds.as_slice(), policy.escalation.get());
                let already = emitted.get(&(found.id, found.sla_cycle)).map_or(&[][..], Vec::as_slice);
                sla_events::due(&events, already, now)
            }
            None => (Vec::new(), None),
        };
        let notify = !only_verified || found.verified;
        for event in &due {
            if let Some(id) = record_event(&txn, &found, product, event, notify, &site, now).await? {
                report.emitted += 1;
                signals.push(Signal::Sla { id });
            }
        }
        if !due.is_empty() {
            signals.push(Signal::Finding { id: found.id });
        }
        let mut model: finding::ActiveModel = found.into();
        model.next_sla_event_at = Set(next.map(|at| at.timestamp()));
        model.update(&txn).await?;
    }
    txn.commit().await?;
    state.announce(signals).await;
    Ok(report)
}

/// Inserts the event (a no-op if it exists) and, when `notify`, its notification. Returns the new event's id.
async fn record_event<C: ConnectionTrait>(
    conn: &C,
    found: &finding::Model,
    product: &product::Model,
    event: &ScheduledEvent,
    notify: bool,
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
    let notification = if notify {
        outbox::publish(conn, now.timestamp(), notification_for(found, product, event, site, now)).await?
    } else {
        None
    };
    let inserted = sla_event::ActiveModel {
        finding_id: Set(found.id),
        product_id: Set(found.product_id),
        cycle: Set(found.sla_cycle),
        kind: Set(event.kind.as_str().to_owned()),
        threshold: Set(i32::from(event.threshold)),
        occurred_at: Set(event.at.timestamp()),
        created_at: Set(now.timestamp()),
        notification_id: Set(notification.map(|n| n.id)),
        ..Default::default()
    }
    .insert(conn)
    .await?;
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
        payload: json!({
            "finding": { "id": found.id, "title": found.title, "severity": found.severity },
            "product": { "id": product.id, "name": product.name },
            "sla": {
                "kind": event.kind.as_str(),
                "cycle": found.sla_cycle,
                "deadline": deadline,
                "remaining_seconds": remaining,
                "remaining": remaining.map(human_duration),
                "threshold": (event.kind == SlaEventKind::BreachApproaching).then_some(event.threshold),
            },
        }),
        dedupe_key: Some(format!("sla:{}:{}:{}:{}", found.id, found.sla_cycle, event.kind.as_str(), event.threshold)),
    }
}

/// "3 d 4 h", "2 h 24 min", "overdue by 5 h".
fn human_duration(seconds: i64) -> String {
    let (prefix, seconds) = if seconds < 0 { ("overdue by ", -seconds) } else { ("", seconds) };
    let (days, hours, minutes) = (seconds / 86_400, (seconds % 86_400) / 3600, (seconds % 3600) / 60);
    let text = if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    };
    format!("{prefix}{text}")
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
    record_event(conn, found, &product, &event, true, &site, now).await
}

/// The SLA events of a finding, oldest first.
pub async fn events_of(state: &AppState, finding_id: i32) -> ServiceResult<Vec<sla_event::Model>> {
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

    #[test]
    fn durations_read_like_a_person_would_write_them() {
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert_eq!(human_duration(2 * 3600 + 24 * 60), "2 h 24 min");
        assert_eq!(human_duration(-5 * 3600), "overdue by 5 h 0 min");
        assert_eq!(human_duration(59), "0 min");
    }
}
