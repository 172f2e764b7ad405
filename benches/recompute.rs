//! Deadline recomputation after changing the default SLA configuration, on N findings (default 100,000).
//!
//! `cargo bench --bench recompute` (SQLite in a temp dir); set `BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL (the database must be empty) and `BENCH_FINDINGS=N` for another size. Prints the median and
//! the slowest of the repeated runs. The recomputation is a single `UPDATE findings SET …` statement.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use slawatch::clock::Clock;
use slawatch::domain::Severity;
use slawatch::service::findings::NewFinding;
use slawatch::service::sla_configs::{self, SlaConfigInput};
use support::{Bench, BenchResult, median_and_p99};

const SEVERITIES: [Severity; 5] = Severity::ALL;
const PRODUCTS: usize = 50;
const RUNS: usize = 7;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(100_000);
    let bench = Bench::prepare(Clock::system(), PRODUCTS).await?;
    let backend = bench.backend;
    let now = bench.state.clock.now();
    bench
        .load(total, |i, product_id| NewFinding {
            sla_start: Some(now - TimeDelta::minutes((i % 200_000) as i64)),
            is_mitigated: Some(i % 7 == 0),
            ..NewFinding::new(product_id, format!("finding {i}"), SEVERITIES[i % SEVERITIES.len()])
        })
        .await?;

    let default_id = sla_configs::default_config(&bench.state.db).await.map_err(|e| e.detail())?.id;
    let mut timings: Vec<Duration> = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let input = SlaConfigInput { high: Some(if run % 2 == 0 { 5 } else { 7 }), ..SlaConfigInput::default() };
        let started = Instant::now();
        let (_, recomputed) =
            sla_configs::update(&bench.state, &bench.actor, default_id, input).await.map_err(|e| e.detail())?;
        timings.push(started.elapsed());
        assert_eq!(recomputed as usize, total, "every finding recomputed");
    }
    let (median, slowest) = median_and_p99(&mut timings);
    println!("recompute {backend} findings={total} runs={RUNS} median_ms={median:.1} max_ms={slowest:.1}");
    Ok(())
}
