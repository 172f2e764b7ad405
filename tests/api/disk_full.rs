//! Issue 17, point 1: a full disk under SQLite loses no acknowledged write. The database lives on a small
//! file system (`SLAWATCH_SMALL_FS`: a directory on a few-MiB tmpfs, which `.ci/run` mounts); writers
//! create findings while the SLA sweep runs every second; the disk is filled until writes fail, then freed.
//! Every finding whose id the API returned must still exist after a SIGKILL and a restart, and the server
//! must work again without one: writes succeed and reads show exactly what was acknowledged.
//!
//! Runs when `SLAWATCH_SMALL_FS` is set (CI mounts one; a test cannot without root), on SQLite only.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::ADMIN_PASSWORD;
use crate::instances::{free_port, serve_on};

const WRITERS: usize = 4;

/// The disk stays full until this many writes have failed, or for at most `FULL_AT_MOST`.
const FAILURES_WHILE_FULL: usize = 20;
const FULL_AT_MOST: Duration = Duration::from_secs(30);

/// How long the server may take to write again once space is freed, and to sweep again: generous, since a
/// slow machine running the whole suite is slow, and the test waits only as long as it must.
const RECOVERY_AT_MOST: Duration = Duration::from_secs(60);

const CREATE: &str = "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }";

async fn post(client: &reqwest::Client, base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = client.post(format!("{base}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => response.json().await.unwrap_or_else(|e| json!({ "errors": [{ "message": e.to_string() }] })),
        Err(err) => json!({ "errors": [{ "message": err.to_string() }] }),
    }
}

/// Two Critical findings whose SLA started 30 h ago (so the sweep has thresholds to notify).
fn batch(product: &str, round: usize) -> Value {
    let started = (chrono::Utc::now() - chrono::TimeDelta::hours(30)).to_rfc3339();
    json!([
        { "productId": product, "title": format!("disk {round} a {}", "x".repeat(50)), "severity": "CRITICAL",
          "slaStart": started, "description": "y".repeat(100) },
        { "productId": product, "title": format!("disk {round} b"), "severity": "HIGH", "slaStart": started,
          "description": "z".repeat(100) },
    ])
}

/// The ids of every finding the server has (pages of 100).
async fn stored_ids(client: &reqwest::Client, base: &str, token: &str) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = post(
            client,
            base,
            Some(token),
            "query($after: String) { findings(first: 100, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }",
            json!({ "after": after }),
        )
        .await;
        assert!(page.get("errors").is_none(), "{page}");
        let findings = &page["data"]["findings"];
        for node in findings["nodes"].as_array().expect("nodes") {
            ids.insert(node["id"].as_str().expect("id").parse().expect("numeric id"));
        }
        if findings["pageInfo"]["hasNextPage"] != true {
            return ids;
        }
        after = findings["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// Writes 64 KiB blocks into `path` until the file system refuses one.
fn fill(path: &std::path::Path) -> std::fs::File {
    let mut file = std::fs::File::create(path).expect("the filler file");
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).and_then(|()| file.sync_data()).is_ok() {}
    file
}

#[tokio::test]
async fn after_a_full_disk_every_acknowledged_finding_survives_a_restart_and_writes_work_again() {
    let Some(small) = std::env::var_os("SLAWATCH_SMALL_FS").filter(|dir| !dir.is_empty()) else {
        eprintln!("SLAWATCH_SMALL_FS is not set: skipping the disk-full test (it needs a small mounted file system)");
        return;
    };
    if std::env::var("TEST_DATABASE_URL").ok().is_some_and(|url| !url.is_empty()) {
        eprintln!("TEST_DATABASE_URL is set: the disk-full test is about SQLite and ran in the SQLite pass");
        return;
    }
    let dir = tempfile::tempdir_in(&small).expect("a directory on the small file system");
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("slawatch.db").display());
    let port = free_port();
    let server = serve_on(&database_url, port).await;
    let base = server.base.clone();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let login = post(
        &client,
        &base,
        None,
        "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        json!({ "p": ADMIN_PASSWORD }),
    )
    .await;
    let token = login["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("no token: {login}")).to_owned();
    let kind = post(
        &client,
        &base,
        Some(&token),
        "mutation { createProductType(input: {name: \"Disks\"}) { id } }",
        json!({}),
    )
    .await;
    let kind = kind["data"]["createProductType"]["id"].as_str().expect("product type").to_owned();
    let product = post(
        &client,
        &base,
        Some(&token),
        "mutation($t: ID!) { createProduct(input: {name: \"Full\", productTypeId: $t}) { id } }",
        json!({ "t": kind }),
    )
    .await;
    let product = product["data"]["createProduct"]["id"].as_str().expect("product").to_owned();

    // Writers: every id the API returns is acknowledged and must survive.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::<i64>::new()));
    let failures = Arc::new(Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (client, base, token, product) = (client.clone(), base.clone(), token.clone(), product.clone());
        let (acknowledged, failures, stop) = (acknowledged.clone(), failures.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut round = writer * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let answer = post(&client, &base, Some(&token), CREATE, json!({ "i": batch(&product, round) })).await;
                match answer["data"]["createFindings"].as_array() {
                    Some(created) => acknowledged
                        .lock()
                        .expect("lock")
                        .extend(created.iter().map(|f| f["id"].as_str().expect("id").parse::<i64>().expect("id"))),
                    None => failures.lock().expect("lock").push(answer["errors"][0].clone()),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The disk stays full until writes have failed for a while (not for a fixed time: on a slow, busy
    // machine the writers may not have tried within it), then is freed while the writers go on.
    let filler_path = dir.path().join("filler");
    let filler = fill(&filler_path);
    let full_until = Instant::now() + FULL_AT_MOST;
    while failures.lock().expect("lock").len() < FAILURES_WHILE_FULL && Instant::now() < full_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed_while_full = failures.lock().expect("lock").len();
    drop(filler);
    std::fs::remove_file(&filler_path).expect("space freed");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(failed_while_full > 0, "the disk was full for {FULL_AT_MOST:?}, yet no write failed");
    // A full disk is said as such (503, retry later), not as an internal error. A writer that waited its
    // turn behind the failing ones may hear that the database is unavailable instead: a 503 as well.
    let failures = failures.lock().expect("lock").clone();
    for failure in &failures {
        assert_eq!(failure["extensions"]["code"], "SERVICE_UNAVAILABLE", "a write failed otherwise: {failure}");
    }
    assert!(
        failures.iter().any(|f| f["message"].as_str().is_some_and(|m| m.contains("disk is full"))),
        "no failure said the disk is full: {:?}",
        failures.first()
    );

    // The same server, without a restart: writes work, and reads show what was acknowledged.
    let settle = Instant::now() + RECOVERY_AT_MOST;
    let mut in_a_row = 0;
    let mut last_error = Value::Null;
    while in_a_row < 20 {
        assert!(Instant::now() < settle, "writes did not work again after the space was freed: {last_error}");
        let answer = post(&client, &base, Some(&token), CREATE, json!({ "i": batch(&product, 9_999_999) })).await;
        match answer["data"]["createFindings"].as_array() {
            Some(created) => {
                in_a_row += 1;
                acknowledged
                    .lock()
                    .expect("lock")
                    .extend(created.iter().map(|f| f["id"].as_str().expect("id").parse::<i64>().expect("id")));
            }
            None => {
                in_a_row = 0;
                last_error = answer["errors"].clone();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let seen = stored_ids(&client, &base, &token).await;
    let missing: Vec<_> = acknowledged.difference(&seen).collect();
    assert!(missing.is_empty(), "acknowledged but not readable before the restart: {missing:?}");
    let unacknowledged: Vec<_> = seen.difference(&acknowledged).collect();
    assert!(unacknowledged.is_empty(), "readable but never acknowledged (uncommitted rows): {unacknowledged:?}");

    // The sweep works again too: a Critical due earlier than every other finding gets its events first.
    let started = (chrono::Utc::now() - chrono::TimeDelta::hours(40)).to_rfc3339();
    let sentinel =
        json!([{ "productId": product, "title": "sweep sentinel", "severity": "CRITICAL", "slaStart": started }]);
    let created = post(&client, &base, Some(&token), CREATE, json!({ "i": sentinel })).await;
    let sentinel_id = created["data"]["createFindings"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the sentinel was not created: {created}"))
        .to_owned();
    let acknowledged: BTreeSet<i64> = acknowledged.into_iter().chain([sentinel_id.parse().expect("id")]).collect();
    let swept = Instant::now() + RECOVERY_AT_MOST;
    loop {
        let events = post(
            &client,
            &base,
            Some(&token),
            "query($id: ID!) { finding(id: $id) { slaEvents { kind } } }",
            json!({ "id": sentinel_id }),
        )
        .await;
        if events["data"]["finding"]["slaEvents"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        assert!(Instant::now() < swept, "the sweep did not work again after the space was freed: {events}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    drop(server); // SIGKILL
    let server = serve_on(&database_url, port).await;
    let login = post(
        &client,
        &server.base,
        None,
        "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        json!({ "p": ADMIN_PASSWORD }),
    )
    .await;
    let token = login["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token after the restart: {login}"))
        .to_owned();
    let after_restart = stored_ids(&client, &server.base, &token).await;
    let lost: Vec<_> = acknowledged.difference(&after_restart).collect();
    assert!(lost.is_empty(), "acknowledged findings lost in the restart: {lost:?} of {}", acknowledged.len());
    assert_eq!(after_restart.len(), acknowledged.len(), "nothing but the acknowledged findings");
}
