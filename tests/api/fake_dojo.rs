//! A local imitation of DefectDojo's REST API v2 for the sync tests: lists in the captured responses'
//! shape (`tests/fixtures/defectdojo/`, DRF's `count`/`next`/`previous`/`results`), `limit`/`offset`
//! paging, `o=id` and `o=-last_status_update` ordering and the `id=1,2,3` filter, `Authorization: Token …` checked on every request
//! (401 as DefectDojo answers otherwise), and faults scripted per request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the imitation holds and how it behaves.
#[derive(Default)]
pub struct Dojo {
    pub token: String,
    /// List name (`findings`, `products`, …) → its records.
    pub lists: HashMap<String, Vec<Value>>,
    /// Statuses to answer the next findings requests with, one each (0: answer normally), before
    /// answering normally.
    pub findings_faults: VecDeque<u16>,
    /// Every request: path and query.
    pub requests: Vec<String>,
    /// Requests refused for a missing or wrong token.
    pub refused: usize,
    /// How long findings requests wait before the answer (longer than the client's timeout: a timeout).
    pub findings_delay: std::time::Duration,
    /// A finding deleted right after the first findings page in id order is served (the pages shift).
    pub delete_after_first_page: Option<i64>,
}

#[derive(Clone)]
pub struct FakeDojo {
    pub url: String,
    pub dojo: Arc<Mutex<Dojo>>,
}

/// A captured response body from the fixture.
pub fn captured(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/defectdojo/api_v2_responses.json", env!("CARGO_MANIFEST_DIR"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    all["requests"][name]["body"].clone()
}

/// A finding as DefectDojo answers it (the captured open finding, its status last changed on 2026-11-20 at
/// 10:00 by DefectDojo's clock, with these fields changed).
pub fn finding(changes: &Value) -> Value {
    let mut record = captured("finding_detail");
    record.as_object_mut().expect("an object").remove("prefetch");
    record["last_status_update"] = json!("2026-11-20T10:00:00Z");
    for (key, value) in changes.as_object().expect("changes") {
        record[key] = value.clone();
    }
    record
}

impl FakeDojo {
    pub async fn start(token: &str) -> Self {
        let dojo = Arc::new(Mutex::new(Dojo { token: token.to_owned(), ..Dojo::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shared = (dojo.clone(), url.clone());
        let app = axum::Router::new().route("/api/v2/{list}/", axum::routing::get(list)).with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { url, dojo }
    }

    pub fn set(&self, list: &str, records: Vec<Value>) {
        self.dojo.lock().expect("lock").lists.insert(list.to_owned(), records);
    }

    /// Changes the record `id` of `list` with `changes`.
    pub fn change(&self, list: &str, id: i64, changes: &Value) {
        let mut dojo = self.dojo.lock().expect("lock");
        let records = dojo.lists.get_mut(list).expect("a list");
        let record = records.iter_mut().find(|r| r["id"] == id).expect("a record of that id");
        for (key, value) in changes.as_object().expect("changes") {
            record[key] = value.clone();
        }
    }

    pub fn remove(&self, list: &str, id: i64) {
        let mut dojo = self.dojo.lock().expect("lock");
        dojo.lists.get_mut(list).expect("a list").retain(|r| r["id"] != id);
    }

    pub fn push(&self, list: &str, record: Value) {
        self.dojo.lock().expect("lock").lists.entry(list.to_owned()).or_default().push(record);
    }

    pub fn fail_findings_with(&self, statuses: &[u16]) {
        self.dojo.lock().expect("lock").findings_faults.extend(statuses);
    }

    pub fn set_token(&self, token: &str) {
        token.clone_into(&mut self.dojo.lock().expect("lock").token);
    }

    pub fn refused(&self) -> usize {
        self.dojo.lock().expect("lock").refused
    }

    pub fn delay_findings(&self, by: std::time::Duration) {
        self.dojo.lock().expect("lock").findings_delay = by;
    }

    pub fn delete_after_first_page(&self, id: i64) {
        self.dojo.lock().expect("lock").delete_after_first_page = Some(id);
    }

    pub fn requests(&self) -> Vec<String> {
        self.dojo.lock().expect("lock").requests.clone()
    }
}

type Shared = (Arc<Mutex<Dojo>>, String);

async fn list(
    State((dojo, base)): State<Shared>,
    Path(list): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let delay = if list == "findings" { dojo.lock().expect("lock").findings_delay } else { std::time::Duration::ZERO };
    tokio::time::sleep(delay).await;
    let mut dojo = dojo.lock().expect("lock");
    let mut asked: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    asked.sort();
    dojo.requests.push(format!("/api/v2/{list}/?{}", asked.join("&")));
    let expected = format!("Token {}", dojo.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        dojo.refused += 1;
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "detail": "Invalid token." }))).into_response();
    }
    if list == "findings"
        && let Some(status) = dojo.findings_faults.pop_front()
        && status != 0
    {
        return StatusCode::from_u16(status).expect("a status").into_response();
    }
    let mut records = dojo.lists.get(&list).cloned().unwrap_or_default();
    if let Some(ids) = query.get("id") {
        let wanted: Vec<i64> = ids.split(',').filter_map(|id| id.parse().ok()).collect();
        records.retain(|r| r["id"].as_i64().is_some_and(|id| wanted.contains(&id)));
    }
    match query.get("o").map(String::as_str) {
        Some("id") => records.sort_by_key(|r| r["id"].as_i64()),
        // PostgreSQL's order, as DefectDojo's: descending puts the findings without a time first.
        Some("-last_status_update") => records.sort_by(|a, b| {
            let at = |r: &Value| r["last_status_update"].as_str().map(str::to_owned);
            match (at(a), at(b)) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            }
        }),
        _ => {}
    }
    let number = |name: &str, default: usize| query.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (limit, offset) = (number("limit", 20), number("offset", 0));
    let count = records.len();
    let page: Vec<Value> = records.into_iter().skip(offset).take(limit).collect();
    if list == "findings"
        && offset == 0
        && query.get("o").map(String::as_str) == Some("id")
        && let Some(id) = dojo.delete_after_first_page.take()
    {
        dojo.lists.get_mut("findings").expect("findings").retain(|r| r["id"] != id);
    }
    let link = |at: usize| format!("{base}/api/v2/{list}/?limit={limit}&offset={at}");
    let next = (offset + limit < count).then(|| link(offset + limit));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(limit)));
    axum::Json(json!({ "count": count, "next": next, "previous": previous, "results": page, "prefetch": {} }))
        .into_response()
}
