//! `spawn_app()`: the real server on port 0 with a fresh database and a clock the test moves.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::startup::Application;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-characters-long";
pub const PASSWORD: &str = "member-password";

/// Where every test's clock starts: a Monday morning.
pub fn start_instant() -> DateTime<Utc> {
    at("2026-03-02T09:30:00Z")
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("valid instant in test").with_timezone(&Utc)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    /// The admin's JWT (expires an hour into the test clock).
    pub admin_token: String,
    /// The admin's API token (never expires): what `admin()` uses, so tests can move the clock by days.
    pub admin_api_token: String,
    pub state: slawatch::state::AppState,
    _dir: tempfile::TempDir,
}

static DATABASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh database URL: a new SQLite file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set.
pub async fn fresh_database(dir: &tempfile::TempDir) -> String {
    match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            let name = format!(
                "slawatch_test_{}_{}_{}",
                std::process::id(),
                DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed),
                Utc::now().timestamp_subsec_nanos()
            );
            let admin = Database::connect(base.as_str()).await.expect("TEST_DATABASE_URL reachable");
            ABANDONED_DROPPED.get_or_init(|| drop_abandoned_databases(&admin)).await;
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            admin.close().await.expect("close admin connection");
            let mut url = url::Url::parse(&base).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&name);
            url.to_string()
        }
        None => {
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| eprintln!("TEST_DATABASE_URL is not set: integration tests run on SQLite only"));
            format!("sqlite://{}?mode=rwc", dir.path().join("slawatch.db").display())
        }
    }
}

