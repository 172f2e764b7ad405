//! Varied reads at N findings (default 1,000,000) while writes go on: every request different, so no kept
//! answer can serve it (the server runs with `SLAWATCH_KEPT_ANSWERS=false`), and `createFindings` adding
//! `BENCH_WRITES_PER_SECOND` (default 1,000) findings a second with a finding edit every 20 ms beside them.
//! Measured with the in-memory finding index (the default) and without it (`SLAWATCH_FINDING_INDEX=false`,
//! every read a SQL query), then a bare axum handler as the physical limit, all on the same two cores.
//!
//! `cargo bench --bench varied`; the data set is the `server` bench's (`BENCH_SQLITE_FILE`, `BENCH_REUSE=1`,
//! `BENCH_DATABASE_URL` as there). `BENCH_SECONDS` per measurement (default 10), `BENCH_MODES=index,sql`,
//! `BENCH_ONLY=<words>` to run only the measurements whose names contain one of them.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod loadgen;
mod server_world;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use loadgen::{MakeRequest, TABLE_HEADER};
use serde_json::{Value, json};
use server_world::{BareHandler, Server, prepare_data_set, selected, serve_bare_handler};
use support::{ADMIN, BenchResult, OWNER};

const PAGE: &str = "query($f: FindingFilter, $after: ID) { findings(filter: $f, first: 20, after: $after) { \
                    totalCount nodes { id title severity slaDeadline } } }";
const SUMMARY: &str = "query($p: ID) { slaSummary(productId: $p) { severity state count } }";
const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];

/// A generator shared by a measurement's workers: each request draws from it.
#[derive(Clone)]
struct Draws(Arc<AtomicU64>);

impl Draws {
    fn new(seed: u64) -> Self {
        Self(Arc::new(AtomicU64::new(seed)))
    }

    /// splitmix64 over a shared counter: cheap and different for every call.
    fn next(&self) -> u64 {
        let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn severities(&self) -> Vec<&'static str> {
        let mut chosen: Vec<&str> = SEVERITIES.iter().copied().filter(|_| self.chance(60)).collect();
        if chosen.is_empty() {
            chosen.push(SEVERITIES[usize::try_from(self.below(5)).unwrap_or(0)]);
        }
        chosen
    }

    fn deadline_before(&self) -> String {
        let hours = i64::try_from(self.below(24 * 90)).unwrap_or(0) - 24 * 60;
        (Utc::now() + TimeDelta::hours(hours)).to_rfc3339()
    }
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("bare-axum") {
        return serve_bare_handler().await;
    }
    let total = support::findings_wanted(1_000_000);
    let seconds: u64 = support::env_number("BENCH_SECONDS", 10);
    let writes_per_second: u64 = support::env_number("BENCH_WRITES_PER_SECOND", 1_000);
    let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "index,sql".into());
    let (database_url, _dir) = prepare_data_set(total).await?;
    let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!("## Varied requests, {backend}, {total} findings, {writes_per_second} findings/s written\n");
    let mut rows = Vec::new();
    for mode in modes.split(',').map(str::trim) {
        // The index's load (at start-up, in the background) is logged with its duration.
        let mut settings =
            vec![("SLAWATCH_KEPT_ANSWERS", "false"), ("RUST_LOG", "warn,slawatch::service::finding_index=info")];
        if mode == "sql" {
            settings.push(("SLAWATCH_FINDING_INDEX", "false"));
        }
        rows.extend(measure_mode(&database_url, mode, &settings, seconds, writes_per_second).await?);
    }
    if selected("bare") {
        let bare = BareHandler::start()?;
        for concurrency in [1, 32] {
            let report =
                loadgen::run(bare.request(PAGE), concurrency, Duration::from_secs(1), Duration::from_secs(seconds))
                    .await;
            rows.push(report.row("bare axum handler (same body in, constant JSON out)"));
        }
    }
    println!("\n{TABLE_HEADER}\n{}\n", rows.join("\n"));
    Ok(())
}

