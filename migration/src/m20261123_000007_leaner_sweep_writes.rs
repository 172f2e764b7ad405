//! Fewer index entries and foreign-key checks per SLA event, measured on the SLA sweep at a million
//! findings (BENCHMARKS.md): `sla_events.product_id` goes (nothing read it; its foreign key and index cost a
//! check and an entry per event, and deleting a product already removes its events through the findings);
//! `findings` loses `idx_findings_product_severity` (product-scoped reads and the recomputation use the
//! `product_id` prefix of `idx_findings_product_open_deadline`); the sweep's and the risk-expiry job's
//! indexes keep only findings with a value (a closed finding or one without risk acceptance has none), so a
//! finding's update writes two index entries fewer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, integer_null, pk_auto, string};

use crate::ddl::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Partial indexes (name, column, indexed columns): the same statement on SQLite and PostgreSQL, and both
/// use them for `column <= ?`. The sweep's has `id` too, so its `ORDER BY next_sla_event_at, id LIMIT`
/// reads the index in order and stops, with no sort.
const PARTIAL_INDEXES: [(&str, &str, &str); 2] = [
    ("idx_findings_next_sla_event", "next_sla_event_at", "next_sla_event_at, id"),
    ("idx_findings_risk_acceptance_expiry", "risk_acceptance_expires_at", "risk_acceptance_expires_at"),
];

const EVENT_COLUMNS: &str = "id, finding_id, cycle, kind, threshold, occurred_at, created_at, notification_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite rebuilds `sla_events`, so the copy and the swap must commit together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            // Takes the column's foreign key and index with it.
            db.execute_unprepared("ALTER TABLE sla_events DROP COLUMN product_id").await?;
        } else {
            // SQLite cannot drop a column that a foreign key uses: a new table, the rows, the swap. Nothing
            // references `sla_events`, so dropping the old table sets off no foreign-key action.
            manager.create_table(events_table_without_product()).await?;
            db.execute_unprepared(&format!(
                "INSERT INTO sla_events_new ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM sla_events"
            ))
            .await?;
            manager.drop_table(Table::drop().table("sla_events").to_owned()).await?;
            manager.rename_table(Table::rename().table("sla_events_new", "sla_events").to_owned()).await?;
            manager
                .create_index(
                    index(
                        "sla_events",
                        "uq_sla_events_finding_cycle_kind_threshold",
                        &["finding_id", "cycle", "kind", "threshold"],
                    )
                    .unique()
                    .to_owned(),
                )
                .await?;
        }
        manager.drop_index(Index::drop().name("idx_findings_product_severity").table("findings").to_owned()).await?;
        for (name, column, columns) in PARTIAL_INDEXES {
            manager.drop_index(Index::drop().name(name).table("findings").to_owned()).await?;
            db.execute_unprepared(&format!("CREATE INDEX {name} ON findings ({columns}) WHERE {column} IS NOT NULL"))
                .await?;
        }
        Ok(())
    }

    /// Restores the indexes and `sla_events.product_id` (from the findings, with its index; on SQLite
    /// without the foreign key).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, column, _) in PARTIAL_INDEXES {
            manager.drop_index(Index::drop().name(name).table("findings").to_owned()).await?;
            manager.create_index(index("findings", name, &[column])).await?;
        }
        manager.create_index(index("findings", "idx_findings_product_severity", &["product_id", "severity"])).await?;
        manager
            .alter_table(Table::alter().table("sla_events").add_column(integer_null("product_id")).to_owned())
            .await?;
        db.execute_unprepared(
            "UPDATE sla_events SET product_id = (SELECT product_id FROM findings WHERE findings.id = sla_events.finding_id)",
        )
        .await?;
        manager.create_index(index("sla_events", "idx_sla_events_product", &["product_id", "id"])).await
    }
}

/// `sla_events_new`: `sla_events` as migration 3 made it, less `product_id`.
fn events_table_without_product() -> TableCreateStatement {
    Table::create()
        .table("sla_events_new")
        .col(pk_auto("id"))
        .col(integer("finding_id"))
        .col(integer("cycle"))
        .col(string("kind"))
        .col(integer("threshold").default(0))
        .col(big_integer("occurred_at"))
        .col(big_integer("created_at"))
        .col(integer_null("notification_id"))
        .foreign_key(&mut foreign_key("sla_events", "finding_id", "findings", ForeignKeyAction::Cascade))
        .foreign_key(&mut foreign_key("sla_events", "notification_id", "notifications", ForeignKeyAction::SetNull))
        .to_owned()
}
