//! A small closed-loop HTTP load generator: `concurrency` workers, each with its own keep-alive connection,
//! send the same request back to back for a fixed time and record every latency.
// Each bench uses part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

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
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at `quantile` (0.0–1.0, nearest rank), in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies.len() as f64) * quantile).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1].as_secs_f64() * 1000.0
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

/// Runs `make` with `concurrency` workers for `warm_up` (not recorded), then for `duration`.
pub async fn run(make: MakeRequest, concurrency: usize, warm_up: Duration, duration: Duration) -> LoadReport {
    let started = Instant::now();
    let measure_from = started + warm_up;
    let stop_at = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let make = make.clone();
            tokio::spawn(async move { worker(make, measure_from, stop_at).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        if let Ok((mut seen, failed)) = worker.await {
            latencies.append(&mut seen);
            failures += failed;
        }
    }
    latencies.sort();
    LoadReport { concurrency, requests: latencies.len(), failures, elapsed: duration, latencies }
}

async fn worker(make: MakeRequest, measure_from: Instant, stop_at: Instant) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap_or_default();
    let mut latencies = Vec::with_capacity(16_384);
    let mut failures = 0;
    loop {
        let sent = Instant::now();
        if sent >= stop_at {
            break;
        }
        let ok = match make(&client).send().await {
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
                latencies.push(done - sent);
                if !ok {
                    failures += 1;
                }
            }
        }
    }
    (latencies, failures)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
