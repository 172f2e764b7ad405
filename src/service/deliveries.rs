//! The delivery log (superusers): every (notification, channel, target) with its status and attempts, and
//! retrying a delivery that died; and storing what a send learned (a webhook's health, a Slack user id).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::domain::DeliveryId;
use crate::domain::delivery::DeliveryStatus;
use crate::entity::{delivery, notification, user, webhook};
use crate::error::{ServiceError, ServiceResult};
use crate::notify::Learned;
use crate::service::Actor;
use crate::service::page::{self, Page, PageRequest};
use crate::state::AppState;

/// Narrows the log; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<crate::domain::recipients::Channel>,
    pub event: Option<crate::domain::NotificationEvent>,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: DeliveryFilter,
    request: PageRequest,
) -> ServiceResult<Page<DeliveryView>> {
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
                event.as_str(),
            ))
            .to_owned();
        select = select.filter(delivery::Column::NotificationId.in_subquery(of_event));
    }
    let page = page::fetch(&state.db, select, delivery::Column::Id, request, state.config.limits.max_page_size).await?;
    let items = with_notifications(state, page.items).await?;
    Ok(Page {
        items,
        total_count: page.total_count,
        has_previous_page: page.has_previous_page,
        has_next_page: page.has_next_page,
    })
}

pub use crate::entity::delivery_view::{DeliveryView, notifications_of};

/// Attaches their notifications to deliveries, in one query.
async fn with_notifications(state: &AppState, deliveries: Vec<delivery::Model>) -> ServiceResult<Vec<DeliveryView>> {
    let notifications = notifications_of(&state.db, &deliveries).await?;
    deliveries
        .into_iter()
        .map(|delivery| {
            let notification = notifications
                .get(&delivery.notification_id)
                .cloned()
                .ok_or_else(|| ServiceError::not_found("notification"))?;
            Ok(DeliveryView { delivery, notification })
        })
        .collect()
}

/// Sends a dead (or waiting) delivery again now, with a fresh allowance of attempts and the same delivery
/// key, so receivers still recognise it.
pub async fn retry(state: &AppState, actor: &Actor, id: DeliveryId) -> ServiceResult<DeliveryView> {
    actor.require_superuser()?;
    let found =
        delivery::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("delivery"))?;
    let status = found.status;
    if status == DeliveryStatus::Delivered {
        return Err(ServiceError::Conflict("the delivery was already delivered".to_owned()));
    }
    let now = state.clock.now().timestamp();
    let was_dead = status == DeliveryStatus::Dead;
    let mut model: delivery::ActiveModel = found.into();
    model.status = Set(DeliveryStatus::Pending);
    model.next_attempt_at = Set(now);
    model.lease_until = Set(None);
    if was_dead {
        model.attempts = Set(0);
    }
    model.updated_at = Set(now);
    let updated = model.update(&state.db).await?;
    state.wake_delivery();
    with_notifications(state, vec![updated]).await?.pop().ok_or_else(|| ServiceError::not_found("notification"))
}

/// Stores what a send learned. A failure is logged, not returned: the delivery's own outcome is what must
/// be recorded, and a lost health note or Slack id is learned again at the next send.
pub async fn store_learned<C: sea_orm::ConnectionTrait>(conn: &C, learned: Option<Learned>) {
    let written = match learned {
        None => return,
        Some(Learned::WebhookHealth { webhook_id, record }) => {
            webhook::Entity::update_many()
                .col_expr(webhook::Column::Status, record.status.into())
                .col_expr(webhook::Column::FirstErrorAt, record.first_error_at.into())
                .col_expr(webhook::Column::LastErrorAt, record.last_error_at.into())
                .col_expr(webhook::Column::Note, record.note.into())
                .filter(webhook::Column::Id.eq(webhook_id))
                .exec(conn)
                .await
        }
        Some(Learned::SlackUserId { user_id, slack_user_id }) => {
            user::Entity::update_many()
                .col_expr(user::Column::SlackUserId, Some(slack_user_id).into())
                .filter(user::Column::Id.eq(user_id))
                .exec(conn)
                .await
        }
    };
    if let Err(err) = written {
        tracing::warn!(error = %err, "could not store what a send learned");
    }
}

/// How many deliveries are in each status, every status listed (0 when none), for `/metrics`.
pub async fn count_by_status(state: &AppState) -> ServiceResult<Vec<(DeliveryStatus, i64)>> {
    let rows: Vec<(DeliveryStatus, i64)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Status)
        .column_as(delivery::Column::Id.count(), "count")
        .group_by(delivery::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(DeliveryStatus::ALL
        .iter()
        .map(|status| (*status, rows.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n)))
        .collect())
}
