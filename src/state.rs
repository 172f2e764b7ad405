//! `AppState`: everything a request or a job needs, cloned cheaply and injected once.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::Config;
use crate::security::jwt::JwtKeys;
use crate::security::login_throttle::LoginThrottle;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub jwt: JwtKeys,
    pub login_throttle: Arc<LoginThrottle>,
    /// The one HTTP client for outgoing requests (webhooks, Slack, Teams), with timeouts.
    pub http: reqwest::Client,
    /// Signs and checks the links to a report for people without an account.
    pub report_links: crate::security::report_links::LinkKey,
    /// The SMTP pool of the URL in use (the system settings' `smtp_url`, else `DD_EMAIL_URL`).
    pub mailers: Arc<crate::notify::mailers::Mailers>,
    /// Wakes the delivery worker after a transaction that wrote deliveries commits.
    pub delivery_wakeup: Arc<tokio::sync::Notify>,
    /// Live events for subscriptions.
    pub live: crate::live::LiveBus,
    /// This process's Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Finding counts and pages shared by identical queries until something changes.
    pub finding_reads: Arc<crate::kept::FindingReads>,
    /// The user of each request, by user id, kept the same way (`None`: gone).
    pub identities: Arc<crate::kept::Identities>,
    /// The user of each API token, kept the same way.
    pub api_tokens: Arc<crate::kept::ApiTokens>,
    /// The products each member may view, kept the same way.
    pub memberships: Arc<crate::kept::Memberships>,
    /// Product names and the site URL, kept until something other than a finding changes.
    pub catalog: Arc<crate::kept::Catalog>,
    /// Open findings and closed findings' counts in memory, brought up to date from the change log before
    /// each read (`service::finding_index`).
    pub finding_index: Arc<crate::kept::finding_index::KeptFindingIndex>,
    /// The trigram index text searches may ask (`db::trigram_index`; `None`: they read every finding).
    pub trigram_index: Option<crate::domain::trigrams::TrigramIndex>,
    /// Which pieces of text are rare among findings, for text searches (`service::text_search`).
    pub piece_sample: Arc<crate::kept::piece_sample::KeptPieceSample>,
    /// Finding reads SQL scans for at once (`SLAWATCH_CONCURRENT_SCANS`, else `db::concurrent_scans`); the
    /// others wait their turn.
    pub sql_scans: Arc<tokio::sync::Semaphore>,
    /// This process's writers on SQLite, queued in arrival order (`db::WriteTurns`).
    pub write_turns: crate::db::WriteTurns,
}

impl AppState {
    /// Begins a transaction that will write, one someone is waiting for (an edit, a setting): on SQLite after
    /// the writer holding the turn and the prompt writers ahead of it, before any batch waiting. The caller's
    /// place in the code names it in `/metrics`' turn times.
    #[track_caller]
    pub fn begin_write(&self) -> impl Future<Output = Result<crate::db::WriteTransaction, sea_orm::DbErr>> + Send + '_ {
        self.write_turns.begin(&self.db, crate::db::WriteClass::Prompt)
    }

    /// Begins a transaction that writes a batch nobody waits on at once (an import, a sweep, deliveries,
    /// chores): on SQLite after every writer ahead of it in arrival order, and after prompt writers that come
    /// meanwhile (up to a few in a row).
    #[track_caller]
    pub fn begin_batch_write(
        &self,
    ) -> impl Future<Output = Result<crate::db::WriteTransaction, sea_orm::DbErr>> + Send + '_ {
        self.write_turns.begin(&self.db, crate::db::WriteClass::Batch)
    }

    /// Closes the database: the writing connection, then the pool. SQLite copies its log into the file when
    /// the last connection closes, so after this the file alone holds every committed write.
    pub async fn close_database(&self) -> Result<(), sea_orm::DbErr> {
        self.write_turns.close().await?;
        self.db.clone().close().await
    }

    /// Whether the database's connections are threads of their own reached through channels (SQLite), not
    /// sockets of the tokio runtime that opened them (PostgreSQL): a task that queries may then run on
    /// another runtime without tying connections to it (`graphql::ws_runtime`).
    #[must_use]
    pub fn connections_belong_to_no_runtime(&self) -> bool {
        sea_orm::ConnectionTrait::get_database_backend(&self.db) == sea_orm::DbBackend::Sqlite
    }

    /// Tells the delivery worker there is new work (call after the commit).
    pub fn wake_delivery(&self) {
        self.delivery_wakeup.notify_one();
    }

    /// Records a committed change that no signal announces (a recomputation, a deletion, a role change), so
    /// kept query answers are not reused.
    pub fn note_change(&self) {
        self.live.note_change();
    }

    /// Announces committed changes to subscribers (on every instance); a finding or membership change also
    /// drops kept query answers.
    pub async fn announce(&self, signals: Vec<crate::live::Signal>) {
        self.live.publish(&self.db, signals).await;
    }
}
