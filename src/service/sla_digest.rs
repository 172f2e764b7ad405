//! `sla_breach_combined`, DefectDojo's digest: with each sweep batch's per-finding SLA notifications, one
//! message per product listing the findings that crossed a threshold, breached or escalated in it. Whoever
//! chooses the digest event (and not the per-finding ones) gets one message where a large import or a
//! catch-up after downtime would send thousands; it is resolved, delivered and kept like any notification.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::notification_payload::{DigestEntry, Named, NotificationPayload};
use crate::domain::recipients::Audience;
use crate::domain::sla_events::{ScheduledEvent, SlaEventKind};
use crate::domain::{FindingId, NotificationEvent, ProductId};
use crate::entity::{finding, product, sla_event, system_settings};
use crate::error::ServiceResult;
use crate::service::outbox::{self, NewNotification};
use crate::state::AppState;

/// The findings a message lists by name; the rest are counted (the payload still has them all).
const LISTED: usize = 100;

/// One digest per product of the events notified in a sweep batch, a finding once (`sla_resolved` is not a
/// breach, so it stays out).
#[must_use]
pub fn digests(
    notified: &[(&finding::Model, &product::Model, ScheduledEvent)],
    site: &str,
    now: DateTime<Utc>,
) -> Vec<NewNotification> {
    // Per product, each finding once, with the latest moment it reached: a catch-up crosses several at once,
    // and a finding's events come in order, so the last one written stays.
    let mut by_product: BTreeMap<ProductId, (&product::Model, BTreeMap<FindingId, SlaEventKind>)> = BTreeMap::new();
    for (found, product, event) in notified.iter().filter(|(_, _, e)| e.kind != SlaEventKind::Resolved) {
        by_product.entry(product.id).or_insert_with(|| (product, BTreeMap::new())).1.insert(found.id, event.kind);
    }
    let findings: std::collections::HashMap<FindingId, &finding::Model> =
        notified.iter().map(|(found, _, _)| (found.id, *found)).collect();
    by_product
        .into_values()
        .map(|(product, reached)| {
            let entries = reached
                .into_iter()
                .filter_map(|(id, kind)| findings.get(&id).map(|found| entry(found, kind)))
                .collect();
            digest(product, entries, site, now)
        })
        .collect()
}

fn entry(found: &finding::Model, kind: SlaEventKind) -> DigestEntry {
    let deadline = found.sla_deadline.and_then(|d| DateTime::from_timestamp(d, 0)).map(|d| d.to_rfc3339());
    DigestEntry { finding: crate::service::events::finding_facts(found), kind, deadline }
}

/// When the daily digest goes out (UTC), covering the 24 hours before.
pub const DAILY_AT: NaiveTime = NaiveTime::from_hms_opt(7, 0, 0).expect("a time of day");

