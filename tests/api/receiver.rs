//! A local HTTP receiver for webhook, Slack and Teams tests: records every request and answers from a
//! script (then 200).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_lowercase()).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    StatusWithRetryAfter(u16, &'static str),
    /// Answer 200 after this long (longer than the client's timeout: a timeout).
    Hang(Duration),
    Json(serde_json::Value),
    /// 302 with this `Location`.
    Redirect(String),
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// The answer once the script is used up: a JSON body, or an empty 200.
    default_json: Option<serde_json::Value>,
    /// How long every unscripted answer takes.
    default_delay: Duration,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Self {
        Self::start_with(script, None, Duration::ZERO).await
    }

    /// Like `start`, answering `json` once the script is used up.
    pub async fn start_json(script: Vec<Reply>, json: serde_json::Value) -> Self {
        Self::start_with(script, Some(json), Duration::ZERO).await
    }

    /// Answers 200 to everything, each after `delay`.
    pub async fn start_slow(delay: Duration) -> Self {
        Self::start_with(vec![], None, delay).await
    }

    async fn start_with(script: Vec<Reply>, default_json: Option<serde_json::Value>, default_delay: Duration) -> Self {
        let shared = Shared {
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
            default_json,
            default_delay,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Waits up to ten seconds for `count` requests.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        self.wait_for_within(count, Duration::from_secs(10)).await
    }

    /// Waits up to `limit` for `count` requests.
    pub async fn wait_for_within(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn record(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let headers =
        headers.iter().map(|(k, v)| (k.as_str().to_lowercase(), v.to_str().unwrap_or_default().to_owned())).collect();
    shared.received.lock().expect("lock").push(Received {
        method: method.to_string(),
        path: uri.to_string(),
        headers,
        body: body.to_vec(),
    });
    let reply = shared.script.lock().expect("lock").pop_front();
    match reply {
        None => match shared.default_json {
            _ if !shared.default_delay.is_zero() => {
                tokio::time::sleep(shared.default_delay).await;
                StatusCode::OK.into_response()
            }
            Some(json) => axum::Json(json).into_response(),
            None => StatusCode::OK.into_response(),
        },
        Some(Reply::Status(code)) => StatusCode::from_u16(code).unwrap_or(StatusCode::OK).into_response(),
        Some(Reply::StatusWithRetryAfter(code, after)) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), [("retry-after", after)]).into_response()
        }
        Some(Reply::Json(json)) => axum::Json(json).into_response(),
        Some(Reply::Redirect(location)) => (StatusCode::FOUND, [("location", location)]).into_response(),
        Some(Reply::Hang(how_long)) => {
            tokio::time::sleep(how_long).await;
            StatusCode::OK.into_response()
        }
    }
}
