//! The dashboard in `web/` (plain HTML, CSS and JavaScript, compiled into the binary): served at `/` with
//! its content types, `ETag` revalidation and a strict Content-Security-Policy. Also GraphiQL's page
//! (`GET /graphql`) with its scripts vendored in `assets/vendor/graphiql/`, so no page of ours loads anything from
//! another origin.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// One file of the dashboard.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: &'static str, content_type: &'static str) -> Self {
        use std::fmt::Write as _;
        let digest = Sha256::digest(body.as_bytes());
        let etag = digest.iter().take(12).fold(String::from("\""), |mut tag, byte| {
            let _ = write!(tag, "{byte:02x}");
            tag
        }) + "\"";
        Self { body, content_type, etag }
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file compiled into the binary, served with its type and `ETag`.
macro_rules! asset {
    ($($name:ident = $path:literal as $content_type:ident;)+) => {$(
        static $name: LazyLock<Asset> = LazyLock::new(|| Asset::new(include_str!($path), $content_type));
    )+};
}

asset! {
    INDEX = "../web/index.html" as HTML;
    SCRIPT = "../web/app.js" as JAVASCRIPT;
    STYLE = "../web/style.css" as CSS;
    GRAPHIQL_PAGE = "../web/graphiql.html" as HTML;
    GRAPHIQL_START = "../web/graphiql.js" as JAVASCRIPT;
    GRAPHIQL_PAGE_STYLE = "../web/graphiql.css" as CSS;
    GRAPHIQL_SCRIPT = "../assets/vendor/graphiql/graphiql.min.js" as JAVASCRIPT;
    GRAPHIQL_STYLE = "../assets/vendor/graphiql/graphiql.min.css" as CSS;
    REACT = "../assets/vendor/graphiql/react.production.min.js" as JAVASCRIPT;
    REACT_DOM = "../assets/vendor/graphiql/react-dom.production.min.js" as JAVASCRIPT;
}

/// What styles a page may use: the dashboard only its stylesheet; GraphiQL's components also set inline
/// styles (scripts stay `'self'` for both).
const OWN_STYLES: &str = "'self'";
const GRAPHIQL_STYLES: &str = "'self' 'unsafe-inline'";

/// The dashboard's routes.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve(&INDEX, &headers) }))
        .route("/app.js", get(|headers: HeaderMap| async move { serve(&SCRIPT, &headers) }))
        .route("/style.css", get(|headers: HeaderMap| async move { serve(&STYLE, &headers) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/graphiql/start.js", get(|headers: HeaderMap| async move { serve(&GRAPHIQL_START, &headers) }))
        .route("/graphiql/page.css", get(|headers: HeaderMap| async move { serve(&GRAPHIQL_PAGE_STYLE, &headers) }))
        .route("/graphiql/graphiql.min.js", get(|headers: HeaderMap| async move { serve(&GRAPHIQL_SCRIPT, &headers) }))
        .route("/graphiql/graphiql.min.css", get(|headers: HeaderMap| async move { serve(&GRAPHIQL_STYLE, &headers) }))
        .route("/graphiql/react.production.min.js", get(|headers: HeaderMap| async move { serve(&REACT, &headers) }))
        .route(
            "/graphiql/react-dom.production.min.js",
            get(|headers: HeaderMap| async move { serve(&REACT_DOM, &headers) }),
        )
}

/// `GET /graphql`: the GraphiQL IDE, every script from this origin.
#[must_use]
pub fn graphiql_page(request: &HeaderMap) -> Response {
    serve_with_styles(&GRAPHIQL_PAGE, request, GRAPHIQL_STYLES)
}

/// The policy: only this origin's script, style (`styles`) and connections (HTTP and the websocket), no
/// inline script, no framing.
fn content_security_policy(headers: &HeaderMap, styles: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')));
    let sockets = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self' data:; font-src 'self' data:; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    serve_with_styles(asset, request, OWN_STYLES)
}

fn serve_with_styles(asset: &Asset, request: &HeaderMap, styles: &str) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == asset.etag));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Always revalidate (the files change with the binary), cheaply thanks to the ETag.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(policy) = HeaderValue::from_str(&content_security_policy(request, styles)) {
        protect_page(headers, policy);
    }
    response
}

/// The headers every page of ours carries (the dashboard, GraphiQL): its Content-Security-Policy, no
/// framing, no content sniffing, no referrer.
pub fn protect_page(headers: &mut HeaderMap, policy: HeaderValue) {
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_this_hosts_websocket_and_ignores_a_forged_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let policy = content_security_policy(&headers, OWN_STYLES);
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"), "{policy}");
        assert!(policy.contains("script-src 'self';") && !policy.contains("unsafe"));
        headers.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        assert!(content_security_policy(&headers, OWN_STYLES).contains("connect-src 'self';"));
    }
}
