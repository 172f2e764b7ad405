//! The server bench's world, shared by `server` and `varied`: the realistic data set of a million findings
//! (loaded through the service layer, or reused), a `slawatch serve` process driven over HTTP, and a bare
//! axum handler measured the same way as the physical limit.
// Each bench uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::domain::ProductId;
use slawatch::service::findings::NewFinding;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::loadgen::MakeRequest;
use crate::support::{self, Bench, BenchResult, severity_of};

pub const PRODUCTS: usize = 100;
pub const DAY: i64 = 86_400;
pub const JWT_SECRET: &str = "bench-jwt-secret-bench-jwt-secret-0123456789";

const KINDS: [&str; 8] = [
    "SQL injection",
    "Cross-site scripting",
    "Outdated dependency",
    "Weak TLS configuration",
    "Hard-coded secret",
    "Path traversal",
    "Missing security header",
    "Insecure deserialization",
];

/// Finding `index`: 85 % fixed, found at spread instants over the last two years and fixed after 10 % to
/// 125 % of their period (about one in five late); 15 % open, found within the last 120 days (so most open
/// Criticals and Highs are past their deadline, Lows mostly not).
pub fn realistic(index: usize, product_id: ProductId, now: DateTime<Utc>) -> NewFinding {
    let (severity, days) = severity_of(index);
    let spread = |modulus: i64| (index as i64).wrapping_mul(7_919_993).rem_euclid(modulus);
    let kind = KINDS[index % KINDS.len()];
    let mut finding = NewFinding {
        description: Some(format!("{kind} reported by the nightly scan of service {} (finding {index}).", index % 61)),
        external_reference: Some(format!("SCAN-{index:07}")),
        ..NewFinding::new(product_id, format!("{kind} in component-{}", index % 997), severity)
    };
    if index % 100 >= 85 {
        finding.sla_start = Some(now - TimeDelta::seconds(spread(120 * DAY)));
    } else {
        let start = now - TimeDelta::seconds(DAY + spread(730 * DAY));
        let took = days.max(1) * DAY * (10 + (index as i64 * 31 % 116)) / 100;
        finding.sla_start = Some(start);
        finding.is_mitigated = Some(true);
        finding.mitigated_at = Some((start + TimeDelta::seconds(took)).min(now));
    }
    finding
}

/// Loads the data set (unless `BENCH_REUSE` says it is there), sweeps what is due so the server starts idle
/// (the history's deliveries are marked delivered), and returns the database URL and the temp dir to keep.
pub async fn prepare_data_set(total: usize) -> BenchResult<(String, tempfile::TempDir)> {
    let reuse = std::env::var("BENCH_REUSE").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir()?;
    let database_url = match (std::env::var("BENCH_DATABASE_URL"), std::env::var("BENCH_SQLITE_FILE")) {
        (Ok(url), _) => url,
        (_, Ok(file)) => format!("sqlite://{file}?mode=rwc"),
        _ => format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
    };
    let now = Utc::now();
    let state = if reuse {
        let config = Config { database_url: database_url.clone(), scheduler_enabled: false, ..Config::default() };
        slawatch::startup::prepare_state(config, Clock::system()).await.map_err(|e| e.to_string())?
    } else {
        let config = Config { database_url: database_url.clone(), ..Config::default() };
        let bench = Bench::prepare_with(Clock::system(), PRODUCTS, config, tempfile::tempdir()?).await?;
        let took = bench.load(total, |i, product_id| realistic(i, product_id, now)).await?;
        eprintln!("loaded {total} findings in {:.1} s", took.as_secs_f64());
        bench.state.clone()
    };
    let started = Instant::now();
    let events = support::sweep_until_idle(&state).await?;
    let delivered = state
        .db
        .execute_unprepared(&format!(
            "UPDATE deliveries SET status = 'DELIVERED', delivered_at = {0}, updated_at = {0} WHERE status = 'PENDING'",
            now.timestamp()
        ))
        .await?
        .rows_affected();
    eprintln!(
        "swept the history: {events} SLA events in {:.1} s; {delivered} deliveries marked delivered",
        started.elapsed().as_secs_f64()
    );
    state.close_database().await?;
    Ok((database_url, dir))
}

