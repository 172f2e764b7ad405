//! A day in the life at N findings (default 1,000,000) for `BENCH_MINUTES` (default 10): findings imported at
//! `BENCH_WRITES_PER_SECOND` (default 1,000: `createFindings` every 100 ms, their SLAs started within the last
//! day, and an edit every `BENCH_EDIT_EVERY_MS`, default 20), `BENCH_SUBSCRIBERS` (default 1,000) dashboards on websockets (each the
//! dashboard's three subscriptions on one product), `BENCH_CLIENTS` (default 50) clients sending varied reads
//! back to back (or, with `BENCH_READS_PER_SECOND`, at that rate, due at random, each read's latency counted
//! from when it was due), and the server's own scheduler: the SLA sweep every `BENCH_SWEEP_INTERVAL` seconds
//! (default 60, the server's default) and the delivery worker sending every breach to a local webhook receiver
//! (GELF). Each dashboard is a user of its own, a reader of one product (`BENCH_DASHBOARD_USERS` users, by
//! default one per dashboard; 1: every dashboard the admin's, the earlier shape). The dashboards run on two
//! threads of their own in this process, as browsers elsewhere would: the reads are not queued behind them.
//!
//! Every second a probe, a Critical due 30 s later, is created: the sweep lag is the time from its deadline
//! until a watcher hears its breach on `slaEvents`, the delivery lag from then until the webhook receiver has
//! it. Reports, minute by minute, the reads' rate, p50 and p99 (and each kind's) and the server's memory, then
//! both lags. `BENCH_SEARCH_FROM` as in the `varied` bench.
//!
//! `cargo bench --bench mixed`; the data set is the `server` bench's (`BENCH_SQLITE_FILE`, `BENCH_REUSE=1`,
//! `BENCH_DATABASE_URL` as there); it is copied first (an SQLite file, or a PostgreSQL database made from it
//! as a template), so every run starts from the same one.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod loadgen;
mod server_world;
mod support;
mod workload;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{SinkExt, StreamExt};
use loadgen::MakeRequest;
use serde_json::{Value, json};
use server_world::{Server, TaskError, prepare_data_set, ws_connect};
use support::{ADMIN, BenchResult, OWNER, env_number};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use workload::{Draws, Writer, member_page, outside_sla_page, rest, summary};

/// How long after its creation a probe is due.
const PROBE_DUE_IN_SECONDS: i64 = 30;

/// The messages the dashboards received, by subscription: `slaEvents`, `findingChanged`, `alerts`.
#[derive(Default)]
struct DashboardCounts([AtomicU64; 3]);

type DashboardMessages = Arc<DashboardCounts>;

impl DashboardCounts {
    fn count(&self, message: &str) {
        let which = ["\"id\":\"sla\"", "\"id\":\"changed\""].iter().position(|id| message.contains(id)).unwrap_or(2);
        self.0[which].fetch_add(1, Ordering::Relaxed);
    }

