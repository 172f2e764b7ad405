//! Typed settings: defaults < optional `slawatch.toml` < environment. The only place that reads the environment.

use std::net::SocketAddr;
use std::path::Path;

/// Everything the server needs to know at start-up, validated. Its `Debug` hides secrets.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` (default: `slawatch.db` in the working directory) or `postgres://…`.
    pub database_url: String,
    pub bind: SocketAddr,
    /// Username of the admin created on first start when there are no users.
    pub admin_user: String,
    /// Its password; when unset a random one is generated and printed once.
    pub admin_password: Option<String>,
    /// Where `admin_password` came from, for the start-up log.
    pub admin_password_origin: &'static str,
    /// HS256 secret for JWTs; when unset one is generated and stored in the database.
    pub jwt_secret: Option<String>,
    pub jwt_ttl_minutes: i64,
    pub sweep_interval_seconds: u64,
    /// `DD_EMAIL_URL`-style SMTP URL.
    pub email_url: Option<String>,
    /// Slack Web API base URL (tests point it at a local server).
    pub slack_api_url: String,
    pub limits: Limits,
    /// Whether this instance runs the scheduler (jobs such as the delivery worker).
    pub scheduler_enabled: bool,
    /// Retry schedule of failed deliveries.
    pub retry: crate::domain::retry::RetryPolicy,
    /// How often the delivery worker looks for due deliveries when nothing wakes it.
    pub delivery_poll_seconds: u64,
    /// How long a worker's claim on a delivery lasts; after a crash, its deliveries wait this long.
    pub delivery_lease_seconds: i64,
    /// `RUST_LOG`-style log filter.
    pub log_filter: Option<String>,
    /// How often the hourly jobs run (engagement reminders, alert cleanup, webhook recovery).
    pub housekeeping_interval_seconds: u64,
    /// How long an `INACTIVE_TMP` webhook rests before it is tried again (DefectDojo: a minute).
    pub webhook_recovery_seconds: i64,
    /// Alerts older than this many days are deleted.
    pub alert_retention_days: i64,
    /// An imported finding breached longer ago than this many days sends no SLA notification of its own
    /// (DefectDojo's `SLA_NOTIFY_POST_BREACH`).
    pub sla_notify_post_breach_days: i64,
    /// Live events kept per subscriber before a slow one is told it lagged.
    pub live_buffer_events: usize,
    /// How long a websocket may take to send `connection_init` before it is closed with 4408.
    pub ws_init_timeout: std::time::Duration,
    /// A token a Prometheus scraper may send as `Authorization: Bearer …` for `/metrics`.
    pub metrics_token: Option<String>,
    /// Whether `/metrics` answers without a token.
    pub metrics_public: bool,
    /// Refuse webhooks (and other outgoing requests) to private, loopback and link-local addresses.
    pub webhook_deny_private: bool,
    /// Reports one user may ask for within an hour (scheduled runs do not count).
    pub reports_per_hour: u64,
    /// Kept reports older than this many days are deleted.
    pub report_retention_days: i64,
    /// A DefectDojo instance to keep in step with (added as a source at start-up), and its API token.
    pub defectdojo_url: Option<String>,
    pub defectdojo_token: Option<String>,
    /// How long one request to DefectDojo may take.
    pub defectdojo_timeout_seconds: u64,
    /// How long a request waits for a database connection before `SERVICE_UNAVAILABLE`.
    pub db_acquire_timeout: std::time::Duration,
    /// Whether identical finding reads share one answer until it can change (`kept::read_cache`); off, every
    /// request is computed, as varied requests are (benchmarks measure both).
    pub kept_answers: bool,
    /// Whether open findings are also kept in memory for counts, pages and summaries (both backends;
    /// `service::finding_index`); off, SQL answers them (what the index is measured and tested against).
    pub finding_index: bool,
    /// SQLite's memory: page cache per connection and memory-mapped reads (`db::connect`).
    pub sqlite_memory: SqliteMemory,
    /// Finding reads SQL may scan for at once (`None`: `db::concurrent_scans` for the backend and machine).
    pub concurrent_scans: Option<usize>,
    /// Whether the scheduler also sweeps as soon as the next SLA event is due, not only every interval.
    pub sweep_at_deadlines: bool,
}

