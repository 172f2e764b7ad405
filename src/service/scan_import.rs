//! Scan intake, as DefectDojo's `import-scan` and `reimport-scan`: a report is parsed first (a bad file
//! changes nothing), its findings are written in one transaction with the scan's date as their `date` (the
//! SLA runs on DefectDojo's date model), and one `scan_added` notification summarises the import.
//!
//! Import: a new test under the engagement; a finding whose hash is already open in the product is not
//! created again. Re-import: the test's findings are matched by the tool's id (SARIF) or by hash; matched and
//! open stay untouched (their date and deadline do not move), matched but closed are reactivated, new ones
//! are created, and open ones the report no longer lists are mitigated at the scan's date (MET or MISSED).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::db;
use crate::domain::scan_type::ScanType;
use crate::domain::sla_events;
use crate::domain::{Severity, SlaPolicy};
use crate::entity::{engagement, finding, scan_test, sla_event};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::scans::{self, ParsedFinding};
use crate::service::finding_sla;
use crate::service::findings::{self, NewFinding, ScanOrigin};
use crate::service::scan_context::{self, ImportTarget};
use crate::service::{Actor, events, outbox, sla_sweep};
use crate::state::AppState;

/// An import or re-import request, with DefectDojo's options.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub scan_type: ScanType,
    pub file: Vec<u8>,
    pub target: ImportTarget,
    /// The scan's date (default today, UTC): new findings' `date`, closed ones' mitigation.
    pub scan_date: Option<NaiveDate>,
    /// Findings below it are left out.
    pub minimum_severity: Severity,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    /// Mitigate what the report no longer lists (default: false on import, true on re-import).
    pub close_old_findings: Option<bool>,
    pub test_title: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStatistics {
    pub created: usize,
    pub closed: usize,
    pub reactivated: usize,
    pub untouched: usize,
}

/// An import's test, engagement and statistics.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub test: scan_test::Model,
    pub engagement: engagement::Model,
    pub statistics: ImportStatistics,
}

fn parsed(request: &ImportRequest) -> ServiceResult<Vec<ParsedFinding>> {
    let all = scans::parse(request.scan_type, &request.file).map_err(|err| ServiceError::bad_input(err.to_string()))?;
    let mut seen = HashSet::new();
    // Within the file, the first of a hash stands for the rest (as DefectDojo deduplicates a report).
    Ok(all
        .into_iter()
        .filter(|f| f.severity.is_some_and(|s| s <= request.minimum_severity))
        .filter(|f| seen.insert(f.hash_code.clone()))
        .collect())
}

/// `import-scan`: a new test and the report's findings that are not already open in the product.
pub async fn import(state: &AppState, actor: &Actor, request: ImportRequest) -> ServiceResult<ImportOutcome> {
    let reported = parsed(&request)?;
    let engagement = scan_context::engagement_of(state, actor, &request.target).await?;
    run(state, &request, engagement, None, reported).await
}

/// `reimport-scan`: the report again into its test (the latest of the engagement for this scan type when not
/// named); without one yet, an import.
pub async fn reimport(state: &AppState, actor: &Actor, request: ImportRequest) -> ServiceResult<ImportOutcome> {
    let reported = parsed(&request)?;
    let engagement = scan_context::engagement_of(state, actor, &request.target).await?;
    let title = request.test_title.as_deref();
    let test = scan_context::reimport_test(state, &request.target, &engagement, request.scan_type, title).await?;
    run(state, &request, engagement, test, reported).await
}

/// The mitigation instant of a scan dated `day`: now when the scan is today's, else that day's start (UTC).
fn scan_instant(day: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    if day == now.date_naive() { now } else { day.and_hms_opt(0, 0, 0).map_or(now, |at| at.and_utc()) }
}

