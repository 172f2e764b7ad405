//! Keeping slawatch in step with a DefectDojo of N findings (default 100,000), served by a local imitation
//! of its API in this process (records in the shape of the captured DefectDojo 3.2 responses, about 2.5 KB of
//! JSON each, serialised once beforehand so serving costs little): the first sync (everything), then a run
//! after 1 % of the findings changed status (the incremental path, `o=-last_status_update`), then a full run
//! with nothing changed (the hourly reconciliation).
//!
//! `cargo bench --bench dd_sync` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` for PostgreSQL (an
//! empty database), `BENCH_FINDINGS=N` for another size.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

/// The server's allocator (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use slawatch::clock::Clock;
use slawatch::service::defectdojo_sources::{self, SourceInput};
use slawatch::service::defectdojo_sync;
use support::{Bench, BenchResult};

/// Products, engagements and tests the findings are spread over.
const PRODUCTS: usize = 10;

/// The imitation's lists: each record serialised once, kept in id order, with its status time.
#[derive(Default)]
struct Lists {
    reference: HashMap<String, Vec<String>>,
    /// (id, `last_status_update`, JSON) in id order.
    findings: Vec<(i64, String, String)>,
}

type Shared = (Arc<RwLock<Lists>>, String);

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/defectdojo/api_v2_responses.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let mut record = all["requests"]["finding_detail"]["body"].clone();
    record.as_object_mut().expect("object").remove("prefetch");
    record
}

/// Finding `i`: its status changed `i` seconds after 2026-11-01 (or later, `changed`), spread over the tests.
fn finding(template: &Value, i: usize, changed: bool) -> (i64, String, String) {
    let mut record = template.clone();
    let id = 1_000_000 + i as i64;
    let severities = ["Critical", "High", "Medium", "Low", "Info"];
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").expect("instant")
        + chrono::TimeDelta::seconds(i as i64 + if changed { 2_000_000 } else { 0 });
    let at = at.to_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    record["id"] = json!(id);
    record["title"] = json!(format!("Finding {i} of the nightly scan"));
    record["severity"] = json!(severities[i % severities.len()]);
    record["date"] = json!(format!("2026-11-{:02}", 1 + i % 28));
    record["test"] = json!(100 + i % PRODUCTS);
    record["hash_code"] = json!(format!("{i:064x}"));
    record["last_status_update"] = json!(at);
    if changed {
        record["is_mitigated"] = json!(true);
        record["active"] = json!(false);
        record["mitigated"] = json!(at);
    }
    (id, at, record.to_string())
}

async fn list(
    State((lists, base)): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let lists = lists.read().expect("lock");
    let number = |key: &str, default: usize| query.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (limit, offset) = (number("limit", 20), number("offset", 0));
    let empty = Vec::new();
    let (count, page): (usize, Vec<&str>) = if name == "findings" {
        let mut order: Vec<&(i64, String, String)> = lists.findings.iter().collect();
        if query.get("o").map(String::as_str) == Some("-last_status_update") {
            order.sort_by(|a, b| b.1.cmp(&a.1));
        }
        (order.len(), order.iter().skip(offset).take(limit).map(|r| r.2.as_str()).collect())
    } else {
        let records = lists.reference.get(&name).unwrap_or(&empty);
        (records.len(), records.iter().skip(offset).take(limit).map(String::as_str).collect())
    };
    let next = if offset + limit < count {
        format!("\"{base}/api/v2/{name}/?limit={limit}&offset={}\"", offset + limit)
    } else {
        "null".to_owned()
    };
    let body =
        format!("{{\"count\": {count}, \"next\": {next}, \"previous\": null, \"results\": [{}]}}", page.join(","));
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn line(what: &str, total: usize, took: f64, report: &defectdojo_sync::SyncReport) {
    let f = report.findings;
    println!(
        "{what} findings={total} seconds={took:.2} findings_per_s={:.0} created={} updated={} unchanged={} closed={}",
        total as f64 / took,
        f.created,
        f.updated,
        f.unchanged,
        report.closed
    );
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(100_000);
    // A clock the bench can move to the next full run.
    let bench = Bench::prepare(Clock::manual(chrono::Utc::now()), 0).await?;
    let template = template();
    let lists = Arc::new(RwLock::new(Lists::default()));
    {
        let mut lists = lists.write().expect("lock");
        let reference = |records: Vec<Value>| records.iter().map(Value::to_string).collect::<Vec<_>>();
        let all = |make: &dyn Fn(usize) -> Value| reference((0..PRODUCTS).map(make).collect());
        lists.reference.insert("sla_configurations".into(), reference(vec![json!({ "id": 1, "name": "Default",
            "description": null, "critical": 1, "enforce_critical": true, "high": 7, "enforce_high": true,
            "medium": 30, "enforce_medium": true, "low": 90, "enforce_low": true, "restart_sla_on_reactivation": false })]));
        lists
            .reference
            .insert("product_types".into(), reference(vec![json!({ "id": 1, "name": "Dojo", "description": null })]));
        lists.reference.insert(
            "products".into(),
            all(&|p| {
                json!({ "id": p + 1, "name": format!("dojo-product-{p}"),
            "description": null, "prod_type": 1, "sla_configuration": 1 })
            }),
        );
        lists.reference.insert(
            "engagements".into(),
            all(&|p| {
                json!({ "id": p + 1, "name": "Nightly", "description": null,
            "product": p + 1, "target_start": "2026-11-01", "target_end": "2026-12-31", "status": "In Progress" })
            }),
        );
        lists.reference.insert("tests".into(), all(&|p| json!({ "id": 100 + p, "engagement": p + 1 })));
        lists.findings = (0..total).map(|i| finding(&template, i, false)).collect();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app =
        axum::Router::new().route("/api/v2/{list}/", axum::routing::get(list)).with_state((lists.clone(), url.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let input = SourceInput { url, token: "bench-token".to_owned(), interval_seconds: None };
    let source = defectdojo_sources::create(&bench.state, &bench.actor, input).await.map_err(|e| e.detail())?;
    let run = || defectdojo_sync::run(&bench.state, &bench.actor, source.id, &|_, _| {});

    let started = Instant::now();
    let first = run().await.map_err(|e| e.detail())?;
    line(&format!("first sync {}", bench.backend), total, started.elapsed().as_secs_f64(), &first);

    // 1 % of the findings mitigated in DefectDojo since (their status time moves past the watermark).
    {
        let mut lists = lists.write().expect("lock");
        for i in (0..total).step_by(100) {
            lists.findings[i] = finding(&template, i, true);
        }
    }
    let started = Instant::now();
    let changed = run().await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "incremental sync {} (1 % changed) seconds={took:.2} updated={} unchanged={} full={}",
        bench.backend, changed.findings.updated, changed.findings.unchanged, changed.full
    );

    // The hourly full run, nothing changed: every finding read and compared.
    bench.state.clock.set(bench.state.clock.now() + chrono::TimeDelta::hours(2));
    let started = Instant::now();
    let full = run().await.map_err(|e| e.detail())?;
    line(&format!("full run, nothing changed, {}", bench.backend), total, started.elapsed().as_secs_f64(), &full);
    Ok(())
}
