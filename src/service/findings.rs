//! Findings, the write side: create (one or many, history as it was: `finding_creation`), update, mitigate,
//! reactivate, delete. The reads (pages, REST slices, SLA summaries, their kept answers) are in `finding_reads`.
//!
//! Every write recomputes the stored SLA columns from the product's configuration (`finding_sla::columns`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Set};

use crate::domain::sla::{self, SlaStart};
use crate::domain::{EngagementId, FindingId, FindingStatus, ProductId, ProductRole, Severity, SlaPolicy, validated};
use crate::entity::{engagement, finding};
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::finding_sla;
use crate::service::{Actor, access, products, sla_configs};
use crate::state::AppState;

pub use crate::service::finding_creation::{create, create_many};
pub use crate::service::finding_inputs::{FindingChanges, NewFinding, ScanOrigin};

/// The earliest instant we accept: the SLA arithmetic works in non-negative epoch seconds.
const EARLIEST_YEAR: i32 = 1970;
const LATEST_YEAR: i32 = 9000;

fn checked_instant(field: &str, at: DateTime<Utc>) -> ServiceResult<DateTime<Utc>> {
    use chrono::Datelike;
    if (EARLIEST_YEAR..LATEST_YEAR).contains(&at.year()) {
        Ok(at)
    } else {
        Err(ServiceError::bad_input(format!("{field} must be between {EARLIEST_YEAR} and {LATEST_YEAR}")))
    }
}

fn checked_date(field: &str, date: NaiveDate) -> ServiceResult<NaiveDate> {
    use chrono::Datelike;
    if (EARLIEST_YEAR..LATEST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(ServiceError::bad_input(format!("{field} must be between {EARLIEST_YEAR} and {LATEST_YEAR}")))
    }
}

