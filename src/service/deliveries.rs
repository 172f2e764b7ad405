//! The delivery log (superusers): every (notification, channel, target) with its status and attempts, and
//! retrying a delivery that died.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::entity::{delivery, notification};
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::service::outbox::{DEAD, DELIVERED, PENDING};
use crate::service::page::{self, Page, PageRequest};
use crate::state::AppState;

/// Narrows the log; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    /// DefectDojo's event name.
    pub event: Option<String>,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: DeliveryFilter,
    request: PageRequest,
) -> ServiceResult<Page<delivery::Model>> {
    actor.require_superuser()?;
    let mut select = delivery::Entity::find();
    if let Some(status) = filter.status {
        select = select.filter(delivery::Column::Status.eq(status));
    }
    if let Some(channel) = filter.channel {
        select = select.filter(delivery::Column::Channel.eq(channel));
    }
    if let Some(event) = filter.event {
        let of_event = sea_orm::sea_query::Query::select()
            .column(notification::Column::Id)
            .from(notification::Entity)
            .and_where(sea_orm::sea_query::ExprTrait::eq(
                sea_orm::sea_query::Expr::col(notification::Column::Event),
                event,
            ))
            .to_owned();
        select = select.filter(delivery::Column::NotificationId.in_subquery(of_event));
    }
    page::fetch(&state.db, select, delivery::Column::Id, request, state.config.limits.max_page_size).await
}

/// The notification a delivery belongs to.
pub async fn notification_of(state: &AppState, delivery: &delivery::Model) -> ServiceResult<notification::Model> {
    notification::Entity::find_by_id(delivery.notification_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("notification"))
}

/// Sends a dead (or waiting) delivery again now, with a fresh allowance of attempts and the same delivery
/// key, so receivers still recognise it.
pub async fn retry(state: &AppState, actor: &Actor, id: i32) -> ServiceResult<delivery::Model> {
    actor.require_superuser()?;
    let found =
        delivery::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("delivery"))?;
    if found.status == DELIVERED {
        return Err(ServiceError::Conflict("the delivery was already delivered".to_owned()));
    }
    let now = state.clock.now().timestamp();
    let was_dead = found.status == DEAD;
    let mut model: delivery::ActiveModel = found.into();
    model.status = Set(PENDING.to_owned());
    model.next_attempt_at = Set(now);
    model.lease_until = Set(None);
    if was_dead {
        model.attempts = Set(0);
    }
    model.updated_at = Set(now);
    let updated = model.update(&state.db).await?;
    state.wake_delivery();
    Ok(updated)
}