    fn each(&self) -> [u64; 3] {
        std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

/// When something was first seen, by finding id.
type SeenAt = Arc<Mutex<HashMap<String, DateTime<Utc>>>>;

/// Target 6's read p99: each kind's requests slower than this are counted.
const TARGET_READ_P99: Duration = Duration::from_millis(20);

#[tokio::main]
async fn main() -> BenchResult<()> {
    let total = support::findings_wanted(1_000_000);
    let minutes: u64 = env_number("BENCH_MINUTES", 10);
    let writes_per_second: u64 = env_number("BENCH_WRITES_PER_SECOND", 1_000);
    let dashboards_wanted: usize = env_number("BENCH_SUBSCRIBERS", 1_000);
    let dashboard_users: usize = env_number("BENCH_DASHBOARD_USERS", dashboards_wanted);
    let clients: usize = env_number("BENCH_CLIENTS", 50);
    let reads_per_second: u64 = env_number("BENCH_READS_PER_SECOND", 0);
    let sweep_interval: u64 = env_number("BENCH_SWEEP_INTERVAL", 60);
    let (database_url, _dir) = prepare_data_set(total).await?;
    let database_url = server_world::working_copy(&database_url, "mixed").await?;
    let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!(
        "## A day in the life: {backend}, {total} findings, {minutes} min, {writes_per_second} findings/s imported, \
         {dashboards_wanted} dashboards of {dashboard_users} users, {clients} clients{}, sweep every {sweep_interval} s\n",
        if reads_per_second == 0 { " back to back".to_owned() } else { format!(" at {reads_per_second} reads/s") }
    );

    let delivered: SeenAt = Arc::default();
    let receiver = serve_webhook_receiver(delivered.clone()).await?;
    let interval = sweep_interval.to_string();
    let settings = [("SLAWATCH_SWEEP_INTERVAL", interval.as_str()), ("RUST_LOG", "warn")];
    let server = Server::start_with(&database_url, &[], &settings)?;
    server.wait_ready().await?;
    eprintln!("server pid {}", server.child.id());
    let admin = server.login(ADMIN).await?;
    let owner = server.login(OWNER).await?;
    let api_token = server.api_token(&admin).await?;
    let products = server.product_ids(&admin).await?;
    route_breaches_to(&server, &admin, &receiver).await?;

    let ws_url = format!("{}/graphql/ws", server.base.replacen("http", "ws", 1));
    let heard: SeenAt = Arc::default();
    let dashboard_messages: DashboardMessages = Arc::default();
    // Well under what the server lets one address keep waiting for `connection_init` (16 by default): a
    // socket counts until the server has taken its `connection_init`, a little after the client's permit.
    let handshakes = Arc::new(Semaphore::new(8));
    // The dashboards stand for browsers on other machines: on threads of their own, so the reads' latencies
    // do not include waits in this process's queue behind the dashboards' ~13,000 messages a second (they
    // still share the cores with the server, as the rest of the bench does).
    let dashboard_threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-dashboards")
        .enable_all()
        .build()?;
    let mut sockets = vec![dashboard_threads.spawn(watch_breaches(ws_url.clone(), admin.clone(), heard.clone()))];
    let viewers = if dashboard_users <= 1 {
        products.iter().map(|product| (admin.clone(), product.clone())).collect()
    } else {
        viewers(&server, &admin, &products, dashboard_users).await?
    };
    for i in 0..dashboards_wanted {
        let (jwt, product) = viewers[i % viewers.len()].clone();
        let url = ws_url.clone();
        let (messages, handshakes) = (dashboard_messages.clone(), handshakes.clone());
        sockets.push(dashboard_threads.spawn(async move {
            if let Err(err) = dashboard(url, jwt, product, messages, handshakes).await {
                eprintln!("a dashboard failed: {err}");
            }
        }));
    }
    // The finding index loads in the background from start-up; give it and the sockets time.
    tokio::time::sleep(Duration::from_secs(30)).await;
    println!(
        "idle 30 s after start, {dashboards_wanted} dashboards connected: {}; finding index {:.1} MiB\n",
        server.memory()?,
        server.index_mib(&admin).await?
    );

    let writing = Writer::start(&server, &admin, &products, writes_per_second, 24);
    let stop_probes = Arc::new(AtomicBool::new(false));
    let probing =
        tokio::spawn(create_probes(server.base.clone(), admin.clone(), products.clone(), stop_probes.clone()));
    let reads = mixed_reads(&server, &admin, &owner, &api_token, &products);
    println!(
        "| minute | reads/s | p50 ms | p99 ms | max ms | failures | dashboard messages/s | server memory | finding index |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut by_kind = Vec::new();
    for minute in 1..=minutes {
        let before = dashboard_messages.each();
        let report = if reads_per_second == 0 {
            loadgen::run(reads.clone(), clients, Duration::ZERO, Duration::from_secs(60)).await
        } else {
            let per_second = reads_per_second as f64;
            let gaps = Draws::new(minute);
            loadgen::run_at_rate(reads.clone(), clients, per_second, Duration::from_secs(60), move || gaps.uniform())
                .await
        };
        let after = dashboard_messages.each();
        let messages: [u64; 3] = std::array::from_fn(|i| after[i] - before[i]);
        println!(
            "| {minute} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {} | {:.1} MiB |",
            report.per_second(),
            report.latency_ms(0.5),
            report.latency_ms(0.99),
            report.latency_ms(1.0),
            report.failures,
            messages.iter().sum::<u64>() as f64 / 60.0,
            server.memory()?,
            server.index_mib(&admin).await?
        );
        let [sla, changed, alerts] = messages.map(|count| count / 60);
        by_kind.push(format!(
            "minute {minute}: {}; dashboard messages/s: slaEvents {sla}, findingChanged {changed}, alerts {alerts}",
            report.kinds_line(TARGET_READ_P99)
        ));
    }
    println!(
        "\nby kind (requests, p50/p99 ms, >how many took over {} ms):\n{}",
        TARGET_READ_P99.as_millis(),
        by_kind.join("\n")
    );
    stop_probes.store(true, Ordering::Relaxed);
    let written = writing.stop().await;
    let probes = probing.await?;
    // The last probes fall due after the reads stopped: wait for their sweep and delivery.
    let wait_until = Utc::now() + TimeDelta::seconds(PROBE_DUE_IN_SECONDS + i64::try_from(sweep_interval)? + 30);
    while Utc::now() < wait_until && !all_seen(&probes, &delivered) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "\nimported meanwhile {} findings ({:.0}/s), createFindings of {} p99 {:.1} ms; {} edits p50 {:.2} ms p99 {:.2} ms",
        written.created,
        written.created as f64 / written.elapsed.as_secs_f64(),
        written.batch,
        written.batch_ms(0.99),
        written.edits.len(),
        written.edit_ms(0.5),
        written.edit_ms(0.99)
    );
    report_lags(&probes, &heard, &delivered, sweep_interval);
    println!("webhook receiver: {} breaches delivered in all", lock(&delivered).len());
    println!("\nSQLite's writers over the run (none on PostgreSQL):\n{}", server.write_turns(&admin).await?);
    for socket in sockets {
        socket.abort();
    }
    // Dropped here it would wait for its threads inside this runtime, which tokio refuses.
    dashboard_threads.shutdown_background();
    server.stop()?;
    server_world::remove_working_copy(&database_url).await;
    Ok(())
}

/// Sweep lag (deadline → heard) and delivery lag (heard → received by the webhook) over the probes.
fn report_lags(probes: &[(String, DateTime<Utc>)], heard: &SeenAt, delivered: &SeenAt, sweep_interval: u64) {
    let heard = lock(heard).clone();
    let delivered = lock(delivered).clone();
    let mut sweep_lags: Vec<Duration> = Vec::new();
    let mut delivery_lags: Vec<Duration> = Vec::new();
    for (id, deadline) in probes {
        if let Some(at) = heard.get(id) {
            sweep_lags.push((*at - *deadline).to_std().unwrap_or_default());
            if let Some(received) = delivered.get(id) {
                delivery_lags.push((*received - *at).to_std().unwrap_or_default());
            }
        }
    }
    sweep_lags.sort();
    delivery_lags.sort();
    let ms = |lags: &[Duration], q: f64| loadgen::quantile_ms(lags, q);
    println!(
        "sweep lag (deadline → breach heard on slaEvents), {} of {} probes heard: p50 {:.0} ms, p99 {:.0} ms, max \
         {:.0} ms (interval {} s)",
        sweep_lags.len(),
        probes.len(),
        ms(&sweep_lags, 0.5),
        ms(&sweep_lags, 0.99),
        ms(&sweep_lags, 1.0),
        sweep_interval
    );
    println!(
        "delivery lag (breach heard → webhook received), {} delivered: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        delivery_lags.len(),
        ms(&delivery_lags, 0.5),
        ms(&delivery_lags, 0.99),
        ms(&delivery_lags, 1.0)
    );
}

fn all_seen(probes: &[(String, DateTime<Utc>)], delivered: &SeenAt) -> bool {
    let delivered = lock(delivered);
    probes.iter().all(|(id, _)| delivered.contains_key(id))
}

fn lock(seen: &SeenAt) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

fn remember(seen: &SeenAt, id: String) {
    lock(seen).entry(id).or_insert_with(Utc::now);
}

/// The users' reads, each different: outside-SLA count and page 40 %, `slaSummary` 20 %, a member's page
/// 20 %, REST outside-SLA at a random offset 10 %, REST all findings deep 5 %, a text search 5 %.
fn mixed_reads(server: &Server, admin: &str, owner: &str, api_token: &str, products: &[String]) -> MakeRequest {
    let draws = Draws::new(0x5EED);
    let products = Arc::new(products.to_vec());
    let choices: Vec<(u64, &str, MakeRequest)> = vec![
        (40, "page", outside_sla_page(server, admin, &draws, &products, false)),
        (20, "summary", summary(server, admin, &draws, &products)),
        (20, "member", member_page(server, owner, &draws)),
        (10, "rest", rest(server, api_token, &draws, 50_001, true)),
        (5, "rest-deep", rest(server, api_token, &draws, 900_001, false)),
        (5, "search", outside_sla_page(server, admin, &draws, &products, true)),
    ];
    Arc::new(move |client: &reqwest::Client| {
        let mut pick = draws.below(100);
        let (_, kind, make) = choices
            .iter()
            .find(|(weight, ..)| {
                let chosen = pick < *weight;
                pick = pick.saturating_sub(*weight);
                chosen
            })
            .unwrap_or(&choices[0]);
        make(client).header(loadgen::KIND_HEADER, *kind)
    })
}

/// `count` users who watch a dashboard, each a reader of one product (in turn): their sign-ins and products.
async fn viewers(
    server: &Server,
    admin: &str,
    products: &[String],
    count: usize,
) -> BenchResult<Vec<(String, String)>> {
    use futures_util::stream::{self, TryStreamExt};
    let password = "bench-viewer-password";
    let one = |index: usize| async move {
        let username = format!("bench-viewer-{index}");
        let product = products[index % products.len()].clone();
        let created = server
            .graphql(
                admin,
                &format!(
                    "mutation {{ createUser(input: {{username: \"{username}\", email: \"{username}@bench.example\", \
                     password: \"{password}\"}}) {{ id }} }}"
                ),
            )
            .await?;
        let user = created["data"]["createUser"]["id"].as_str().ok_or("no user id")?;
        server
            .graphql(admin, &format!("mutation {{ addProductMember(productId: \"{product}\", userId: \"{user}\", role: READER) {{ id }} }}"))
            .await?;
        let jwt = server.login((&username, password)).await?;
        Ok::<_, Box<dyn std::error::Error>>((jwt, product))
    };
    let signed_in = stream::iter((0..count).map(one)).buffered(4).try_collect().await?;
    Ok(signed_in)
}

/// Turns webhooks on and sends every SLA breach to `url` as GELF.
async fn route_breaches_to(server: &Server, admin: &str, url: &str) -> BenchResult<()> {
    server
        .graphql(admin, "mutation { updateSystemSettings(input: {enableWebhooks: true}) { enableWebhooks } }")
        .await?;
    let created = server
        .graphql(
            admin,
            &format!(
                "mutation {{ createWebhook(input: {{name: \"Graylog\", url: \"{url}\", format: GELF}}) {{ id }} }}"
            ),
        )
        .await?;
    let hook = created["data"]["createWebhook"]["id"].as_str().ok_or("no webhook id")?;
    server
        .graphql(
            admin,
            &format!(
                "mutation {{ setNotificationSetting(input: {{scope: SYSTEM, event: SLA_BREACH, channels: [WEBHOOK], \
                 webhookIds: [\"{hook}\"]}}) {{ configured }} }}"
            ),
        )
        .await?;
    Ok(())
}

/// A local GELF receiver: remembers when each finding's `sla_breach` first arrived. Returns its URL.
async fn serve_webhook_receiver(delivered: SeenAt) -> BenchResult<String> {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/gelf", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/gelf",
        post(move |body: axum::body::Bytes| {
            let delivered = delivered.clone();
            async move {
                let Ok(gelf) = serde_json::from_slice::<Value>(&body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                if gelf["_event"] == "sla_breach"
                    && let Some(id) = gelf["_finding_id"].as_i64()
                {
                    remember(&delivered, id.to_string());
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Every second until `stop`, a Critical due `PROBE_DUE_IN_SECONDS` later (its SLA of one day started a day
/// earlier, less that); returns each probe's id and deadline as the server computed it.
async fn create_probes(
    base: String,
    jwt: String,
    products: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, DateTime<Utc>)> {
    let client = reqwest::Client::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut probes = Vec::new();
    let query = "mutation($i: CreateFindingInput!) { createFinding(input: $i) { id slaDeadline } }";
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let started = Utc::now() - TimeDelta::days(1) + TimeDelta::seconds(PROBE_DUE_IN_SECONDS);
        let input = json!({
            "productId": products[probes.len() % products.len()],
            "title": format!("Probe {}", probes.len()),
            "severity": "CRITICAL",
            "slaStart": started.to_rfc3339(),
        });
        let answer = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&jwt)
            .json(&json!({ "query": query, "variables": { "i": input } }))
            .send()
            .await;
        let Ok(answer) = answer else { continue };
        let Ok(body) = answer.json::<Value>().await else { continue };
        let created = &body["data"]["createFinding"];
        let deadline = created["slaDeadline"].as_str().and_then(|d| DateTime::parse_from_rfc3339(d).ok());
        match (created["id"].as_str(), deadline) {
            (Some(id), Some(deadline)) => probes.push((id.to_owned(), deadline.with_timezone(&Utc))),
            _ => eprintln!("a probe was not created: {body}"),
        }
    }
    probes
}

/// One dashboard: the web app's three subscriptions on `product`, counting what arrives.
async fn dashboard(
    url: String,
    jwt: String,
    product: String,
    messages: DashboardMessages,
    handshakes: Arc<Semaphore>,
) -> Result<(), TaskError> {
    let mut socket = ws_connect(&url, &jwt, &handshakes).await?;
    let subscriptions = [
        (
            "sla",
            "subscription($p: ID) { slaEvents(productId: $p) { kind threshold occurredAt finding { id title severity product { name } } } }",
        ),
        ("changed", "subscription($p: ID) { findingChanged(productId: $p) { id } }"),
        ("alerts", "subscription { alerts { id title } }"),
    ];
    for (id, query) in subscriptions {
        let subscribe =
            json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "p": product } } });
        socket.send(Message::text(subscribe.to_string())).await?;
    }
    while let Some(message) = socket.next().await {
        match message? {
            Message::Text(text) if text.contains("\"next\"") => messages.count(&text),
            Message::Text(text) if text.contains("\"ping\"") => {
                socket.send(Message::text(json!({ "type": "pong" }).to_string())).await?;
            }
            Message::Text(text) if text.contains("\"error\"") => return Err(format!("subscription: {text}").into()),
            _ => {}
        }
    }
    Ok(())
}

/// A watcher of every breach (a superuser's `slaEvents`), remembering when each finding's was heard.
async fn watch_breaches(url: String, jwt: String, heard: SeenAt) {
    let watched = async {
        let mut socket = ws_connect(&url, &jwt, &Semaphore::new(1)).await?;
        let query = "subscription { slaEvents(kinds: [BREACH]) { finding { id } } }";
        let subscribe = json!({ "id": "breaches", "type": "subscribe", "payload": { "query": query } });
        socket.send(Message::text(subscribe.to_string())).await?;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message? {
                let frame: Value = serde_json::from_str(&text)?;
                if let Some(id) = frame["payload"]["data"]["slaEvents"]["finding"]["id"].as_str() {
                    remember(&heard, id.to_owned());
                }
            }
        }
        Ok::<(), TaskError>(())
    };
    if let Err(err) = watched.await {
        eprintln!("the breach watcher failed: {err}");
    }
}
