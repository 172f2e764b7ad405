//! The DefectDojo instances slawatch keeps in step with (superusers only): their URL, write-only API
//! token and interval, and how their last sync went.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use crate::domain::DefectDojoSourceId;
use crate::entity::defectdojo_source;
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::state::AppState;

/// The sync interval when none is given (DefectDojo's API is not hammered: five minutes).
pub const DEFAULT_INTERVAL_SECONDS: i32 = 300;
/// The shortest and longest intervals a source may have.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<i32> = 60..=86_400;
/// The longest wait after failed runs (the back-off doubles the interval up to it).
const LONGEST_BACK_OFF_SECONDS: i64 = 3_600;
/// How often a run reads every finding (finding deletions and edits that leave the status alone).
const FULL_RUN_EVERY_SECONDS: i64 = 3_600;

/// A new source.
#[derive(Debug, Clone)]
pub struct SourceInput {
    pub url: String,
    pub token: String,
    pub interval_seconds: Option<i32>,
}

fn checked_url(url: &str) -> ServiceResult<String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|err| ServiceError::bad_input(format!("url: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::bad_input("url must be an http(s) address of a DefectDojo instance"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err(ServiceError::bad_input("url must carry no credentials or query (the token goes in `token`)"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

fn checked_token(token: &str) -> ServiceResult<String> {
    let token = token.trim();
    if token.is_empty() || token.len() > 200 || token.chars().any(char::is_whitespace) {
        return Err(ServiceError::bad_input(
            "token must be DefectDojo's API v2 key (no spaces, at most 200 characters)",
        ));
    }
    Ok(token.to_owned())
}

fn checked_interval(interval: i32) -> ServiceResult<i32> {
    if INTERVAL_RANGE.contains(&interval) {
        Ok(interval)
    } else {
        Err(ServiceError::bad_input(format!(
            "interval must be {} to {} seconds, got {interval}",
            INTERVAL_RANGE.start(),
            INTERVAL_RANGE.end()
        )))
    }
}

/// Adds a source; its first sync runs at the scheduler's next look (or `slawatch sync defectdojo`).
pub async fn create(state: &AppState, actor: &Actor, input: SourceInput) -> ServiceResult<defectdojo_source::Model> {
    actor.require_superuser()?;
    let url = checked_url(&input.url)?;
    let token = checked_token(&input.token)?;
    let interval = checked_interval(input.interval_seconds.unwrap_or(DEFAULT_INTERVAL_SECONDS))?;
    let now = state.clock.now().timestamp();
    let model = defectdojo_source::ActiveModel {
        url: Set(url),
        token: Set(token),
        interval_seconds: Set(interval),
        findings_synced: Set(0),
        failures: Set(0),
        next_run_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    };
    let txn = state.begin_write().await?;
    let created = model.insert(&txn).await?;
    txn.commit().await?;
    Ok(created)
}

/// Changes to a source; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct SourceChanges {
    pub url: Option<String>,
    pub token: Option<String>,
    pub interval_seconds: Option<i32>,
}

/// Changes a source (superusers). A new token (a revoked one replaced) or URL clears the failures and
/// makes the next run due at once; a new URL also makes it a full run from the start (another instance's
/// ids mean other records).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: DefectDojoSourceId,
    changes: SourceChanges,
) -> ServiceResult<defectdojo_source::Model> {
    let found = get(state, actor, id).await?;
    let now = state.clock.now().timestamp();
    let mut model: defectdojo_source::ActiveModel = found.into();
    if let Some(url) = changes.url {
        model.url.set_ne(checked_url(&url)?);
        if model.url.is_set() {
            model.watermark = Set(None);
            model.next_full_at = Set(None);
        }
    }
    if let Some(token) = changes.token {
        model.token.set_ne(checked_token(&token)?);
    }
    if let Some(interval) = changes.interval_seconds {
        model.interval_seconds.set_ne(checked_interval(interval)?);
    }
    if model.url.is_set() || model.token.is_set() {
        model.failures = Set(0);
        model.next_run_at = Set(Some(now));
    }
    let txn = state.begin_write().await?;
    let updated =
        if model.is_changed() { model.update(&txn).await? } else { sea_orm::TryIntoModel::try_into_model(model)? };
    txn.commit().await?;
    Ok(updated)
}

