//! Generated compliance reports (kept, so the file an auditor received can be fetched again unchanged) and
//! report schedules (cron, relative period, extra recipients), announced with `report_created`.

use crate::domain::notification_payload::{NotificationPayload, ReportFacts};
use crate::domain::{ProductId, ReportId, ReportScheduleId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use crate::domain::compliance::RelativePeriod;
use crate::domain::recipients::{Audience, Channel, Target};
use crate::domain::{NotificationEvent, ProductRole, report_schedule, validated};
use crate::entity::{report, report_schedule as schedule, user};
use crate::error::{ServiceError, ServiceResult};
use crate::report::{Format, ReportView, rate_text};
use crate::service::compliance::{self, ReportScope};
use crate::service::outbox::{self, NewNotification};
use crate::service::{Actor, access};
use crate::state::AppState;

/// A report without its file, for lists.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ReportInfo {
    pub id: ReportId,
    pub requested_by: Option<UserId>,
    pub schedule_id: Option<ReportScheduleId>,
    pub product_id: Option<ProductId>,
    pub period_start: i64,
    pub period_end: i64,
    pub format: Format,
    pub file_name: String,
    pub created_at: i64,
}

/// Refuses a report a user asks for once they asked for `reports_per_hour` within the past hour, so one
/// request of aliased `generateReport`s cannot store thousands of files. Scheduled runs are paced by cron.
async fn within_quota(state: &AppState, actor: &Actor, now: i64) -> ServiceResult<()> {
    let quota = state.config.reports_per_hour;
    let recent = report::Entity::find()
        .filter(report::Column::RequestedBy.eq(actor.user_id))
        .filter(report::Column::ScheduleId.is_null())
        .filter(report::Column::CreatedAt.gt(now - 3600))
        .count(&state.db)
        .await?;
    if recent >= quota {
        return Err(ServiceError::RateLimited(format!(
            "at most {quota} reports per hour (SLAWATCH_REPORTS_PER_HOUR): fetch a kept one with GET /reports/{{id}}"
        )));
    }
    Ok(())
}

