//! slawatch's database schema: one migration per change; a landed migration is never edited.

pub use sea_orm_migration::prelude::*;

mod ddl;
mod m20261123_000001_foundation;
mod m20261123_000002_notifications;
mod m20261123_000003_sla_events;
mod m20261123_000004_jobs;
mod m20261123_000005_reports;
mod m20261123_000006_finding_indexes;
mod m20261123_000007_leaner_sweep_writes;
mod m20261201_000008_notification_finding_index;
mod m20261202_000009_user_token_generation;
mod m20261202_000010_site_url_chosen;
mod m20261202_000011_scan_imports;
mod m20261202_000012_test_tags;
mod m20261202_000013_setting_conditions;
mod m20261202_000014_pager;
mod m20261202_000015_smtp_url;
mod m20261202_000016_report_shares;
mod m20261202_000017_daily_digest;
mod m20261203_000018_defectdojo_sources;
mod m20261203_000019_finding_changes;
mod m20261203_000020_sla_profile_changes;
mod m20261204_000021_finding_text;
mod m20261205_000022_finding_changes_postgres;
mod m20261205_000023_finding_text_postgres;
mod m20261206_000024_deliveries_due_by_channel;
mod m20261207_000025_open_finding_text;
mod m20261207_000026_open_finding_trigrams_postgres;

/// Applies slawatch's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_000002_notifications::Migration),
            Box::new(m20261123_000003_sla_events::Migration),
            Box::new(m20261123_000004_jobs::Migration),
            Box::new(m20261123_000005_reports::Migration),
            Box::new(m20261123_000006_finding_indexes::Migration),
            Box::new(m20261123_000007_leaner_sweep_writes::Migration),
            Box::new(m20261201_000008_notification_finding_index::Migration),
            Box::new(m20261202_000009_user_token_generation::Migration),
            Box::new(m20261202_000010_site_url_chosen::Migration),
            Box::new(m20261202_000011_scan_imports::Migration),
            Box::new(m20261202_000012_test_tags::Migration),
            Box::new(m20261202_000013_setting_conditions::Migration),
            Box::new(m20261202_000014_pager::Migration),
            Box::new(m20261202_000015_smtp_url::Migration),
            Box::new(m20261202_000016_report_shares::Migration),
            Box::new(m20261202_000017_daily_digest::Migration),
            Box::new(m20261203_000018_defectdojo_sources::Migration),
            Box::new(m20261203_000019_finding_changes::Migration),
            Box::new(m20261203_000020_sla_profile_changes::Migration),
            Box::new(m20261204_000021_finding_text::Migration),
            Box::new(m20261205_000022_finding_changes_postgres::Migration),
            Box::new(m20261205_000023_finding_text_postgres::Migration),
            Box::new(m20261206_000024_deliveries_due_by_channel::Migration),
            Box::new(m20261207_000025_open_finding_text::Migration),
            Box::new(m20261207_000026_open_finding_trigrams_postgres::Migration),
        ]
    }
}
