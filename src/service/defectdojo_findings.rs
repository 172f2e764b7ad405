//! One page of DefectDojo's findings written into slawatch's copy, in one transaction: new ones created
//! (their past thresholds quieted, as a scan import's), changed ones brought to DefectDojo's facts through
//! the same lifecycle steps as a local change (a mitigation ends the SLA cycle with `sla_resolved`, a
//! reactivation starts one as the policy says), unchanged ones left alone. DefectDojo's data is taken as
//! it stores it; what slawatch would refuse from a user is kept and counted as an anomaly, never an error.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::defectdojo::records;
use crate::domain::sla::SlaStart;
use crate::domain::{
    DefectDojoSourceId, DojoId, EngagementId, FindingId, FindingStatus, ProductId, Severity, SlaPolicy,
};
use crate::entity::finding;
use crate::error::ServiceResult;
use crate::live::Signal;
use crate::service::arrived_history::{self, Arrived};
use crate::service::finding_sla::{self, StoredSla};
use crate::service::findings;

/// New rows per insert statement.
const ROWS_AT_ONCE: usize = 200;

/// What a sync knows while it writes findings: the source, where each DefectDojo test sits here, and the
/// SLA policy of each product.
pub(crate) struct Placement {
    pub source_id: DefectDojoSourceId,
    /// DefectDojo test id → (product, engagement) here.
    pub tests: HashMap<DojoId, (ProductId, EngagementId)>,
    pub policies: HashMap<ProductId, SlaPolicy>,
    pub post_breach: chrono::TimeDelta,
}

/// What one page changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records kept although slawatch would refuse them from a user, and records skipped (a test or
    /// severity slawatch cannot place).
    pub anomalies: u64,
    pub skipped: u64,
}

impl PageCounts {
    pub fn add(&mut self, other: Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.anomalies += other.anomalies;
        self.skipped += other.skipped;
    }
}

/// A DefectDojo finding as slawatch keeps it.
struct Facts {
    product_id: ProductId,
    engagement_id: EngagementId,
    severity: Severity,
    start: SlaStart,
    status: FindingStatus,
    anomalous: bool,
}

/// Reads `record` into facts; `None` (logged) when slawatch cannot place it.
fn facts(record: &records::Finding, placement: &Placement, source: DefectDojoSourceId) -> Option<Facts> {
    let Some(&(product_id, engagement_id)) = placement.tests.get(&DojoId::new(record.test)) else {
        tracing::warn!(%source, finding = record.id, test = record.test, "DefectDojo finding skipped: its test is unknown");
        return None;
    };
    let Ok(severity) = record.severity.parse::<Severity>() else {
        tracing::warn!(%source, finding = record.id, severity = %record.severity, "DefectDojo finding skipped: unknown severity");
        return None;
    };
    let start = SlaStart::Date(record.sla_start_date.unwrap_or(record.date));
    // DefectDojo may hold `mitigated` without `is_mitigated` (ignored: the flag decides) or a mitigation
    // before the finding's start (kept: the SLA then ends MET at once).
    let mitigated_at = record.is_mitigated.then_some(record.mitigated).flatten();
    let anomalous = (record.mitigated.is_some() && !record.is_mitigated)
        || mitigated_at.is_some_and(|at| at < start.instant())
        || (record.is_mitigated && record.mitigated.is_none());
    let status = FindingStatus {
        active: record.active,
        verified: record.verified,
        is_mitigated: record.is_mitigated,
        mitigated_at: record.is_mitigated.then(|| mitigated_at.unwrap_or_else(|| start.instant())),
        false_positive: record.false_p,
        duplicate: record.duplicate,
        out_of_scope: record.out_of_scope,
        risk_accepted: record.risk_accepted,
    };
    Some(Facts { product_id, engagement_id, severity, start, status, anomalous })
}

/// Sets the columns DefectDojo owns besides the lifecycle ones (`findings::restate` sets those), leaving
/// a column that already holds the value unchanged.
fn set_content(model: &mut finding::ActiveModel, record: &records::Finding, facts: &Facts) {
    let ids: Vec<&str> = record.vulnerability_ids.iter().map(records::VulnerabilityId::as_str).collect();
    model.product_id.set_ne(facts.product_id);
    model.engagement_id.set_ne(Some(facts.engagement_id));
    model.title.set_ne(record.title.clone());
    model.description.set_ne(record.description.clone().unwrap_or_default());
    model.severity.set_ne(facts.severity);
    model.date.set_ne(record.date);
    model.hash_code.set_ne(record.hash_code.clone());
    model.unique_id_from_tool.set_ne(record.unique_id_from_tool.clone());
    model.cwe.set_ne(record.cwe.and_then(|c| i32::try_from(c).ok()).filter(|c| *c > 0));
    model.vulnerability_ids.set_ne(Some(ids.join(",")).filter(|joined| !joined.is_empty()));
    model.component_name.set_ne(record.component_name.clone());
    model.component_version.set_ne(record.component_version.clone());
    model.file_path.set_ne(record.file_path.clone());
    model.line.set_ne(record.line.and_then(|l| i32::try_from(l).ok()));
    model.mitigation.set_ne(record.mitigation.clone());
    model.references.set_ne(record.references.clone());
}

