//! The `webhooks` table.

use sea_orm::entity::prelude::*;

use crate::domain::WebhookId;

use crate::domain::webhook_format::WebhookFormat;
use crate::domain::webhook_health::Health;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: WebhookId,
    #[sea_orm(unique)]
    pub name: String,
    pub url: String,
    /// Stored as `JSON` or `GELF`.
    #[sea_orm(column_type = "Text")]
    pub format: WebhookFormat,
    /// The GELF `host` field.
    pub source: String,
    pub header_name: Option<String>,
    /// Secret: never returned by the API.
    pub header_value: Option<String>,
    /// Secret: never returned by the API.
    pub hmac_secret: Option<String>,
    /// Stored as `ACTIVE`, `ACTIVE_TMP`, `INACTIVE_TMP` or `INACTIVE_PERMANENT`.
    #[sea_orm(column_type = "Text")]
    pub status: Health,
    pub first_error_at: Option<i64>,
    pub last_error_at: Option<i64>,
    pub note: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
