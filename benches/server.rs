//! The real server at N findings (default 1,000,000): binary size, start-up time, idle memory; GraphQL and
//! REST request rates and latencies at concurrency 1 and 32, beside a bare axum handler measured the same
//! way in the same run; one breach fanned out to 10,000 websocket subscribers.
//!
//! `cargo bench --bench server` (SQLite in a temp dir); `BENCH_DATABASE_URL=postgres://…` (an empty
//! database) for PostgreSQL. `BENCH_SQLITE_FILE=/path/bench.db` keeps the SQLite data set, and
//! `BENCH_REUSE=1` uses the one already there (loading a million findings takes minutes). `BENCH_FINDINGS`,
//! `BENCH_SECONDS` (per measurement, default 10) and `BENCH_SUBSCRIBERS` (default 10,000) change the sizes;
//! `BENCH_SUBSCRIPTIONS_PER_SOCKET` (default 1) lets each websocket carry that many of the subscribers (a
//! process here may open only 20,000 files, so 50,000 subscribers need several per socket).
//! `BENCH_ONLY=count,bare` runs only the measurements whose names contain one of the words (`fan-out` for
//! the subscribers), e.g. to profile one of them (the server's pid is printed).
//!
//! The load generator (benches/loadgen) runs in this process on the same two cores as the server, for the
//! server and for the bare handler alike, so the ratio of the two is the fair figure.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod loadgen;
mod server_world;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use futures_util::{SinkExt, StreamExt};
use loadgen::TABLE_HEADER;
use serde_json::{Value, json};
use server_world::{BareHandler, Server, TaskError, prepare_data_set, selected, serve_bare_handler, ws_connect};
use support::{ADMIN, BenchResult, OWNER};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

const COUNT: &str = "{ findings(filter: {outsideSla: true}) { totalCount } }";
const FIRST_PAGE: &str =
    "{ findings(filter: {outsideSla: true}, first: 100) { nodes { id title severity slaDeadline } } }";
const SUMMARY: &str = "{ slaSummary { severity state count } }";
const REST: &str = "/api/v2/findings/?outside_sla=true&active=true&limit=1";
const BREACHES: &str = "subscription { slaEvents(kinds: [BREACH]) { kind finding { id } } }";

