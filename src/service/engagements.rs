//! Engagements: planned testing periods of a product, edited by its writers.

use crate::domain::engagement_status::EngagementStatus;
use crate::domain::{EngagementId, ProductId, UserId};
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::domain::{NotificationEvent, ProductRole, validated};
use crate::entity::{engagement, user};
use crate::error::{ServiceError, ServiceResult};
use crate::service::page::{self, Page, PageRequest};
use crate::service::{Actor, access, events, outbox};
use crate::state::AppState;

/// Fields of an engagement; on update `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct EngagementInput {
    pub product_id: Option<ProductId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub target_start: Option<NaiveDate>,
    pub target_end: Option<NaiveDate>,
    pub status: Option<EngagementStatus>,
    pub lead_id: Option<UserId>,
}

fn checked_dates(start: NaiveDate, end: NaiveDate) -> ServiceResult<()> {
    if end < start {
        return Err(ServiceError::bad_input("targetEnd must not be before targetStart"));
    }
    Ok(())
}

/// A lead must be an active user who may view the product. Any other id is `NOT_FOUND` alike, so the
/// answer confirms no account outside the product.
async fn check_lead(state: &AppState, lead: UserId, product_id: ProductId) -> ServiceResult<()> {
    let not_found = || ServiceError::NotFound(format!("user {lead} is not a member of this product"));
    let found = user::Entity::find_by_id(lead).one(&state.db).await?;
    let lead_actor = found.filter(|u| u.is_active).map(Actor::from).ok_or_else(not_found)?;
    match access::product_role(&state.db, &lead_actor, product_id).await {
        Err(ServiceError::NotFound(_)) => Err(not_found()),
        other => other.map(|_| ()),
    }
}

pub async fn create(state: &AppState, actor: &Actor, input: EngagementInput) -> ServiceResult<engagement::Model> {
    let EngagementInput { product_id, name, description, target_start, target_end, status, lead_id } = input;
    let product_id = product_id.ok_or_else(|| ServiceError::bad_input("productId is required"))?;
    access::require_role(&state.db, actor, product_id, ProductRole::Writer).await?;
    let name = validated::name("name", name.as_deref().unwrap_or_default())?;
    let today = state.clock.now().date_naive();
    let target_start = target_start.unwrap_or(today);
    let target_end = target_end.unwrap_or(target_start);
    checked_dates(target_start, target_end)?;
    if let Some(lead) = lead_id {
        check_lead(state, lead, product_id).await?;
    }
    let txn = state.begin_write().await?;
    let model = engagement::ActiveModel {
        product_id: Set(product_id),
        name: Set(name),
        description: Set(description.unwrap_or_default()),
        target_start: Set(target_start),
        target_end: Set(target_end),
        status: Set(status.unwrap_or_default()),
        lead_id: Set(lead_id),
        created_at: Set(state.clock.now().timestamp()),
        ..Default::default()
    };
    let created = model.insert(&txn).await?;
    announce(state, &txn, NotificationEvent::EngagementAdded, &created).await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(created)
}

/// Publishes an engagement event in the caller's transaction.
async fn announce<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    conn: &C,
    event: NotificationEvent,
    engagement: &engagement::Model,
) -> ServiceResult<()> {
    let product = crate::service::products::get_unchecked(conn, engagement.product_id).await?;
    let site = outbox::site_url(conn).await?;
    let notification = events::engagement(event, engagement, &product.name, &site);
    outbox::publish(conn, state.clock.now().timestamp(), notification).await?;
    Ok(())
}

async fn visible(
    state: &AppState,
    actor: &Actor,
    id: EngagementId,
    required: ProductRole,
) -> ServiceResult<engagement::Model> {
    let found = engagement::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("engagement"))?;
    let role = access::product_role(&state.db, actor, found.product_id)
        .await
        .map_err(|_| ServiceError::not_found("engagement"))?;
    access::ensure_allows(role, required)?;
    Ok(found)
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: EngagementId,
    input: EngagementInput,
) -> ServiceResult<engagement::Model> {
    let EngagementInput { product_id, name, description, target_start, target_end, status, lead_id } = input;
    let found = visible(state, actor, id, ProductRole::Writer).await?;
    if product_id.is_some_and(|p| p != found.product_id) {
        return Err(ServiceError::bad_input("an engagement cannot move to another product"));
    }
    checked_dates(target_start.unwrap_or(found.target_start), target_end.unwrap_or(found.target_end))?;
    let was_completed = found.status == EngagementStatus::Completed;
    let mut model: engagement::ActiveModel = found.into();
    if let Some(name) = name {
        model.name = Set(validated::name("name", &name)?);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    if let Some(start) = target_start {
        model.target_start = Set(start);
    }
    if let Some(end) = target_end {
        model.target_end = Set(end);
    }
    if let Some(status) = status {
        model.status = Set(status);
    }
    if let Some(lead) = lead_id {
        check_lead(state, lead, *model.product_id.as_ref()).await?;
        model.lead_id = Set(Some(lead));
    }
    let txn = state.begin_write().await?;
    let updated = model.update(&txn).await?;
    if updated.status == EngagementStatus::Completed && !was_completed {
        announce(state, &txn, NotificationEvent::CloseEngagement, &updated).await?;
    }
    txn.commit().await?;
    state.wake_delivery();
    Ok(updated)
}

pub async fn delete(state: &AppState, actor: &Actor, id: EngagementId) -> ServiceResult<engagement::Model> {
    let found = visible(state, actor, id, ProductRole::Owner).await?;
    engagement::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(found)
}

pub async fn get(state: &AppState, actor: &Actor, id: EngagementId) -> ServiceResult<engagement::Model> {
    visible(state, actor, id, ProductRole::Reader).await
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    product_id: Option<ProductId>,
    request: PageRequest,
) -> ServiceResult<Page<engagement::Model>> {
    let mut select = engagement::Entity::find();
    if let Some(condition) = access::visible_products(actor, engagement::Column::ProductId) {
        select = select.filter(condition);
    }
    if let Some(id) = product_id {
        select = select.filter(engagement::Column::ProductId.eq(id));
    }
    page::fetch(&state.db, select, engagement::Column::Id, request, state.config.limits.max_page_size).await
}
