//! `/graphql` over HTTP: authenticate, parse (with limits), execute, and give every error a code.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::ParseRequestError;
use async_graphql::dataloader::DataLoader;
use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::ExecutableDocument;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppSchema;
use super::context::RequestOrigin;
use super::loaders::UserLoader;
use super::query_cost::{self, CostError, CostLimits};
use super::ws_session::PendingSockets;
use crate::error::{REQUEST_ID, ServiceError};
use crate::kept::memo::Memo;
use crate::security::token;
use crate::service::auth;
use crate::state::AppState;

/// What the GraphQL handlers share.
#[derive(Clone)]
pub struct GraphqlEndpoint {
    pub state: AppState,
    /// For HTTP requests, which `parsed` measures.
    pub schema: AppSchema,
    /// For websocket operations, measured as the schema parses them (`graphql::socket_schema_builder`).
    pub socket_schema: AppSchema,
    /// Parsed documents by query text: a dashboard's repeated query is parsed once (parsing was a tenth of
    /// a small query's cost). Limits and validation still run on every request.
    pub parsed: Arc<Memo<ExecutableDocument>>,
    cost_limits: CostLimits,
    /// Websocket connections per client address still waiting for their `connection_init`.
    pub pending_sockets: Arc<PendingSockets>,
}

impl GraphqlEndpoint {
    #[must_use]
    pub fn new(state: AppState, schema: AppSchema, socket_schema: AppSchema) -> Self {
        let cost_limits = super::cost_limits(&state.config.limits);
        Self {
            state,
            schema,
            socket_schema,
            parsed: Arc::new(Memo::new(PARSED_QUERIES_KEPT, MAX_QUERY_LEN_KEPT)),
            cost_limits,
            pending_sockets: Arc::default(),
        }
    }

    /// `request` with its query parsed and measured, from the kept documents when the same text came
    /// before (only documents within the limits are kept). A query that does not parse is left for
    /// `execute` to report; one over the limits is refused before async-graphql walks it.
    fn parsed(&self, mut request: async_graphql::Request) -> Result<async_graphql::Request, CostError> {
        if let Some(document) = self.parsed.get(&request.query) {
            request.set_parsed_query(document);
        } else if let Ok(document) = async_graphql::parser::parse_query(&request.query) {
            query_cost::measure(&document, self.cost_limits)?;
            self.parsed.insert_with(&request.query, || document.clone());
            request.set_parsed_query(document);
        }
        Ok(request)
    }
}

/// How many parsed queries are kept, and the longest kept: a dashboard's queries fit, and anonymous
/// requests with ever new queries cannot make the kept documents take more than a few MiB.
const PARSED_QUERIES_KEPT: usize = 256;
const MAX_QUERY_LEN_KEPT: usize = 4 * 1024;

fn error_response(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// What a client sending several operations in one request is told (JSON or multipart alike).
const NO_BATCHES: &str = "batched operations are not supported: send one operation per request";

/// Why a request body could not be read as a GraphQL request.
struct Unreadable(StatusCode, String);

/// A JSON body (within `Limits::max_body_bytes`, which `DefaultBodyLimit` applies to `Bytes`).
async fn json_request(http: axum::extract::Request) -> Result<async_graphql::Request, Unreadable> {
    let body = Bytes::from_request(http, &()).await.map_err(|rejection: BytesRejection| {
        Unreadable(rejection.status(), format!("request body refused: {}", rejection.body_text()))
    })?;
    serde_json::from_slice(&body).map_err(|err| {
        let message = if body.first() == Some(&b'[') {
            NO_BATCHES.to_owned()
        } else {
            format!("the body is not a GraphQL request in JSON: {err}")
        };
        Unreadable(StatusCode::BAD_REQUEST, message)
    })
}

/// A multipart body (the GraphQL multipart request spec: `operations`, `map`, one file), read as it
/// streams in: the file goes to an unnamed temporary file, and the whole body may be at most the report
/// limit (`Limits::max_report_bytes`).
async fn multipart_request(
    http: axum::extract::Request,
    content_type: &str,
    max_report_bytes: usize,
) -> Result<async_graphql::Request, Unreadable> {
    use futures_util::TryStreamExt;
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let body = http.into_body().into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(body).compat();
    let options = MultipartOptions::default().max_file_size(max_report_bytes).max_num_files(1);
    async_graphql::http::receive_body(Some(content_type), reader, options).await.map_err(|err| match err {
        ParseRequestError::PayloadTooLarge => Unreadable(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the upload is over the limit of {} MiB", crate::config::mebibytes(max_report_bytes)),
        ),
        ParseRequestError::UnsupportedBatch => Unreadable(StatusCode::BAD_REQUEST, NO_BATCHES.to_owned()),
        other => Unreadable(StatusCode::BAD_REQUEST, format!("not a readable GraphQL multipart request: {other}")),
    })
}

/// `POST /graphql`: a JSON request, or a multipart one carrying an upload (`importScan`).
pub async fn graphql_post(
    State(endpoint): State<GraphqlEndpoint>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    http: axum::extract::Request,
) -> Response {
    let request_id = token::random_hex(8).unwrap_or_else(|_| "unknown".to_owned());
    let headers = http.headers().clone();
    let refusal = |err: ServiceError| {
        let message = REQUEST_ID.sync_scope(request_id.clone(), || err.public_message());
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, err.code(), &message, &request_id)
    };
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let state = endpoint.state.clone();
    let identity = match REQUEST_ID.scope(request_id.clone(), auth::authenticate(&state, authorization)).await {
        Ok(identity) => identity,
        Err(err) => return refusal(err),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let read = if content_type.trim_start().to_ascii_lowercase().starts_with("multipart/") {
        // Only a signed-in caller may make the server spool an upload to disk: anyone else is refused
        // before a byte of the body is read.
        if let Err(err) = identity.actor() {
            return refusal(err);
        }
        multipart_request(http, content_type, endpoint.state.config.limits.max_report_bytes).await
    } else {
        json_request(http).await
    };
    let request = match read {
        Ok(request) => request,
        Err(Unreadable(status, message)) => {
            return error_response(status, "BAD_USER_INPUT", &message, &request_id);
        }
    };
    let request = match endpoint.parsed(request) {
        Ok(request) => request,
        Err(err) => return error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &err.to_string(), &request_id),
    };
    let request = request
        .data(identity)
        .data(RequestOrigin::new(peer.ip()))
        .data(DataLoader::new(UserLoader(state.clone()), tokio::spawn));
    let mut response = REQUEST_ID.scope(request_id.clone(), endpoint.schema.execute(request)).await;
    for error in &mut response.errors {
        // Parse, validation and limit errors come from async-graphql without a code: they are the client's.
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    let mut http = axum::Json(response).into_response();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        http.headers_mut().insert("x-request-id", value);
    }
    http
}

/// `GET /graphql`: the GraphiQL IDE (`web::graphiql_page`: its scripts are served from this origin).
pub async fn graphiql(headers: HeaderMap) -> Response {
    crate::web::graphiql_page(&headers)
}