#[tokio::main]
async fn main() -> BenchResult<()> {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("bare-axum") {
        return serve_bare_handler().await;
    }
    let total = support::findings_wanted(1_000_000);
    let seconds: u64 = support::env_number("BENCH_SECONDS", 10);
    let subscribers: usize = support::env_number("BENCH_SUBSCRIBERS", 10_000);
    let per_socket: usize = support::env_number("BENCH_SUBSCRIPTIONS_PER_SOCKET", 1).max(1);
    let (database_url, _dir) = prepare_data_set(total).await?;
    let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let binary = env!("CARGO_BIN_EXE_slawatch");
    println!("## {backend}, {total} findings\n");
    println!("binary: {binary}, {:.1} MiB", std::fs::metadata(binary)?.len() as f64 / 1_048_576.0);

    // Start-up: process start to a ready answer, five times; the last server stays for the load.
    let mut startups = Vec::new();
    let mut server = None;
    for attempt in 0..5 {
        let started = Instant::now();
        let running = Server::start(&database_url, &[])?;
        running.wait_ready().await?;
        startups.push(started.elapsed());
        if attempt == 4 {
            server = Some(running);
        } else {
            running.stop()?;
        }
    }
    let server = server.ok_or("no server")?;
    eprintln!("server pid {}", server.child.id());
    let (startup_median, startup_slowest) = support::median_and_p99(&mut startups);
    println!("start-up to ready: median {startup_median:.0} ms, slowest {startup_slowest:.0} ms (5 starts)");
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("idle memory 10 s after start (scheduler running): {:.1} MiB RSS", server.rss_mib()?);

    let admin_jwt = server.login(ADMIN).await?;
    let owner_jwt = server.login(OWNER).await?;
    let api_token = server.api_token(&admin_jwt).await?;
    let expected = server.graphql(&admin_jwt, COUNT).await?;
    println!("outsideSla totalCount: {}", expected["data"]["findings"]["totalCount"]);

    let warm_up = Duration::from_secs(1);
    let duration = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    let mut count_c32 = 0.0;
    for concurrency in [1, 32] {
        for (name, make) in [
            ("GraphQL outsideSla totalCount (superuser)", server.graphql_request(&admin_jwt, COUNT)),
            ("GraphQL outsideSla totalCount (member of 1 product)", server.graphql_request(&owner_jwt, COUNT)),
            ("GraphQL outsideSla first 100", server.graphql_request(&admin_jwt, FIRST_PAGE)),
            ("GraphQL slaSummary", server.graphql_request(&admin_jwt, SUMMARY)),
            ("REST outside_sla=true&active=true&limit=1", server.rest_request(&api_token, REST)),
        ] {
            if !selected(&format!("{name} c{concurrency}")) {
                continue;
            }
            let report = loadgen::run(make, concurrency, warm_up, duration).await;
            if name.contains("superuser") && concurrency == 32 {
                count_c32 = report.per_second();
            }
            eprintln!("{}", report.row(name));
            rows.push(report.row(name));
        }
    }
    println!("memory after the load: {:.1} MiB RSS, peak {:.1} MiB", server.rss_mib()?, server.peak_mib()?);
    server.stop()?;

    let bare = BareHandler::start()?;
    let mut bare_c32 = 0.0;
    for concurrency in [1, 32] {
        if !selected(&format!("bare axum handler c{concurrency}")) {
            continue;
        }
        let report = loadgen::run(bare.request(COUNT), concurrency, warm_up, duration).await;
        if concurrency == 32 {
            bare_c32 = report.per_second();
        }
        rows.push(report.row("bare axum handler (same JSON body in, constant JSON out)"));
    }
    drop(bare);
    println!("\n{TABLE_HEADER}\n{}\n", rows.join("\n"));
    println!("count query at concurrency 32: {:.0} % of the bare handler's rate\n", 100.0 * count_c32 / bare_c32);

    if selected("fan-out") {
        fan_out(&database_url, subscribers, per_socket).await?;
    }
    if selected("createFindings") {
        create_rate(&database_url, warm_up, duration).await?;
    }
    Ok(())
}

/// `createFindings` of 1,000 open findings per call, of one product or spread over all of them, back to back
/// at concurrency 1, 2 and 4, on a copy of the data set (so the reads above and later runs see the same
/// data): findings written per second.
async fn create_rate(database_url: &str, warm_up: Duration, duration: Duration) -> BenchResult<()> {
    const BATCH: usize = 1_000;
    let copy = server_world::working_copy(database_url, "create").await?;
    let server = Server::start(&copy, &["--no-scheduler"])?;
    server.wait_ready().await?;
    let admin_jwt = server.login(ADMIN).await?;
    let products = server.product_ids(&admin_jwt).await?;
    // The finding index loads in the background after start-up (one pass over the table): measure after it.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];
    let started = Utc::now();
    println!(
        "\ncreateFindings of {BATCH} open findings each, on a copy of the data set (server pid {}):\n\n{TABLE_HEADER}",
        server.child.id()
    );
    // A scan import names one product; a sync or a script may spread a call over many.
    let spread_over_all = format!("over {} products", products.len());
    // Every call's findings are new ones (titles, hence hashes, and SLA starts of their own), as in a stream of
    // imports: the same body sent again would pile equal keys into the indexes, and each later row of the table
    // would measure a larger pile than the one before.
    let calls = Arc::new(AtomicUsize::new(0));
    for (spread, products_per_call) in [("of one product", 1), (spread_over_all.as_str(), products.len())] {
        let products = products.clone();
        let calls = calls.clone();
        let query = "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }";
        let (url, header) = (format!("{}/graphql", server.base), format!("Bearer {admin_jwt}"));
        let make: loadgen::MakeRequest = Arc::new(move |client: &reqwest::Client| {
            let call = calls.fetch_add(1, Ordering::Relaxed);
            let inputs: Vec<serde_json::Value> = (0..BATCH)
                .map(|i| {
                    let n = call * BATCH + i;
                    json!({
                        "productId": products[i % products_per_call],
                        "title": format!("Created by the bench {n}"),
                        "description": format!("Reported by the nightly scan (finding {n})."),
                        "severity": severities[i % severities.len()],
                        "slaStart": (started - TimeDelta::seconds(i64::try_from(n).unwrap_or(0))).to_rfc3339(),
                    })
                })
                .collect();
            let body = json!({ "query": query, "variables": { "i": inputs } }).to_string();
            client.post(&url).header("authorization", &header).header("content-type", "application/json").body(body)
        });
        for concurrency in [1, 2, 4] {
            let report = loadgen::run(make.clone(), concurrency, warm_up, duration).await;
            let rate = report.per_second() * BATCH as f64;
            println!("{}", report.row(&format!("createFindings of {BATCH} {spread}: {rate:.0} findings/s")));
        }
    }
    println!("memory after the writes: {:.1} MiB RSS", server.rss_mib()?);
    server.stop()?;
    server_world::remove_working_copy(&copy).await;
    Ok(())
}