/// Deletes kept reports older than `SLAWATCH_REPORT_RETENTION_DAYS`. Returns how many.
pub async fn delete_expired(state: &AppState) -> ServiceResult<u64> {
    let cutoff = state.clock.now().timestamp() - state.config.report_retention_days * 86_400;
    let txn = state.begin_batch_write().await?;
    let deleted = report::Entity::delete_many().filter(report::Column::CreatedAt.lt(cutoff)).exec(&txn).await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// Computes, renders and keeps a report as `actor`, and notifies `actor` (and `extra_recipients` by mail)
/// with `report_created` and a link to it.
pub async fn generate(
    state: &AppState,
    actor: &Actor,
    scope: &ReportScope,
    format: Format,
    schedule_id: Option<ReportScheduleId>,
    extra_recipients: &[String],
) -> ServiceResult<ReportInfo> {
    let now = state.clock.now();
    if schedule_id.is_none() {
        within_quota(state, actor, now.timestamp()).await?;
    }
    let computed = compliance::compliance(state, actor, scope).await?;
    let view = ReportView::new(&computed, now);
    let content = view.render(format).map_err(ServiceError::internal)?;
    let txn = state.begin_write().await?;
    let created = report::ActiveModel {
        requested_by: Set(Some(actor.user_id).filter(|id| id.get() > 0)),
        schedule_id: Set(schedule_id),
        product_id: Set(scope.product_id),
        period_start: Set(scope.period.start.timestamp()),
        period_end: Set(scope.period.end.timestamp()),
        format: Set(format),
        file_name: Set(view.file_name(format)),
        content: Set(content),
        created_at: Set(now.timestamp()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let site = outbox::site_url(&txn).await?;
    let url = format!("{}/reports/{}", site.trim_end_matches('/'), created.id);
    // Recipients outside slawatch get the file attached and a link that needs no account.
    let share = if extra_recipients.is_empty() {
        None
    } else {
        let days = crate::service::report_shares::DEFAULT_DAYS;
        let key = &state.report_links;
        Some(crate::service::report_shares::create(&txn, key, &site, created.id, None, days, now).await?)
    };
    let verdict = if view.passed { "targets met" } else { "targets missed" };
    outbox::publish(
        &txn,
        now.timestamp(),
        NewNotification {
            event: NotificationEvent::ReportCreated,
            audience: Audience::Directed(vec![actor.user_id]),
            product_id: scope.product_id,
            finding_id: None,
            title: format!("SLA compliance report ready: {}, {} to {}", view.product, view.from, view.to),
            description: format!(
                "The SLA compliance report of {} for {} to {} is ready ({}): compliance {}, {verdict}. Download: {url}",
                view.product,
                view.from,
                view.to,
                format.extension().to_uppercase(),
                rate_text(view.compliance_rate)
            ),
            url: Some(url.clone()),
            payload: NotificationPayload {
                report: Some(ReportFacts {
                    id: created.id,
                    product: view.product.clone(),
                    from: view.from,
                    to: view.to,
                    format: format.extension().to_owned(),
                    compliance_rate: view.compliance_rate,
                    passed: view.passed,
                    url: url.clone(),
                    share_expires: share
                        .as_ref()
                        .and_then(|s| DateTime::from_timestamp(s.expires_at, 0))
                        .map(|at| at.to_rfc3339()),
                    share_url: share.map(|s| s.url),
                }),
                ..NotificationPayload::default()
            },
            dedupe_key: Some(format!("report_created:{}", created.id)),
            extra_targets: extra_recipients.iter().map(|email| (Channel::Mail, Target::Email(email.clone()))).collect(),
        },
    )
    .await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(info(&created))
}

fn info(model: &report::Model) -> ReportInfo {
    ReportInfo {
        id: model.id,
        requested_by: model.requested_by,
        schedule_id: model.schedule_id,
        product_id: model.product_id,
        period_start: model.period_start,
        period_end: model.period_end,
        format: model.format,
        file_name: model.file_name.clone(),
        created_at: model.created_at,
    }
}

/// The reports the actor asked for (superusers: all), newest first.
pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<ReportInfo>> {
    let mut select = report::Entity::find()
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::RequestedBy,
            report::Column::ScheduleId,
            report::Column::ProductId,
            report::Column::PeriodStart,
            report::Column::PeriodEnd,
            report::Column::Format,
            report::Column::FileName,
            report::Column::CreatedAt,
        ])
        .order_by_desc(report::Column::Id)
        .limit(200);
    if !actor.is_superuser {
        select = select.filter(report::Column::RequestedBy.eq(actor.user_id));
    }
    Ok(select.into_model::<ReportInfo>().all(&state.db).await?)
}

/// A kept report's file, for its requester, a superuser, or (a product's report) anyone who may view the
/// product; `NOT_FOUND` for everyone else.
pub async fn file(state: &AppState, actor: &Actor, id: ReportId) -> ServiceResult<report::Model> {
    let found =
        report::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("report"))?;
    let allowed = actor.is_superuser
        || found.requested_by == Some(actor.user_id)
        || match found.product_id {
            Some(product_id) => access::product_role(&state.db, actor, product_id).await.is_ok(),
            None => false,
        };
    if allowed { Ok(found) } else { Err(ServiceError::not_found("report")) }
}

/// A schedule to create.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub name: String,
    pub product_id: Option<ProductId>,
    pub cron: String,
    pub period: RelativePeriod,
    pub format: Format,
    pub recipients: Vec<String>,
}