/// A copy of the data set for one run that writes, so every run starts from the same data: an SQLite file
/// is copied to `<file>.<label>-run`, a PostgreSQL database is created from the data set's as a template
/// (`<name>_<label>_run`; PostgreSQL copies its files, as fast as the SQLite copy).
pub async fn working_copy(database_url: &str, label: &str) -> BenchResult<String> {
    if let Some(file) = sqlite_file(database_url) {
        let run = format!("{file}.{label}-run");
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{run}{suffix}"));
        }
        std::fs::copy(file, &run)?;
        return Ok(format!("sqlite://{run}?mode=rwc"));
    }
    let (server, name) = postgres_database(database_url)?;
    let run = format!("{name}_{label}_run");
    maintain(
        server,
        &[format!("DROP DATABASE IF EXISTS \"{run}\""), format!("CREATE DATABASE \"{run}\" TEMPLATE \"{name}\"")],
    )
    .await?;
    Ok(format!("{server}/{run}"))
}

/// Deletes what `working_copy` made (only a copy: never the data set it was made from), so a run does not
/// leave a million findings' worth of disk behind.
pub async fn remove_working_copy(database_url: &str) {
    if let Some(file) = sqlite_file(database_url) {
        if file.ends_with("-run") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
        }
        return;
    }
    let Ok((server, name)) = postgres_database(database_url) else { return };
    if !name.ends_with("_run") {
        return;
    }
    if let Err(err) = maintain(server, &[format!("DROP DATABASE IF EXISTS \"{name}\"")]).await {
        eprintln!("could not drop the working copy {name}: {err}");
    }
}

/// Runs `statements` in turn on the PostgreSQL `server`'s maintenance database (`postgres`), as databases are
/// created and dropped from outside them.
async fn maintain(server: &str, statements: &[String]) -> BenchResult<()> {
    let maintenance = sea_orm::Database::connect(format!("{server}/postgres")).await?;
    for statement in statements {
        maintenance.execute_unprepared(statement).await?;
    }
    maintenance.close().await?;
    Ok(())
}

fn sqlite_file(database_url: &str) -> Option<&str> {
    database_url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next())
}

/// A PostgreSQL URL's server part and database name (`postgres://user@host:port`, `name`).
fn postgres_database(database_url: &str) -> BenchResult<(&str, &str)> {
    let (server, name) = database_url.rsplit_once('/').ok_or("a PostgreSQL URL names its database")?;
    let name = name.split('?').next().unwrap_or(name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("the database name {name:?} is not letters, digits and underscores").into());
    }
    Ok((server, name))
}

