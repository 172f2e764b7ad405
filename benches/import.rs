//! Importing a scanner report of N findings (default 100,000; a Generic Findings Import JSON built here) into
//! an engagement, then re-importing it with 1 % of its findings replaced (1 % new, 1 % closed, the rest
//! untouched), as `import-scan` and `reimport-scan` do: parse, match, write in one transaction.
//!
//! `cargo bench --bench import` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` for PostgreSQL (an
//! empty database), `BENCH_FINDINGS=N` for another size. Prints the end-to-end time and rate of each and the
//! process's peak RSS.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

/// The server's allocator (`src/main.rs`), so the figures are what `slawatch serve` and `slawatch import` do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;
use slawatch::clock::Clock;
use slawatch::domain::Severity;
use slawatch::domain::scan_type::ScanType;
use slawatch::service::engagements::{self, EngagementInput};
use slawatch::service::scan_context::ImportTarget;
use slawatch::service::scan_import::{self, ImportRequest};
use support::{Bench, BenchResult, severity_of};

/// A Generic Findings Import report of `total` findings in a temporary file, written one finding at a time
/// (the bench's own memory stays out of the peak RSS); `replaced` of them (spread evenly) get another title.
fn report(total: usize, replaced: usize) -> BenchResult<(std::fs::File, u64)> {
    use std::io::{Seek, Write};
    let every = total.checked_div(replaced).unwrap_or(usize::MAX);
    let mut out = std::io::BufWriter::new(tempfile::tempfile()?);
    out.write_all(b"{\"findings\": [")?;
    for i in 0..total {
        let (severity, _) = severity_of(i);
        let renamed = i % every == every - 1;
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(
            &mut out,
            &json!({
                "title": if renamed { format!("replacement finding {i}") } else { format!("finding {i}") },
                "severity": severity.as_str(),
                "description": format!("Finding {i} of the nightly scan of service {}.", i % 61),
                "file_path": format!("src/service_{}/handler.rs", i % 97),
                "line": i % 500 + 1,
                "cwe": 79 + i % 40,
            }),
        )?;
    }
    out.write_all(b"]}")?;
    let mut file = out.into_inner().map_err(|e| e.to_string())?;
    let length = file.stream_position()?;
    Ok((file, length))
}

/// A field of `/proc/self/status` in MiB (`VmHWM`: peak resident; `RssAnon`: resident memory the process
/// allocated, as opposed to `RssFile`, SQLite's memory-mapped database pages).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The largest `RssAnon` seen while it runs (sampled every 5 ms on its own thread): the import's own memory.
struct AnonPeak {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl AnonPeak {
    fn start() -> Self {
        let (peak_kib, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let sampler = {
            let (peak_kib, stop) = (peak_kib.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak_kib.fetch_max((status_mib("RssAnon") * 1024.0) as u64, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        Self { peak_kib, stop, sampler: Some(sampler) }
    }

    fn mib(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(100_000);
    let bench = Bench::prepare(Clock::system(), 1).await?;
    let input = EngagementInput {
        product_id: Some(bench.product_ids[0]),
        name: Some("Nightly".to_owned()),
        ..Default::default()
    };
    let engagement = engagements::create(&bench.state, &bench.actor, input).await.map_err(|e| e.detail())?;
    let request = |file: std::fs::File| ImportRequest {
        scan_type: ScanType::Generic,
        file,
        target: ImportTarget::Engagement(engagement.id),
        scan_date: None,
        minimum_severity: Severity::Info,
        active: None,
        verified: None,
        close_old_findings: None,
        test_title: None,
        tags: None,
        bytes_read: Arc::default(),
    };
    let (first, length) = report(total, 0)?;
    let megabytes = length as f64 / 1_048_576.0;
    let before_mib = status_mib("RssAnon");
    let anon = AnonPeak::start();
    let started = Instant::now();
    let imported = scan_import::import(&bench.state, &bench.actor, request(first)).await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "import {} findings={total} file_mib={megabytes:.1} seconds={took:.2} findings_per_s={:.0} created={} \
         anon_mib_before={before_mib:.0} anon_mib_peak={:.0}",
        bench.backend,
        total as f64 / took,
        imported.statistics.created,
        anon.mib()
    );

    let (second, _) = report(total, total / 100)?;
    let anon = AnonPeak::start();
    let started = Instant::now();
    let again = scan_import::reimport(&bench.state, &bench.actor, request(second)).await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    let s = &again.statistics;
    println!(
        "reimport {} findings={total} seconds={took:.2} created={} closed={} reactivated={} untouched={} \
         anon_mib_peak={:.0}",
        bench.backend,
        s.created,
        s.closed,
        s.reactivated,
        s.untouched,
        anon.mib()
    );
    // Another client writing while a report is re-imported: each of its writes (a new engagement, a small
    // transaction of its own) waits for the import's one transaction on SQLite.
    let (third, _) = report(total, total / 50)?;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (state, actor, writing) = (bench.state.clone(), bench.actor.clone(), writing.clone());
        let product_id = bench.product_ids[0];
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while writing.load(Ordering::Relaxed) {
                let input = EngagementInput {
                    product_id: Some(product_id),
                    name: Some(format!("meanwhile {}", waits.len())),
                    ..Default::default()
                };
                let started = Instant::now();
                let done = engagements::create(&state, &actor, input).await;
                waits.push((started.elapsed().as_secs_f64() * 1000.0, done.is_ok()));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            waits
        })
    };
    let started = Instant::now();
    scan_import::reimport(&bench.state, &bench.actor, request(third)).await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    writing.store(false, Ordering::Relaxed);
    let mut waits = writer.await?;
    let failed = waits.iter().filter(|(_, ok)| !ok).count();
    waits.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).map_or(0.0, |w| w.0);
    println!(
        "concurrent writes during a {took:.2} s re-import: {} writes, p50={:.0} ms p99={:.0} ms max={:.0} ms failed={failed}",
        waits.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    println!(
        "peak RSS {:.0} MiB (file-backed now, SQLite's mapped database: {:.0} MiB)",
        status_mib("VmHWM"),
        status_mib("RssFile")
    );
    Ok(())
}
