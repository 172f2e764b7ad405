//! Varied reads at N findings (default 1,000,000) while writes go on: every request different, so no kept
//! answer can serve it (the server runs with `SLAWATCH_KEPT_ANSWERS=false`), and `createFindings` adding
//! `BENCH_WRITES_PER_SECOND` (default 1,000) findings a second with a finding edit every `BENCH_EDIT_EVERY_MS`
//! (default 20) beside them.
//! Measured with the in-memory finding index (the default) and without it (`SLAWATCH_FINDING_INDEX=false`,
//! every read a SQL query), then a bare axum handler as the physical limit, all on the same two cores.
//!
//! `cargo bench --bench varied`; the data set is the `server` bench's (`BENCH_SQLITE_FILE`, `BENCH_REUSE=1`,
//! `BENCH_DATABASE_URL` as there). `BENCH_SECONDS` per measurement (default 10), `BENCH_MODES=index,sql`,
//! `BENCH_ONLY=<words>` to run only the measurements whose names contain one of them,
//! `BENCH_SLA_STARTED_WITHIN_HOURS` how far back the written findings' SLAs started (default 2,880),
//! `BENCH_SEARCH_FROM` the smallest number searched for (`component-<n…996>`; default 0, 100 for only the
//! three-digit searches, which name a thousandth of the findings each).

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod loadgen;
mod server_world;
mod support;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadgen::{MakeRequest, TABLE_HEADER};
use server_world::{BareHandler, Server, prepare_data_set, selected, serve_bare_handler};
use support::{ADMIN, BenchResult, OWNER};
use workload::{Draws, PAGE, Writer, member_page, outside_sla_page, rest, summary};

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

/// How far back the written findings' SLAs started, at random (`BENCH_SLA_STARTED_WITHIN_HOURS`, default
/// 120 days, so each lands at a random place among the data set's deadlines; 0: now, as a scan import's).
fn sla_started_within_hours() -> u64 {
    support::env_number("BENCH_SLA_STARTED_WITHIN_HOURS", 24 * 120)
}

/// One server in `mode` (`index` or `sql`): each varied request at concurrency 1 and 32 under the writes.
async fn measure_mode(
    database_url: &str,
    mode: &str,
    settings: &[(&str, &str)],
    seconds: u64,
    writes_per_second: u64,
) -> BenchResult<Vec<String>> {
    // Each mode writes to its own copy of the data set, so both start from the same million.
    let database_url = server_world::working_copy(database_url, mode).await?;
    let server = Server::start_with(&database_url, &[], settings)?;
    server.wait_ready().await?;
    let admin = server.login(ADMIN).await?;
    let owner = server.login(OWNER).await?;
    let api_token = server.api_token(&admin).await?;
    let products = server.product_ids(&admin).await?;
    // The index loads in the background from start-up (SQL answers meanwhile); its log line says how long.
    tokio::time::sleep(Duration::from_secs(30)).await;
    println!("{mode}: idle 30 s after start: {}", server.memory()?);
    let started = Instant::now();
    server.graphql(&admin, "{ findings(filter: {outsideSla: true}) { totalCount } }").await?;
    println!("{mode}: first outsideSla count {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    let writing = Writer::start(&server, &admin, &products, writes_per_second, sla_started_within_hours());
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
            let cpu_before = server.cpu_seconds()?;
            let report =
                loadgen::run(make.clone(), concurrency, Duration::from_secs(1), Duration::from_secs(seconds)).await;
            // The second of warm-up is taken out in proportion; the writer's work is in it too.
            let measured = report.elapsed.as_secs_f64() / (report.elapsed.as_secs_f64() + 1.0);
            let cpu = (server.cpu_seconds()? - cpu_before) * measured;
            println!(
                "{name} c{concurrency}: the server's CPU {:.3} ms a request (the writer's share included)",
                cpu * 1000.0 / report.requests.max(1) as f64
            );
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
    server_world::remove_working_copy(&database_url).await;
    Ok(rows)
}
