//! The shape of `slawatch.toml`.

use serde::Deserialize;

/// The shape of `slawatch.toml`; every key optional, named as its environment variable in lower case without
/// the `SLAWATCH_` prefix (`toml_key`; a unit test holds every setting to it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSettings {
    pub(super) database_url: Option<String>,
    pub(super) bind: Option<String>,
    pub(super) admin_user: Option<String>,
    pub(super) admin_password: Option<String>,
    pub(super) jwt_secret: Option<String>,
    pub(super) jwt_ttl_minutes: Option<i64>,
    pub(super) sweep_interval: Option<u64>,
    /// `DD_EMAIL_URL`; `email_url`, its name before the rule, is still read.
    #[serde(alias = "email_url")]
    pub(super) dd_email_url: Option<String>,
    pub(super) rust_log: Option<String>,
    pub(super) max_query_depth: Option<usize>,
    pub(super) max_query_complexity: Option<usize>,
    pub(super) max_query_fields: Option<u64>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) max_report_bytes: Option<usize>,
    pub(super) delivery_max_attempts: Option<i32>,
    pub(super) slack_api_url: Option<String>,
    pub(super) delivery_lease_seconds: Option<i64>,
    pub(super) housekeeping_interval: Option<u64>,
    pub(super) webhook_recovery_seconds: Option<i64>,
    pub(super) alert_retention_days: Option<i64>,
    pub(super) sla_notify_post_breach_days: Option<i64>,
    pub(super) max_subscriptions_per_connection: Option<usize>,
    pub(super) login_failures_allowed: Option<u32>,
    pub(super) login_failure_window_seconds: Option<i64>,
    pub(super) metrics_token: Option<String>,
    pub(super) metrics_public: Option<bool>,
    pub(super) webhook_deny_private: Option<bool>,
    pub(super) reports_per_hour: Option<u64>,
    pub(super) report_retention_days: Option<i64>,
    pub(super) db_acquire_timeout_seconds: Option<u64>,
    pub(super) live_buffer_events: Option<usize>,
    pub(super) ws_init_timeout_seconds: Option<u64>,
    pub(super) max_pending_sockets_per_address: Option<usize>,
    pub(super) defectdojo_url: Option<String>,
    pub(super) defectdojo_token: Option<String>,
    pub(super) defectdojo_timeout_seconds: Option<u64>,
    pub(super) kept_answers: Option<bool>,
    pub(super) finding_index: Option<bool>,
    pub(super) sqlite_cache_mib: Option<u32>,
    pub(super) sqlite_mmap_mib: Option<u32>,
    pub(super) sqlite_writer_cache_mib: Option<u32>,
    pub(super) concurrent_scans: Option<usize>,
    pub(super) sweep_at_deadlines: Option<bool>,
}
