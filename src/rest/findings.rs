//! `GET /api/v2/findings/`, `/api/v2/findings/{id}/` and `/api/v2/sla_configurations/` in DefectDojo's JSON.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::params::{self, FindingsQuery};
use super::{RestError, actor};
use crate::domain::{EngagementId, FindingId, ProductId};
use crate::entity::{finding, sla_configuration};
use crate::service::{finding_sla, findings, products, sla_configs};
use crate::state::AppState;

/// A finding as DefectDojo's API shows it (the fields scripts read), plus its product.
#[derive(Debug, Serialize)]
pub struct RestFinding {
    id: FindingId,
    title: String,
    description: String,
    severity: crate::domain::Severity,
    date: NaiveDate,
    active: bool,
    verified: bool,
    is_mitigated: bool,
    mitigated: Option<DateTime<Utc>>,
    false_p: bool,
    duplicate: bool,
    out_of_scope: bool,
    risk_accepted: bool,
    sla_start_date: Option<NaiveDate>,
    sla_expiration_date: Option<NaiveDate>,
    sla_days_remaining: Option<i64>,
    sla_deadline: Option<DateTime<Utc>>,
    outside_of_sla: bool,
    product: ProductId,
    product_name: String,
    engagement: Option<EngagementId>,
    external_reference: Option<String>,
    created: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
}

impl RestFinding {
    fn new(model: finding::Listed, product_name: String, now: DateTime<Utc>) -> Self {
        let schedule = finding_sla::schedule(&model);
        let outside = crate::domain::sla::is_outside_sla(schedule.as_ref(), &finding_sla::status(&model), now);
        Self {
            sla_days_remaining: finding_sla::days_remaining(&model, now),
            sla_expiration_date: model.sla_expiration_day.and_then(finding_sla::date_of_epoch_day),
            sla_start_date: finding_sla::instant(model.sla_start).map(|at| at.date_naive()),
            sla_deadline: model.sla_deadline.and_then(finding_sla::instant),
            mitigated: model.mitigated_at.and_then(finding_sla::instant),
            created: finding_sla::instant(model.created_at),
            updated: finding_sla::instant(model.updated_at),
            outside_of_sla: outside,
            id: model.id,
            title: model.title,
            description: model.description,
            severity: model.severity,
            date: model.date,
            active: model.active,
            verified: model.verified,
            is_mitigated: model.is_mitigated,
            false_p: model.false_p,
            duplicate: model.duplicate,
            out_of_scope: model.out_of_scope,
            risk_accepted: model.risk_accepted,
            product: model.product_id,
            product_name,
            engagement: model.engagement_id,
            external_reference: model.external_reference,
        }
    }
}

/// DRF's paginated list.
#[derive(Debug, Serialize)]
struct Paginated<T> {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
}

/// `GET /api/v2/findings/`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, RestError> {
    let actor = actor(&state, &headers).await?;
    let pairs = query_pairs(raw.as_deref());
    let query = params::findings_query(&pairs).map_err(|errors| RestError(StatusCode::BAD_REQUEST, json!(errors)))?;
    let (count, rows) =
        crate::service::finding_reads::slice(&state, &actor, &query.filter, query.limit, query.offset).await?;
    let names = product_names(&state, &rows).await?;
    let now = state.clock.now();
    let results = rows
        .into_iter()
        .map(|row| {
            let name = names.get(&row.product_id).cloned().unwrap_or_default();
            RestFinding::new(row, name, now)
        })
        .collect();
    let (next, previous) = links("/api/v2/findings/", &pairs, &query, count);
    // The site URL is read only for a page that links to another one.
    let (next, previous) = if next.is_some() || previous.is_some() {
        let base = link_base(&state).await?;
        (next.map(|link| format!("{base}{link}")), previous.map(|link| format!("{base}{link}")))
    } else {
        (None, None)
    };
    let mut response = Json(Paginated { count, next, previous, results }).into_response();
    if !query.ignored.is_empty() {
        let warning = format!("299 - \"ignored query parameters: {}\"", query.ignored.join(", "));
        if let Ok(value) = HeaderValue::from_str(&warning) {
            response.headers_mut().insert(header::WARNING, value);
        }
    }
    Ok(response)
}

/// `GET /api/v2/findings/{id}/`: 404 for a finding that does not exist or that the token may not view.
pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RestFinding>, RestError> {
    let actor = actor(&state, &headers).await?;
    let id = FindingId::new(id.parse().map_err(|_| RestError::not_found())?);
    let found = findings::get(&state, &actor, id).await?;
    let product = products::get_unchecked(&state.db, found.product_id).await?;
    Ok(Json(RestFinding::new(found.into(), product.name, state.clock.now())))
}

/// `GET /api/v2/sla_configurations/`.
pub async fn sla_configurations(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, RestError> {
    actor(&state, &headers).await?;
    let configs = sla_configs::list(&state).await?;
    let results: Vec<serde_json::Value> = configs.iter().map(sla_configuration_json).collect();
    Ok(Json(json!({ "count": results.len(), "next": null, "previous": null, "results": results })))
}

fn sla_configuration_json(config: &sla_configuration::Model) -> serde_json::Value {
    json!({
        "id": config.id,
        "name": config.name,
        "description": config.description,
        "critical": config.critical_days,
        "enforce_critical": config.enforce_critical,
        "high": config.high_days,
        "enforce_high": config.enforce_high,
        "medium": config.medium_days,
        "enforce_medium": config.enforce_medium,
        "low": config.low_days,
        "enforce_low": config.enforce_low,
        "restart_sla_on_reactivation": config.restart_sla_on_reactivation,
        "is_default": config.is_default,
    })
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

async fn product_names(
    state: &AppState,
    rows: &[finding::Listed],
) -> Result<std::collections::HashMap<ProductId, String>, RestError> {
    let ids: Vec<ProductId> =
        rows.iter().map(|r| r.product_id).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    Ok(products::names(state, &ids).await?)
}

/// Where links point: the system's `siteUrl` (an http(s) URL, checked when it is set), else the address
/// this server is bound to. Never the request's `Host` or `X-Forwarded-Proto`, which anyone can forge.
async fn link_base(state: &AppState) -> Result<String, RestError> {
    let site = crate::service::settings::site_url(state).await?;
    let site = site.trim().trim_end_matches('/');
    Ok(if site.is_empty() { format!("http://{}", state.config.bind) } else { site.to_owned() })
}

/// DRF's `next` and `previous` links, without the site: the request's path and query with `limit` and
/// `offset` replaced.
fn links(
    path: &str,
    pairs: &[(String, String)],
    query: &FindingsQuery,
    count: u64,
) -> (Option<String>, Option<String>) {
    let link = |offset: Option<u64>| -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs.iter().filter(|(name, _)| name != "limit" && name != "offset") {
            serializer.append_pair(name, value);
        }
        serializer.append_pair("limit", &query.limit.to_string());
        if let Some(offset) = offset {
            serializer.append_pair("offset", &offset.to_string());
        }
        format!("{path}?{}", serializer.finish())
    };
    let next = (query.offset + query.limit < count).then(|| link(Some(query.offset + query.limit)));
    let previous = (query.offset > 0).then(|| {
        let back = query.offset.saturating_sub(query.limit);
        link((back > 0).then_some(back))
    });
    (next, previous)
}
