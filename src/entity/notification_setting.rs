//! The `notification_settings` table.

use sea_orm::entity::prelude::*;

use crate::domain::{NotificationEvent, ProductId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `SYSTEM`, `PERSONAL`, `PRODUCT` or `TEMPLATE`.
    pub scope: String,
    pub user_id: Option<UserId>,
    pub product_id: Option<ProductId>,
    /// With the event and condition, unique: `system`, `template`, `personal:<user>`, `product:<product>:<user>`, `product:<product>:extra`.
    pub owner_key: String,
    /// DefectDojo's event name, e.g. `sla_breach`.
    #[sea_orm(column_type = "Text")]
    pub event: NotificationEvent,
    /// JSON array of channel names (`ALERT`, `MAIL`, …).
    pub channels: String,
    /// JSON array of extra email addresses.
    pub emails: String,
    /// JSON array of extra Slack channels.
    pub slack_channels: String,
    /// JSON array of webhook ids.
    pub webhook_ids: String,
    /// The condition (`domain::setting_conditions`): JSON arrays of severities, product ids and product type
    /// ids, each empty for "any".
    pub severities: String,
    pub product_ids: String,
    pub product_type_ids: String,
    /// The condition's canonical text (`Condition::key`), empty when unconditional; unique per owner and event.
    pub condition_key: String,
    /// An `sla_breach_combined` setting that wants one digest a day (part of the condition).
    pub digest_daily: bool,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
