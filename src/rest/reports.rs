//! `GET /reports/sla-compliance?format=pdf|csv|json&productId=…&quarter=2026-Q1` (or `product_name=…` as
//! the findings endpoint takes it; `from`/`to` for the period): the
//! compliance report as a file, behind the same authorization as GraphQL; `GET /reports/{id}`: a kept one.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::json;

use super::{RestError, actor};
use crate::domain::{ProductId, ReportId, ReportShareId};
use crate::error::ServiceError;
use crate::report::{Format, ReportView};
use crate::service::compliance::{self, ReportScope};
use crate::service::{report_shares, reports};
use crate::state::AppState;

pub async fn sla_compliance(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, RestError> {
    let actor = actor(&state, &headers).await?;
    let mut format = Format::Pdf;
    let (mut product_id, mut product_name, mut from, mut to, mut quarter) = (None, None, None, None, None);
    let bad = |name: &str, message: String| RestError(StatusCode::BAD_REQUEST, json!({ name: [message] }));
    let day = |name: &str, value: &str| {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| bad(name, format!("{value:?} is not a day (YYYY-MM-DD)")))
    };
    let pairs =
        raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect::<Vec<_>>()).unwrap_or_default();
    for (name, value) in &pairs {
        match name.as_str() {
            "format" => {
                format = Format::parse_any_case(value)
                    .ok_or_else(|| bad(name, format!("{value:?}: use pdf, csv or json")))?;
            }
            "productId" | "product_id" => {
                product_id = Some(ProductId::new(value.parse().map_err(|_| RestError::not_found())?));
            }
            "product_name" => product_name = Some(value.clone()),
            "from" => from = Some(day(name, value)?),
            "to" => to = Some(day(name, value)?),
            "quarter" => quarter = Some(value.clone()),
            _ => {
                return Err(bad(
                    name,
                    "unknown parameter: use format, productId or product_name, quarter, from, to".to_owned(),
                ));
            }
        }
    }
    if let Some(name) = product_name {
        if product_id.is_some() {
            return Err(bad("product_name", "give productId or product_name, not both".to_owned()));
        }
        // A product the caller may not view is a 404, as one that does not exist.
        product_id = Some(crate::service::products::get_by_name(&state, &actor, &name).await?.id);
    }
    let period = compliance::period_of(from, to, quarter.as_deref(), state.clock.now())?;
    let report = compliance::compliance(&state, &actor, &ReportScope { product_id, period }).await?;
    let view = ReportView::new(&report, state.clock.now());
    let body = view.render(format).map_err(ServiceError::internal)?;
    Ok(file_response(body, format, &view.file_name(format)))
}

/// `GET /reports/{id}`: a kept report's file, unchanged since it was generated; with `share`, `exp` and `sig`
/// (a link from `shareReport` or a schedule's mail) without an account, 403 when the link is changed,
/// expired or revoked.
pub async fn kept(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, RestError> {
    let id = ReportId::new(id.parse().map_err(|_| RestError::not_found())?);
    let link: std::collections::HashMap<String, String> =
        raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let found = if let Some(signature) = link.get("sig") {
        let invalid = || ServiceError::Forbidden("this report link is not valid".to_owned());
        let number = |name: &str| link.get(name).and_then(|v| v.parse::<i64>().ok()).ok_or_else(invalid);
        let share = ReportShareId::new(i32::try_from(number("share")?).map_err(|_| invalid())?);
        report_shares::open(&state, id, share, number("exp")?, signature).await?
    } else {
        let actor = actor(&state, &headers).await?;
        reports::file(&state, &actor, id).await?
    };
    let format = found.format;
    Ok(file_response(found.content, format, &found.file_name))
}

fn file_response(body: Vec<u8>, format: Format, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
