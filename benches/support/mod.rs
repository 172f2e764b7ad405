//! Shared set-up of the benches: a fresh database (SQLite in a temp dir, or `BENCH_DATABASE_URL`), products
//! with members, and findings loaded in `createFindings`-sized batches.
// Each bench uses part of this module.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::domain::{ProductId, ProductRole, Severity};
use slawatch::error::ServiceError;
use slawatch::service::findings::NewFinding;
use slawatch::service::products::ProductInput;
use slawatch::service::users::NewUser;
use slawatch::service::{Actor, findings, members, product_types, products, sla_sweep, users};
use slawatch::startup;
use slawatch::state::AppState;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A prepared database and the products in it.
pub struct Bench {
    pub state: AppState,
    pub actor: Actor,
    pub backend: &'static str,
    pub product_ids: Vec<ProductId>,
    _dir: tempfile::TempDir,
}

/// The superuser every bench acts as, with a password so a bench can also sign in over HTTP.
pub const ADMIN: (&str, &str) = ("bench-admin", "bench-admin-password");

/// The member (writer) of the first product, who may sign in too.
pub const OWNER: (&str, &str) = ("bench-owner-0", "bench-owner-password");

/// `BENCH_FINDINGS` or the default.
pub fn findings_wanted(default: usize) -> usize {
    env_number("BENCH_FINDINGS", default)
}

/// The number in the environment variable `name`, or `default` when it is unset or not a number.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Sweeps until nothing is due, as the scheduler would over time; returns the SLA events emitted.
pub async fn sweep_until_idle(state: &AppState) -> BenchResult<usize> {
    let mut events = 0;
    loop {
        let report = sla_sweep::sweep(state).await.map_err(fail)?;
        events += report.emitted;
        if report.examined == 0 {
            return Ok(events);
        }
    }
}

fn fail(err: ServiceError) -> String {
    err.detail()
}

impl Bench {
    /// Migrates a fresh database and creates `products` products, each with one member (a writer) besides
    /// the superuser the bench acts as, so notifications fan out as in a real installation.
    pub async fn prepare(clock: Clock, products: usize) -> BenchResult<Self> {
        let dir = tempfile::tempdir()?;
        let database_url = std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
        Self::prepare_with(clock, products, Config { database_url, ..Config::default() }, dir).await
    }

    /// The database of `BENCH_DATABASE_URL` as an earlier run left it (migrated, nothing created).
    pub async fn reuse(clock: Clock) -> BenchResult<Self> {
        let database_url = std::env::var("BENCH_DATABASE_URL").map_err(|_| "BENCH_REUSE needs BENCH_DATABASE_URL")?;
        let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
        let config = Config { database_url, scheduler_enabled: false, ..Config::default() };
        let state = startup::prepare_state(config, clock).await.map_err(|e| e.to_string())?;
        let actor = Actor::system("bench");
        Ok(Self { state, actor, backend, product_ids: Vec::new(), _dir: tempfile::tempdir()? })
    }

    /// Like `prepare`, on `config`'s database (kept in `dir` when it is a file there).
    pub async fn prepare_with(
        clock: Clock,
        products: usize,
        config: Config,
        dir: tempfile::TempDir,
    ) -> BenchResult<Self> {
        let backend = if config.database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
        let config = Config { scheduler_enabled: false, ..config };
        let state = startup::prepare_state(config, clock).await.map_err(|e| e.to_string())?;
        let bootstrap = Actor::system("bench");
        let mut admin_input = new_user(ADMIN.0, true);
        admin_input.password = Some(ADMIN.1.to_owned());
        let admin = users::create(&state, &bootstrap, admin_input).await.map_err(fail)?;
        let actor = Actor { user_id: admin.id, username: admin.username, is_superuser: true };
        let product_type = product_types::create(&state, &actor, "Bench", None).await.map_err(fail)?;
        let mut product_ids = Vec::with_capacity(products);
        for index in 0..products {
            let input = ProductInput {
                name: Some(format!("bench-product-{index}")),
                product_type_id: Some(product_type.id),
                ..ProductInput::default()
            };
            let product = products::create(&state, &actor, input).await.map_err(fail)?;
            let mut owner_input = new_user(&format!("bench-owner-{index}"), false);
            if owner_input.username == OWNER.0 {
                owner_input.password = Some(OWNER.1.to_owned());
            }
            let owner = users::create(&state, &actor, owner_input).await.map_err(fail)?;
            members::add(&state, &actor, product.id, owner.id, ProductRole::Writer).await.map_err(fail)?;
            product_ids.push(product.id);
        }
        Ok(Self { state, actor, backend, product_ids, _dir: dir })
    }

    /// Creates `total` findings, `make(index, product_id)` each, in batches of 1,000. Says how long it took (on stderr) and returns it.
    pub async fn load(&self, total: usize, make: impl Fn(usize, ProductId) -> NewFinding) -> BenchResult<Duration> {
        let started = Instant::now();
        let mut created = 0;
        while created < total {
            let batch: Vec<NewFinding> = (created..total.min(created + 1000))
                .map(|i| make(i, self.product_ids[i % self.product_ids.len()]))
                .collect();
            created += findings::create_many(&self.state, &self.actor, batch).await.map_err(fail)?.len();
        }
        let took = started.elapsed();
        eprintln!("{}: loaded {total} findings in {:.1} s", self.backend, took.as_secs_f64());
        Ok(took)
    }
}

fn new_user(username: &str, is_superuser: bool) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: format!("{username}@bench.example"),
        display_name: None,
        password: None,
        is_superuser,
        slack_email: None,
    }
}

/// The median and the 99th percentile (nearest rank) of `samples`, in milliseconds.
pub fn median_and_p99(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rank = ((samples.len() as f64) * 0.99).ceil() as usize;
    (ms(samples[samples.len() / 2]), ms(samples[rank.clamp(1, samples.len()) - 1]))
}

/// The benches' severity mix (per 20 findings: 1 Critical, 4 High, 8 Medium, 5 Low, 2 Info) and the default
/// configuration's period in days (0: no SLA).
pub fn severity_of(index: usize) -> (Severity, i64) {
    match index % 20 {
        0 => (Severity::Critical, 1),
        1..=4 => (Severity::High, 7),
        5..=12 => (Severity::Medium, 30),
        13..=17 => (Severity::Low, 90),
        _ => (Severity::Info, 0),
    }
}