/// The daily digest, once a day from `DAILY_AT` on (a server down at that hour sends it when it is back the
/// same day): per product, the findings whose notified SLA moments fell in the 24 hours before, for the
/// settings that chose `digest: DAILY`. Returns how many digests it wrote (0 before the hour or once sent:
/// each day's digest has its dedupe key).
pub async fn daily(state: &AppState) -> ServiceResult<usize> {
    let now = state.clock.now();
    let due = now.date_naive().and_time(DAILY_AT).and_utc();
    if now < due {
        return Ok(0);
    }
    // The day is claimed in the transaction that writes its digests: the job runs every sweep interval, and
    // after the day's claim it reads nothing until tomorrow (on any instance).
    let day = due.timestamp().div_euclid(86_400);
    // A read first: once the day is claimed, the chore must not take the write lock every interval.
    let settings = system_settings::Entity::find_by_id(1).one(&state.db).await?;
    if settings.and_then(|s| s.daily_digest_day).is_some_and(|done| done >= day) {
        return Ok(0);
    }
    let txn = state.begin_batch_write().await?;
    let claimed = system_settings::Entity::update_many()
        .col_expr(system_settings::Column::DailyDigestDay, sea_orm::sea_query::Expr::value(day))
        .filter(system_settings::Column::Id.eq(1))
        .filter(
            sea_orm::Condition::any()
                .add(system_settings::Column::DailyDigestDay.is_null())
                .add(system_settings::Column::DailyDigestDay.lt(day)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(0);
    }
    let written = write_daily(&txn, now, due).await?;
    txn.commit().await?;
    if written > 0 {
        state.wake_delivery();
    }
    Ok(written)
}

async fn write_daily<C: sea_orm::ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> ServiceResult<usize> {
    let since = due - TimeDelta::days(1);
    // Only what was notified (not an import's quieted history), oldest first so a finding's latest wins.
    let events = sla_event::Entity::find()
        .filter(sla_event::Column::OccurredAt.gte(since.timestamp()))
        .filter(sla_event::Column::OccurredAt.lt(due.timestamp()))
        .filter(sla_event::Column::NotificationId.is_not_null())
        .order_by_asc(sla_event::Column::OccurredAt)
        .all(txn)
        .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let finding_ids: Vec<_> = events.iter().map(|e| e.finding_id).collect();
    let mut findings = std::collections::HashMap::new();
    for chunk in finding_ids.chunks(500) {
        for found in finding::Entity::find().filter(finding::Column::Id.is_in(chunk.iter().copied())).all(txn).await? {
            findings.insert(found.id, found);
        }
    }
    let product_ids: Vec<_> = findings.values().map(|f| f.product_id).collect();
    let products: std::collections::HashMap<_, _> =
        crate::service::products::by_ids(txn, &product_ids).await?.into_iter().map(|p| (p.id, p)).collect();
    let moments: Vec<_> = events
        .iter()
        .filter_map(|event| {
            let found = findings.get(&event.finding_id)?;
            let product = products.get(&found.product_id)?;
            let at = DateTime::from_timestamp(event.occurred_at, 0)?;
            let threshold = u8::try_from(event.threshold).unwrap_or(0);
            Some((found, product, ScheduledEvent { kind: event.kind, threshold, at }))
        })
        .collect();
    let site = outbox::site_url(txn).await?;
    let day = due.date_naive();
    let news: Vec<NewNotification> = digests(&moments, &site, now)
        .into_iter()
        .map(|mut news| {
            news.title = format!("Daily {}", news.title);
            news.payload.daily = true;
            news.dedupe_key = news.product_id.map(|product| format!("sla_breach_combined:daily:{product}:{day}"));
            news
        })
        .collect();
    let directory = outbox::Directory::load(txn, &news).await?;
    Ok(outbox::publish_many(txn, now.timestamp(), &directory, news).await?.into_iter().flatten().count())
}

fn digest(product: &product::Model, entries: Vec<DigestEntry>, site: &str, now: DateTime<Utc>) -> NewNotification {
    let count = entries.len();
    let mut description = format!("{count} findings of {} reached an SLA moment:\n", product.name);
    for entry in entries.iter().take(LISTED) {
        let moment = match entry.kind {
            SlaEventKind::BreachApproaching => "breach approaching",
            SlaEventKind::Breach => "breached",
            SlaEventKind::Escalation => "escalated",
            SlaEventKind::Resolved => "resolved",
        };
        let deadline = entry.deadline.as_deref().unwrap_or("no deadline");
        let _ = writeln!(
            description,
            "- [{}] {} — {moment} (deadline {deadline})",
            entry.finding.severity, entry.finding.title
        );
    }
    if count > LISTED {
        let _ = writeln!(description, "… and {} more", count - LISTED);
    }
    // The batch's first finding tells apart two batches of one product swept at the same instant.
    let first = entries.iter().map(|e| e.finding.id).min().map_or(0, crate::domain::FindingId::get);
    NewNotification {
        event: NotificationEvent::SlaBreachCombined,
        audience: Audience::FanOut,
        product_id: Some(product.id),
        finding_id: None,
        title: format!("SLA digest: {count} findings of {} crossed a threshold or breached", product.name),
        description,
        url: Some(format!("{}/?product={}", site.trim_end_matches('/'), product.id)),
        payload: NotificationPayload {
            product: Some(Named { id: product.id, name: product.name.clone() }),
            digest: entries,
            ..NotificationPayload::default()
        },
        dedupe_key: Some(format!("sla_breach_combined:{}:{}:{first}", product.id, now.timestamp())),
        extra_targets: Vec::new(),
    }
}
