//! Links to one kept report that open without an account (an outside auditor's): signed by the server
//! (`security::report_links`), expiring (30 days unless asked otherwise), and revocable one by one.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::domain::{ReportId, ReportShareId, UserId};
use crate::entity::{report, report_share};
use crate::error::{ServiceError, ServiceResult};
use crate::security::report_links::{LinkError, LinkKey};
use crate::service::{Actor, outbox, reports};
use crate::state::AppState;

/// How long a link lasts unless asked otherwise.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest a link may last.
const MAX_DAYS: i64 = 365;

/// A link to a report.
#[derive(Debug, Clone)]
pub struct Share {
    pub id: ReportShareId,
    pub report_id: ReportId,
    pub url: String,
    pub expires_at: i64,
    pub revoked: bool,
}

/// A signed link to `report_id`, open for `days` from `now` (in the caller's transaction).
pub(crate) async fn create<C: ConnectionTrait>(
    conn: &C,
    key: &LinkKey,
    site: &str,
    report_id: ReportId,
    created_by: Option<UserId>,
    days: i64,
    now: DateTime<Utc>,
) -> ServiceResult<Share> {
    let expires_at = now.timestamp() + days * 86_400;
    let row = report_share::ActiveModel {
        report_id: Set(report_id),
        expires_at: Set(expires_at),
        created_by: Set(created_by.filter(|id| id.get() > 0)),
        created_at: Set(now.timestamp()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(view(&row, key, site))
}

fn view(row: &report_share::Model, key: &LinkKey, site: &str) -> Share {
    let signature = key.sign(row.report_id, row.id, row.expires_at);
    let url = format!(
        "{}/reports/{}?share={}&exp={}&sig={signature}",
        site.trim_end_matches('/'),
        row.report_id,
        row.id,
        row.expires_at
    );
    Share { id: row.id, report_id: row.report_id, url, expires_at: row.expires_at, revoked: row.revoked_at.is_some() }
}

/// `shareReport`: a link to a report the actor may fetch, for `days` (1 to 365, default 30).
pub async fn share(state: &AppState, actor: &Actor, report_id: ReportId, days: Option<i64>) -> ServiceResult<Share> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ServiceError::bad_input(format!("expiresInDays must be between 1 and {MAX_DAYS}")));
    }
    reports::file(state, actor, report_id).await?;
    let site = outbox::site_url(&state.db).await?;
    create(&state.db, &state.report_links, &site, report_id, Some(actor.user_id), days, state.clock.now()).await
}

/// `revokeReportShare`: the link stops opening at once (whoever may fetch the report may revoke it).
pub async fn revoke(state: &AppState, actor: &Actor, id: ReportShareId) -> ServiceResult<Share> {
    let found = report_share::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("report share"))?;
    reports::file(state, actor, found.report_id).await.map_err(|err| match err {
        ServiceError::NotFound(_) => ServiceError::not_found("report share"),
        other => other,
    })?;
    let mut row: report_share::ActiveModel = found.clone().into();
    row.revoked_at = Set(Some(found.revoked_at.unwrap_or_else(|| state.clock.now().timestamp())));
    let updated = row.update(&state.db).await?;
    Ok(view(&updated, &state.report_links, &outbox::site_url(&state.db).await?))
}

/// The report a link opens, without an account: a signature that is not this server's (or a changed link)
/// and an expired or revoked link are refused alike, as FORBIDDEN, saying which.
pub async fn open(
    state: &AppState,
    report_id: ReportId,
    share: ReportShareId,
    expires_at: i64,
    signature: &str,
) -> ServiceResult<report::Model> {
    let now = state.clock.now().timestamp();
    state.report_links.verify(report_id, share, expires_at, signature, now).map_err(|err| match err {
        LinkError::Invalid => ServiceError::Forbidden("this report link is not valid".to_owned()),
        LinkError::Expired => ServiceError::Forbidden("this report link has expired".to_owned()),
    })?;
    let found = report_share::Entity::find_by_id(share).one(&state.db).await?;
    if found.is_none_or(|row| row.revoked_at.is_some() || row.report_id != report_id) {
        return Err(ServiceError::Forbidden("this report link has been revoked".to_owned()));
    }
    report::Entity::find_by_id(report_id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("report"))
}
