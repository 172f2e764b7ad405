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
use futures_util::TryStreamExt;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set};

use crate::db;
use crate::domain::import_statistics::ImportStatistics;
use crate::domain::scan_type::ScanType;
use crate::domain::tags::Tags;
use crate::domain::{FindingId, ProductId, Severity, SlaPolicy, TestId};
use crate::entity::{engagement, finding, scan_test};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::scans::ParsedFinding;
use crate::service::arrived_history::{self, Arrived};
use crate::service::finding_sla;
use crate::service::findings::{self, NewFinding, ScanOrigin};
use crate::service::scan_context::{self, ImportTarget};
use crate::service::scan_reading::{self, Reading};
use crate::service::{Actor, events, outbox};
use crate::state::AppState;

/// An import or re-import request, with DefectDojo's options.
#[derive(Debug)]
pub struct ImportRequest {
    pub scan_type: ScanType,
    /// The report, read from its start (an upload spooled to disk, or the CLI's file).
    pub file: std::fs::File,
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
    /// Tags for the test; `None` keeps a re-imported test's own.
    pub tags: Option<Tags>,
    /// How much of the file has been read so far, for a progress display (the CLI's bar).
    pub bytes_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// An import's test, engagement and statistics.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub test: scan_test::Model,
    pub engagement: engagement::Model,
    pub statistics: ImportStatistics,
}

/// The engagement the import goes to. When it (or its product) is still to be created, the report is read
/// through once first: a bad file must not leave a new product behind.
async fn engagement_for(state: &AppState, actor: &Actor, request: &ImportRequest) -> ServiceResult<engagement::Model> {
    let read_through = async || scan_reading::validate(request.scan_type, &request.file).await;
    scan_context::engagement_of(state, actor, &request.target, read_through).await
}

/// `import-scan`: a new test and the report's findings that are not already open in the product.
pub async fn import(state: &AppState, actor: &Actor, request: ImportRequest) -> ServiceResult<ImportOutcome> {
    let engagement = engagement_for(state, actor, &request).await?;
    run(state, request, engagement, None).await
}

/// `reimport-scan`: the report again into its test (the latest of the engagement for this scan type when not
/// named); without one yet, an import.
pub async fn reimport(state: &AppState, actor: &Actor, request: ImportRequest) -> ServiceResult<ImportOutcome> {
    let engagement = engagement_for(state, actor, &request).await?;
    let title = request.test_title.as_deref();
    let test = scan_context::reimport_test(state, &request.target, &engagement, request.scan_type, title).await?;
    run(state, request, engagement, test).await
}

/// The mitigation instant of a scan dated `day`: now when the scan is today's, else that day's start (UTC).
fn scan_instant(day: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    if day == now.date_naive() { now } else { day.and_hms_opt(0, 0, 0).map_or(now, |at| at.and_utc()) }
}

/// A finding already there that a report may match: the test's findings on re-import, the product's open
/// ones on import (only the columns matching needs; whole rows are read for those that change).
#[derive(Debug, FromQueryResult)]
struct Known {
    id: FindingId,
    hash_code: Option<String>,
    unique_id_from_tool: Option<String>,
    is_open: bool,
    is_mitigated: bool,
    active: bool,
}

/// The findings already there, indexed for matching, and which of them this report listed.
struct Matching {
    known: Vec<Known>,
    by_tool_id: HashMap<String, usize>,
    by_hash: HashMap<String, usize>,
    listed: Vec<bool>,
}

