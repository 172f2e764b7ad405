//! An index on `notifications.finding_id`: deleting a finding sets that column to NULL in its
//! notifications, and without the index each deleted finding scanned every notification ever written.

use sea_orm_migration::prelude::*;

use crate::ddl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("notifications", "idx_notifications_finding", &["finding_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_notifications_finding").table("notifications").to_owned()).await
    }
}