/// One server in `mode` (`index` or `sql`): each varied request at concurrency 1 and 32 under the writes.
async fn measure_mode(
    database_url: &str,
    mode: &str,
    settings: &[(&str, &str)],
    seconds: u64,
    writes_per_second: u64,
) -> BenchResult<Vec<String>> {
    // Each mode writes to its own copy of an SQLite data set, so both start from the same million.
    let copy = database_url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next()).map(|file| {
        let run = format!("{file}.{mode}-run");
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{run}{suffix}"));
        }
        std::fs::copy(file, &run).map(|_| run)
    });
    let database_url = match copy {
        Some(run) => format!("sqlite://{}?mode=rwc", run?),
        None => database_url.to_owned(),
    };
    let server = Server::start_with(&database_url, &[], settings)?;
    server.wait_ready().await?;
    let admin = server.login(ADMIN).await?;
    let owner = server.login(OWNER).await?;
    let api_token = server.api_token(&admin).await?;
    let listed = server.graphql(&admin, "{ products(first: 100) { nodes { id } } }").await?;
    let products: Vec<String> = listed["data"]["products"]["nodes"]
        .as_array()
        .ok_or("no products")?
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    // The index loads in the background from start-up (SQL answers meanwhile); its log line says how long.
    tokio::time::sleep(Duration::from_secs(30)).await;
    println!("{mode}: idle 30 s after start: {}", server.memory()?);
    let started = Instant::now();
    server.graphql(&admin, "{ findings(filter: {outsideSla: true}) { totalCount } }").await?;
    println!("{mode}: first outsideSla count {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    let writing = Writer::start(&server, &admin, &products, writes_per_second);
    let draws = Draws::new(0x5EED);
    let products = Arc::new(products);
    let requests: Vec<(&str, MakeRequest)> = vec![
        (
            "outsideSla count + first 20, random filter (superuser)",
            outside_sla_page(&server, &admin, &draws, &products, false),
        ),
        ("same, with a text search", outside_sla_page(&server, &admin, &draws, &products, true)),
        ("slaSummary of a random product or all (superuser)", summary(&server, &admin, &draws, &products)),
        ("member's findings page, random open states and cursor", member_page(&server, &owner, &draws)),
        (
            "REST outside_sla&active, random offset <= 50,000, limit 100",
            rest(&server, &api_token, &draws, 50_001, true),
        ),
        ("REST all findings, random offset <= 900,000, limit 100", rest(&server, &api_token, &draws, 900_001, false)),
    ];
    let mut rows = Vec::new();
    for concurrency in [1, 32] {
        for (name, make) in &requests {
            let name = format!("{mode}: {name}");
            if !selected(&format!("{name} c{concurrency}")) {
                continue;
            }
            let report =
                loadgen::run(make.clone(), concurrency, Duration::from_secs(1), Duration::from_secs(seconds)).await;
            eprintln!("{}", report.row(&name));
            rows.push(report.row(&name));
        }
    }
    let written = writing.stop().await;
    println!(
        "{mode}: written meanwhile {} findings in {:.0} s ({:.0}/s); createFindings of {} p50 {:.1} ms p99 {:.1} ms; \
         {} edits p50 {:.2} ms p99 {:.2} ms",
        written.created,
        written.elapsed.as_secs_f64(),
        written.created as f64 / written.elapsed.as_secs_f64(),
        written.batch,
        written.batch_ms(0.5),
        written.batch_ms(0.99),
        written.edits.len(),
        written.edit_ms(0.5),
        written.edit_ms(0.99),
    );
    println!("{mode}: after the load: {}", server.memory()?);
    server.stop()?;
    Ok(rows)
}

fn graphql_varied(
    server: &Server,
    jwt: &str,
    query: &'static str,
    variables: impl Fn() -> Value + Send + Sync + 'static,
) -> MakeRequest {
    let (url, header) = (format!("{}/graphql", server.base), format!("Bearer {jwt}"));
    Arc::new(move |client: &reqwest::Client| {
        client
            .post(&url)
            .header("authorization", &header)
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables() }).to_string())
    })
}

fn outside_sla_page(
    server: &Server,
    jwt: &str,
    draws: &Draws,
    products: &Arc<Vec<String>>,
    search: bool,
) -> MakeRequest {
    let (draws, products) = (draws.clone(), products.clone());
    graphql_varied(server, jwt, PAGE, move || {
        let mut filter = json!({ "outsideSla": true, "severities": draws.severities() });
        if draws.chance(50) {
            filter["productId"] = json!(products[usize::try_from(draws.below(products.len() as u64)).unwrap_or(0)]);
        }
        if draws.chance(30) {
            filter["verified"] = json!(draws.chance(50));
        }
        if draws.chance(50) {
            filter["deadlineBefore"] = json!(draws.deadline_before());
        }
        if search {
            filter["search"] = json!(format!("component-{}", draws.below(997)));
        }
        json!({ "f": filter })
    })
}

fn summary(server: &Server, jwt: &str, draws: &Draws, products: &Arc<Vec<String>>) -> MakeRequest {
    let (draws, products) = (draws.clone(), products.clone());
    graphql_varied(server, jwt, SUMMARY, move || {
        let product = (!draws.chance(20))
            .then(|| products[usize::try_from(draws.below(products.len() as u64)).unwrap_or(0)].clone());
        json!({ "p": product })
    })
}

