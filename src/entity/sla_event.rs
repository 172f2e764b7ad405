//! The `sla_events` table.

use sea_orm::entity::prelude::*;

use crate::domain::{FindingId, NotificationId};

use crate::domain::SlaEventKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub finding_id: FindingId,
    /// The finding's SLA cycle the event belongs to.
    pub cycle: i32,
    /// `BREACH_APPROACHING`, `BREACH`, `ESCALATION` or `RESOLVED`.
    #[sea_orm(column_type = "Text")]
    pub kind: SlaEventKind,
    /// The percentage for `BREACH_APPROACHING`, else 0.
    pub threshold: i32,
    /// When it happened (the scheduled instant, also when caught up after downtime).
    pub occurred_at: i64,
    pub created_at: i64,
    pub notification_id: Option<NotificationId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
