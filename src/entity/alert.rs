//! The `alerts` table.

use sea_orm::entity::prelude::*;

use crate::domain::{AlertId, NotificationId, UserId};

use crate::domain::NotificationEvent;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: AlertId,
    pub user_id: UserId,
    pub notification_id: Option<NotificationId>,
    #[sea_orm(column_type = "Text")]
    pub event: NotificationEvent,
    pub title: String,
    pub description: String,
    pub url: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
