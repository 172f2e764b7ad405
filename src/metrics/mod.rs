//! Prometheus metrics: the counters and histograms this process keeps (deliveries, sweeps), held by
//! `AppState`; `endpoint.rs` serves them at `GET /metrics` with the finding gauges read at each scrape.

pub mod endpoint;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

/// A scheduled job (`task`, not `job`: Prometheus gives `job` to the scrape).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabel {
    task: String,
}

/// The process's own metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    delivery_latency: Family<ChannelLabel, Histogram>,
    sweep_duration: Histogram,
    sweep_examined: Counter,
    sla_events: Counter,
    job_leases: Family<TaskLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register("slawatch_deliveries", "Delivery attempts by channel and outcome", deliveries.clone());
        let delivery_latency = Family::<ChannelLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 4.0, 10))
        });
        registry.register(
            "slawatch_delivery_latency_seconds",
            "Time from a notification's creation to its delivery, by channel",
            delivery_latency.clone(),
        );
        let sweep_duration = Histogram::new(exponential_buckets(0.001, 4.0, 10));
        registry.register("slawatch_sla_sweep_duration_seconds", "Duration of SLA sweeps", sweep_duration.clone());
        let sweep_examined = Counter::default();
        registry.register(
            "slawatch_sla_sweep_findings_examined",
            "Findings whose next SLA event had come, examined by sweeps",
            sweep_examined.clone(),
        );
        let sla_events = Counter::default();
        registry.register("slawatch_sla_events", "SLA events emitted by sweeps", sla_events.clone());
        let job_leases = Family::<TaskLabel, Gauge>::default();
        registry.register(
            "slawatch_job_lease_held",
            "Whether this instance runs a scheduled job (1): holds its lease, or runs on SQLite alone",
            job_leases.clone(),
        );
        Self { registry, deliveries, delivery_latency, sweep_duration, sweep_examined, sla_events, job_leases }
    }
}

impl Metrics {
    /// One delivery attempt: `outcome` is `delivered`, `retry`, `deferred` or `dead`.
    pub fn delivery(&self, channel: &str, outcome: &str, latency_seconds: Option<i64>) {
        let labels = DeliveryLabels { channel: channel.to_owned(), outcome: outcome.to_owned() };
        self.deliveries.get_or_create(&labels).inc();
        if let Some(seconds) = latency_seconds {
            let label = ChannelLabel { channel: channel.to_owned() };
            self.delivery_latency.get_or_create(&label).observe(seconds.max(0) as f64);
        }
    }

    /// Whether this instance holds the lease of the scheduled job `task` now.
    pub fn job_lease(&self, task: &str, held: bool) {
        self.job_leases.get_or_create(&TaskLabel { task: task.to_owned() }).set(i64::from(held));
    }

    /// One sweep.
    pub fn sweep(&self, elapsed: std::time::Duration, examined: usize, emitted: usize) {
        self.sweep_duration.observe(elapsed.as_secs_f64());
        self.sweep_examined.inc_by(examined as u64);
        self.sla_events.inc_by(emitted as u64);
    }
}

impl Metrics {
    /// The process's metrics with SQLite's writer turn times (`db::TurnTimes`; none on PostgreSQL).
    #[must_use]
    pub fn with_turn_times(times: Option<&crate::db::TurnTimes>) -> Self {
        let mut metrics = Self::default();
        if let Some(times) = times {
            metrics.registry.register(
                "slawatch_write_turn_wait_seconds",
                "SQLite: how long a write waited for the writers before it, by where in the code it began",
                times.waited.clone(),
            );
            metrics.registry.register(
                "slawatch_write_turn_held_seconds",
                "SQLite: how long a write held the one writer's turn (the writers after it waited), \
                 by where in the code it began",
                times.held.clone(),
            );
        }
        metrics
    }

    /// The registry the counters are in, for the endpoint to encode.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}