async fn run(
    state: &AppState,
    request: &ImportRequest,
    engagement: engagement::Model,
    existing_test: Option<scan_test::Model>,
    reported: Vec<ParsedFinding>,
) -> ServiceResult<ImportOutcome> {
    let now = state.clock.now();
    let scan_date = request.scan_date.unwrap_or_else(|| now.date_naive());
    let reimport = existing_test.is_some();
    let txn = db::begin_write(&state.db).await?;
    let policy = findings::product_policy(&txn, engagement.product_id).await?;
    let test = match existing_test {
        Some(test) => {
            let mut model: scan_test::ActiveModel = test.into();
            model.scan_date = Set(scan_date);
            model.updated_at = Set(now.timestamp());
            model.update(&txn).await?
        }
        None => {
            scan_test::ActiveModel {
                engagement_id: Set(engagement.id),
                scan_type: Set(request.scan_type),
                title: Set(request.test_title.clone()),
                scan_date: Set(scan_date),
                created_at: Set(now.timestamp()),
                updated_at: Set(now.timestamp()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    // What is already there: the test's findings on re-import, the product's open ones on import.
    let known: Vec<finding::Model> = if reimport {
        finding::Entity::find().filter(finding::Column::TestId.eq(test.id)).all(&txn).await?
    } else {
        finding::Entity::find()
            .filter(finding::Column::ProductId.eq(engagement.product_id))
            .filter(finding::Column::IsOpen.eq(true))
            .filter(finding::Column::HashCode.is_not_null())
            .all(&txn)
            .await?
    };
    let by_tool_id: HashMap<&str, usize> = known
        .iter()
        .enumerate()
        .filter(|_| request.scan_type.matches_by_tool_id())
        .filter_map(|(i, f)| f.unique_id_from_tool.as_deref().map(|id| (id, i)))
        .collect();
    let by_hash: HashMap<&str, usize> =
        known.iter().enumerate().filter_map(|(i, f)| f.hash_code.as_deref().map(|h| (h, i))).collect();
    let mut matched = vec![false; known.len()];
    let mut statistics = ImportStatistics::default();
    let mut to_reactivate = Vec::new();
    let mut new_findings = Vec::new();
    for report in reported {
        let found = report
            .unique_id_from_tool
            .as_deref()
            .and_then(|id| by_tool_id.get(id))
            .or_else(|| by_hash.get(report.hash_code.as_str()))
            .copied();
        match found {
            Some(index) if matched[index] => {}
            Some(index) => {
                matched[index] = true;
                let existing = &known[index];
                if reimport && (existing.is_mitigated || !existing.active) {
                    to_reactivate.push(existing.clone());
                } else {
                    statistics.untouched += 1;
                }
            }
            None => new_findings.push(new_finding(request, &engagement, test.id, scan_date, report)),
        }
    }
    let mut signals = Vec::new();
    for found in to_reactivate {
        let updated = findings::reactivate_row(&txn, found, &policy, now).await?;
        signals.push(Signal::Finding { id: updated.id });
        statistics.reactivated += 1;
    }
    let created = insert(&txn, new_findings, &policy, now).await?;
    let post_breach = chrono::TimeDelta::days(state.config.sla_notify_post_breach_days);
    quiet_history(&txn, &created, &policy, now, post_breach).await?;
    statistics.created = created.len();
    signals.extend(created.iter().map(|f| Signal::Finding { id: f.id }));
    if request.close_old_findings.unwrap_or(reimport) {
        let closing_at = scan_instant(scan_date, now);
        let not_listed = known.into_iter().zip(matched).filter(|(f, seen)| !seen && f.is_open && !f.is_mitigated);
        for (found, _) in not_listed {
            let at = closing_at.max(DateTime::from_timestamp(found.sla_start, 0).unwrap_or(closing_at));
            let (updated, resolved) = findings::mitigate_row(&txn, found, at, &policy, now).await?;
            signals.push(Signal::Finding { id: updated.id });
            signals.extend(resolved.map(|id| Signal::Sla { id }));
            statistics.closed += 1;
        }
    }
    let site = outbox::site_url(&txn).await?;
    let product = crate::service::products::get_unchecked(&txn, engagement.product_id).await?;
    let news = events::scan_added(&product, &engagement, &test, &statistics, &site);
    outbox::publish(&txn, now.timestamp(), news).await?;
    txn.commit().await?;
    state.wake_delivery();
    state.note_change();
    state.announce(signals).await;
    Ok(ImportOutcome { test, engagement, statistics })
}

/// Marks the SLA events an imported finding's history already passed as done without a notification, so the
/// sweep announces at most its present state (`domain::sla_events::quieted_history`) instead of every
/// threshold it crossed before anyone imported it.
async fn quiet_history<C: sea_orm::ConnectionTrait>(
    conn: &C,
    created: &[finding::Model],
    policy: &SlaPolicy,
    now: DateTime<Utc>,
    post_breach: chrono::TimeDelta,
) -> ServiceResult<()> {
    let mut quiet = Vec::new();
    for row in created.iter().filter(|f| f.is_open) {
        let Some(schedule) = finding_sla::schedule(row) else { continue };
        let events = sla_events::cycle_events(&schedule, policy.thresholds.as_slice(), policy.escalation.get());
        let passed = sla_events::quieted_history(&events, now, post_breach);
        quiet.extend(passed.iter().map(|event| sla_sweep::event_row(row, event, None, now)));
    }
    let mut quiet = quiet.into_iter().peekable();
    while quiet.peek().is_some() {
        let chunk: Vec<_> = quiet.by_ref().take(500).collect();
        sla_event::Entity::insert_many(chunk).exec_without_returning(conn).await?;
    }
    Ok(())
}

fn new_finding(
    request: &ImportRequest,
    engagement: &engagement::Model,
    test_id: i32,
    scan_date: NaiveDate,
    report: ParsedFinding,
) -> NewFinding {
    let severity = report.severity.unwrap_or(Severity::Info);
    let active = request.active.or(report.active);
    NewFinding {
        engagement_id: Some(engagement.id),
        description: Some(report.description.clone()),
        date: Some(report.date.unwrap_or(scan_date).min(scan_date)),
        active,
        verified: request.verified.or(report.verified),
        is_mitigated: report.mitigated_at.map(|_| true),
        mitigated_at: report.mitigated_at,
        scan: Some(ScanOrigin { test_id, reported: report.clone() }),
        ..NewFinding::new(engagement.product_id, report.title, severity)
    }
}

/// Inserts the new findings in chunks; returns the stored rows (the history rule reads their SLA columns). A finding a report dates after its own mitigation
/// is refused with the finding's title.
async fn insert<C: sea_orm::ConnectionTrait>(
    conn: &C,
    news: Vec<NewFinding>,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<finding::Model>> {
    let mut created = Vec::with_capacity(news.len());
    let mut rows = Vec::with_capacity(news.len());
    for new in news {
        let title = new.title.clone();
        let row = findings::new_row(new, policy, now)
            .map_err(|err| ServiceError::bad_input(format!("finding {title:?}: {}", err.public_message())))?;
        rows.push(row);
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(200).collect();
        created.extend(finding::Entity::insert_many(chunk).exec_with_returning(conn).await?);
    }
    Ok(created)
}
