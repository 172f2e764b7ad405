//! The foundation: users, tokens, products, memberships, engagements, findings, SLA configurations, settings.
//!
//! Instants are stored as UTC epoch seconds (`BIGINT`) and the SLA expiration date as a UTC epoch day, so
//! the set-based deadline recomputation is the same integer arithmetic on SQLite and PostgreSQL.

use crate::ddl::{foreign_key, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, date, integer, integer_null, pk_auto, string, string_null, string_uniq,
    text,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The system default SLA configuration: the runbook's 1 / 7 / 30 / 90 days.
const DEFAULT_SLA_NAME: &str = "Default";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_users_and_tokens(manager).await?;
        create_products(manager).await?;
        create_findings(manager).await?;
        create_system_settings(manager).await?;
        seed(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "system_settings",
            "finding_reviewers",
            "finding_notes",
            "findings",
            "engagements",
            "product_members",
            "products",
            "sla_configurations",
            "product_types",
            "api_tokens",
            "users",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn create_users_and_tokens(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("users")
                .col(pk_auto("id"))
                .col(string_uniq("username"))
                .col(string("email"))
                .col(string("display_name").default(""))
                .col(string_null("password_hash"))
                .col(boolean("is_superuser").default(false))
                .col(boolean("is_active").default(true))
                .col(string_null("slack_email"))
                .col(string_null("slack_user_id"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("api_tokens")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string("name"))
                .col(string_uniq("token_hash"))
                .col(string("token_prefix"))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .col(big_integer_null("revoked_at"))
                .foreign_key(&mut foreign_key("api_tokens", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("api_tokens", "idx_api_tokens_user", &["user_id"])).await
}

async fn create_products(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("product_types")
                .col(pk_auto("id"))
                .col(string_uniq("name"))
                .col(text("description").default(""))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("sla_configurations")
                .col(pk_auto("id"))
                .col(string_uniq("name"))
                .col(text("description").default(""))
                .col(integer("critical_days"))
                .col(integer("high_days"))
                .col(integer("medium_days"))
                .col(integer("low_days"))
                .col(boolean("enforce_critical").default(true))
                .col(boolean("enforce_high").default(true))
                .col(boolean("enforce_medium").default(true))
                .col(boolean("enforce_low").default(true))
                .col(boolean("restart_sla_on_reactivation").default(false))
                .col(string("thresholds").default("[50,10]"))
                .col(integer("escalation_hours").default(48))
                .col(boolean("is_default").default(false))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("products")
                .col(pk_auto("id"))
                .col(string_uniq("name"))
                .col(text("description").default(""))
                .col(integer("product_type_id"))
                .col(integer("sla_configuration_id"))
                .col(boolean("disable_sla_breach_notifications").default(false))
                .col(big_integer("created_at"))
                .foreign_key(&mut foreign_key(
                    "products",
                    "product_type_id",
                    "product_types",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut foreign_key(
                    "products",
                    "sla_configuration_id",
                    "sla_configurations",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("products", "idx_products_sla_configuration", &["sla_configuration_id"])).await?;
    manager
        .create_table(
            Table::create()
                .table("product_members")
                .col(pk_auto("id"))
                .col(integer("product_id"))
                .col(integer("user_id"))
                .col(string("role"))
                .foreign_key(&mut foreign_key("product_members", "product_id", "products", ForeignKeyAction::Cascade))
                .foreign_key(&mut foreign_key("product_members", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("product_members", "uq_product_members_product_user", &["product_id", "user_id"]).unique().to_owned(),
        )
        .await?;
    manager.create_index(index("product_members", "idx_product_members_user", &["user_id"])).await?;
    manager
        .create_table(
            Table::create()
                .table("engagements")
                .col(pk_auto("id"))
                .col(integer("product_id"))
                .col(string("name"))
                .col(text("description").default(""))
                .col(date("target_start"))
                .col(date("target_end"))
                .col(string("status"))
                .col(integer_null("lead_id"))
                .col(big_integer("created_at"))
                .foreign_key(&mut foreign_key("engagements", "product_id", "products", ForeignKeyAction::Cascade))
                .foreign_key(&mut foreign_key("engagements", "lead_id", "users", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("engagements", "idx_engagements_product", &["product_id"])).await
}

async fn create_findings(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("findings")
                .col(pk_auto("id"))
                .col(integer("product_id"))
                .col(integer_null("engagement_id"))
                .col(string("title"))
                .col(text("description").default(""))
                .col(string("severity"))
                .col(date("date"))
                .col(big_integer("sla_start"))
                .col(boolean("sla_start_is_date"))
                .col(boolean("active"))
                .col(boolean("verified"))
                .col(boolean("is_mitigated"))
                .col(big_integer_null("mitigated_at"))
                .col(boolean("false_p"))
                .col(boolean("duplicate"))
                .col(boolean("out_of_scope"))
                .col(boolean("risk_accepted"))
                .col(boolean("is_open"))
                .col(string_null("external_reference"))
                .col(big_integer_null("sla_deadline"))
                .col(big_integer_null("sla_expiration_day"))
                .col(big_integer_null("sla_approaching_at"))
                .col(integer("sla_cycle").default(1))
                .col(big_integer_null("next_sla_event_at"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut foreign_key("findings", "product_id", "products", ForeignKeyAction::Cascade))
                .foreign_key(&mut foreign_key("findings", "engagement_id", "engagements", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
    // "Open and past its deadline" (outsideSla, breach counts) is a range scan of this index.
    manager.create_index(index("findings", "idx_findings_open_deadline", &["is_open", "sla_deadline"])).await?;
    // The SLA sweep reads `next_sla_event_at <= now` in order: nothing due is one empty index probe.
    manager.create_index(index("findings", "idx_findings_next_sla_event", &["next_sla_event_at"])).await?;
    // Recomputation after a configuration change touches one product's findings of one severity.
    manager.create_index(index("findings", "idx_findings_product_severity", &["product_id", "severity"])).await?;
    manager
        .create_table(
            Table::create()
                .table("finding_notes")
                .col(pk_auto("id"))
                .col(integer("finding_id"))
                .col(integer_null("author_id"))
                .col(text("text"))
                .col(big_integer("created_at"))
                .foreign_key(&mut foreign_key("finding_notes", "finding_id", "findings", ForeignKeyAction::Cascade))
                .foreign_key(&mut foreign_key("finding_notes", "author_id", "users", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("finding_notes", "idx_finding_notes_finding", &["finding_id"])).await?;
    manager
        .create_table(
            Table::create()
                .table("finding_reviewers")
                .col(pk_auto("id"))
                .col(integer("finding_id"))
                .col(integer("user_id"))
                .foreign_key(&mut foreign_key("finding_reviewers", "finding_id", "findings", ForeignKeyAction::Cascade))
                .foreign_key(&mut foreign_key("finding_reviewers", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("finding_reviewers", "uq_finding_reviewers_finding_user", &["finding_id", "user_id"])
                .unique()
                .to_owned(),
        )
        .await
}

async fn create_system_settings(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("system_settings")
                .col(integer("id").primary_key())
                .col(boolean("enable_mail").default(false))
                .col(boolean("enable_slack").default(false))
                .col(boolean("enable_msteams").default(false))
                .col(boolean("enable_webhooks").default(false))
                .col(string_null("slack_token"))
                .col(string_null("slack_channel"))
                .col(string_null("msteams_url"))
                .col(text("mail_recipients").default("[]"))
                .col(string_null("email_from"))
                .col(string("team_name").default("slawatch"))
                .col(string("site_url").default("http://127.0.0.1:8080"))
                .col(integer("webhook_timeout_seconds").default(10))
                .col(boolean("enable_finding_sla").default(true))
                .col(boolean("notify_only_verified").default(false))
                .col(text("disclaimer").default(""))
                .col(text("system_level_trump").default(r#"["user_mentioned","review_requested"]"#))
                .col(string_null("jwt_secret"))
                .col(big_integer("updated_at").default(0))
                .to_owned(),
        )
        .await
}

async fn seed(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let insert_default_sla = Query::insert()
        .into_table("sla_configurations")
        .columns([
            "name",
            "description",
            "critical_days",
            "high_days",
            "medium_days",
            "low_days",
            "is_default",
            "created_at",
        ])
        .values_panic([
            DEFAULT_SLA_NAME.into(),
            "System default: Critical 1, High 7, Medium 30, Low 90 days".into(),
            1.into(),
            7.into(),
            30.into(),
            90.into(),
            true.into(),
            0i64.into(),
        ])
        .to_owned();
    manager.exec_stmt(insert_default_sla).await?;
    let insert_settings =
        Query::insert().into_table("system_settings").columns(["id"]).values_panic([1.into()]).to_owned();
    manager.exec_stmt(insert_settings).await
}