/// How much memory SQLite may hold: each of the pool's connections (up to 8) keeps a page cache of
/// `cache_mib`, and reads up to `mmap_mib` of the file through a memory map (pages read so are counted in the
/// process's resident size; 0 reads through the kernel's page cache, which is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteMemory {
    pub cache_mib: u32,
    pub mmap_mib: u32,
    /// The page cache of the one connection that writes (`db::connect_writer`).
    pub writer_cache_mib: u32,
}

impl Default for SqliteMemory {
    fn default() -> Self {
        // 1 MiB a connection: at a million findings under the varied bench a larger cache bought no speed
        // (the finding index answers the open-finding reads; the rest are pages the kernel's cache holds)
        // and cost 3 MiB of the server's memory per connection (BENCHMARKS.md, "Memory: the page cache").
        // The writer's 4 MiB hold what one import of 1,000 findings changes; 16 measured no better
        // (BENCHMARKS.md, "Writes on one connection").
        Self { cache_mib: 1, mmap_mib: 0, writer_cache_mib: 4 }
    }
}

/// How many due findings one SLA sweep transaction handles on PostgreSQL.
pub const SWEEP_BATCH: u64 = 500;

/// How many due findings one SLA sweep transaction handles on SQLite, whose one writer's other writes wait
/// for it: a batch of 500 held the writer 64 ms on average under the day-in-the-life bench (BENCHMARKS.md,
/// "Which writes hold the writer").
pub const SWEEP_BATCH_SQLITE: u64 = 100;

/// How many SLA sweep batches run at once on PostgreSQL.
pub const SWEEP_BATCHES_AT_ONCE_POSTGRES: usize = 3;

/// Live events kept per subscriber by default: what the SLA sweep can announce before a subscriber's task
/// gets to run — its batches at once (PostgreSQL's three and the next), each announcing an SLA event and a
/// finding change per due finding — twice over. 1,024 made subscribers miss events of a 10,000-due sweep.
fn default_live_buffer() -> usize {
    let batch = usize::try_from(SWEEP_BATCH).unwrap_or(500);
    2 * (SWEEP_BATCHES_AT_ONCE_POSTGRES + 1) * batch * 2
}

