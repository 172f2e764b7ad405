//! The varied workload shared by `varied` and `mixed`: a shared random draw, the requests users make with
//! every one different (so no kept answer can serve it), and the writer that adds findings and edits them
//! while the reads are measured.
// Each bench uses part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::loadgen::{MakeRequest, quantile_ms};
use crate::server_world::Server;

pub const PAGE: &str = "query($f: FindingFilter, $after: ID) { findings(filter: $f, first: 20, after: $after) { \
                    totalCount nodes { id title severity slaDeadline } } }";
const SUMMARY: &str = "query($p: ID) { slaSummary(productId: $p) { severity state count } }";
pub const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];

/// A generator shared by a measurement's workers: each request draws from it.
#[derive(Clone)]
pub struct Draws(Arc<AtomicU64>);

impl Draws {
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(AtomicU64::new(seed)))
    }

    /// splitmix64 over a shared counter: cheap and different for every call.
    pub fn next(&self) -> u64 {
        let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in [0, 1).
    pub fn uniform(&self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn severities(&self) -> Vec<&'static str> {
        let mut chosen: Vec<&str> = SEVERITIES.iter().copied().filter(|_| self.chance(60)).collect();
        if chosen.is_empty() {
            chosen.push(SEVERITIES[usize::try_from(self.below(5)).unwrap_or(0)]);
        }
        chosen
    }

    pub fn deadline_before(&self) -> String {
        let hours = i64::try_from(self.below(24 * 90)).unwrap_or(0) - 24 * 60;
        (Utc::now() + TimeDelta::hours(hours)).to_rfc3339()
    }
}

pub fn graphql_varied(
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

pub fn outside_sla_page(
    server: &Server,
    jwt: &str,
    draws: &Draws,
    products: &Arc<Vec<String>>,
    search: bool,
) -> MakeRequest {
    let (draws, products) = (draws.clone(), products.clone());
    // The searched numbers, `component-<from…996>`: from 100, only the three-digit ones (a thousandth of the
    // titles each); from 0, also the two-digit ones (a hundredth) and the one-digit ones (a tenth).
    let from: u64 = crate::support::env_number("BENCH_SEARCH_FROM", 0).min(996);
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
            filter["search"] = json!(format!("component-{}", from + draws.below(997 - from)));
        }
        json!({ "f": filter })
    })
}

pub fn summary(server: &Server, jwt: &str, draws: &Draws, products: &Arc<Vec<String>>) -> MakeRequest {
    let (draws, products) = (draws.clone(), products.clone());
    graphql_varied(server, jwt, SUMMARY, move || {
        let product = (!draws.chance(20))
            .then(|| products[usize::try_from(draws.below(products.len() as u64)).unwrap_or(0)].clone());
        json!({ "p": product })
    })
}

pub fn member_page(server: &Server, jwt: &str, draws: &Draws) -> MakeRequest {
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

pub fn rest(server: &Server, token: &str, draws: &Draws, offsets: u64, outside_sla: bool) -> MakeRequest {
    let (base, header, draws) = (server.base.clone(), format!("Token {token}"), draws.clone());
    let filter = if outside_sla { "outside_sla=true&active=true&" } else { "" };
    Arc::new(move |client: &reqwest::Client| {
        let url = format!("{base}/api/v2/findings/?{filter}limit=100&offset={}", draws.below(offsets));
        client.get(url).header("authorization", &header)
    })
}

/// `createFindings` every 100 ms (a tenth of the rate each) and an edit every `BENCH_EDIT_EVERY_MS` (20 ms
/// unless said), as the admin.
pub struct Writer {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
    started: Instant,
    created: Arc<AtomicU64>,
    batch: u64,
}

/// What the writer did while the reads were measured.
pub struct Written {
    pub created: u64,
    pub elapsed: Duration,
    pub batch: u64,
    pub batches: Vec<Duration>,
    pub edits: Vec<Duration>,
}

impl Written {
    pub fn batch_ms(&self, quantile: f64) -> f64 {
        quantile_ms(&self.batches, quantile)
    }

    pub fn edit_ms(&self, quantile: f64) -> f64 {
        quantile_ms(&self.edits, quantile)
    }
}

impl Writer {
    /// Each created finding's SLA started up to `started_within_hours` ago (at random; 0: now).
    pub fn start(server: &Server, jwt: &str, products: &[String], per_second: u64, started_within_hours: u64) -> Self {
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
                // Every call's titles are new, as a scanner's are: repeating the same few titles
                // piles equal keys up in the hash and text indexes, which no real import does.
                let mut call = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    call += 1;
                    let inputs: Vec<Value> = (0..batch)
                        .map(|i| {
                            json!({
                                "productId": products[usize::try_from(draws.below(products.len() as u64)).unwrap_or(0)],
                                "title": format!("Written during the bench, call {call} finding {i}"),
                                "severity": SEVERITIES[usize::try_from(draws.below(5)).unwrap_or(0)],
                                "slaStart": (Utc::now() - TimeDelta::hours(i64::try_from(draws.below(started_within_hours.max(1))).unwrap_or(0))).to_rfc3339(),
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
        let edit_every_ms: u64 = crate::support::env_number("BENCH_EDIT_EVERY_MS", 20);
        let editing = {
            let (stop, url, header) = (stop.clone(), url, header);
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let draws = Draws::new(11);
                let mut ticks = tokio::time::interval(Duration::from_millis(edit_every_ms.max(1)));
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

    pub async fn stop(self) -> Written {
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
