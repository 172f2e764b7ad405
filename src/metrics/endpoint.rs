//! `GET /metrics`: counters and histograms kept by this process (deliveries, sweeps)
//! and finding gauges read from the database at each scrape, so every instance reports the same counts.
//! Served in Prometheus' text format (0.0.4), which `promtool check metrics` lints cleanly.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode_registry;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::domain::Severity;
use crate::error::{ServiceError, ServiceResult};
use crate::security::token;
use crate::service::auth::{self, Identity};
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    product: String,
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// The finding metrics at this instant.
struct FindingGauges {
    registry: Registry,
    /// Breached findings per lower-case severity, for the runbook's metric.
    breaches: Vec<(String, i64)>,
}

/// Open and breached (open and at or past the deadline, as `outsideSla`) findings per product and severity,
/// and this instance's live subscriptions and finding index memory.
async fn finding_gauges(state: &AppState) -> ServiceResult<FindingGauges> {
    let counts = crate::service::finding_counts::open_and_breached(state).await?;
    let open = Family::<FindingLabels, Gauge>::default();
    let breached = Family::<FindingLabels, Gauge>::default();
    let approaching = Family::<FindingLabels, Gauge>::default();
    let mut per_severity: Vec<(String, i64)> = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low]
        .iter()
        .map(|s| (s.as_str().to_lowercase(), 0))
        .collect();
    for count in counts {
        let labels = FindingLabels { product: count.product, severity: count.severity.as_str().to_lowercase() };
        open.get_or_create(&labels).set(count.open);
        breached.get_or_create(&labels).set(count.breached);
        approaching.get_or_create(&labels).set(count.approaching);
        if let Some(slot) = per_severity.iter_mut().find(|(severity, _)| *severity == labels.severity) {
            slot.1 += count.breached;
        }
    }
    let mut registry = Registry::default();
    registry.register("slawatch_findings_open", "Open findings by product and severity", open);
    registry.register(
        "slawatch_findings_breached",
        "Open findings at or past their SLA deadline by product and severity",
        breached,
    );
    registry.register(
        "slawatch_findings_approaching",
        "Open findings past an SLA threshold and not yet at their deadline by product and severity",
        approaching,
    );
    let statuses = Family::<StatusLabel, Gauge>::default();
    for (status, count) in crate::service::deliveries::count_by_status(state).await? {
        statuses.get_or_create(&StatusLabel { status: status.as_str().to_lowercase() }).set(count);
    }
    registry.register("slawatch_deliveries_in_status", "Notification deliveries in each status", statuses);
    let subscriptions = Gauge::<i64>::default();
    subscriptions.set(i64::try_from(state.live.subscriber_count()).unwrap_or(i64::MAX));
    registry.register("slawatch_live_subscriptions", "GraphQL subscriptions listening on this instance", subscriptions);
    let index_bytes = Gauge::<i64>::default();
    index_bytes.set(i64::try_from(crate::service::finding_index::heap_bytes(state)).unwrap_or(i64::MAX));
    registry.register(
        "slawatch_finding_index_bytes",
        "Memory the in-memory finding index holds on this instance (0 while off or loading)",
        index_bytes,
    );
    Ok(FindingGauges { registry, breaches: per_severity })
}

/// `defectdojo_sla_breach_count{severity}`, the runbook exporter's series, for its Grafana dashboard. A
/// `_count` series may only belong to a summary or histogram, so it is the count of a summary whose sum is
/// the same number.
fn runbook_breach_series(breaches: &[(String, i64)]) -> String {
    let mut text = String::from(
        "# HELP defectdojo_sla_breach Open findings past their SLA deadline by severity \
         (read defectdojo_sla_breach_count, as the runbook's exporter wrote it).\n\
         # TYPE defectdojo_sla_breach summary\n",
    );
    for (severity, count) in breaches {
        let _ = writeln!(text, "defectdojo_sla_breach_sum{{severity=\"{severity}\"}} {count}");
        let _ = writeln!(text, "defectdojo_sla_breach_count{{severity=\"{severity}\"}} {count}");
    }
    text
}

