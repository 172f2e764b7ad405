//! Build the state and the router from a bound listener, and serve until a shutdown future fires.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::TimeDelta;
use sea_orm::{ConnectionTrait, DbBackend};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::db;
use crate::graphql::{self, http::GraphqlEndpoint};
use crate::jobs;
use crate::notify::mailers::Mailers;
use crate::security::jwt::JwtKeys;
use crate::security::login_throttle::LoginThrottle;
use crate::service::{settings, users};
use crate::state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Service(String),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::error::ServiceError> for StartupError {
    fn from(err: crate::error::ServiceError) -> Self {
        Self::Service(err.detail())
    }
}

/// Connects, migrates and assembles the state. Used by `serve` and by every CLI command that needs the
/// database.
pub async fn prepare_state(config: Config, clock: Clock) -> Result<AppState, StartupError> {
    // sqlx brings ring and lettre aws-lc-rs: name one process-wide TLS provider (a second call is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mailers = Arc::new(
        Mailers::new(config.email_url.clone()).map_err(|err| StartupError::Service(format!("DD_EMAIL_URL: {err}")))?,
    );
    let mut http = reqwest::Client::builder()
        // A receiver's redirect is a failure to see, not a way to reach another host (SSRF).
        .redirect(reqwest::redirect::Policy::none());
    if config.webhook_deny_private {
        http = http.dns_resolver(crate::notify::public_resolver::PublicOnlyResolver);
    }
    let http = http
        .user_agent(crate::notify::webhook::USER_AGENT)
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|err| StartupError::Service(format!("HTTP client: {err}")))?;
    let db = db::connect(&config.database_url, config.db_acquire_timeout, config.sqlite_memory).await?;
    db::migrate(&db).await?;
    let trigram_index = db::trigram_index(&db).await?;
    let secret = settings::jwt_secret(&db, config.jwt_secret.as_deref()).await?;
    let jwt = JwtKeys::new(secret.as_bytes(), TimeDelta::minutes(config.jwt_ttl_minutes));
    let report_links = crate::security::report_links::LinkKey::from_secret(secret.as_bytes());
    let live = crate::live::LiveBus::new(config.live_buffer_events, db.get_database_backend() == DbBackend::Postgres);
    let scans = config.concurrent_scans.unwrap_or_else(|| db::concurrent_scans(db.get_database_backend()));
    let sql_scans = Arc::new(tokio::sync::Semaphore::new(scans));
    let writer = db::connect_writer(&config.database_url, config.db_acquire_timeout, config.sqlite_memory).await?;
    let write_turns = db::WriteTurns::with_writer(db.get_database_backend(), writer);
    db::spawn_wal_checkpoints(&db, &write_turns);
    let login_throttle =
        Arc::new(LoginThrottle::new(config.limits.login_failures_allowed, config.limits.login_failure_window_seconds));
    Ok(AppState {
        db,
        config: Arc::new(config),
        clock,
        jwt,
        login_throttle,
        http,
        mailers,
        report_links,
        delivery_wakeup: Arc::new(tokio::sync::Notify::new()),
        live,
        metrics: Arc::new(crate::metrics::Metrics::with_turn_times(write_turns.times())),
        finding_reads: Arc::default(),
        identities: Arc::default(),
        api_tokens: Arc::default(),
        memberships: Arc::default(),
        catalog: Arc::default(),
        finding_index: Arc::default(),
        trigram_index,
        piece_sample: Arc::default(),
        sql_scans,
        write_turns,
    })
}

/// A server ready to run on its listener.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Prepares the state, creates the first admin if there are no users, and builds the router.
    pub async fn build(config: Config, clock: Clock, listener: TcpListener) -> Result<Self, StartupError> {
        let state = prepare_state(config, clock).await?;
        Self::from_state(state, listener).await
    }

    /// Builds the server around an existing state. The state's `bind` becomes the address actually bound
    /// (port 0 in tests), so links and host checks name the real one.
    pub async fn from_state(mut state: AppState, listener: TcpListener) -> Result<Self, StartupError> {
        let bound = listener.local_addr()?;
        if state.config.bind != bound {
            let mut config = (*state.config).clone();
            config.bind = bound;
            state.config = Arc::new(config);
        }
        crate::service::settings::follow_bound_address(&state.db, bound).await?;
        if let Some((username, generated)) = users::ensure_first_admin(&state).await? {
            match generated {
                Some(password) => eprintln!(
                    "Created the first admin user {username:?} with password {password} \
                     (shown once; set SLAWATCH_ADMIN_PASSWORD, or admin_password in slawatch.toml, to choose it)."
                ),
                None => tracing::info!(
                    username,
                    "created the first admin user with the password from {}",
                    state.config.admin_password_origin
                ),
            }
        }
        crate::service::defectdojo_sources::ensure_configured(&state)
            .await
            .map_err(|err| StartupError::Service(err.public_message()))?;
        // Loaded while the server starts answering (SQL answers the reads that come before it is ready).
        crate::service::finding_index::start_loading(&state);
        let router = router(state.clone());
        Ok(Self { listener, router, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (and runs the scheduler, unless disabled) until `shutdown` completes, then finishes in-flight
    /// requests and the jobs' current work.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop_relay, relay_stopped) = tokio::sync::watch::channel(false);
        let relay = if self.state.db.get_database_backend() == DbBackend::Postgres {
            let (ready, listening) = tokio::sync::oneshot::channel();
            let handle = tokio::spawn(crate::live::relay::run(
                self.state.db.clone(),
                self.state.live.clone(),
                relay_stopped,
                ready,
            ));
            // Subscribers connecting right after start-up must not miss events: serve once LISTEN is in place.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), listening).await;
            Some(handle)
        } else {
            None
        };
        let scheduler = self.state.config.scheduler_enabled.then(|| jobs::Scheduler::start(&self.state));
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(scheduler) = scheduler {
            scheduler.shutdown().await;
        }
        let _ = stop_relay.send(true);
        if let Some(relay) = relay {
            let _ = relay.await;
        }
        // On SQLite the log is copied into the file as the last connection closes, so a stopped server leaves
        // one file behind. A connection some task still holds must not keep the process from stopping.
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.state.close_database()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "closing the database failed"),
            Err(_) => tracing::warn!("the database did not close within 5 s; stopping without waiting for it"),
        }
        served
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let schema = graphql::schema_builder(&state.config.limits).data(state.clone()).finish();
    let socket_schema = graphql::socket_schema_builder(&state.config.limits).data(state.clone()).finish();
    let endpoint = GraphqlEndpoint::new(state.clone(), schema, socket_schema);
    let graphql_routes = Router::new()
        .route("/graphql", get(graphql::http::graphiql).post(graphql::http::graphql_post))
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .with_state(endpoint);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::endpoint::metrics_endpoint))
        .with_state(state.clone())
        .merge(graphql_routes)
        .merge(crate::rest::router(state.clone()))
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(TraceLayer::new_for_http())
}

/// How long `/readyz` waits for the database before it answers 503.
const READINESS_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Ready when the database answers within `READINESS_WAIT` (a load balancer must not wait for the pool).
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READINESS_WAIT, state.db.execute_unprepared("SELECT 1")).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within a second");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