impl Matching {
    async fn load<C: sea_orm::ConnectionTrait + sea_orm::StreamTrait>(
        conn: &C,
        scan_type: ScanType,
        reimport_of: Option<TestId>,

        product_id: ProductId,
    ) -> ServiceResult<Self> {
        let query = finding::Entity::find().select_only().columns([
            finding::Column::Id,
            finding::Column::HashCode,
            finding::Column::UniqueIdFromTool,
            finding::Column::IsOpen,
            finding::Column::IsMitigated,
            finding::Column::Active,
        ]);
        let query = match reimport_of {
            Some(test_id) => query.filter(finding::Column::TestId.eq(test_id)),
            None => query
                .filter(finding::Column::ProductId.eq(product_id))
                .filter(finding::Column::IsOpen.eq(true))
                .filter(finding::Column::HashCode.is_not_null()),
        };
        // Streamed: all rows read at once held every row's values twice over (a re-import of 100,000 peaked
        // at 160 MiB more); one at a time, only the compact `Known` stay.
        let mut known = Vec::new();
        let mut rows = query.into_model::<Known>().stream(conn).await?;
        while let Some(row) = rows.try_next().await? {
            known.push(row);
        }
        drop(rows);
        let by_tool_id = known
            .iter()
            .enumerate()
            .filter(|_| scan_type.matches_by_tool_id())
            .filter_map(|(i, f)| f.unique_id_from_tool.clone().map(|id| (id, i)))
            .collect();
        let by_hash = known.iter().enumerate().filter_map(|(i, f)| f.hash_code.clone().map(|h| (h, i))).collect();
        let listed = vec![false; known.len()];
        Ok(Self { known, by_tool_id, by_hash, listed })
    }

    /// The known finding `report` is, by the tool's id, else by hash.
    fn find(&self, report: &ParsedFinding) -> Option<usize> {
        report
            .unique_id_from_tool
            .as_deref()
            .and_then(|id| self.by_tool_id.get(id))
            .or_else(|| self.by_hash.get(report.hash_code.as_str()))
            .copied()
    }

    /// The open findings the report did not list.
    fn not_listed(&self) -> Vec<FindingId> {
        self.known
            .iter()
            .zip(&self.listed)
            .filter(|(f, seen)| !**seen && f.is_open && !f.is_mitigated)
            .map(|(f, _)| f.id)
            .collect()
    }
}

/// Rows changed per statement or read per query.
const ROWS_AT_ONCE: usize = 200;