fn member_page(server: &Server, jwt: &str, draws: &Draws) -> MakeRequest {
    let draws = draws.clone();
    graphql_varied(server, jwt, PAGE, move || {
        let mut states: Vec<&str> =
            ["BREACHED", "APPROACHING", "ON_TRACK"].into_iter().filter(|_| draws.chance(60)).collect();
        if states.is_empty() {
            states.push("BREACHED");
        }
        let mut filter = json!({ "slaStates": states, "severities": draws.severities() });
        if draws.chance(30) {
            filter["verified"] = json!(draws.chance(50));
        }
        let after = draws.chance(50).then(|| draws.below(1_000_000).to_string());
        json!({ "f": filter, "after": after })
    })
}

fn rest(server: &Server, token: &str, draws: &Draws, offsets: u64, outside_sla: bool) -> MakeRequest {
    let (base, header, draws) = (server.base.clone(), format!("Token {token}"), draws.clone());
    let filter = if outside_sla { "outside_sla=true&active=true&" } else { "" };
    Arc::new(move |client: &reqwest::Client| {
        let url = format!("{base}/api/v2/findings/?{filter}limit=100&offset={}", draws.below(offsets));
        client.get(url).header("authorization", &header)
    })
}

/// `createFindings` every 100 ms (a tenth of the rate each) and an edit every 20 ms, as the admin.
struct Writer {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
    started: Instant,
    created: Arc<AtomicU64>,
    batch: u64,
}

/// What the writer did while the reads were measured.
struct Written {
    created: u64,
    elapsed: Duration,
    batch: u64,
    batches: Vec<Duration>,
    edits: Vec<Duration>,
}

impl Written {
    fn batch_ms(&self, quantile: f64) -> f64 {
        quantile_ms(&self.batches, quantile)
    }

    fn edit_ms(&self, quantile: f64) -> f64 {
        quantile_ms(&self.edits, quantile)
    }
}

fn quantile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * quantile).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

impl Writer {
    fn start(server: &Server, jwt: &str, products: &[String], per_second: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let created = Arc::new(AtomicU64::new(0));
        let batch = (per_second / 10).max(1);
        let url = format!("{}/graphql", server.base);
        let header = format!("Bearer {jwt}");
        let products = Arc::new(products.to_vec());
        let creating = {
            let (stop, created, url, header, products) =
                (stop.clone(), created.clone(), url.clone(), header.clone(), products.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let draws = Draws::new(7);
                let mut ticks = tokio::time::interval(Duration::from_millis(100));
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    let inputs: Vec<Value> = (0..batch)
                        .map(|i| {
                            json!({
                                "productId": products[usize::try_from(draws.below(products.len() as u64)).unwrap_or(0)],
                                "title": format!("Written during the bench {i}"),
                                "severity": SEVERITIES[usize::try_from(draws.below(5)).unwrap_or(0)],
                                "slaStart": (Utc::now() - TimeDelta::hours(i64::try_from(draws.below(24 * 120)).unwrap_or(0))).to_rfc3339(),
                            })
                        })
                        .collect();
                    let body = json!({ "query": "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", "variables": { "i": inputs } });
                    let sent = Instant::now();
                    let answer = client.post(&url).header("authorization", &header).json(&body).send().await;
                    if let Ok(answer) = answer
                        && answer.status().is_success()
                        && answer.text().await.is_ok_and(|text| !text.contains("\"errors\""))
                    {
                        latencies.push(sent.elapsed());
                        created.fetch_add(batch, Ordering::Relaxed);
                    }
                }
                latencies
            })
        };
        let editing = {
            let (stop, url, header) = (stop.clone(), url, header);
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let draws = Draws::new(11);
                let mut ticks = tokio::time::interval(Duration::from_millis(20));
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    let body = json!({
                        "query": "mutation($id: ID!, $v: Boolean) { updateFinding(id: $id, input: {verified: $v}) { id } }",
                        "variables": { "id": (1 + draws.below(900_000)).to_string(), "v": draws.chance(50) },
                    });
                    let sent = Instant::now();
                    if let Ok(answer) = client.post(&url).header("authorization", &header).json(&body).send().await
                        && answer.text().await.is_ok_and(|text| !text.contains("\"errors\""))
                    {
                        latencies.push(sent.elapsed());
                    }
                }
                latencies
            })
        };
        Self { stop, tasks: vec![creating, editing], started: Instant::now(), created, batch }
    }

    async fn stop(self) -> Written {
        self.stop.store(true, Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let mut results = Vec::new();
        for task in self.tasks {
            let mut latencies = task.await.unwrap_or_default();
            latencies.sort();
            results.push(latencies);
        }
        let edits = results.pop().unwrap_or_default();
        let batches = results.pop().unwrap_or_default();
        Written { created: self.created.load(Ordering::Relaxed), elapsed, batch: self.batch, batches, edits }
    }
}
