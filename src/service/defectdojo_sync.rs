//! A sync run of one DefectDojo source: the reference data (one transaction), then the findings a page per
//! transaction (an interrupted run keeps what it wrote; a record already current costs no write). A full run
//! (the first, then hourly) reads every finding in id order and closes those DefectDojo no longer has,
//! asked for by id first; the runs between read only the findings whose status changed since the last one
//! (DefectDojo's `last_status_update`, newest first, down to the watermark). The run's outcome is written on the
//! source (`lastRunAt`, `lastError`, `findingsSynced`), and a failed run is retried after a back-off.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::defectdojo::client::{DojoClient, DojoError};
use crate::defectdojo::records;
use crate::domain::{DefectDojoSourceId, DojoId, FindingId};
use crate::entity::{defectdojo_source, finding};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::defectdojo_findings::{self, PageCounts, Placement};
use crate::service::defectdojo_reference::{self, Mapped};
use crate::service::{Actor, defectdojo_sources, findings};
use crate::state::AppState;

/// Records asked for per page of reference data and of findings.
const REFERENCE_PAGE: u64 = 200;
const FINDINGS_PAGE: u64 = 500;
/// Ids asked for at once when checking that findings are gone.
const IDS_AT_ONCE: usize = 100;
/// How far before the watermark a run looks again.
const WATERMARK_OVERLAP_SECONDS: i64 = 300;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    pub findings: PageCounts,
    /// Findings DefectDojo no longer has, closed here.
    pub closed: u64,
    /// Deadlines recomputed because a configuration changed or a product switched.
    pub recomputed: u64,
    /// Whether it read every finding (and so found deletions), rather than those changed since the last run.
    pub full: bool,
    /// The newest status change seen so far: where the next run starts.
    pub watermark: Option<i64>,
}