/// What `Debug` shows of a secret: only whether it is set.
fn redacted(secret: Option<&String>) -> &'static str {
    if secret.is_some() { "[redacted]" } else { "None" }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured without `..`: a new setting does not compile until it is shown or hidden here.
        let Self {
            database_url,
            bind,
            admin_user,
            admin_password,
            admin_password_origin,
            jwt_secret,
            jwt_ttl_minutes,
            sweep_interval_seconds,
            email_url,
            slack_api_url,
            limits,
            scheduler_enabled,
            retry,
            delivery_poll_seconds,
            delivery_lease_seconds,
            log_filter,
            housekeeping_interval_seconds,
            webhook_recovery_seconds,
            alert_retention_days,
            sla_notify_post_breach_days,
            live_buffer_events,
            ws_init_timeout,
            metrics_token,
            metrics_public,
            webhook_deny_private,
            reports_per_hour,
            report_retention_days,
            db_acquire_timeout,
            defectdojo_url,
            defectdojo_token,
            defectdojo_timeout_seconds,
            kept_answers,
            finding_index,
            concurrent_scans,
            sqlite_memory,
            sweep_at_deadlines,
        } = self;
        f.debug_struct("Config")
            .field("database_url", &crate::domain::outbound::redacted_url(database_url))
            .field("bind", bind)
            .field("admin_user", admin_user)
            .field("admin_password", &redacted(admin_password.as_ref()))
            .field("admin_password_origin", admin_password_origin)
            .field("jwt_secret", &redacted(jwt_secret.as_ref()))
            .field("jwt_ttl_minutes", jwt_ttl_minutes)
            .field("sweep_interval_seconds", sweep_interval_seconds)
            .field("email_url", &email_url.as_deref().map(crate::domain::outbound::redacted_url))
            .field("slack_api_url", slack_api_url)
            .field("limits", limits)
            .field("scheduler_enabled", scheduler_enabled)
            .field("retry", retry)
            .field("delivery_poll_seconds", delivery_poll_seconds)
            .field("delivery_lease_seconds", delivery_lease_seconds)
            .field("log_filter", log_filter)
            .field("housekeeping_interval_seconds", housekeeping_interval_seconds)
            .field("webhook_recovery_seconds", webhook_recovery_seconds)
            .field("alert_retention_days", alert_retention_days)
            .field("sla_notify_post_breach_days", sla_notify_post_breach_days)
            .field("live_buffer_events", live_buffer_events)
            .field("ws_init_timeout", ws_init_timeout)
            .field("metrics_token", &redacted(metrics_token.as_ref()))
            .field("metrics_public", metrics_public)
            .field("webhook_deny_private", webhook_deny_private)
            .field("reports_per_hour", reports_per_hour)
            .field("report_retention_days", report_retention_days)
            .field("db_acquire_timeout", db_acquire_timeout)
            .field("defectdojo_url", defectdojo_url)
            .field("defectdojo_token", &redacted(defectdojo_token.as_ref()))
            .field("defectdojo_timeout_seconds", defectdojo_timeout_seconds)
            .field("kept_answers", kept_answers)
            .field("finding_index", finding_index)
            .field("concurrent_scans", concurrent_scans)
            .field("sqlite_memory", sqlite_memory)
            .field("sweep_at_deadlines", sweep_at_deadlines)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://slawatch.db?mode=rwc".to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_user: "admin".to_owned(),
            admin_password: None,
            admin_password_origin: "SLAWATCH_ADMIN_PASSWORD",
            jwt_secret: None,
            jwt_ttl_minutes: 60,
            sweep_interval_seconds: 60,
            email_url: None,
            slack_api_url: "https://slack.com/api".to_owned(),
            limits: Limits::default(),
            scheduler_enabled: true,
            retry: crate::domain::retry::RetryPolicy::default(),
            delivery_poll_seconds: 5,
            delivery_lease_seconds: 120,
            log_filter: None,
            housekeeping_interval_seconds: 3600,
            webhook_recovery_seconds: 60,
            alert_retention_days: 90,
            sla_notify_post_breach_days: 7,
            live_buffer_events: default_live_buffer(),
            ws_init_timeout: std::time::Duration::from_secs(10),
            metrics_token: None,
            metrics_public: false,
            webhook_deny_private: false,
            reports_per_hour: 20,
            report_retention_days: 400,
            db_acquire_timeout: std::time::Duration::from_secs(5),
            defectdojo_url: None,
            defectdojo_token: None,
            defectdojo_timeout_seconds: 30,
            kept_answers: true,
            finding_index: true,
            concurrent_scans: None,
            sqlite_memory: SqliteMemory::default(),
            sweep_at_deadlines: true,
        }
    }
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid {path}: {source}")]
    Toml { path: String, source: toml::de::Error },
    #[error("invalid value for {name} ({} in slawatch.toml): {message}", toml_key(name))]
    Invalid { name: &'static str, message: String },
}

