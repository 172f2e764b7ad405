//! Generated compliance reports (the file is kept, so what was sent to an auditor can be fetched again
//! unchanged) and report schedules (a cron expression, a relative period, extra recipients).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, blob, boolean, integer, integer_null, pk_auto, string, text,
};

use crate::ddl::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("report_schedules")
                    .col(pk_auto("id"))
                    .col(string("name"))
                    .col(integer("owner_id"))
                    .col(integer_null("product_id"))
                    .col(string("cron"))
                    .col(string("period"))
                    .col(string("format"))
                    .col(text("recipients"))
                    .col(boolean("enabled").default(true))
                    .col(big_integer("next_run_at"))
                    .col(big_integer_null("last_run_at"))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut foreign_key("report_schedules", "owner_id", "users", ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key(
                        "report_schedules",
                        "product_id",
                        "products",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("report_schedules", "idx_report_schedules_next_run", &["next_run_at"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("reports")
                    .col(pk_auto("id"))
                    .col(integer_null("requested_by"))
                    .col(integer_null("schedule_id"))
                    .col(integer_null("product_id"))
                    .col(big_integer("period_start"))
                    .col(big_integer("period_end"))
                    .col(string("format"))
                    .col(string("file_name"))
                    .col(blob("content"))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut foreign_key("reports", "requested_by", "users", ForeignKeyAction::SetNull))
                    .foreign_key(&mut foreign_key(
                        "reports",
                        "schedule_id",
                        "report_schedules",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut foreign_key("reports", "product_id", "products", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("reports", "idx_reports_requested_by", &["requested_by", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("reports").to_owned()).await?;
        manager.drop_table(Table::drop().table("report_schedules").to_owned()).await
    }
}