/// Whether this test process has dropped what earlier ones left on the PostgreSQL server.
static ABANDONED_DROPPED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the databases and roles of test processes that have ended (their names carry the process id): a
/// test does not drop its own database (it would have to outlive the server it hands it to), so without
/// this every run of the suite left ~200 databases behind on a developer's server.
async fn drop_abandoned_databases(admin: &sea_orm::DatabaseConnection) {
    let ended = |name: &str| {
        let pid = name.split('_').nth(2).and_then(|pid| pid.parse::<u32>().ok());
        pid.is_some_and(|pid| pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    let listed = |sql: &'static str| async move {
        let rows = admin.query_all_raw(sea_orm::Statement::from_string(admin.get_database_backend(), sql)).await;
        rows.map(|rows| rows.iter().filter_map(|row| row.try_get_by_index::<String>(0).ok()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let databases = listed(
        "SELECT datname FROM pg_database WHERE datname LIKE 'slawatch\\_test\\_%' OR datname LIKE 'slawatch\\_plain\\_%'",
    );
    for name in databases.await.into_iter().filter(|name| ended(name)) {
        // Another process's cleanup may have dropped it first.
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
    }
    for name in listed("SELECT rolname FROM pg_roles WHERE rolname LIKE 'slawatch\\_plain\\_%'").await {
        if ended(&name) {
            let _ = admin.execute_unprepared(&format!("DROP ROLE IF EXISTS \"{name}\"")).await;
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to adjust the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        database_url: fresh_database(&dir).await,
        admin_password: Some(ADMIN_PASSWORD.to_owned()),
        jwt_secret: Some(JWT_SECRET.to_owned()),
        // The tests move the clock and then sweep on demand; a sweep of the scheduler's own at the moved
        // deadlines would race them. Tests of the scheduler's timing turn it back on.
        sweep_at_deadlines: false,
        ..Config::default()
    };
    adjust(&mut config);
    let clock = Clock::manual(start_instant());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let app = Application::build(config, clock.clone(), listener).await.expect("server builds");
    let address = format!("http://{}", app.address().expect("bound address"));
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let mut test_app = TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        admin_token: String::new(),
        admin_api_token: String::new(),
        state,
        _dir: dir,
    };
    test_app.admin_token = test_app.login("admin", ADMIN_PASSWORD).await;
    let created = test_app
        .gql(Some(&test_app.admin_token), "mutation { createApiToken(name: \"tests\") { token } }", json!({}))
        .await;
    created.data()["createApiToken"]["token"].as_str().expect("token").clone_into(&mut test_app.admin_api_token);
    test_app
}

/// A GraphQL response, with helpers to read it.
#[derive(Debug, Clone)]
pub struct Gql(pub Value);

impl Gql {
    /// `data`, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(self.0.get("errors").is_none(), "unexpected errors: {}", self.0);
        &self.0["data"]
    }

    /// The `extensions.code` of the first error, asserting there was one.
    pub fn code(&self) -> String {
        let code = &self.0["errors"][0]["extensions"]["code"];
        assert!(code.is_string(), "expected an error with a code, got {}", self.0);
        code.as_str().unwrap_or_default().to_owned()
    }

    pub fn message(&self) -> String {
        self.0["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs a GraphQL operation with an optional `Authorization` header value.
    pub async fn gql_with_header(&self, authorization: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request =
            self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request sent");
        Gql(response.json().await.expect("JSON response"))
    }

    /// Runs a GraphQL operation with a bearer token (or anonymously).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let header = token.map(|t| format!("Bearer {t}"));
        self.gql_with_header(header.as_deref(), query, variables).await
    }

    /// As the admin, with its API token.
    pub async fn admin(&self, query: &str, variables: Value) -> Gql {
        let header = format!("Token {}", self.admin_api_token);
        self.gql_with_header(Some(&header), query, variables).await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .gql(
                None,
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        response.data()["login"]["token"].as_str().expect("token").to_owned()
    }

    /// Creates a user with `PASSWORD` and returns (id, JWT).
    pub async fn user(&self, username: &str) -> (String, String) {
        let created = self
            .admin(
                "mutation($u: String!, $e: String!, $p: String!) {
                    createUser(input: {username: $u, email: $e, password: $p}) { id } }",
                json!({ "u": username, "e": format!("{username}@golemtrust.am"), "p": PASSWORD }),
            )
            .await;
        let id = created.data()["createUser"]["id"].as_str().expect("id").to_owned();
        (id, self.login(username, PASSWORD).await)
    }

    pub async fn product_type(&self, name: &str) -> String {
        let created = self
            .admin("mutation($n: String!) { createProductType(input: {name: $n}) { id } }", json!({ "n": name }))
            .await;
        created.data()["createProductType"]["id"].as_str().expect("id").to_owned()
    }

    /// Creates a product (with a fresh product type) on the default SLA configuration.
    pub async fn product(&self, name: &str) -> String {
        let type_id = self.product_type(&format!("{name} type")).await;
        let created = self
            .admin(
                "mutation($n: String!, $t: ID!) { createProduct(input: {name: $n, productTypeId: $t}) { id } }",
                json!({ "n": name, "t": type_id }),
            )
            .await;
        created.data()["createProduct"]["id"].as_str().expect("id").to_owned()
    }

    pub async fn add_member(&self, product_id: &str, user_id: &str, role: &str) -> String {
        let added = self
            .admin(
                &format!("mutation($p: ID!, $u: ID!) {{ addProductMember(productId: $p, userId: $u, role: {role}) {{ id }} }}"),
                json!({ "p": product_id, "u": user_id }),
            )
            .await;
        added.data()["addProductMember"]["id"].as_str().expect("id").to_owned()
    }

    /// Creates a finding as the admin and returns its JSON (the `FINDING_FIELDS`).
    pub async fn finding(&self, input: Value) -> Value {
        let created = self
            .admin(
                &format!("mutation($i: CreateFindingInput!) {{ createFinding(input: $i) {{ {FINDING_FIELDS} }} }}"),
                json!({ "i": input }),
            )
            .await;
        created.data()["createFinding"].clone()
    }

    pub async fn get_finding(&self, id: &str) -> Value {
        let found = self
            .admin(&format!("query($id: ID!) {{ finding(id: $id) {{ {FINDING_FIELDS} }} }}"), json!({ "id": id }))
            .await;
        found.data()["finding"].clone()
    }

    /// The default SLA configuration's id.
    pub async fn default_sla_id(&self) -> String {
        let listed = self.admin("{ slaConfigurations { id isDefault } }", json!({})).await;
        listed.data()["slaConfigurations"]
            .as_array()
            .expect("list")
            .iter()
            .find(|c| c["isDefault"] == json!(true))
            .and_then(|c| c["id"].as_str())
            .expect("a default configuration")
            .to_owned()
    }
}

/// `spawn_app` without the background scheduler: the test runs the jobs itself with `run_due_jobs`, so it
/// waits for nothing and a "nothing more happens" check is exact.
pub async fn spawn_app_without_scheduler(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|config| {
        config.scheduler_enabled = false;
        adjust(config);
    })
    .await
}

impl TestApp {
    /// Runs every job once, as the scheduler would with all of them due (with `spawn_app_without_scheduler`).
    /// The SLA notifications written so far, as (finding title, event), by title then in order.
    pub async fn sla_notifications_by_title(&self) -> Vec<(String, String)> {
        use sea_orm::{ConnectionTrait, Statement};
        let sql = "SELECT f.title AS title, n.event AS event FROM notifications n JOIN findings f ON f.id = n.finding_id \
                   WHERE n.event LIKE 'sla_%' ORDER BY f.title, n.id";
        let backend = self.state.db.get_database_backend();
        let rows = self.state.db.query_all_raw(Statement::from_string(backend, sql)).await.expect("query");
        let text = |row: &sea_orm::QueryResult, column: &str| row.try_get::<String>("", column).expect(column);
        rows.iter().map(|row| (text(row, "title"), text(row, "event"))).collect()
    }

    pub async fn run_due_jobs(&self) {
        slawatch::jobs::run_due_once(&self.state).await.unwrap_or_else(|e| panic!("jobs: {}", e.detail()));
    }

    /// Re-runs `query` with `token` until `done` holds for its data, for up to five seconds (the delivery
    /// worker runs beside the test). Returns the last data.
    pub async fn eventually(&self, token: &str, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let header = format!("Bearer {token}");
        self.eventually_with(&header, query, done).await
    }

    /// `eventually` as the admin, with its API token (safe when the test moves the clock by hours).
    pub async fn eventually_admin(&self, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let header = format!("Token {}", self.admin_api_token);
        self.eventually_with(&header, query, done).await
    }

    async fn eventually_with(&self, authorization: &str, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let data = self.gql_with_header(Some(authorization), query, json!({})).await.data().clone();
            if done(&data) || std::time::Instant::now() > deadline {
                return data;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// The titles of a user's alerts once the worker has delivered `expected` of them.
    pub async fn alert_titles(&self, token: &str, expected: usize) -> Vec<String> {
        let data = self
            .eventually(token, "{ alerts(first: 100) { totalCount edges { node { title } } } }", |d| {
                d["alerts"]["totalCount"].as_u64().unwrap_or(0) >= expected as u64
            })
            .await;
        data["alerts"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["node"]["title"].as_str().map(str::to_owned))
            .collect()
    }
}

pub const FINDING_FIELDS: &str = "id title severity date slaStart slaDeadline slaExpirationDate slaDaysRemaining \
    slaRemainingSeconds slaState outsideSla slaCycle active verified isMitigated mitigatedAt riskAccepted isOpen \
    product { id name }";

/// A small deterministic generator (xorshift64*), so a failure repeats.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index below `len`.
    pub fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).expect("small")
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).expect("small")]
    }
}
