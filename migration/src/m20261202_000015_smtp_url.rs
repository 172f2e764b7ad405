//! `system_settings.smtp_url`: the SMTP server set through the API (NULL: `DD_EMAIL_URL`'s), so mail can
//! be set up and changed without a restart.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("system_settings").add_column(text_null("smtp_url")).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("system_settings").drop_column("smtp_url").to_owned()).await
    }
}