/// `OpenMetrics` text to Prometheus text: a counter family takes its samples' `_total` name, and the `# EOF`
/// marker goes.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> =
        openmetrics.lines().filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut text = String::with_capacity(openmetrics.len() + counters.len() * 16);
    for line in openmetrics.lines().filter(|line| *line != "# EOF") {
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let name = counters.iter().find(|name| rest.strip_prefix(**name).is_some_and(|r| r.starts_with(' ')))?;
            Some(format!("{prefix}{name}_total{}", &rest[name.len()..]))
        });
        text.push_str(renamed.as_deref().unwrap_or(line));
        text.push('\n');
    }
    text
}

/// `GET /metrics`.
///
/// Every product's name and breach counts are in it, so it answers only a scraper that sends
/// `Authorization: Bearer <SLAWATCH_METRICS_TOKEN>`, or a superuser's API token or session token (as
/// `Bearer` — Prometheus' `authorization` setting — or `Token`); `SLAWATCH_METRICS_PUBLIC=true` opens it.
pub async fn metrics_endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = scrape_allowed(&state, headers.get(header::AUTHORIZATION)).await {
        return refusal;
    }
    let rendered = async {
        let gauges = finding_gauges(&state).await?;
        let mut text = String::new();
        encode_registry(&mut text, &gauges.registry)
            .and_then(|()| encode_registry(&mut text, state.metrics.registry()))
            .map_err(ServiceError::internal)?;
        Ok::<_, ServiceError>(to_prometheus_text(&text) + &runbook_breach_series(&gauges.breaches))
    };
    match rendered.await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(err) => {
            tracing::warn!(error = %err.detail(), "could not render the metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response()
        }
    }
}

/// Whether the request may scrape; otherwise the 401 or 403 to answer.
async fn scrape_allowed(state: &AppState, authorization: Option<&HeaderValue>) -> Result<(), Response> {
    if state.config.metrics_public {
        return Ok(());
    }
    let unauthorized = |message: &'static str| {
        (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"slawatch metrics\"")], message)
            .into_response()
    };
    let Some(value) = authorization.and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(unauthorized("send Authorization: Bearer <SLAWATCH_METRICS_TOKEN or a superuser's API token>"));
    };
    let (scheme, credential) = value.split_once(' ').map_or((value, ""), |(s, c)| (s, c.trim()));
    if let Some(expected) = &state.config.metrics_token
        && scheme.eq_ignore_ascii_case("bearer")
        && token::same_secret(credential, expected)
    {
        return Ok(());
    }
    match auth::authenticate(state, Some(value)).await {
        Ok(Identity::Authenticated(actor)) if actor.is_superuser => Ok(()),
        Ok(Identity::Authenticated(_)) => {
            Err((StatusCode::FORBIDDEN, "only a superuser's token may scrape the metrics").into_response())
        }
        Ok(_) => Err(unauthorized("the token is invalid, expired or revoked")),
        Err(err) => {
            tracing::warn!(error = %err.detail(), "could not check a metrics scraper's token");
            Err((StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_take_their_total_name_in_prometheus_text() {
        let openmetrics = "# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total 3\n\
                           # HELP jobs_queued Queued.\n# TYPE jobs_queued gauge\njobs_queued 1\n# EOF\n";
        assert_eq!(
            to_prometheus_text(openmetrics),
            "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 3\n\
             # HELP jobs_queued Queued.\n# TYPE jobs_queued gauge\njobs_queued 1\n"
        );
    }

    #[test]
    fn the_runbook_series_is_a_summary_count() {
        let text = runbook_breach_series(&[("critical".to_owned(), 2), ("high".to_owned(), 0)]);
        assert!(text.contains("# TYPE defectdojo_sla_breach summary\n"));
        assert!(text.contains("defectdojo_sla_breach_count{severity=\"critical\"} 2\n"));
        assert!(text.contains("defectdojo_sla_breach_count{severity=\"high\"} 0\n"));
    }
}