/// Removes a source (superusers). What it brought stays, as slawatch's own: the rows lose their source and
/// DefectDojo id, so they can be changed here again.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: DefectDojoSourceId,
) -> ServiceResult<defectdojo_source::Model> {
    use crate::entity::{engagement, finding, product, product_type, sla_configuration};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    /// Each table's rows of the source lose their source and DefectDojo id.
    macro_rules! detach {
        ($txn:expr, $($table:ident),+) => {$(
            $table::Entity::update_many()
                .col_expr($table::Column::SourceId, Expr::value(Option::<i32>::None))
                .col_expr($table::Column::ExternalId, Expr::value(Option::<i32>::None))
                .filter($table::Column::SourceId.eq(id))
                .exec($txn)
                .await?;
        )+};
    }
    let found = get(state, actor, id).await?;
    let txn = state.begin_write().await?;
    detach!(&txn, finding, engagement, product, product_type, sla_configuration);
    defectdojo_source::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    state.note_change();
    Ok(found)
}

/// Every source (superusers).
pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<defectdojo_source::Model>> {
    actor.require_superuser()?;
    Ok(defectdojo_source::Entity::find().order_by_asc(defectdojo_source::Column::Id).all(&state.db).await?)
}

/// One source (superusers); `NOT_FOUND` when there is none of that id.
pub async fn get(state: &AppState, actor: &Actor, id: DefectDojoSourceId) -> ServiceResult<defectdojo_source::Model> {
    actor.require_superuser()?;
    defectdojo_source::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("DefectDojo source"))
}

/// Writes how a run that started at `started` ended: on success the count of findings it wrote and the next
/// run one interval later; on failure the reason and a next run after a back-off that doubles with each
/// failure in a row (up to an hour).
pub(crate) async fn record_run(
    state: &AppState,
    source: &defectdojo_source::Model,
    started: DateTime<Utc>,
    outcome: Result<&crate::service::defectdojo_sync::SyncReport, &ServiceError>,
) -> ServiceResult<()> {
    let interval = i64::from(source.interval_seconds);
    let mut model: defectdojo_source::ActiveModel = source.clone().into();
    model.last_run_at = Set(Some(started.timestamp()));
    match outcome {
        Ok(report) => {
            let written = report.findings.created + report.findings.updated + report.closed;
            model.watermark = Set(report.watermark.or(source.watermark).or(Some(started.timestamp())));
            if report.full {
                model.next_full_at = Set(Some(started.timestamp() + FULL_RUN_EVERY_SECONDS));
            }
            model.last_success_at = Set(Some(started.timestamp()));
            model.last_error = Set(None);
            model.failures = Set(0);
            model.findings_synced =
                Set(source.findings_synced.saturating_add(i64::try_from(written).unwrap_or(i64::MAX)));
            model.next_run_at = Set(Some(started.timestamp() + interval));
        }
        Err(err) => {
            let failures = source.failures.saturating_add(1);
            let back_off =
                interval.saturating_mul(1_i64 << failures.clamp(0, 10)).min(LONGEST_BACK_OFF_SECONDS.max(interval));
            model.last_error = Set(Some(err.public_message()));
            model.failures = Set(failures);
            model.next_run_at = Set(Some(started.timestamp() + back_off));
        }
    }
    let txn = state.begin_batch_write().await?;
    model.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Adds the instance named by `SLAWATCH_DEFECTDOJO_URL` / `_TOKEN` as a source when there is none of that
/// URL yet, or gives the existing one the configured token. Nothing when they are not set.
pub async fn ensure_configured(state: &AppState) -> ServiceResult<()> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let (Some(url), Some(token)) = (&state.config.defectdojo_url, &state.config.defectdojo_token) else {
        return Ok(());
    };
    let url = checked_url(url)
        .map_err(|err| ServiceError::bad_input(format!("SLAWATCH_DEFECTDOJO_URL: {}", err.public_message())))?;
    let found =
        defectdojo_source::Entity::find().filter(defectdojo_source::Column::Url.eq(&url)).one(&state.db).await?;
    match found {
        None => {
            let input = SourceInput { url, token: token.clone(), interval_seconds: None };
            create(state, &Actor::system("configuration"), input).await?;
        }
        Some(source) if source.token != *token => {
            let mut model: defectdojo_source::ActiveModel = source.into();
            model.token = Set(token.clone());
            let txn = state.begin_batch_write().await?;
            model.update(&txn).await?;
            txn.commit().await?;
        }
        Some(_) => {}
    }
    Ok(())
}
