//! The `notifications` table.

use sea_orm::entity::prelude::*;

use crate::domain::{FindingId, NotificationId, ProductId};

use crate::domain::NotificationEvent;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: NotificationId,
    #[sea_orm(column_type = "Text")]
    pub event: NotificationEvent,
    pub product_id: Option<ProductId>,
    pub finding_id: Option<FindingId>,
    pub title: String,
    pub description: String,
    pub url: Option<String>,
    /// JSON object with the event's data (SLA figures for SLA events).
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