async fn run(
    state: &AppState,
    request: ImportRequest,
    engagement: engagement::Model,
    existing_test: Option<scan_test::Model>,
) -> ServiceResult<ImportOutcome> {
    let now = state.clock.now();
    let scan_date = request.scan_date.unwrap_or_else(|| now.date_naive());
    let reimport = existing_test.is_some();
    let file = request.file.try_clone().map_err(ServiceError::internal)?;
    let mut reading = Reading::start(request.scan_type, file, request.bytes_read.clone());
    let txn = state.begin_batch_write().await?;
    let policy = findings::product_policy(&txn, engagement.product_id).await?;
    let test = match existing_test {
        Some(test) => {
            let mut model: scan_test::ActiveModel = test.into();
            model.scan_date = Set(scan_date);
            model.updated_at = Set(now.timestamp());
            if let Some(tags) = request.tags.clone() {
                model.tags = Set(tags);
            }
            model.update(&txn).await?
        }
        None => {
            scan_test::ActiveModel {
                engagement_id: Set(engagement.id),
                scan_type: Set(request.scan_type),
                title: Set(request.test_title.clone()),
                tags: Set(request.tags.clone().unwrap_or_default()),
                scan_date: Set(scan_date),
                created_at: Set(now.timestamp()),
                updated_at: Set(now.timestamp()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let mut matching =
        Matching::load(&txn, request.scan_type, reimport.then_some(test.id), engagement.product_id).await?;
    let post_breach = chrono::TimeDelta::days(state.config.sla_notify_post_breach_days);
    let mut statistics = ImportStatistics::default();
    let mut to_reactivate = Vec::new();
    let mut signals = Vec::new();
    // Within the file, the first of a hash stands for the rest (as DefectDojo deduplicates a report).
    let mut seen_hashes = HashSet::new();
    let backend = sea_orm::ConnectionTrait::get_database_backend(&txn);
    let mut numbering = match db::sqlite_next_id(&txn, "findings").await? {
        Some(next) => Numbering::Here { next },
        None => Numbering::ReadBack,
    };
    let mut pending = Prepared::default();
    let mut batches_left = true;
    while batches_left || !pending.statements.is_empty() {
        let batch = if batches_left { reading.next().await } else { None };
        batches_left = batch.is_some();
        let writing = std::mem::take(&mut pending);
        // The previous batch is written while this one is matched and built: SQLite's worker thread and this
        // task run side by side instead of taking turns (`join!` polls the write first, which hands its
        // statement to the worker, then builds).
        let (written, prepared) = tokio::join!(write(&txn, writing, &policy, now, post_breach), async {
            let Some(batch) = batch else { return Ok(Prepared::default()) };
            let mut new_findings = Vec::new();
            let wanted = batch.into_iter().filter(|f| f.severity.is_some_and(|s| s <= request.minimum_severity));
            for report in wanted {
                if !seen_hashes.insert(report.hash_code.clone()) {
                    continue;
                }
                match matching.find(&report) {
                    Some(index) if matching.listed[index] => {}
                    Some(index) => {
                        matching.listed[index] = true;
                        let existing = &matching.known[index];
                        if reimport && (existing.is_mitigated || !existing.active) {
                            to_reactivate.push(existing.id);
                        } else {
                            statistics.untouched += 1;
                        }
                    }
                    None => new_findings.push(new_finding(&request, &engagement, test.id, scan_date, report)),
                }
            }
            insert_statements(backend, new_findings, &policy, now, &mut numbering)
        });
        let created = written?;
        pending = prepared?;
        statistics.created += created.len();
        signals.extend(created.iter().map(|f| Signal::Finding { id: f.id }));
    }
    // A bad file ends here, before anything is committed: the transaction is dropped, so nothing stays.
    reading.finish().await?;
    for found in rows(&txn, &to_reactivate).await? {
        let updated = findings::reactivate_row(&txn, found, &policy, now).await?;
        signals.push(Signal::Finding { id: updated.id });
        statistics.reactivated += 1;
    }
    if request.close_old_findings.unwrap_or(reimport) {
        let closing_at = scan_instant(scan_date, now);
        for found in rows(&txn, &matching.not_listed()).await? {
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

/// The whole rows of the findings `ids`, read a chunk at a time, in id order.
async fn rows<C: sea_orm::ConnectionTrait>(conn: &C, ids: &[FindingId]) -> ServiceResult<Vec<finding::Model>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_AT_ONCE) {
        found.extend(finding::Entity::find().filter(finding::Column::Id.is_in(chunk.iter().copied())).all(conn).await?);
    }
    found.sort_by_key(|f| f.id);
    Ok(found)
}

fn new_finding(
    request: &ImportRequest,
    engagement: &engagement::Model,
    test_id: TestId,
    scan_date: NaiveDate,
    report: ParsedFinding,
) -> NewFinding {
    let severity = report.severity.unwrap_or(Severity::Info);
    let mut new = NewFinding {
        engagement_id: Some(engagement.id),
        description: Some(report.description.clone()),
        date: Some(report.date.unwrap_or(scan_date).min(scan_date)),
        active: request.active.or(report.active),
        verified: request.verified.or(report.verified),
        is_mitigated: report.mitigated_at.map(|_| true),
        mitigated_at: report.mitigated_at,
        ..NewFinding::new(engagement.product_id, report.title.clone(), severity)
    };
    new.scan = Some(ScanOrigin { test_id, reported: report });
    new
}

/// A new finding's id and the SLA columns the history rule needs.
#[derive(Debug, FromQueryResult)]
struct Inserted {
    id: FindingId,
    is_open: bool,
    sla_cycle: i32,
    sla_start: i64,
    sla_start_is_date: bool,
    sla_deadline: Option<i64>,
    sla_expiration_day: Option<i64>,
    sla_approaching_at: Option<i64>,
}

impl Inserted {
    /// What PostgreSQL returns of each new row (not the whole row: copying forty returned columns per finding
    /// was most of the database's time in an import).
    const COLUMNS: [finding::Column; 8] = [
        finding::Column::Id,
        finding::Column::IsOpen,
        finding::Column::SlaCycle,
        finding::Column::SlaStart,
        finding::Column::SlaStartIsDate,
        finding::Column::SlaDeadline,
        finding::Column::SlaExpirationDay,
        finding::Column::SlaApproachingAt,
    ];

    /// The same, from a row about to be inserted with its id.
    fn of(row: &finding::ActiveModel) -> ServiceResult<Self> {
        fn set<V: Clone + Into<sea_orm::Value>>(value: &sea_orm::ActiveValue<V>) -> ServiceResult<V> {
            value.try_as_ref().cloned().ok_or_else(|| ServiceError::internal("a new finding's row lacks a column"))
        }
        Ok(Self {
            id: set(&row.id)?,
            is_open: set(&row.is_open)?,
            sla_cycle: set(&row.sla_cycle)?,
            sla_start: set(&row.sla_start)?,
            sla_start_is_date: set(&row.sla_start_is_date)?,
            sla_deadline: set(&row.sla_deadline)?,
            sla_expiration_day: set(&row.sla_expiration_day)?,
            sla_approaching_at: set(&row.sla_approaching_at)?,
        })
    }

    fn schedule(&self) -> finding_sla::StoredSchedule {
        finding_sla::StoredSchedule {
            start: self.sla_start,
            start_is_date: self.sla_start_is_date,
            deadline: self.sla_deadline,
            expiration_day: self.sla_expiration_day,
            approaching_at: self.sla_approaching_at,
        }
    }
}

/// Where new findings' ids come from. On SQLite the import numbers them itself: its transaction holds the
/// database's only write lock, and reading each new row back (`RETURNING`, a row at a time across SQLite's
/// worker thread) cost a fifth of the import. On PostgreSQL they come from the table's sequence, read back.
enum Numbering {
    Here { next: i32 },
    ReadBack,
}

/// A batch's insert statements; `numbered` holds its rows' ids and SLA columns when they were numbered here
/// (`None`: read them back).
#[derive(Default)]
struct Prepared {
    statements: Vec<sea_orm::Statement>,
    numbered: Option<Vec<Inserted>>,
}

/// The statements inserting the new findings, a chunk each. A finding a report dates after its own
/// mitigation is refused with the finding's title.
fn insert_statements(
    backend: sea_orm::DbBackend,
    news: Vec<NewFinding>,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
    numbering: &mut Numbering,
) -> ServiceResult<Prepared> {
    let mut rows = Vec::with_capacity(news.len());
    let mut numbered = match numbering {
        Numbering::Here { .. } => Some(Vec::with_capacity(news.len())),
        Numbering::ReadBack => None,
    };
    for new in news {
        let title = new.title.clone();
        let mut row = findings::new_row(new, policy, now)
            .map_err(|err| ServiceError::bad_input(format!("finding {title:?}: {}", err.public_message())))?;
        if let (Numbering::Here { next }, Some(numbered)) = (&mut *numbering, numbered.as_mut()) {
            row.id = Set(FindingId::new(*next));
            *next = next.checked_add(1).ok_or_else(|| ServiceError::internal("finding ids are exhausted"))?;
            numbered.push(Inserted::of(&row)?);
        }
        rows.push(row);
    }
    // Numbered here, they return nothing; else their ids and SLA columns.
    let returning: &[finding::Column] = if numbered.is_some() { &[] } else { &Inserted::COLUMNS };
    let statements = findings::insert_statements(backend, rows, ROWS_AT_ONCE, returning);
    Ok(Prepared { statements, numbered })
}

/// Runs a batch's inserts, then quiets the history of what they created; returns the new findings' ids and
/// SLA columns.
async fn write<C: sea_orm::ConnectionTrait>(
    conn: &C,
    prepared: Prepared,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
    post_breach: chrono::TimeDelta,
) -> ServiceResult<Vec<Inserted>> {
    let mut created = Vec::new();
    for statement in prepared.statements {
        if prepared.numbered.is_some() {
            conn.execute_raw(statement).await?;
        } else {
            for row in conn.query_all_raw(statement).await? {
                created.push(Inserted::from_query_result(&row, "")?);
            }
        }
    }
    let created = prepared.numbered.unwrap_or(created);
    let open = created.iter().filter(|f| f.is_open);
    let arrived = open.map(|f| Arrived { id: f.id, cycle: f.sla_cycle, schedule: f.schedule() });
    arrived_history::quiet(conn, arrived, policy, now, post_breach).await?;
    Ok(created)
}
