//! The SLA sweep on N findings (default 1,000,000) of which 1 % are due, and with none due.
//!
//! `cargo bench --bench sweep` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` for PostgreSQL (an
//! empty database) and `BENCH_FINDINGS=N` for another size. The clock is fixed, so the data set is the same
//! every time: 100 products (each with a member, plus the superuser: two in-app alerts per notification), a
//! realistic mix of severities, one finding in seven mitigated, open findings started at spread instants
//! inside the first 45 % of their SLA period (nothing due), and 1 % started 60 % of their period ago (their
//! 50 % `sla_breach_approaching` is due). Each due run sweeps those findings (one event, one notification
//! and two deliveries each), then the bench puts them back (untimed) for the next run. `BENCH_REUSE=1` with
//! `BENCH_DATABASE_URL` sweeps a database an earlier run of this bench loaded (its findings are put back
//! after each run), for trying a change without loading a million findings again.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta};
use sea_orm::ConnectionTrait;
use slawatch::clock::Clock;
use slawatch::service::findings::NewFinding;
use slawatch::service::sla_sweep;
use support::{Bench, BenchResult, median_and_p99, severity_of};

const PRODUCTS: usize = 100;
const DUE_RUNS: usize = 11;
const IDLE_RUNS: usize = 1001;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(1_000_000);
    let due = total / 100;
    let now = DateTime::from_timestamp(1_795_000_000, 0).ok_or("bad instant")?;
    let reuse = std::env::var("BENCH_REUSE").is_ok_and(|v| v == "1");
    let bench = if reuse {
        Bench::reuse(Clock::manual(now)).await?
    } else {
        Bench::prepare(Clock::manual(now), PRODUCTS).await?
    };
    let backend = bench.backend;

    // The due findings come last, so their ids are one range.
    if !reuse {
        bench
            .load(total, |i, product_id| {
                if i >= total - due {
                    let (severity, days) = severity_of(i % 18); // never Info
                    return NewFinding {
                        sla_start: Some(now - TimeDelta::seconds(days * 86_400 * 6 / 10)),
                        ..NewFinding::new(product_id, format!("due finding {i}"), severity)
                    };
                }
                let (severity, days) = severity_of(i);
                let fraction = (i * 7919 % 1000) as i64; // spread over [0, 45 %) of the period
                NewFinding {
                    sla_start: Some(now - TimeDelta::seconds(days * 86_400 * 45 * fraction / 100_000)),
                    is_mitigated: Some(i % 7 == 3),
                    ..NewFinding::new(product_id, format!("finding {i}"), severity)
                }
            })
            .await?;
    }

    let first_due: i64 =
        scalar(&bench, "SELECT CAST(MIN(id) AS BIGINT) FROM findings WHERE title LIKE 'due finding %'").await?;
    if reuse {
        put_back(&bench, first_due).await?; // the last run ended with its due findings swept
    }
    let deliveries_before: i64 = scalar(&bench, "SELECT COUNT(*) FROM deliveries").await?;
    let mut due_timings: Vec<Duration> = Vec::with_capacity(DUE_RUNS);
    for _ in 0..DUE_RUNS {
        let started = Instant::now();
        let report = sla_sweep::sweep(&bench.state).await.map_err(|e| e.detail())?;
        due_timings.push(started.elapsed());
        eprintln!("  due run: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!((report.examined, report.emitted), (due, due), "every due finding swept, one event each");
        put_back(&bench, first_due).await?;
    }
    let deliveries: i64 = scalar(&bench, "SELECT COUNT(*) FROM deliveries").await?;
    assert_eq!(deliveries, deliveries_before, "put back between runs");

    sla_sweep::sweep(&bench.state).await.map_err(|e| e.detail())?;
    let mut idle_timings: Vec<Duration> = Vec::with_capacity(IDLE_RUNS);
    for _ in 0..IDLE_RUNS {
        let started = Instant::now();
        let report = sla_sweep::sweep(&bench.state).await.map_err(|e| e.detail())?;
        idle_timings.push(started.elapsed());
        assert_eq!(report.examined, 0, "nothing due");
    }

    let (due_median, due_p99) = median_and_p99(&mut due_timings);
    let (idle_median, idle_p99) = median_and_p99(&mut idle_timings);
    println!(
        "sweep {backend} findings={total} due={due} runs={DUE_RUNS} median_ms={due_median:.1} max_ms={due_p99:.1}"
    );
    println!("sweep {backend} findings={total} due=0 runs={IDLE_RUNS} median_ms={idle_median:.3} p99_ms={idle_p99:.3}");
    Ok(())
}

/// Makes the due findings due again, as before the first run: their events, notifications and deliveries
/// go, and their next event is the 50 % threshold again, in a new cycle.
async fn put_back(bench: &Bench, first_due: i64) -> BenchResult<()> {
    let db = &bench.state.db;
    for sql in [
        format!(
            "DELETE FROM deliveries WHERE notification_id IN (SELECT id FROM notifications WHERE finding_id >= {first_due})"
        ),
        format!("DELETE FROM sla_events WHERE finding_id >= {first_due}"),
        format!("DELETE FROM notifications WHERE finding_id >= {first_due}"),
        // A new cycle, so the next run's events and dedupe keys are new keys, as a real sweep's are: the
        // same keys again would meet the deleted rows' index entries until a vacuum.
        format!(
            "UPDATE findings SET next_sla_event_at = sla_approaching_at, sla_cycle = sla_cycle + 1 WHERE id >= {first_due}"
        ),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

async fn scalar(bench: &Bench, sql: &str) -> BenchResult<i64> {
    let backend = bench.state.db.get_database_backend();
    let row = bench
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}
