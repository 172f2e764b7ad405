//! A small HTTP load generator: `concurrency` workers, each with its own keep-alive connection, send requests
//! for a fixed time and record every latency — back to back (closed loop: the rate is what the server
//! manages) or at an offered rate (open loop: requests arrive at random as independent users' do, and a
//! latency counts from when the request was due, so a queue of late ones shows in it).
// Each bench uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};

/// A request may name its kind in this header (the server ignores it); the report then gives each kind's
/// latencies too.
pub const KIND_HEADER: &str = "x-bench-kind";

/// Builds one request on a worker's client.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

/// What one measurement saw.
pub struct LoadReport {
    pub concurrency: usize,
    pub requests: usize,
    /// Responses that were not 2xx or that carried GraphQL `errors`.
    pub failures: usize,
    pub elapsed: Duration,
    latencies: Vec<Duration>,
    /// The latencies of the requests that named their kind, by kind, sorted.
    kinds: BTreeMap<String, Vec<Duration>>,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at `quantile` (0.0–1.0, nearest rank), in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        quantile_ms(&self.latencies, quantile)
    }

    /// Each kind's requests, p50 and p99 in milliseconds, and how many took longer than `over`, as
    /// `kind n p50/p99 >k`, comma-separated: which kinds make the p99 of all of them.
    pub fn kinds_line(&self, over: Duration) -> String {
        let each = self.kinds.iter().map(|(kind, seen)| {
            let slower = seen.len() - seen.partition_point(|latency| *latency <= over);
            format!("{kind} {} {:.1}/{:.1} >{slower}", seen.len(), quantile_ms(seen, 0.5), quantile_ms(seen, 0.99))
        });
        each.collect::<Vec<_>>().join(", ")
    }

    /// One Markdown table row: name, concurrency, requests/s, p50, p90, p99, max, requests, failures.
    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            self.concurrency,
            self.per_second(),
            self.latency_ms(0.5),
            self.latency_ms(0.9),
            self.latency_ms(0.99),
            self.latency_ms(1.0),
            self.requests,
            self.failures
        )
    }
}

/// The header of `LoadReport::row`'s table.
pub const TABLE_HEADER: &str = "| request | concurrency | requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | failures |\n|---|---|---|---|---|---|---|---|---|";

/// The latency at `quantile` (0.0–1.0, nearest rank) of sorted latencies, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * quantile).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// When the workers take their next request: as soon as they are free, or when the next one is due.
#[derive(Clone)]
enum Pace {
    BackToBack,
    /// Due instants, drawn in advance, taken by whichever worker is free first.
    Due(Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>),
}

/// Runs `make` with `concurrency` workers back to back for `warm_up` (not recorded), then for `duration`.
pub async fn run(make: MakeRequest, concurrency: usize, warm_up: Duration, duration: Duration) -> LoadReport {
    let measure_from = Instant::now() + warm_up;
    measure(make, concurrency, Pace::BackToBack, measure_from, duration).await
}

/// Runs `make` for `duration` at `per_second` requests a second on average, due at random (exponentially
/// distributed gaps, as independent users' requests arrive), sent by `concurrency` workers; a request waits
/// for a free worker when all are busy, and its latency counts from when it was due. `uniform` draws the gaps
/// (a number in [0, 1) each).
pub async fn run_at_rate(
    make: MakeRequest,
    concurrency: usize,
    per_second: f64,
    duration: Duration,
    mut uniform: impl FnMut() -> f64 + Send + 'static,
) -> LoadReport {
    let (due, pending) = mpsc::unbounded_channel();
    let measure_from = Instant::now();
    let stop_at = measure_from + duration;
    tokio::spawn(async move {
        let mut at = measure_from;
        while at < stop_at {
            // An exponential gap, by inversion.
            at += Duration::from_secs_f64(-(1.0 - uniform()).ln() / per_second);
            tokio::time::sleep_until(at.into()).await;
            if due.send(at).is_err() {
                break;
            }
        }
    });
    let pace = Pace::Due(Arc::new(Mutex::new(pending)));
    measure(make, concurrency, pace, measure_from, duration).await
}

async fn measure(
    make: MakeRequest,
    concurrency: usize,
    pace: Pace,
    measure_from: Instant,
    duration: Duration,
) -> LoadReport {
    let stop_at = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (make, pace) = (make.clone(), pace.clone());
            tokio::spawn(async move { worker(make, pace, measure_from, stop_at).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut kinds: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut failures = 0;
    for worker in workers {
        if let Ok(seen) = worker.await {
            for (kind, latency) in seen.kinds {
                kinds.entry(kind).or_default().push(latency);
            }
            latencies.extend(seen.latencies);
            failures += seen.failures;
        }
    }
    latencies.sort();
    for seen in kinds.values_mut() {
        seen.sort();
    }
    LoadReport { concurrency, requests: latencies.len(), failures, elapsed: duration, latencies, kinds }
}

/// What one worker saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    kinds: Vec<(String, Duration)>,
    failures: usize,
}

async fn worker(make: MakeRequest, pace: Pace, measure_from: Instant, stop_at: Instant) -> Seen {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap_or_default();
    let mut seen = Seen { latencies: Vec::with_capacity(16_384), ..Seen::default() };
    loop {
        let sent = match &pace {
            Pace::BackToBack => Instant::now(),
            Pace::Due(pending) => match pending.lock().await.recv().await {
                Some(due) => due,
                None => break,
            },
        };
        if sent >= stop_at {
            break;
        }
        let Ok(request) = make(&client).build() else {
            seen.failures += 1;
            continue;
        };
        let kind = request.headers().get(KIND_HEADER).and_then(|kind| kind.to_str().ok()).map(str::to_owned);
        let ok = match client.execute(request).await {
            Ok(response) => {
                let success = response.status().is_success();
                match response.bytes().await {
                    Ok(body) => success && !contains(&body, b"\"errors\""),
                    Err(_) => false,
                }
            }
            Err(_) => false,
        };
        if sent >= measure_from {
            let done = Instant::now();
            if done <= stop_at {
                seen.latencies.push(done - sent);
                if let Some(kind) = kind {
                    seen.kinds.push((kind, done - sent));
                }
                if !ok {
                    seen.failures += 1;
                }
            }
        }
    }
    seen
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
