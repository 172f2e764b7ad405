//! `system_settings.site_url_chosen`: until a superuser sets `siteUrl`, it follows the address `serve` is
//! bound to (rewritten at each start), instead of staying `http://127.0.0.1:8080` whatever `--bind` says.
//! A value that differs from that old default was chosen by someone and is kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("system_settings")
                    .add_column(boolean("site_url_chosen").default(false))
                    .to_owned(),
            )
            .await?;
        let chosen = Query::update()
            .table("system_settings")
            .value("site_url_chosen", true)
            .and_where(Expr::col("site_url").ne("http://127.0.0.1:8080"))
            .to_owned();
        manager.exec_stmt(chosen).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("system_settings").drop_column("site_url_chosen").to_owned()).await
    }
}
