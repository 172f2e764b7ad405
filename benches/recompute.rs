//! Deadline recomputation after changing the default SLA configuration, on N findings (default 100,000).
//!
//! `cargo bench --bench recompute` (SQLite in a temp dir); set `BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL (the database must be empty) and `BENCH_FINDINGS=N` for another size. Prints the median and
//! the slowest of the repeated runs. The recomputation is a single `UPDATE findings SET …` statement.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::service::findings::NewFinding;
use slawatch::service::products::ProductInput;
use slawatch::service::sla_configs::SlaConfigInput;
use slawatch::service::{Actor, findings, product_types, products, sla_configs};
use slawatch::startup;

const SEVERITIES: [&str; 5] = ["Critical", "High", "Medium", "Low", "Info"];
const PRODUCTS: usize = 50;
const RUNS: usize = 7;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::var("BENCH_FINDINGS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
    let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let config = Config { database_url, ..Config::default() };
    let state = startup::prepare_state(config, Clock::system()).await.map_err(|e| e.to_string())?;
    let actor = Actor { user_id: 0, username: "bench".to_owned(), is_superuser: true };
    let fail = |e: slawatch::error::ServiceError| e.detail();

    let product_type = product_types::create(&state, &actor, "Bench", None).await.map_err(fail)?;
    let mut product_ids = Vec::new();
    for index in 0..PRODUCTS {
        let input = ProductInput {
            name: Some(format!("bench-product-{index}")),
            product_type_id: Some(product_type.id),
            ..ProductInput::default()
        };
        product_ids.push(products::create(&state, &actor, input).await.map_err(fail)?.id);
    }
    let loading = Instant::now();
    let now = state.clock.now();
    let mut created = 0;
    while created < total {
        let batch: Vec<NewFinding> = (created..total.min(created + 1000))
            .map(|i| NewFinding {
                product_id: product_ids[i % PRODUCTS],
                title: format!("finding {i}"),
                severity: SEVERITIES[i % SEVERITIES.len()].to_owned(),
                sla_start: Some(now - TimeDelta::minutes((i % 200_000) as i64)),
                is_mitigated: Some(i % 7 == 0),
                ..NewFinding::default()
            })
            .collect();
        created += findings::create_many(&state, &actor, batch).await.map_err(fail)?.len();
    }
    eprintln!("{backend}: loaded {created} findings in {:.1} s", loading.elapsed().as_secs_f64());

    let default_id = sla_configs::default_config(&state.db).await.map_err(fail)?.id;
    let mut timings: Vec<Duration> = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let input = SlaConfigInput { high: Some(if run % 2 == 0 { 5 } else { 7 }), ..SlaConfigInput::default() };
        let started = Instant::now();
        let (_, recomputed) = sla_configs::update(&state, &actor, default_id, input).await.map_err(fail)?;
        timings.push(started.elapsed());
        assert_eq!(recomputed as usize, total, "every finding recomputed");
    }
    timings.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "recompute {backend} findings={total} runs={RUNS} median_ms={:.1} max_ms={:.1}",
        ms(timings[RUNS / 2]),
        ms(timings[RUNS - 1])
    );
    Ok(())
}