/// A `slawatch serve` process.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Server {
    pub fn start(database_url: &str, extra_args: &[&str]) -> BenchResult<Self> {
        Self::start_with(database_url, extra_args, &[])
    }

    /// `start` with more environment variables (settings) for the server.
    pub fn start_with(database_url: &str, extra_args: &[&str], settings: &[(&str, &str)]) -> BenchResult<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(env!("CARGO_BIN_EXE_slawatch"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            .env("DATABASE_URL", database_url)
            .env("SLAWATCH_JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Self { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() })
    }

    pub async fn wait_ready(&self) -> BenchResult<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err("the server did not become ready within 120 s".into())
    }

    /// Stops the server with SIGTERM, as a service manager would, and waits for it.
    pub fn stop(mut self) -> BenchResult<()> {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        self.child.wait()?;
        Ok(())
    }

    pub fn rss_mib(&self) -> BenchResult<f64> {
        status_kib(self.child.id(), "VmRSS:").map(|kib| kib / 1024.0)
    }

    /// The resident size split as the kernel counts it: anonymous (heap, the finding index) and file-backed
    /// (the binary's code, and SQLite's memory-mapped pages when `SLAWATCH_SQLITE_MMAP_MIB` > 0).
    pub fn memory(&self) -> BenchResult<String> {
        let pid = self.child.id();
        let mib = |field| status_kib(pid, field).map(|kib| kib / 1024.0);
        Ok(format!(
            "{:.1} MiB RSS (anonymous {:.1}, file {:.1}), peak {:.1} MiB",
            mib("VmRSS:")?,
            mib("RssAnon:")?,
            mib("RssFile:")?,
            mib("VmHWM:")?
        ))
    }

    /// The memory the server's finding index holds, in MiB, from `/metrics` (`slawatch_finding_index_bytes`),
    /// scraped with a superuser's session token: the part of the RSS that grows with the findings.
    pub async fn index_mib(&self, jwt: &str) -> BenchResult<f64> {
        let text = self.http.get(format!("{}/metrics", self.base)).bearer_auth(jwt).send().await?.text().await?;
        let bytes = text
            .lines()
            .find_map(|line| line.strip_prefix("slawatch_finding_index_bytes "))
            .ok_or("no slawatch_finding_index_bytes in /metrics")?
            .trim()
            .parse::<f64>()?;
        Ok(bytes / (1024.0 * 1024.0))
    }

    /// SQLite's writers from `/metrics` (`slawatch_write_turn_*_seconds`): per place in the code that began
    /// writes, how many, how long they held the one writer's turn in all and on average, and how long they
    /// waited for it on average, the longest holders first.
    pub async fn write_turns(&self, jwt: &str) -> BenchResult<String> {
        use std::fmt::Write as _;
        let text = self.http.get(format!("{}/metrics", self.base)).bearer_auth(jwt).send().await?.text().await?;
        let of = |series: &str| -> std::collections::HashMap<String, f64> {
            let prefix = format!("{series}{{writer=\"");
            text.lines()
                .filter_map(|line| {
                    let (writer, value) = line.strip_prefix(&prefix)?.split_once("\"} ")?;
                    Some((writer.to_owned(), value.trim().parse::<f64>().ok()?))
                })
                .collect()
        };
        let (count, held, waited) = (
            of("slawatch_write_turn_held_seconds_count"),
            of("slawatch_write_turn_held_seconds_sum"),
            of("slawatch_write_turn_wait_seconds_sum"),
        );
        // Writes that waited at most 6.4 ms (a bucket's bound) for their turn, by writer.
        let waited_briefly = |writer: &str| -> f64 {
            text.lines()
                .filter_map(|line| {
                    let labels = line.strip_prefix("slawatch_write_turn_wait_seconds_bucket{")?;
                    let (labels, value) = labels.split_once("} ")?;
                    let of_writer = labels.split(',').any(|label| label == format!("writer=\"{writer}\""));
                    let bound = labels.split(',').find_map(|label| label.strip_prefix("le=\""))?;
                    let bound = bound.trim_end_matches('"').parse::<f64>().ok()?;
                    (of_writer && (bound - 0.0064).abs() < 1e-9).then(|| value.trim().parse::<f64>().ok())?
                })
                .sum()
        };
        let mut rows: Vec<(&String, f64)> = held.iter().map(|(writer, sum)| (writer, *sum)).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut table = String::from(
            "| writer | writes | held in all | held, mean | waited, mean | waited over 6.4 ms |\n|---|---|---|---|---|---|\n",
        );
        for (writer, sum) in rows {
            let writes = count.get(writer).copied().unwrap_or(0.0).max(1.0);
            let wait = waited.get(writer).copied().unwrap_or(0.0);
            writeln!(
                table,
                "| {writer} | {writes:.0} | {sum:.1} s | {:.2} ms | {:.2} ms | {:.2} % |",
                sum / writes * 1000.0,
                wait / writes * 1000.0,
                100.0 * (1.0 - waited_briefly(writer) / writes)
            )?;
        }
        Ok(table)
    }

    /// The CPU time the server has used so far (user and system, in seconds; Linux counts it in 1/100 s).
    pub fn cpu_seconds(&self) -> BenchResult<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // The command name is in parentheses and may hold spaces: the fields are counted after it.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("no command name in /proc/…/stat")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |at: usize| fields.get(at).and_then(|field| field.parse::<f64>().ok()).ok_or("no CPU times");
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    pub fn peak_mib(&self) -> BenchResult<f64> {
        status_kib(self.child.id(), "VmHWM:").map(|kib| kib / 1024.0)
    }

    pub async fn graphql(&self, jwt: &str, query: &str) -> BenchResult<Value> {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(jwt)
            .json(&json!({ "query": query }))
            .send()
            .await?
            .json()
            .await?;
        if body.get("errors").is_some() {
            return Err(format!("{query}: {body}").into());
        }
        Ok(body)
    }

    pub async fn login(&self, (username, password): (&str, &str)) -> BenchResult<String> {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({
                "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                "variables": { "u": username, "p": password },
            }))
            .send()
            .await?
            .json()
            .await?;
        body["data"]["login"]["token"].as_str().map(str::to_owned).ok_or_else(|| format!("login: {body}").into())
    }

    /// The ids of the first 100 products.
    pub async fn product_ids(&self, jwt: &str) -> BenchResult<Vec<String>> {
        let listed = self.graphql(jwt, "{ products(first: 100) { nodes { id } } }").await?;
        let products: Vec<String> = listed["data"]["products"]["nodes"]
            .as_array()
            .ok_or("no products")?
            .iter()
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect();
        if products.is_empty() { Err("no products".into()) } else { Ok(products) }
    }

    pub async fn api_token(&self, jwt: &str) -> BenchResult<String> {
        let body = self.graphql(jwt, "mutation { createApiToken(name: \"bench\") { token } }").await?;
        body["data"]["createApiToken"]["token"].as_str().map(str::to_owned).ok_or_else(|| "no API token".into())
    }

    pub fn graphql_request(&self, jwt: &str, query: &str) -> MakeRequest {
        let (url, header, body) =
            (format!("{}/graphql", self.base), format!("Bearer {jwt}"), json!({ "query": query }).to_string());
        Arc::new(move |client: &reqwest::Client| {
            client
                .post(&url)
                .header("authorization", &header)
                .header("content-type", "application/json")
                .body(body.clone())
        })
    }

    pub fn rest_request(&self, token: &str, path: &str) -> MakeRequest {
        let (url, header) = (format!("{}{path}", self.base), format!("Token {token}"));
        Arc::new(move |client: &reqwest::Client| client.get(&url).header("authorization", &header))
    }
}