/// The SLA start and report date from what the client gave: `slaStart` (an instant) wins, then `date`
/// (DefectDojo's date model), then the instant of the request.
fn start_and_date(
    date: Option<NaiveDate>,
    sla_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ServiceResult<(SlaStart, NaiveDate)> {
    let date = date.map(|d| checked_date("date", d)).transpose()?;
    let sla_start = sla_start.map(|at| checked_instant("slaStart", at)).transpose()?;
    Ok(match (sla_start, date) {
        (Some(at), date) => (SlaStart::Instant(at), date.unwrap_or_else(|| at.date_naive())),
        (None, Some(date)) => (SlaStart::Date(date), date),
        (None, None) => (SlaStart::Instant(now), now.date_naive()),
    })
}

/// Builds the row for a new finding (validation included) without touching the database.
pub(crate) fn new_row(
    input: NewFinding,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> ServiceResult<finding::ActiveModel> {
    let NewFinding {
        product_id,
        engagement_id,
        title,
        description,
        severity,
        date,
        sla_start,
        active,
        verified,
        is_mitigated,
        mitigated_at,
        false_positive,
        duplicate,
        out_of_scope,
        risk_accepted,
        external_reference,
        scan,
    } = input;
    let title = validated::name("title", &title)?;
    let (start, date) = start_and_date(date, sla_start, now)?;
    let mitigated_at = mitigated_at.map(|at| checked_instant("mitigatedAt", at)).transpose()?;
    let is_mitigated = match (is_mitigated, mitigated_at) {
        (Some(false), Some(_)) => return Err(ServiceError::bad_input("mitigatedAt is set but isMitigated is false")),
        (flag, at) => flag.unwrap_or(at.is_some()),
    };
    let mitigated_at = is_mitigated.then(|| mitigated_at.unwrap_or(now));
    if mitigated_at.is_some_and(|at| at < start.instant()) {
        return Err(ServiceError::bad_input("mitigatedAt is before the finding's SLA start"));
    }
    let status = FindingStatus {
        active: active.unwrap_or(!is_mitigated),
        verified: verified.unwrap_or(false),
        is_mitigated,
        mitigated_at,
        false_positive: false_positive.unwrap_or(false),
        duplicate: duplicate.unwrap_or(false),
        out_of_scope: out_of_scope.unwrap_or(false),
        risk_accepted: risk_accepted.unwrap_or(false),
    };
    let mut model = finding::ActiveModel {
        product_id: Set(product_id),
        engagement_id: Set(engagement_id),
        title: Set(title),
        description: Set(description.unwrap_or_default()),
        severity: Set(severity),
        date: Set(date),
        external_reference: Set(external_reference.filter(|r| !r.trim().is_empty())),
        sla_cycle: Set(1),
        created_at: Set(now.timestamp()),
        ..Default::default()
    };
    if let Some(origin) = scan {
        origin.set_on(&mut model);
    }
    restate(&mut model, start, severity, &status, policy, now);
    Ok(model)
}

/// `rows` as `INSERT`s of `per_statement` rows each that return `returning` (nothing when empty): built apart from
/// running them, so that a batch can build them before its turn to write.
pub(crate) fn insert_statements(
    backend: sea_orm::DbBackend,
    rows: Vec<finding::ActiveModel>,
    per_statement: usize,
    returning: &[finding::Column],
) -> Vec<sea_orm::Statement> {
    let mut statements = Vec::with_capacity(rows.len().div_ceil(per_statement));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = finding::Entity::insert_many(rows.by_ref().take(per_statement)).into_query();
        if !returning.is_empty() {
            insert.returning(sea_orm::sea_query::Query::returning().columns(returning.iter().copied()));
        }
        statements.push(backend.build(&insert));
    }
    statements
}

/// The SLA policy of a product (`NOT_FOUND` when it does not exist).
pub(crate) async fn product_policy<C: ConnectionTrait>(conn: &C, product_id: ProductId) -> ServiceResult<SlaPolicy> {
    product_policies(conn, &[product_id]).await?.remove(&product_id).ok_or_else(|| ServiceError::not_found("product"))
}

/// The SLA policies of `ids` (products that exist), in two queries.
pub(crate) async fn product_policies<C: ConnectionTrait>(
    conn: &C,
    ids: &[ProductId],
) -> ServiceResult<HashMap<ProductId, SlaPolicy>> {
    let found = products::by_ids(conn, ids).await?;
    let config_ids: Vec<_> = found.iter().map(|p| p.sla_configuration_id).collect();
    let configs: HashMap<_, _> = sla_configs::by_ids(conn, &config_ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut policies = HashMap::with_capacity(found.len());
    for product in found {
        let config = configs
            .get(&product.sla_configuration_id)
            .ok_or_else(|| ServiceError::internal("a product's SLA configuration is missing"))?;
        policies.insert(product.id, sla_configs::policy_of(config)?);
    }
    Ok(policies)
}

/// The product of each of `ids` that exists, in one query.
pub(crate) async fn engagement_products<C: ConnectionTrait>(
    conn: &C,
    ids: &[EngagementId],
) -> ServiceResult<HashMap<EngagementId, ProductId>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = engagement::Entity::find().filter(engagement::Column::Id.is_in(ids.iter().copied())).all(conn).await?;
    Ok(found.into_iter().map(|e| (e.id, e.product_id)).collect())
}

/// An engagement named for a finding must be one of the finding's product (`engagement_product` is the
/// engagement's product, `None` when it does not exist).
pub(crate) fn check_engagement(engagement_product: Option<ProductId>, product_id: ProductId) -> ServiceResult<()> {
    if engagement_product == Some(product_id) {
        Ok(())
    } else {
        // Another product's engagement is not named as such: that product may be one the caller cannot view.
        Err(ServiceError::NotFound("there is no engagement with that id in this finding's product".to_owned()))
    }
}

/// A finding the actor may view, with the actor's role in its product. Non-members get `NOT_FOUND`.
async fn visible<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: FindingId,
) -> ServiceResult<(finding::Model, ProductRole)> {
    let found = finding::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::not_found("finding"))?;
    let role =
        access::product_role(conn, actor, found.product_id).await.map_err(|_| ServiceError::not_found("finding"))?;
    Ok((found, role))
}

/// A finding the actor may annotate (notes, review requests) with `required`, wherever it comes from.
pub(crate) async fn annotatable<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: FindingId,
    required: ProductRole,
) -> ServiceResult<finding::Model> {
    let (found, role) = visible(conn, actor, id).await?;
    access::ensure_allows(role, required)?;
    Ok(found)
}

