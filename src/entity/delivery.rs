//! The `deliveries` table.

use sea_orm::entity::prelude::*;

use crate::domain::{DeliveryId, NotificationId};

use crate::domain::delivery::DeliveryStatus;
use crate::domain::recipients::Channel;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: DeliveryId,
    pub notification_id: NotificationId,
    #[sea_orm(column_type = "Text")]
    pub channel: Channel,
    /// The stored form of `domain::recipients::Target`.
    #[sea_orm(column_type = "Text")]
    pub target: crate::domain::recipients::Target,
    /// Sent as `X-Slawatch-Delivery`, so receivers can deduplicate.
    #[sea_orm(unique)]
    pub delivery_key: String,
    /// Stored as `PENDING`, `RETRYING`, `DELIVERED` or `DEAD`.
    #[sea_orm(column_type = "Text")]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