/// A websocket client's connection, and what its tasks may fail with (sent between tasks).
pub type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// Opens `url` (`/graphql/ws`) with `graphql-transport-ws` and signs in with `jwt`, at most as many at once
/// as `handshakes` allows (the server lets one address keep only 16 sockets waiting for `connection_init`).
pub async fn ws_connect(url: &str, jwt: &str, handshakes: &Semaphore) -> Result<WsStream, TaskError> {
    let _permit = handshakes.acquire().await?;
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {jwt}") } });
    socket.send(Message::text(init.to_string())).await?;
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            if text.contains("connection_ack") {
                return Ok(socket);
            }
            return Err(format!("refused: {text}").into());
        }
    }
    Err("closed before connection_ack".into())
}

pub fn status_kib(pid: u32, field: &str) -> BenchResult<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or("no such field in /proc/…/status")?;
    Ok(line.trim_start_matches(field).trim().trim_end_matches("kB").trim().parse()?)
}

/// This bench re-run as a bare axum server (`BENCH_ROLE=bare-axum`): the ceiling for request rates.
pub struct BareHandler {
    child: Child,
    url: String,
}

impl BareHandler {
    pub fn start() -> BenchResult<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .env("BENCH_ROLE", "bare-axum")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line.trim().parse()?;
        Ok(Self { child, url: format!("http://127.0.0.1:{port}/graphql") })
    }

    pub fn request(&self, query: &str) -> MakeRequest {
        let (url, body) = (self.url.clone(), json!({ "query": query }).to_string());
        Arc::new(move |client: &reqwest::Client| {
            client
                .post(&url)
                .header("authorization", "Bearer x")
                .header("content-type", "application/json")
                .body(body.clone())
        })
    }
}

impl Drop for BareHandler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn serve_bare_handler() -> BenchResult<()> {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    let app = axum::Router::new().route(
        "/graphql",
        post(|body: axum::body::Bytes| async move {
            let answer = if body.is_empty() { "{}" } else { r#"{"data":{"findings":{"totalCount":0}}}"# };
            ([(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// Whether `BENCH_ONLY` (comma-separated words) lets the measurement `name` run; all run without it.
pub fn selected(name: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|word| name.contains(word.trim())))
}

/// A bench that fails between `Server::start` and `stop` does not leave the server running (holding the
/// PostgreSQL data set, so the next run could not copy it).
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