/// A finding the actor may change with `required`. One kept in step with DefectDojo is DefectDojo's to
/// change (a change here would be undone by the next sync): `FORBIDDEN`, naming the instance.
pub(crate) async fn editable<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: FindingId,
    required: ProductRole,
) -> ServiceResult<finding::Model> {
    let found = annotatable(conn, actor, id, required).await?;
    if let Some(source) = found.source_id {
        let url = crate::entity::defectdojo_source::Entity::find_by_id(source)
            .one(conn)
            .await?
            .map_or_else(|| format!("source {source}"), |s| s.url);
        return Err(ServiceError::Forbidden(format!(
            "this finding is kept in step with DefectDojo at {url}: change it there (notes may be added here)"
        )));
    }
    Ok(found)
}

pub async fn get(state: &AppState, actor: &Actor, id: FindingId) -> ServiceResult<finding::Model> {
    Ok(visible(&state.db, actor, id).await?.0)
}

/// Writes a finding's lifecycle flags and start, and recomputes its stored SLA columns from them: the one
/// place a row's derived state is set.
pub(crate) fn restate(
    model: &mut finding::ActiveModel,
    start: SlaStart,
    severity: Severity,
    status: &FindingStatus,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) {
    model.active = Set(status.active);
    model.verified = Set(status.verified);
    model.is_mitigated = Set(status.is_mitigated);
    model.mitigated_at = Set(status.mitigated_at.map(|at| at.timestamp()));
    model.false_p = Set(status.false_positive);
    model.duplicate = Set(status.duplicate);
    model.out_of_scope = Set(status.out_of_scope);
    model.risk_accepted = Set(status.risk_accepted);
    let is_open = status.is_open();
    model.sla_start = Set(start.instant().timestamp());
    model.sla_start_is_date = Set(start.is_date());
    model.is_open = Set(is_open);
    let columns = finding_sla::columns(start, severity, policy, is_open);
    model.sla_deadline = Set(columns.deadline);
    model.sla_expiration_day = Set(columns.expiration_day);
    model.sla_approaching_at = Set(columns.approaching_at);
    model.next_sla_event_at = Set(columns.next_event_at);
    model.updated_at = Set(now.timestamp());
}

pub(crate) fn parse_stored(found: &finding::Model) -> ServiceResult<(SlaStart, Severity, FindingStatus)> {
    let start = finding_sla::start(found).ok_or_else(|| ServiceError::internal("stored SLA start out of range"))?;
    Ok((start, found.severity, finding_sla::status(found)))
}

