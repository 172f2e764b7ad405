//! Scan imports: a `tests` row per imported report (DefectDojo's Test: an engagement's scan of one type),
//! and what a scanner says of a finding beside its SLA facts — the test it came from, the deduplication
//! hash and the tool's own id (how a re-import recognises it), CWE, vulnerability ids, component, file and
//! line, mitigation, references and endpoints. `findings.test_id` has no foreign key (SQLite can neither add
//! one to a column nor drop such a column again): a test goes with its engagement, whose findings keep their
//! facts and may name a test that no longer exists.

use crate::ddl::{foreign_key, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, date, integer, integer_null, pk_auto, string, string_null, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn scanner_columns() -> Vec<ColumnDef> {
    vec![
        integer_null("test_id"),
        string_null("hash_code"),
        string_null("unique_id_from_tool"),
        integer_null("cwe"),
        text_null("vulnerability_ids"),
        string_null("component_name"),
        string_null("component_version"),
        text_null("file_path"),
        integer_null("line"),
        text_null("mitigation"),
        text_null("references"),
        text_null("endpoints"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tests")
                    .col(pk_auto("id"))
                    .col(integer("engagement_id"))
                    .col(string("scan_type"))
                    .col(string_null("title"))
                    .col(date("scan_date"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .foreign_key(&mut foreign_key("tests", "engagement_id", "engagements", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("tests", "idx_tests_engagement", &["engagement_id"])).await?;
        for column in scanner_columns() {
            manager.alter_table(Table::alter().table("findings").add_column(column).to_owned()).await?;
        }
        manager.create_index(index("findings", "idx_findings_test", &["test_id"])).await?;
        manager.create_index(index("findings", "idx_findings_product_hash", &["product_id", "hash_code"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_findings_product_hash", "idx_findings_test"] {
            manager.drop_index(Index::drop().name(name).table("findings").to_owned()).await?;
        }
        for column in scanner_columns() {
            let name = Alias::new(column.get_column_name());
            manager.alter_table(Table::alter().table("findings").drop_column(name).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table("tests").to_owned()).await
    }
}
