//! `sla_breach_combined`, DefectDojo's digest: with each sweep batch's per-finding SLA notifications, one
//! message per product listing the findings that crossed a threshold, breached or escalated in it. Whoever
//! chooses the digest event (and not the per-finding ones) gets one message where a large import or a
//! catch-up after downtime would send thousands; it is resolved, delivered and kept like any notification.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::domain::notification_payload::{DigestEntry, Named, NotificationPayload};
use crate::domain::recipients::Audience;
use crate::domain::sla_events::{ScheduledEvent, SlaEventKind};
use crate::domain::{NotificationEvent, ProductId};
use crate::entity::{finding, product};
use crate::service::outbox::NewNotification;

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
    let mut by_product: BTreeMap<ProductId, (&product::Model, Vec<DigestEntry>)> = BTreeMap::new();
    for (found, product, event) in notified.iter().filter(|(_, _, e)| e.kind != SlaEventKind::Resolved) {
        let deadline = found.sla_deadline.and_then(|d| DateTime::from_timestamp(d, 0)).map(|d| d.to_rfc3339());
        let entry = DigestEntry { finding: crate::service::events::finding_facts(found), kind: event.kind, deadline };
        let listed = &mut by_product.entry(product.id).or_insert_with(|| (product, Vec::new())).1;
        // A finding is listed once, with the latest moment it reached (a catch-up crosses several at once;
        // a finding's events come in order).
        match listed.iter_mut().find(|known| known.finding.id == entry.finding.id) {
            Some(known) => *known = entry,
            None => listed.push(entry),
        }
    }
    by_product.into_values().map(|(product, entries)| digest(product, entries, site, now)).collect()
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
