//! A delivery read with its notification (the delivery log, live events, the worker): one storage query for
//! the notifications of many deliveries.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{delivery, notification};

use crate::domain::NotificationId;

/// A delivery with the notification it belongs to.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub delivery: delivery::Model,
    pub notification: notification::Model,
}

/// The notifications of `deliveries` by id, in one query.
pub async fn notifications_of<C: sea_orm::ConnectionTrait>(
    conn: &C,
    deliveries: &[delivery::Model],
) -> Result<HashMap<NotificationId, notification::Model>, sea_orm::DbErr> {
    let ids: Vec<NotificationId> = deliveries.iter().map(|d| d.notification_id).collect();
    let rows = notification::Entity::find().filter(notification::Column::Id.is_in(ids)).all(conn).await?;
    Ok(rows.into_iter().map(|n| (n.id, n)).collect())
}
