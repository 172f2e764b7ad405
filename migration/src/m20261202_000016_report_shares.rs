//! `report_shares`: the signed links to one report handed to people without an account (an auditor), each
//! with its expiry and revocable. The link carries the share's id and expiry and the server's signature of
//! them; this row says whether it still stands.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, integer_null, pk_auto};

use crate::ddl::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("report_shares")
                    .col(pk_auto("id"))
                    .col(integer("report_id"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("revoked_at"))
                    .col(integer_null("created_by"))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut foreign_key("report_shares", "report_id", "reports", ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key("report_shares", "created_by", "users", ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("report_shares", "idx_report_shares_report", &["report_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("report_shares").to_owned()).await
    }
}