/// `subscribers` subscriptions to breaches, `per_socket` on each websocket client; one Critical is created
/// past its deadline and `runSlaSweep` records the breach: the time from the sweep's start to each
/// subscriber's receipt, and the server's memory per subscriber.
async fn fan_out(database_url: &str, subscribers: usize, per_socket: usize) -> BenchResult<()> {
    let sockets = subscribers.div_ceil(per_socket);
    let subscribers = sockets * per_socket;
    let server = Server::start(database_url, &["--no-scheduler"])?;
    server.wait_ready().await?;
    let admin_jwt = server.login(ADMIN).await?;
    // The finding index loads in the background after start-up: measure from after it.
    tokio::time::sleep(Duration::from_secs(30)).await;
    // What came due since the data set was swept (minutes ago after a fresh load) is announced now, before
    // anyone listens, so that the measured sweep announces the bench's breach alone, or nearly.
    let caught_up = server.graphql(&admin_jwt, "mutation { runSlaSweep { emitted } }").await?;
    println!("events that came due before the subscribers: {}", caught_up["data"]["runSlaSweep"]);
    let before = server.rss_mib()?;

    let ws_url = format!("{}/graphql/ws", server.base.replacen("http", "ws", 1));
    let (received_tx, mut received_rx) = mpsc::unbounded_channel::<(Instant, String)>();
    // Well under what the server lets one address keep waiting for `connection_init` (16 by default): a
    // socket counts until the server has taken its `connection_init`, a little after the client's permit.
    let handshakes = Arc::new(Semaphore::new(8));
    let (go, _) = tokio::sync::broadcast::channel::<()>(1);
    let connected = Arc::new(AtomicUsize::new(0));
    let connecting = Instant::now();
    let mut tasks = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let (url, jwt, sender) = (ws_url.clone(), admin_jwt.clone(), received_tx.clone());
        let (handshakes, go, connected) = (handshakes.clone(), go.subscribe(), connected.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(err) = subscriber(url, jwt, per_socket, sender, handshakes, connected, go).await {
                eprintln!("a subscriber failed: {err}");
            }
        }));
    }
    drop(received_tx);
    while connected.load(Ordering::SeqCst) < sockets {
        if connecting.elapsed() > Duration::from_secs(300) {
            return Err(format!("not all {sockets} sockets connected within 300 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected_in = connecting.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_connections = server.rss_mib()?;
    let _ = go.send(());
    let wanted = format!("slawatch_live_subscriptions {subscribers}");
    loop {
        let metrics =
            server.http.get(format!("{}/metrics", server.base)).bearer_auth(&admin_jwt).send().await?.text().await?;
        if metrics.lines().any(|line| line == wanted) {
            break;
        }
        if connecting.elapsed() > Duration::from_secs(300) {
            return Err(format!("not all {subscribers} subscribed within 300 s").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let subscribed_in = connecting.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_mib()?;

    let product = server.graphql(&admin_jwt, "{ products(first: 1) { nodes { id } } }").await?;
    let product_id = product["data"]["products"]["nodes"][0]["id"].as_str().ok_or("no product")?.to_owned();
    let created = server
        .graphql(
            &admin_jwt,
            &format!(
                "mutation {{ createFinding(input: {{productId: \"{product_id}\", title: \"Fan-out breach\", \
                 severity: CRITICAL, slaStart: \"{}\"}}) {{ id }} }}",
                (Utc::now() - TimeDelta::days(2)).to_rfc3339()
            ),
        )
        .await?;
    let finding_id = created["data"]["createFinding"]["id"].as_str().ok_or("no finding")?.to_owned();
    let breached = Instant::now();
    let sweep = server.graphql(&admin_jwt, "mutation { runSlaSweep { emitted } }").await?;
    let sweep_done = breached.elapsed();
    let mut latencies = Vec::with_capacity(subscribers);
    // Breaches of other findings that came due in the seconds since the sweep before the subscribers: heard
    // by every subscriber as well, and counted apart.
    let mut others = 0_usize;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    while latencies.len() < subscribers {
        match tokio::time::timeout_at(give_up, received_rx.recv()).await {
            Ok(Some((at, id))) if id == finding_id => latencies.push(at - breached),
            Ok(Some(_)) => others += 1,
            _ => break,
        }
    }
    if others > 0 {
        println!("besides the bench's breach, {others} events of other findings were heard");
    }
    let heard = latencies.len();
    let (median, _) = support::median_and_p99(&mut latencies);
    let last = latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    println!("## Fan-out of one breach to {subscribers} websocket subscribers ({per_socket} per socket)\n");
    println!(
        "{sockets} sockets connected (websocket, connection_init) in {:.1} s; all subscribed {:.1} s after the start",
        connected_in.as_secs_f64(),
        subscribed_in.as_secs_f64()
    );
    let per = |from: f64, to: f64, count: usize| (to - from) * 1024.0 / count as f64;
    println!(
        "server memory: {before:.1} MiB before, {with_connections:.1} MiB with {sockets} connections \
         ({:.1} KiB each), {after:.1} MiB once subscribed ({:.1} KiB more per subscription): {:.1} KiB per \
         subscriber",
        per(before, with_connections, sockets),
        per(with_connections, after, subscribers),
        per(before, after, subscribers)
    );
    println!("runSlaSweep answered in {:.1} ms ({})", sweep_done.as_secs_f64() * 1000.0, sweep["data"]["runSlaSweep"]);
    println!(
        "{heard} of {subscribers} heard the breach: median {median:.1} ms, last {last:.1} ms after the sweep began"
    );
    for task in tasks {
        task.abort();
    }
    server.stop()?;
    Ok(())
}

/// One websocket client: connects, starts `subscriptions` subscriptions on `go`, and reports each breach they
/// hear (the finding's id) until aborted.
async fn subscriber(
    url: String,
    jwt: String,
    subscriptions: usize,
    received: mpsc::UnboundedSender<(Instant, String)>,
    handshakes: Arc<Semaphore>,
    connected: Arc<AtomicUsize>,
    mut go: tokio::sync::broadcast::Receiver<()>,
) -> Result<(), TaskError> {
    let mut socket = ws_connect(&url, &jwt, &handshakes).await?;
    connected.fetch_add(1, Ordering::SeqCst);
    go.recv().await?;
    for id in 0..subscriptions {
        let subscribe = json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": BREACHES } });
        socket.send(Message::text(subscribe.to_string())).await?;
    }
    // Every event is reported, not only the first: a breach of another finding may come first (`fan_out`).
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let at = Instant::now();
            let value: Value = serde_json::from_str(&text)?;
            if value["type"] == "next" {
                let id = value["payload"]["data"]["slaEvents"]["finding"]["id"].as_str().unwrap_or_default();
                received.send((at, id.to_owned()))?;
            }
        }
    }
    Ok(())
}