impl Config {
    /// Loads `slawatch.toml` from the working directory (if present) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let path = Path::new("slawatch.toml");
        let file = if path.exists() {
            Some(
                std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?,
            )
        } else {
            None
        };
        #[allow(clippy::disallowed_methods, reason = "the one place that reads the environment")]
        let from_environment = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::from_sources(file.as_deref(), from_environment)
    }

    /// Layers the defaults, a TOML document and an environment lookup, in that order.
    pub fn from_sources(toml_text: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file: FileSettings = match toml_text {
            Some(text) => {
                toml::from_str(text).map_err(|source| ConfigError::Toml { path: "slawatch.toml".to_owned(), source })?
            }
            None => FileSettings::default(),
        };
        let mut config = Config::default();
        let pick = |env_name: &str, file_value: Option<String>| env(env_name).or(file_value);

        if let Some(url) = pick("DATABASE_URL", file.database_url) {
            config.database_url = url;
        }
        if let Some(bind) = pick("SLAWATCH_BIND", file.bind) {
            config.bind = parse_bind(&bind)?;
        }
        if let Some(user) = pick("SLAWATCH_ADMIN_USER", file.admin_user) {
            config.admin_user = user;
        }
        if env("SLAWATCH_ADMIN_PASSWORD").is_none() && file.admin_password.is_some() {
            config.admin_password_origin = "admin_password in slawatch.toml";
        }
        config.admin_password = pick("SLAWATCH_ADMIN_PASSWORD", file.admin_password);
        config.jwt_secret = pick("SLAWATCH_JWT_SECRET", file.jwt_secret);
        if config.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid("SLAWATCH_JWT_SECRET", "must be at least 32 characters".to_owned()));
        }
        if let Some(minutes) = within(&env, "SLAWATCH_JWT_TTL_MINUTES", file.jwt_ttl_minutes, 1..=24 * 60)? {
            config.jwt_ttl_minutes = minutes;
        }
        if let Some(seconds) = at_least(&env, "SLAWATCH_SWEEP_INTERVAL", file.sweep_interval, 1)? {
            config.sweep_interval_seconds = seconds;
        }
        config.email_url = pick("DD_EMAIL_URL", file.dd_email_url);
        config.log_filter = pick("RUST_LOG", file.rust_log);
        if let Some(seconds) = within(&env, "SLAWATCH_DELIVERY_LEASE_SECONDS", file.delivery_lease_seconds, 1..=3600)? {
            config.delivery_lease_seconds = seconds;
        }
        if let Some(url) = pick("SLAWATCH_SLACK_API_URL", file.slack_api_url) {
            config.slack_api_url = url;
        }
        if let Some(attempts) = within(&env, "SLAWATCH_DELIVERY_MAX_ATTEMPTS", file.delivery_max_attempts, 1..=100)? {
            config.retry.max_attempts = attempts;
        }
        if let Some(seconds) = at_least(&env, "SLAWATCH_HOUSEKEEPING_INTERVAL", file.housekeeping_interval, 1)? {
            config.housekeeping_interval_seconds = seconds;
        }
        if let Some(seconds) =
            within(&env, "SLAWATCH_WEBHOOK_RECOVERY_SECONDS", file.webhook_recovery_seconds, 1..=86_400)?
        {
            config.webhook_recovery_seconds = seconds;
        }
        if let Some(days) =
            within(&env, "SLAWATCH_SLA_NOTIFY_POST_BREACH_DAYS", file.sla_notify_post_breach_days, 0..=3650)?
        {
            config.sla_notify_post_breach_days = days;
        }
        if let Some(days) = at_least(&env, "SLAWATCH_ALERT_RETENTION_DAYS", file.alert_retention_days, 1)? {
            config.alert_retention_days = days;
        }
        if let Some(count) =
            number(&env, "SLAWATCH_MAX_SUBSCRIPTIONS_PER_CONNECTION", file.max_subscriptions_per_connection)?
        {
            config.limits.max_subscriptions_per_connection = count.max(1);
        }
        if let Some(count) = within(&env, "SLAWATCH_LOGIN_FAILURES_ALLOWED", file.login_failures_allowed, 1..=1_000)? {
            config.limits.login_failures_allowed = count;
        }
        if let Some(seconds) =
            within(&env, "SLAWATCH_LOGIN_FAILURE_WINDOW_SECONDS", file.login_failure_window_seconds, 1..=86_400)?
        {
            config.limits.login_failure_window_seconds = seconds;
        }
        config.metrics_token = pick("SLAWATCH_METRICS_TOKEN", file.metrics_token);
        config.defectdojo_url = pick("SLAWATCH_DEFECTDOJO_URL", file.defectdojo_url);
        config.defectdojo_token = pick("SLAWATCH_DEFECTDOJO_TOKEN", file.defectdojo_token);
        if config.defectdojo_url.is_some() != config.defectdojo_token.is_some() {
            let missing =
                if config.defectdojo_url.is_some() { "SLAWATCH_DEFECTDOJO_TOKEN" } else { "SLAWATCH_DEFECTDOJO_URL" };
            return Err(invalid(
                missing,
                "SLAWATCH_DEFECTDOJO_URL and SLAWATCH_DEFECTDOJO_TOKEN go together".to_owned(),
            ));
        }
        if let Some(seconds) =
            within(&env, "SLAWATCH_DEFECTDOJO_TIMEOUT_SECONDS", file.defectdojo_timeout_seconds, 1..=600)?
        {
            config.defectdojo_timeout_seconds = seconds;
        }
        if let Some(kept) = flag(&env, "SLAWATCH_KEPT_ANSWERS", file.kept_answers)? {
            config.kept_answers = kept;
        }
        if let Some(index) = flag(&env, "SLAWATCH_FINDING_INDEX", file.finding_index)? {
            config.finding_index = index;
        }
        if let Some(at_deadlines) = flag(&env, "SLAWATCH_SWEEP_AT_DEADLINES", file.sweep_at_deadlines)? {
            config.sweep_at_deadlines = at_deadlines;
        }
        if let Some(mib) = within(&env, "SLAWATCH_SQLITE_CACHE_MIB", file.sqlite_cache_mib, 1..=4096)? {
            config.sqlite_memory.cache_mib = mib;
        }
        if let Some(mib) = within(&env, "SLAWATCH_SQLITE_WRITER_CACHE_MIB", file.sqlite_writer_cache_mib, 1..=4096)? {
            config.sqlite_memory.writer_cache_mib = mib;
        }
        if let Some(mib) = within(&env, "SLAWATCH_SQLITE_MMAP_MIB", file.sqlite_mmap_mib, 0..=65_536)? {
            config.sqlite_memory.mmap_mib = mib;
        }
        if let Some(scans) = within(&env, "SLAWATCH_CONCURRENT_SCANS", file.concurrent_scans, 1..=64)? {
            config.concurrent_scans = Some(scans);
        }
        if config.metrics_token.as_ref().is_some_and(|t| t.len() < 32) {
            return Err(invalid("SLAWATCH_METRICS_TOKEN", "must be at least 32 characters".to_owned()));
        }
        if let Some(public) = flag(&env, "SLAWATCH_METRICS_PUBLIC", file.metrics_public)? {
            config.metrics_public = public;
        }
        if let Some(count) = within(&env, "SLAWATCH_REPORTS_PER_HOUR", file.reports_per_hour, 1..=10_000)? {
            config.reports_per_hour = count;
        }
        if let Some(days) = at_least(&env, "SLAWATCH_REPORT_RETENTION_DAYS", file.report_retention_days, 1)? {
            config.report_retention_days = days;
        }
        if let Some(events) = within(&env, "SLAWATCH_LIVE_BUFFER_EVENTS", file.live_buffer_events, 16..=1_048_576)? {
            config.live_buffer_events = events;
        }
        if let Some(seconds) =
            within(&env, "SLAWATCH_DB_ACQUIRE_TIMEOUT_SECONDS", file.db_acquire_timeout_seconds, 1..=120)?
        {
            config.db_acquire_timeout = std::time::Duration::from_secs(seconds);
        }
        if let Some(deny) = flag(&env, "SLAWATCH_WEBHOOK_DENY_PRIVATE", file.webhook_deny_private)? {
            config.webhook_deny_private = deny;
        }
        if let Some(seconds) = within(&env, "SLAWATCH_WS_INIT_TIMEOUT_SECONDS", file.ws_init_timeout_seconds, 1..=300)?
        {
            config.ws_init_timeout = std::time::Duration::from_secs(seconds);
        }
        if let Some(count) =
            number(&env, "SLAWATCH_MAX_PENDING_SOCKETS_PER_ADDRESS", file.max_pending_sockets_per_address)?
        {
            config.limits.max_pending_sockets_per_address = count.max(1);
        }
        if let Some(depth) = number(&env, "SLAWATCH_MAX_QUERY_DEPTH", file.max_query_depth)? {
            config.limits.max_query_depth = depth;
        }
        if let Some(complexity) = number(&env, "SLAWATCH_MAX_QUERY_COMPLEXITY", file.max_query_complexity)? {
            config.limits.max_query_complexity = complexity;
        }
        if let Some(fields) = at_least(&env, "SLAWATCH_MAX_QUERY_FIELDS", file.max_query_fields, 1)? {
            config.limits.max_query_fields = fields;
        }
        if let Some(bytes) = number(&env, "SLAWATCH_MAX_BODY_BYTES", file.max_body_bytes)? {
            config.limits.max_body_bytes = bytes;
        }
        if let Some(bytes) = at_least(&env, "SLAWATCH_MAX_REPORT_BYTES", file.max_report_bytes, 1024)? {
            config.limits.max_report_bytes = bytes;
        }
        Ok(config)
    }

    /// Whether the database is PostgreSQL (otherwise the embedded SQLite).
    #[must_use]
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

/// The `slawatch.toml` key of an environment variable: its name in lower case without `SLAWATCH_`.
#[must_use]
pub fn toml_key(env_name: &str) -> String {
    env_name.strip_prefix("SLAWATCH_").unwrap_or(env_name).to_ascii_lowercase()
}

/// Parses `host:port`, accepting `localhost`.
pub fn parse_bind(text: &str) -> Result<SocketAddr, ConfigError> {
    let normalized = text.trim().replace("localhost", "127.0.0.1");
    normalized.parse().map_err(|_| invalid("SLAWATCH_BIND", format!("{text:?} is not host:port")))
}

mod file;
mod limits;
mod read;
#[cfg(test)]
mod tests;

use file::FileSettings;
pub use limits::{Limits, mebibytes};
use read::{at_least, flag, invalid, number, within};