/// Creates a schedule owned by the actor (reports run with the actor's visibility). Mailing it to
/// recipients outside slawatch is for the product's owners and superusers.
pub async fn create_schedule(state: &AppState, actor: &Actor, new: NewSchedule) -> ServiceResult<schedule::Model> {
    let name = validated::name("name", &new.name)?;
    let role = match new.product_id {
        Some(product_id) => Some(access::product_role(&state.db, actor, product_id).await?),
        None => None,
    };
    if !new.recipients.is_empty() && !actor.is_superuser && role != Some(ProductRole::Owner) {
        return Err(ServiceError::Forbidden(
            "only the product's owners and superusers may send scheduled reports to outside recipients".to_owned(),
        ));
    }
    let now = state.clock.now();
    let next = report_schedule::next_run(&new.cron, now).map_err(ServiceError::BadInput)?;
    let recipients = new
        .recipients
        .iter()
        .map(|email| validated::email(email).map_err(ServiceError::from))
        .collect::<ServiceResult<Vec<String>>>()?;
    let created = schedule::ActiveModel {
        name: Set(name),
        owner_id: Set(actor.user_id),
        product_id: Set(new.product_id),
        cron: Set(new.cron.trim().to_owned()),
        period: Set(new.period),
        format: Set(new.format),
        recipients: Set(serde_json::to_string(&recipients).map_err(ServiceError::internal)?),
        enabled: Set(true),
        next_run_at: Set(next.timestamp()),
        last_run_at: Set(None),
        created_at: Set(now.timestamp()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(created)
}

/// The actor's schedules (superusers: all).
pub async fn list_schedules(state: &AppState, actor: &Actor) -> ServiceResult<Vec<schedule::Model>> {
    let mut select = schedule::Entity::find().order_by_asc(schedule::Column::Id);
    if !actor.is_superuser {
        select = select.filter(schedule::Column::OwnerId.eq(actor.user_id));
    }
    Ok(select.all(&state.db).await?)
}

/// Deletes a schedule (its owner or a superuser); the reports it made stay.
pub async fn delete_schedule(state: &AppState, actor: &Actor, id: ReportScheduleId) -> ServiceResult<schedule::Model> {
    let found = schedule::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("report schedule"))?;
    if !actor.is_superuser && found.owner_id != actor.user_id {
        return Err(ServiceError::not_found("report schedule"));
    }
    schedule::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(found)
}

/// Runs every enabled schedule whose time has come, once each (a run missed during downtime runs once, late),
/// and moves it to its next time. Returns the number of reports generated.
pub async fn run_due(state: &AppState) -> ServiceResult<usize> {
    let now = state.clock.now();
    let due = schedule::Entity::find()
        .filter(schedule::Column::Enabled.eq(true))
        .filter(schedule::Column::NextRunAt.lte(now.timestamp()))
        .order_by_asc(schedule::Column::NextRunAt)
        .all(&state.db)
        .await?;
    let mut generated = 0;
    for found in due {
        if !claim(state, &found, now).await? {
            continue;
        }
        match run_one(state, &found, now).await {
            Ok(()) => generated += 1,
            Err(err) => {
                let error = err.detail();
                tracing::warn!(schedule = %found.id, %error, "scheduled report failed; it runs again at its next time");
            }
        }
    }
    Ok(generated)
}

/// Moves the schedule to its next run if nobody else did (another instance, a concurrent run). A stored
/// cron expression that is no longer accepted (six fields, from before they were refused) disables its
/// schedule, with a warning, instead of stopping every later schedule's run.
async fn claim(state: &AppState, found: &schedule::Model, now: DateTime<Utc>) -> ServiceResult<bool> {
    let next = match report_schedule::next_run(&found.cron, now) {
        Ok(next) => next,
        Err(reason) => {
            tracing::warn!(schedule = %found.id, %reason,
 "report schedule disabled: its cron expression is unusable");
            schedule::Entity::update_many()
                .col_expr(schedule::Column::Enabled, sea_orm::sea_query::Expr::value(false))
                .filter(schedule::Column::Id.eq(found.id))
                .exec(&state.db)
                .await?;
            return Ok(false);
        }
    };
    let claimed = schedule::Entity::update_many()
        .col_expr(schedule::Column::NextRunAt, sea_orm::sea_query::Expr::value(next.timestamp()))
        .col_expr(schedule::Column::LastRunAt, sea_orm::sea_query::Expr::value(Some(now.timestamp())))
        .filter(schedule::Column::Id.eq(found.id))
        .filter(schedule::Column::NextRunAt.eq(found.next_run_at))
        .exec(&state.db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

async fn run_one(state: &AppState, found: &schedule::Model, now: DateTime<Utc>) -> ServiceResult<()> {
    let owner = user::Entity::find_by_id(found.owner_id).one(&state.db).await?;
    let Some(owner) = owner.filter(|u| u.is_active) else {
        return Err(ServiceError::bad_input("the schedule's owner is inactive"));
    };
    let actor = Actor::from(owner);
    let period = found
        .period
        .before(now)
        .ok_or_else(|| ServiceError::internal(format!("no {} before {now}", found.period.as_str())))?;
    let format = found.format;
    let recipients: Vec<String> = serde_json::from_str(&found.recipients).map_err(ServiceError::internal)?;
    let scope = ReportScope { product_id: found.product_id, period };
    generate(state, &actor, &scope, format, Some(found.id), &recipients).await?;
    Ok(())
}
