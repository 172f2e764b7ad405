//! Importing a scanner report of N findings (default 100,000; a Generic Findings Import JSON built here) into
//! an engagement, then re-importing it with 1 % of its findings replaced (1 % new, 1 % closed, the rest
//! untouched), as `import-scan` and `reimport-scan` do: parse, match, write in one transaction.
//!
//! `cargo bench --bench import` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` for PostgreSQL (an
//! empty database), `BENCH_FINDINGS=N` for another size. Prints the end-to-end time and rate of each and the
//! process's peak RSS.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod support;

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

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
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
        bytes_read: std::sync::Arc::default(),
    };
    let (first, length) = report(total, 0)?;
    let megabytes = length as f64 / 1_048_576.0;
    let started = Instant::now();
    let imported = scan_import::import(&bench.state, &bench.actor, request(first)).await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "import {} findings={total} file_mib={megabytes:.1} seconds={took:.2} findings_per_s={:.0} created={}",
        bench.backend,
        total as f64 / took,
        imported.statistics.created
    );

    let (second, _) = report(total, total / 100)?;
    let started = Instant::now();
    let again = scan_import::reimport(&bench.state, &bench.actor, request(second)).await.map_err(|e| e.detail())?;
    let took = started.elapsed().as_secs_f64();
    let s = &again.statistics;
    println!(
        "reimport {} findings={total} seconds={took:.2} created={} closed={} reactivated={} untouched={}",
        bench.backend, s.created, s.closed, s.reactivated, s.untouched
    );
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    Ok(())
}
