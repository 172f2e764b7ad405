//! Notifications: settings at every scope, webhook endpoints, the outbox (notifications and their
//! deliveries), and in-app alerts.

use crate::ddl::{foreign_key, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, integer, integer_null, pk_auto, string, string_null, string_uniq, text, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per (owner, event). `owner_key` names the owner without NULLs, so it can be unique on
        // both backends: `system`, `template`, `personal:<user>`, `product:<product>:<user>` (a user's
        // settings for a product) and `product:<product>:extra` (the product's extra recipients).
        manager
            .create_table(
                Table::create()
                    .table("notification_settings")
                    .col(pk_auto("id"))
                    .col(string("scope"))
                    .col(integer_null("user_id"))
                    .col(integer_null("product_id"))
                    .col(string("owner_key"))
                    .col(string("event"))
                    .col(text("channels").default("[]"))
                    .col(text("emails").default("[]"))
                    .col(text("slack_channels").default("[]"))
                    .col(text("webhook_ids").default("[]"))
                    .col(big_integer("updated_at"))
                    .foreign_key(&mut foreign_key(
                        "notification_settings",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        "notification_settings",
                        "product_id",
                        "products",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("notification_settings", "uq_notification_settings_owner_event", &["owner_key", "event"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("notification_settings", "idx_notification_settings_user", &["user_id"])).await?;
        manager
            .create_index(index("notification_settings", "idx_notification_settings_product", &["product_id"]))
            .await?;

        // A risk acceptance can expire (then `risk_acceptance_expiration` fires and the SLA resumes).
        manager
            .alter_table(
                Table::alter().table("findings").add_column(big_integer_null("risk_acceptance_expires_at")).to_owned(),
            )
            .await?;
        manager
            .create_index(index("findings", "idx_findings_risk_acceptance_expiry", &["risk_acceptance_expires_at"]))
            .await?;

        // Endpoint health as DefectDojo: ACTIVE, ACTIVE_TMP, INACTIVE_TMP, INACTIVE_PERMANENT.
        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(pk_auto("id"))
                    .col(string_uniq("name"))
                    .col(string("url"))
                    .col(string("format").default("JSON"))
                    .col(string("source").default("slawatch"))
                    .col(string_null("header_name"))
                    .col(string_null("header_value"))
                    .col(string_null("hmac_secret"))
                    .col(string("status").default("ACTIVE"))
                    .col(big_integer_null("first_error_at"))
                    .col(big_integer_null("last_error_at"))
                    .col(text("note").default(""))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;

        // The outbox: a notification is written in the same transaction as the change that caused it,
        // with one delivery per (channel, target). `dedupe_key` makes a repeated SLA event a no-op.
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(pk_auto("id"))
                    .col(string("event"))
                    .col(integer_null("product_id"))
                    .col(integer_null("finding_id"))
                    .col(string("title"))
                    .col(text("description").default(""))
                    .col(string_null("url"))
                    .col(text("payload").default("{}"))
                    .col(string_null("dedupe_key"))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut foreign_key("notifications", "product_id", "products", ForeignKeyAction::SetNull))
                    .foreign_key(&mut foreign_key("notifications", "finding_id", "findings", ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("notifications", "uq_notifications_dedupe_key", &["dedupe_key"]).unique().to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .col(pk_auto("id"))
                    .col(integer("notification_id"))
                    .col(string("channel"))
                    .col(string("target"))
                    .col(string_uniq("delivery_key"))
                    .col(string("status").default("PENDING"))
                    .col(integer("attempts").default(0))
                    .col(big_integer("next_attempt_at"))
                    .col(big_integer_null("lease_until"))
                    .col(text_null("last_error"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer_null("delivered_at"))
                    .foreign_key(&mut foreign_key(
                        "deliveries",
                        "notification_id",
                        "notifications",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // The worker claims `status IN (PENDING, RETRYING) AND next_attempt_at <= now` in order.
        manager.create_index(index("deliveries", "idx_deliveries_due", &["status", "next_attempt_at"])).await?;
        manager.create_index(index("deliveries", "idx_deliveries_notification", &["notification_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("alerts")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(integer_null("notification_id"))
                    .col(string("event"))
                    .col(string("title"))
                    .col(text("description").default(""))
                    .col(string_null("url"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("read_at"))
                    .foreign_key(&mut foreign_key("alerts", "user_id", "users", ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key(
                        "alerts",
                        "notification_id",
                        "notifications",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("alerts", "idx_alerts_user", &["user_id", "id"])).await?;
        // A delivery repeated after a crash must not alert twice.
        manager
            .create_index(
                index("alerts", "uq_alerts_notification_user", &["notification_id", "user_id"]).unique().to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["alerts", "deliveries", "notifications", "webhooks", "notification_settings"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .drop_index(Index::drop().name("idx_findings_risk_acceptance_expiry").table("findings").to_owned())
            .await?;
        manager.alter_table(Table::alter().table("findings").drop_column("risk_acceptance_expires_at").to_owned()).await
    }
}