/// Whether `found` already says what `record` says.
fn is_current(found: &finding::Model, record: &records::Finding, facts: &Facts) -> bool {
    let mut model: finding::ActiveModel = found.clone().into();
    set_content(&mut model, record, facts);
    let stored_status = finding_sla::status(found);
    !model.is_changed() && stored_status == facts.status && finding_sla::start(found) == Some(facts.start)
}

/// Writes `page` in the caller's transaction; returns its counts, the signals to announce after commit,
/// and the DefectDojo ids it saw.
pub(crate) async fn write_page<C: sea_orm::ConnectionTrait>(
    conn: &C,
    placement: &Placement,
    page: &[records::Finding],
    now: DateTime<Utc>,
) -> ServiceResult<(PageCounts, Vec<Signal>)> {
    let source = placement.source_id;
    let external_ids: Vec<DojoId> = page.iter().map(|f| DojoId::new(f.id)).collect();
    let known: HashMap<DojoId, finding::Model> = finding::Entity::find()
        .filter(finding::Column::SourceId.eq(source))
        .filter(finding::Column::ExternalId.is_in(external_ids))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|f| f.external_id.map(|id| (id, f)))
        .collect();
    let mut counts = PageCounts::default();
    let mut signals = Vec::new();
    let mut created: HashMap<ProductId, Vec<finding::ActiveModel>> = HashMap::new();
    for record in page {
        let Some(facts) = facts(record, placement, source) else {
            counts.skipped += 1;
            continue;
        };
        let Some(policy) = placement.policies.get(&facts.product_id) else {
            counts.skipped += 1;
            continue;
        };
        let found = known.get(&DojoId::new(record.id));
        let current = found.filter(|found| is_current(found, record, &facts));
        // Counted and logged when written, not again at every run that finds it unchanged.
        if facts.anomalous && current.is_none() {
            counts.anomalies += 1;
            tracing::warn!(%source, finding = record.id, "DefectDojo finding kept as stored with an inconsistent mitigation");
        }
        match found {
            None => {
                let mut model = finding::ActiveModel {
                    source_id: Set(Some(source)),
                    external_id: Set(Some(DojoId::new(record.id))),
                    sla_cycle: Set(1),
                    created_at: Set(now.timestamp()),
                    ..Default::default()
                };
                set_content(&mut model, record, &facts);
                findings::restate(&mut model, facts.start, facts.severity, &facts.status, policy, now);
                created.entry(facts.product_id).or_default().push(model);
            }
            Some(_) if current.is_some() => counts.unchanged += 1,
            Some(found) => {
                let (updated, resolved) = bring_up_to_date(conn, found.clone(), record, &facts, policy, now).await?;
                signals.push(Signal::Finding { id: updated });
                signals.extend(resolved.map(|id| Signal::Sla { id }));
                counts.updated += 1;
            }
        }
    }
    for (product_id, rows) in created {
        let Some(policy) = placement.policies.get(&product_id) else { continue };
        let mut inserted = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            // A statement's parameters stay well under SQLite's limit (32,766) whatever the page size.
            let chunk: Vec<_> = rows.by_ref().take(ROWS_AT_ONCE).collect();
            inserted.extend(finding::Entity::insert_many(chunk).exec_with_returning(conn).await?);
        }
        counts.created += inserted.len() as u64;
        signals.extend(inserted.iter().map(|f| Signal::Finding { id: f.id }));
        let arrived = inserted.iter().filter(|f| f.is_open).map(|f| Arrived {
            id: f.id,
            cycle: f.sla_cycle,
            schedule: f.stored_schedule(),
        });
        arrived_history::quiet(conn, arrived, policy, now, placement.post_breach).await?;
    }
    Ok((counts, signals))
}

/// Brings `found` to DefectDojo's facts: a mitigation or reactivation through the lifecycle steps first
/// (SLA events as for a local change), then the content and flags. Returns the finding and the SLA event a
/// mitigation wrote.
async fn bring_up_to_date<C: sea_orm::ConnectionTrait>(
    conn: &C,
    found: finding::Model,
    record: &records::Finding,
    facts: &Facts,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> ServiceResult<(FindingId, Option<i32>)> {
    let mut start = facts.start;
    let (row, resolved) = match (found.is_mitigated, facts.status.mitigated_at) {
        (false, Some(at)) => findings::mitigate_row(conn, found, at, policy, now).await?,
        (true, None) => {
            let row = findings::reactivate_row(conn, found, policy, now).await?;
            if policy.restart_sla_on_reactivation {
                // As DefectDojo restarts it; its own `sla_start_date` arrives with a later sync.
                start = finding_sla::start(&row).unwrap_or(start);
            }
            (row, None)
        }
        _ => (found, None),
    };
    let id = row.id;
    let mut model: finding::ActiveModel = row.into();
    set_content(&mut model, record, facts);
    findings::restate(&mut model, start, facts.severity, &facts.status, policy, now);
    model.update(conn).await?;
    Ok((id, resolved))
}
