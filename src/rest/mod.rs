//! Plain HTTP besides GraphQL: the DefectDojo-compatible REST subset (`/api/v2/…`) that the runbook's `curl`
//! and exporter script use, and report downloads.

mod findings;
mod imports;
pub mod params;
mod reports;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::error::ServiceError;
use crate::service::Actor;
use crate::service::auth;
use crate::state::AppState;

/// The `/api/v2` routes.
pub fn router(state: AppState) -> Router {
    let form_limit = DefaultBodyLimit::max(imports::form_limit(state.config.limits.max_report_bytes));
    Router::new()
        .route("/api/v2/import-scan/", post(imports::import_scan).layer(form_limit))
        .route("/api/v2/reimport-scan/", post(imports::reimport_scan).layer(form_limit))
        .route("/api/v2/findings/", get(findings::list))
        .route("/api/v2/findings/{id}/", get(findings::one))
        .route("/api/v2/sla_configurations/", get(findings::sla_configurations))
        .route("/reports/sla-compliance", get(reports::sla_compliance))
        .route("/reports/{id}", get(reports::kept))
        .with_state(state)
}

/// A REST error in DRF's shape: `{"detail": "…"}` with DefectDojo's status codes.
#[derive(Debug)]
pub struct RestError(StatusCode, serde_json::Value);

impl RestError {
    fn not_found() -> Self {
        Self(StatusCode::NOT_FOUND, json!({ "detail": "Not found." }))
    }
}

impl From<ServiceError> for RestError {
    fn from(err: ServiceError) -> Self {
        if matches!(err, ServiceError::NotFound(_)) {
            return Self::not_found();
        }
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %err.detail(), "REST request failed");
            return Self(status, json!({ "detail": "internal error" }));
        }
        Self(status, json!({ "detail": err.public_message() }))
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(self.1)).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Token"));
        }
        response
    }
}

/// The actor of `Authorization: Token <t>` (or `Bearer <jwt>`); 401 otherwise, as DefectDojo.
async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, RestError> {
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if header.is_none() {
        return Err(RestError(
            StatusCode::UNAUTHORIZED,
            json!({ "detail": "Authentication credentials were not provided." }),
        ));
    }
    let identity = auth::authenticate(state, header).await?;
    Ok(identity.actor()?.clone())
}