impl From<DojoError> for ServiceError {
    fn from(err: DojoError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// Runs a sync of `source_id` now (superusers); `progress(done, total)` follows the findings.
pub async fn run(
    state: &AppState,
    actor: &Actor,
    source_id: DefectDojoSourceId,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<SyncReport> {
    let source = defectdojo_sources::get(state, actor, source_id).await?;
    let started = state.clock.now();
    let outcome = pull(state, &source, progress).await;
    defectdojo_sources::record_run(state, &source, started, outcome.as_ref()).await?;
    if let Err(err) = &outcome {
        tracing::warn!(source = %source.id, error = %err.public_message(), "DefectDojo sync stopped");
    }
    outcome
}

async fn pull(
    state: &AppState,
    source: &defectdojo_source::Model,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<SyncReport> {
    let timeout = std::time::Duration::from_secs(state.config.defectdojo_timeout_seconds);
    let client = DojoClient::new(&source.url, &source.token, timeout)?;
    let configurations: Vec<records::SlaConfiguration> = client.all("sla_configurations", REFERENCE_PAGE).await?;
    let product_types: Vec<records::ProductType> = client.all("product_types", REFERENCE_PAGE).await?;
    let products: Vec<records::Product> = client.all("products", REFERENCE_PAGE).await?;
    let engagements: Vec<records::Engagement> = client.all("engagements", REFERENCE_PAGE).await?;
    let tests: Vec<records::Test> = client.all("tests", REFERENCE_PAGE).await?;
    let now = state.clock.now();
    let mut mapped = Mapped::default();
    let txn = state.begin_batch_write().await?;
    defectdojo_reference::sla_configurations(&txn, source.id, &configurations, now, &mut mapped).await?;
    defectdojo_reference::product_types(&txn, source.id, &product_types, now, &mut mapped).await?;
    defectdojo_reference::products(&txn, source.id, &products, now, &mut mapped).await?;
    defectdojo_reference::engagements(&txn, source.id, &engagements, now, &mut mapped).await?;
    txn.commit().await?;
    state.note_change();
    let product_ids: Vec<_> = mapped.products.values().copied().collect();
    let policies = findings::product_policies(&state.db, &product_ids).await?;
    let placement = Placement {
        source_id: source.id,
        tests: tests
            .iter()
            .filter_map(|t| Some((DojoId::new(t.id), *mapped.engagements.get(&DojoId::new(t.engagement))?)))
            .collect(),
        policies,
        post_breach: chrono::TimeDelta::days(state.config.sla_notify_post_breach_days),
    };
    let mut report = SyncReport { recomputed: mapped.recomputed, ..SyncReport::default() };
    let now = now.timestamp();
    let full = source.watermark.is_none() || source.next_full_at.is_none_or(|at| at <= now);
    let newest = if full {
        let (seen, newest) = every_finding(state, &client, &placement, &mut report, progress).await?;
        report.closed = close_gone(state, &client, &placement, &seen, &mut report.findings).await?;
        report.full = true;
        newest
    } else {
        changed_findings(state, &client, &placement, source.watermark.unwrap_or(0), &mut report, progress).await?
    };
    report.watermark = newest.max(source.watermark);
    Ok(report)
}

/// Every finding, a page at a time in id order; returns the ids seen and the newest status change.
async fn every_finding(
    state: &AppState,
    client: &DojoClient,
    placement: &Placement,
    report: &mut SyncReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<(HashSet<DojoId>, Option<i64>)> {
    let mut seen = HashSet::new();
    let mut newest = None;
    let order = [("o", "id".to_owned())];
    loop {
        let page: records::Page<records::Finding> =
            client.page("findings", &order, seen.len() as u64, FINDINGS_PAGE).await?;
        let finished = page.next.is_none() || page.results.is_empty();
        seen.extend(page.results.iter().map(|f| DojoId::new(f.id)));
        newest = newest.max(page.results.iter().filter_map(|f| f.last_status_update).map(|at| at.timestamp()).max());
        report.findings.add(write(state, placement, &page.results).await?);
        progress(seen.len() as u64, page.count.max(seen.len() as u64));
        if finished {
            return Ok((seen, newest));
        }
    }
}

/// The findings whose status changed since `watermark` (and new ones), newest first, until a page reaches
/// an older one (five minutes of overlap: clocks and commits are not exact). DefectDojo cannot order or
/// filter by `updated`, so an edit that leaves the status alone (a severity) waits for the next full run.
/// Returns the newest status change seen.
async fn changed_findings(
    state: &AppState,
    client: &DojoClient,
    placement: &Placement,
    watermark: i64,
    report: &mut SyncReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<Option<i64>> {
    let cutoff = watermark - WATERMARK_OVERLAP_SECONDS;
    let order = [("o", "-last_status_update".to_owned())];
    let (mut offset, mut newest) = (0, None);
    loop {
        let page: records::Page<records::Finding> = client.page("findings", &order, offset, FINDINGS_PAGE).await?;
        offset += page.results.len() as u64;
        let changes = page.results.iter().filter_map(|f| f.last_status_update).map(|at| at.timestamp());
        newest = newest.max(changes.clone().max());
        // A finding without a status time (older DefectDojo data) may sort first: it does not end the scan.
        let reached_older = changes.clone().any(|at| at < cutoff);
        let fresh: Vec<records::Finding> = page
            .results
            .into_iter()
            .filter(|f| f.last_status_update.is_none_or(|at| at.timestamp() >= cutoff))
            .collect();
        report.findings.add(write(state, placement, &fresh).await?);
        progress(offset, page.count);
        if reached_older || page.next.is_none() || offset == 0 {
            return Ok(newest);
        }
    }
}

/// Writes one page in its own transaction and announces it.
async fn write(state: &AppState, placement: &Placement, page: &[records::Finding]) -> ServiceResult<PageCounts> {
    let now = state.clock.now();
    let txn = state.begin_batch_write().await?;
    let (counts, signals) = defectdojo_findings::write_page(&txn, placement, page, now).await?;
    txn.commit().await?;
    if !signals.is_empty() {
        state.wake_delivery();
        state.note_change();
        state.announce(signals).await;
    }
    Ok(counts)
}

/// Closes the source's open findings that the run did not see and DefectDojo, asked by id, no longer has
/// (a finding that moved between pages while the run paged is written instead). Returns how many closed.
async fn close_gone(
    state: &AppState,
    client: &DojoClient,
    placement: &Placement,
    seen: &HashSet<DojoId>,
    counts: &mut PageCounts,
) -> ServiceResult<u64> {
    let ours: Vec<(FindingId, Option<DojoId>)> = finding::Entity::find()
        .select_only()
        .columns([finding::Column::Id, finding::Column::ExternalId])
        .filter(finding::Column::SourceId.eq(placement.source_id))
        .filter(finding::Column::IsMitigated.eq(false))
        .into_tuple()
        .all(&state.db)
        .await?;
    let unseen: Vec<(FindingId, DojoId)> = ours
        .into_iter()
        .filter_map(|(id, external)| Some((id, external?)))
        .filter(|(_, e)| !seen.contains(e))
        .collect();
    let mut closed = 0;
    for chunk in unseen.chunks(IDS_AT_ONCE) {
        let ids = chunk.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join(",");
        let still: records::Page<records::Finding> =
            client.page("findings", &[("id", ids)], 0, IDS_AT_ONCE as u64).await?;
        counts.add(write(state, placement, &still.results).await?);
        let present: HashSet<i32> = still.results.iter().map(|f| f.id).collect();
        let gone: Vec<FindingId> =
            chunk.iter().filter(|(_, e)| !present.contains(&e.get())).map(|(id, _)| *id).collect();
        closed += close(state, placement, &gone).await?;
    }
    Ok(closed)
}

/// Mitigates `ids` now, in one transaction (their SLA cycles end, MET or MISSED).
async fn close(state: &AppState, placement: &Placement, ids: &[FindingId]) -> ServiceResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let now = state.clock.now();
    let txn = state.begin_batch_write().await?;
    let rows = finding::Entity::find().filter(finding::Column::Id.is_in(ids.iter().copied())).all(&txn).await?;
    let mut signals = Vec::new();
    for row in rows {
        let Some(policy) = placement.policies.get(&row.product_id) else { continue };
        let (updated, resolved) = findings::mitigate_row(&txn, row, now, policy, now).await?;
        signals.push(Signal::Finding { id: updated.id });
        signals.extend(resolved.map(|id| Signal::Sla { id }));
    }
    txn.commit().await?;
    let closed = signals.iter().filter(|s| matches!(s, Signal::Finding { .. })).count() as u64;
    state.wake_delivery();
    state.note_change();
    state.announce(signals).await;
    Ok(closed)
}

/// Syncs every source whose next run has come (the scheduler's job, one instance at a time); a failure is
/// written on its source and retried after the back-off. Returns how many sources ran.
pub async fn run_due(state: &AppState) -> ServiceResult<usize> {
    let now = state.clock.now().timestamp();
    let actor = Actor::system("defectdojo-sync");
    let due: Vec<DefectDojoSourceId> = defectdojo_source::Entity::find()
        .filter(defectdojo_source::Column::NextRunAt.lte(now))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|source| source.id)
        .collect();
    for &id in &due {
        // Recorded on the source and logged by `run`; the other sources still run.
        let _ = Box::pin(run(state, &actor, id, &|_, _| {})).await;
    }
    Ok(due.len())
}