/// Updates content and triage flags; a changed severity, date or `slaStart` recomputes the deadline.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: FindingId,
    changes: FindingChanges,
) -> ServiceResult<finding::Model> {
    let FindingChanges {
        title,
        description,
        severity,
        date,
        sla_start,
        active,
        verified,
        false_positive,
        duplicate,
        out_of_scope,
        external_reference,
        engagement_id,
    } = changes;
    let now = state.clock.now();
    let txn = state.begin_write().await?;
    let found = editable(&txn, actor, id, ProductRole::Writer).await?;
    let policy = product_policy(&txn, found.product_id).await?;
    let (mut start, mut severity_value, mut status) = parse_stored(&found)?;
    if let Some(engagement_id) = engagement_id {
        check_engagement(
            engagement_products(&txn, &[engagement_id]).await?.get(&engagement_id).copied(),
            found.product_id,
        )?;
    }
    let mut model: finding::ActiveModel = found.clone().into();
    if let Some(title) = title {
        model.title = Set(validated::name("title", &title)?);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    if let Some(severity) = severity {
        severity_value = severity;
        model.severity = Set(severity_value);
    }
    if date.is_some() || sla_start.is_some() {
        // An slaStart instant keeps the report date unless a new one is given; a date alone switches the
        // finding to DefectDojo's date model.
        let (new_start, new_date) = match sla_start {
            Some(at) => start_and_date(Some(date.unwrap_or(found.date)), Some(at), now)?,
            None => start_and_date(date, None, now)?,
        };
        start = new_start;
        model.date = Set(new_date);
    }
    if let Some(flag) = active {
        if flag && status.is_mitigated {
            return Err(ServiceError::bad_input("use reactivateFinding to reopen a mitigated finding"));
        }
        status.active = flag;
    }
    for (value, field) in [
        (verified, &mut status.verified),
        (false_positive, &mut status.false_positive),
        (duplicate, &mut status.duplicate),
        (out_of_scope, &mut status.out_of_scope),
    ] {
        if let Some(flag) = value {
            *field = flag;
        }
    }
    if let Some(reference) = external_reference {
        model.external_reference = Set(Some(reference).filter(|r| !r.trim().is_empty()));
    }
    if let Some(engagement_id) = engagement_id {
        model.engagement_id = Set(Some(engagement_id));
    }
    restate(&mut model, start, severity_value, &status, &policy, now);
    let updated = model.update(&txn).await?;
    txn.commit().await?;
    state.announce(vec![Signal::Finding { id: updated.id }]).await;
    Ok(updated)
}

/// Marks a finding mitigated at `at` (default now); its SLA is then MET or MISSED.
pub async fn mitigate(
    state: &AppState,
    actor: &Actor,
    id: FindingId,
    at: Option<DateTime<Utc>>,
) -> ServiceResult<finding::Model> {
    let now = state.clock.now();
    let txn = state.begin_write().await?;
    let found = editable(&txn, actor, id, ProductRole::Writer).await?;
    if found.is_mitigated {
        return Err(ServiceError::Conflict("the finding is already mitigated".to_owned()));
    }
    let at = checked_instant("mitigatedAt", at.unwrap_or(now))?;
    if at.timestamp() < found.sla_start {
        return Err(ServiceError::bad_input("mitigatedAt is before the finding's SLA start"));
    }
    let policy = product_policy(&txn, found.product_id).await?;
    let (updated, resolved) = mitigate_row(&txn, found, at, &policy, now).await?;
    txn.commit().await?;
    state.wake_delivery();
    let mut signals = vec![Signal::Finding { id: updated.id }];
    signals.extend(resolved.map(|id| Signal::Sla { id }));
    state.announce(signals).await;
    Ok(updated)
}

/// Reopens a mitigated (or inactive) finding. With `restart_sla_on_reactivation` a new SLA cycle starts
/// now; otherwise the old deadline stands, as DefectDojo.
pub async fn reactivate(state: &AppState, actor: &Actor, id: FindingId) -> ServiceResult<finding::Model> {
    let now = state.clock.now();
    let txn = state.begin_write().await?;
    let found = editable(&txn, actor, id, ProductRole::Writer).await?;
    if found.active && !found.is_mitigated {
        return Err(ServiceError::Conflict("the finding is already active".to_owned()));
    }
    let policy = product_policy(&txn, found.product_id).await?;
    let updated = reactivate_row(&txn, found, &policy, now).await?;
    txn.commit().await?;
    state.announce(vec![Signal::Finding { id: updated.id }]).await;
    Ok(updated)
}

/// Mitigates `found` at `at` in the caller's transaction: restated, and `sla_resolved` written when it had
/// crossed a threshold. Returns the row and the new SLA event's id.
pub(crate) async fn mitigate_row<C: ConnectionTrait>(
    conn: &C,
    found: finding::Model,
    at: DateTime<Utc>,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> ServiceResult<(finding::Model, Option<i32>)> {
    let (start, severity, mut status) = parse_stored(&found)?;
    status.is_mitigated = true;
    status.mitigated_at = Some(at);
    status.active = false;
    let mut model: finding::ActiveModel = found.into();
    restate(&mut model, start, severity, &status, policy, now);
    let updated = model.update(conn).await?;
    let resolved = crate::service::sla_sweep::resolve_on_mitigation(conn, &updated, now).await?;
    Ok((updated, resolved))
}

/// Reopens `found` in the caller's transaction; a new SLA cycle starts now when the policy says so.
pub(crate) async fn reactivate_row<C: ConnectionTrait>(
    conn: &C,
    found: finding::Model,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> ServiceResult<finding::Model> {
    let (start, severity, mut status) = parse_stored(&found)?;
    let (start, cycle) = sla::start_after_reactivation(start, found.sla_cycle, policy.restart_sla_on_reactivation, now);
    status.active = true;
    status.is_mitigated = false;
    status.mitigated_at = None;
    let mut model: finding::ActiveModel = found.into();
    model.sla_cycle = Set(cycle);
    restate(&mut model, start, severity, &status, policy, now);
    Ok(model.update(conn).await?)
}

/// Deletes a finding (owners).
pub async fn delete(state: &AppState, actor: &Actor, id: FindingId) -> ServiceResult<finding::Model> {
    let found = editable(&state.db, actor, id, ProductRole::Owner).await?;
    finding::Entity::delete_by_id(id).exec(&state.db).await?;
    state.note_change();
    Ok(found)
}
