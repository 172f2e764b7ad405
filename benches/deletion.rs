//! Deleting findings, engagements and products at N findings (default 1,000,000) with their notification
//! history, as `deleteFinding`, `deleteEngagement` and `deleteProduct` do.
//!
//! `cargo bench --bench deletion` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` for PostgreSQL
//! (an empty database), `BENCH_FINDINGS=N` for another size, `BENCH_PRODUCT_DELETES=K` (default 3, 0 for
//! none). Each delete's foreign-key actions must find the rows that refer to the deleted one; without an
//! index on the referring column that is a scan of the whole referring table per deleted row, which is what
//! this bench shows.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use slawatch::clock::Clock;
use slawatch::domain::{FindingId, ProductId};
use slawatch::entity::finding;
use slawatch::service::engagements::{self, EngagementInput};
use slawatch::service::findings::{self, NewFinding};
use slawatch::service::products;
use support::{Bench, BenchResult, median_and_p99, severity_of};

const PRODUCTS: usize = 100;
const FINDING_DELETES: usize = 21;
const ENGAGEMENT_DELETES: usize = 5;
const DAY: i64 = 86_400;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(1_000_000);
    let bench = Bench::prepare(Clock::system(), PRODUCTS).await?;
    let backend = bench.backend;
    let now = bench.state.clock.now();
    bench.load(total, |i, product_id| with_history(i, product_id, now)).await?;

    let started = Instant::now();
    let events = support::sweep_until_idle(&bench.state).await?;
    eprintln!(
        "{backend}: swept the history, {events} SLA events (one notification each) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Single findings of the last product, which the product deletions below leave alone.
    let last_product = *bench.product_ids.last().ok_or("no products")?;
    let victims: Vec<FindingId> = finding::Entity::find()
        .select_only()
        .column(finding::Column::Id)
        .filter(finding::Column::ProductId.eq(last_product))
        .limit(FINDING_DELETES as u64)
        .into_tuple()
        .all(&bench.state.db)
        .await?;
    let mut timings = Vec::with_capacity(victims.len());
    for id in victims {
        let started = Instant::now();
        findings::delete(&bench.state, &bench.actor, id).await.map_err(|e| e.detail())?;
        timings.push(started.elapsed());
    }
    report(backend, total, "deleteFinding", &mut timings);

    let mut timings = Vec::with_capacity(ENGAGEMENT_DELETES);
    for run in 0..ENGAGEMENT_DELETES {
        let input = EngagementInput {
            product_id: Some(last_product),
            name: Some(format!("bench engagement {run}")),
            ..EngagementInput::default()
        };
        let engagement = engagements::create(&bench.state, &bench.actor, input).await.map_err(|e| e.detail())?;
        let started = Instant::now();
        engagements::delete(&bench.state, &bench.actor, engagement.id).await.map_err(|e| e.detail())?;
        timings.push(started.elapsed());
    }
    report(backend, total, "deleteEngagement", &mut timings);

    let product_deletes = support::env_number("BENCH_PRODUCT_DELETES", 3);
    if product_deletes == 0 {
        return Ok(());
    }
    let mut timings = Vec::with_capacity(product_deletes);
    for product_id in bench.product_ids.iter().take(product_deletes.min(PRODUCTS - 1)) {
        let started = Instant::now();
        products::delete(&bench.state, &bench.actor, *product_id).await.map_err(|e| e.detail())?;
        timings.push(started.elapsed());
    }
    let per_product = total / PRODUCTS;
    report(backend, total, &format!("deleteProduct ({per_product} findings each)"), &mut timings);
    Ok(())
}

/// One finding in three open, started at a spread instant within twice its period, so most of them have
/// an approaching event and half of them a breach; the rest fixed.
fn with_history(index: usize, product_id: ProductId, now: DateTime<Utc>) -> NewFinding {
    let (severity, days) = severity_of(index);
    let spread = (index as i64).wrapping_mul(7_919_993).rem_euclid(2 * days.max(1) * DAY);
    NewFinding {
        sla_start: Some(now - TimeDelta::seconds(spread)),
        is_mitigated: Some(!index.is_multiple_of(3)),
        ..NewFinding::new(product_id, format!("finding {index}"), severity)
    }
}

/// Prints the median and the slowest (with so few runs, the 99th percentile is the slowest).
fn report(backend: &str, total: usize, what: &str, timings: &mut [Duration]) {
    let runs = timings.len();
    let (median, slowest) = median_and_p99(timings);
    println!("{what} {backend} findings={total} runs={runs} median_ms={median:.1} max_ms={slowest:.1}");
}
