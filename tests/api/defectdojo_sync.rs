//! Running beside DefectDojo: a superuser adds an instance, a sync pulls its SLA configurations, product
//! types, products, engagements and findings (from a local imitation serving the captured responses'
//! shape), a later sync follows DefectDojo's changes (severity, mitigation, a new finding, a deletion), and
//! faults leave what was synced neither lost nor duplicated.

use serde_json::{Value, json};

use crate::fake_dojo::{FakeDojo, captured, finding};
use crate::helpers::{TestApp, spawn_app_without_scheduler};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// The imitation with the runbook-like instance: the captured SLA configurations and product (Oracle-Strict
/// on Oracle-Strict-SLA: High 5 days, Low not enforced), one engagement, one test, four findings.
async fn dojo() -> FakeDojo {
    let dojo = FakeDojo::start(TOKEN).await;
    dojo.set("sla_configurations", captured("sla_configurations_list")["results"].as_array().expect("list").clone());
    dojo.set("product_types", vec![json!({ "id": 3, "name": "Oracle", "description": null })]);
    let mut product = captured("product_detail_strict");
    product.as_object_mut().expect("object").remove("prefetch");
    dojo.set("products", vec![product]);
    dojo.set(
        "engagements",
        vec![json!({ "id": 7, "name": "Nightly", "description": null, "product": 12,
                     "target_start": "2026-02-01", "target_end": "2026-03-31", "status": "In Progress" })],
    );
    dojo.set("tests", vec![json!({ "id": 11, "engagement": 7, "title": null })]);
    dojo.set(
        "findings",
        vec![
            finding(&json!({ "id": 201, "title": "SQL injection", "severity": "High", "date": "2026-02-27" })),
            finding(&json!({ "id": 202, "title": "Weak cipher", "severity": "High", "date": "2026-02-20",
                             "active": false, "is_mitigated": true, "mitigated": "2026-02-24T12:00:00Z" })),
            finding(&json!({ "id": 203, "title": "Reflected XSS", "severity": "Medium", "date": "2026-02-27" })),
            finding(&json!({ "id": 204, "title": "Old header", "severity": "Low", "date": "2026-01-01" })),
        ],
    );
    dojo
}

async fn add_source(app: &TestApp, url: &str) -> String {
    let made = app
        .admin(
            "mutation($u: String!, $t: String!) { createDefectDojoSource(input: {url: $u, token: $t, interval: 300}) { id url interval } }",
            json!({ "u": url, "t": TOKEN }),
        )
        .await;
    made.data()["createDefectDojoSource"]["id"].as_str().expect("id").to_owned()
}

const SYNC: &str =
    "mutation($id: ID!) { syncDefectDojoSource(id: $id) { created updated unchanged closed anomalies skipped } }";

async fn sync(app: &TestApp, source: &str) -> Value {
    app.admin(SYNC, json!({ "id": source })).await.data()["syncDefectDojoSource"].clone()
}

/// Each synced finding by title: (severity, slaState, isMitigated, slaExpirationDate, engagement name).
async fn synced(app: &TestApp) -> Vec<(String, String, String, bool, Value, String)> {
    let read = app
        .admin(
            "{ findings(first: 100) { edges { node { title severity slaState isMitigated slaExpirationDate
                 engagement { name } product { name } } } } }",
            json!({}),
        )
        .await;
    let mut rows: Vec<_> = read.data()["findings"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let n = &e["node"];
            let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (
                text(&n["title"]),
                text(&n["severity"]),
                text(&n["slaState"]),
                n["isMitigated"].as_bool().expect("flag"),
                n["slaExpirationDate"].clone(),
                format!("{}/{}", text(&n["product"]["name"]), text(&n["engagement"]["name"])),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

async fn source_status(app: &TestApp) -> Value {
    let read = app
        .admin(
            "{ defectDojoSources { id lastRunAt lastSuccessAt lastError findingsSynced failures nextRunAt } }",
            json!({}),
        )
        .await;
    read.data()["defectDojoSources"][0].clone()
}

#[tokio::test]
async fn a_first_sync_copies_defectdojo_and_a_later_one_follows_its_changes() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    let source = add_source(&app, &dojo.url).await;

    let first = sync(&app, &source).await;
    assert_eq!(first, json!({ "created": 4, "updated": 0, "unchanged": 0, "closed": 0, "anomalies": 0, "skipped": 0 }));
    assert_eq!(dojo.refused(), 0, "every request carried the token");
    let place = "Oracle-Strict/Nightly".to_owned();
    assert_eq!(
        synced(&app).await,
        [
            // Low is not enforced by Oracle-Strict-SLA: no SLA.
            ("Old header".into(), "LOW".into(), "NONE".into(), false, Value::Null, place.clone()),
            // Medium 30 days from 2026-02-27.
            ("Reflected XSS".into(), "MEDIUM".into(), "ON_TRACK".into(), false, json!("2026-03-29"), place.clone()),
            // High 5 days from 2026-02-27 (breached from 03-05): half of it left at noon on 03-02, after the
            // test clock's 09:30.
            ("SQL injection".into(), "HIGH".into(), "ON_TRACK".into(), false, json!("2026-03-04"), place.clone()),
            // Mitigated on 2026-02-24, within its 5 days.
            ("Weak cipher".into(), "HIGH".into(), "MET".into(), true, json!("2026-02-25"), place.clone()),
        ]
    );
    let configurations = app
        .admin("{ products(first: 10) { edges { node { name slaConfiguration { name high } } } } }", json!({}))
        .await;
    assert_eq!(
        configurations.data()["products"]["edges"][0]["node"],
        json!({ "name": "Oracle-Strict", "slaConfiguration": { "name": "Oracle-Strict-SLA", "high": 5 } })
    );

    // Nothing changed in DefectDojo: nothing is written.
    let again = sync(&app, &source).await;
    assert_eq!(
        (again["created"].clone(), again["unchanged"].clone(), again["updated"].clone()),
        (json!(0), json!(4), json!(0))
    );

    // DefectDojo: a severity raised (its status time stays), a mitigation and a new finding (status times
    // after the last run's), a deletion. The next run asks for what changed since the last one: the five
    // minutes before that are read again, which here takes in the raised severity too.
    dojo.change("findings", 201, &json!({ "severity": "Critical" }));
    dojo.change(
        "findings",
        203,
        &json!({ "is_mitigated": true, "active": false, "mitigated": "2026-03-01T10:00:00Z",
                 "last_status_update": "2026-11-24T08:00:00Z" }),
    );
    dojo.push(
        "findings",
        finding(&json!({ "id": 205, "title": "Open redirect", "severity": "High", "date": "2026-03-02",
                         "last_status_update": "2026-11-24T09:00:00Z" })),
    );
    dojo.remove("findings", 204);
    let changed = sync(&app, &source).await;
    assert_eq!(
        changed,
        json!({ "created": 1, "updated": 2, "unchanged": 1, "closed": 0, "anomalies": 0, "skipped": 0 })
    );
    let requests = dojo.requests();
    let last = requests.iter().rfind(|r| r.starts_with("/api/v2/findings/")).expect("a findings request");
    assert!(last.contains("o=-last_status_update"), "an incremental run: {last}");
    // The deletion shows at the next full run, an hour after the last.
    app.clock.advance(chrono::TimeDelta::minutes(61));
    let full = sync(&app, &source).await;
    assert_eq!(full, json!({ "created": 0, "updated": 0, "unchanged": 4, "closed": 1, "anomalies": 0, "skipped": 0 }));
    let after = synced(&app).await;
    let by_title = |title: &str| after.iter().find(|row| row.0 == title).cloned().expect(title);
    // Critical: 1 day from 2026-02-27, breached.
    assert_eq!(by_title("SQL injection").1.as_str(), "CRITICAL");
    assert_eq!(by_title("SQL injection").2.as_str(), "BREACHED");
    assert_eq!((by_title("Reflected XSS").2.as_str(), by_title("Reflected XSS").3), ("MET", true));
    assert_eq!(by_title("Open redirect").4, json!("2026-03-07"));
    assert!(by_title("Old header").3, "a finding deleted in DefectDojo is closed here");
    assert_eq!(after.len(), 5, "nothing duplicated");
    let status = source_status(&app).await;
    assert_eq!((status["lastError"].clone(), status["failures"].clone()), (Value::Null, json!(0)));
    assert_eq!(status["findingsSynced"], json!(8), "4 created, then 1 created, 2 changed and 1 closed");
}

#[tokio::test]
async fn faults_stop_a_run_with_a_clear_status_and_lose_or_duplicate_nothing() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    // More than one page of findings, so a fault can strike mid-way.
    for id in 300..1_300 {
        dojo.push(
            "findings",
            finding(&json!({ "id": id, "title": format!("Finding {id}"), "severity": "Medium", "date": "2026-02-27" })),
        );
    }
    let source = add_source(&app, &dojo.url).await;

    // The first page goes through, the second gets a 502: the run stops, keeps the first page.
    dojo.fail_findings_with(&[0, 502]);
    let failed = app.admin(SYNC, json!({ "id": source })).await;
    assert_eq!(failed.code(), "SERVICE_UNAVAILABLE", "{}", failed.message());
    assert!(failed.message().contains("HTTP 502"), "{}", failed.message());
    let status = source_status(&app).await;
    assert!(status["lastError"].as_str().is_some_and(|e| e.contains("502")), "{status}");
    assert_eq!(status["failures"], json!(1));
    let kept = app.admin("{ findings(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(kept.data()["findings"]["totalCount"], json!(500), "the first page is kept");

    // The token revoked: a clear reason, nothing changed.
    dojo.set_token("another-token");
    let refused = app.admin(SYNC, json!({ "id": source })).await;
    assert!(refused.message().contains("refused the API token"), "{}", refused.message());
    let status = source_status(&app).await;
    assert_eq!(status["failures"], json!(2));
    // The back-off doubles per failure: 300 s × 2² after the second.
    let instant = |key: &str| status[key].as_str().map(crate::helpers::at).expect(key);
    assert_eq!((instant("nextRunAt") - instant("lastRunAt")).num_seconds(), 1_200);

    // A record that is not what DefectDojo sends stops the run, naming it; one of an unknown severity is
    // skipped and counted.
    dojo.set_token(TOKEN);
    dojo.push("findings", finding(&json!({ "id": 1_400, "title": "Broken", "severity": 5 })));
    let malformed = app.admin(SYNC, json!({ "id": source })).await;
    assert!(malformed.message().contains("not what slawatch expects"), "{}", malformed.message());
    dojo.remove("findings", 1_400);
    dojo.set_token("another-token");

    // DefectDojo unreachable.
    let gone = add_source(&app, "http://127.0.0.1:9").await;
    let unreachable = app.admin(SYNC, json!({ "id": gone })).await;
    assert!(unreachable.message().contains("unreachable"), "{}", unreachable.message());

    // Back to normal: the run resumes and ends with every finding once.
    dojo.set_token(TOKEN);
    dojo.push("findings", finding(&json!({ "id": 1_401, "title": "Unsure", "severity": "Urgent" })));
    let resumed = sync(&app, &source).await;
    let count = |key: &str| resumed[key].as_u64().expect(key);
    assert_eq!((count("created") + count("unchanged"), count("skipped"), count("updated")), (1_004, 1, 0), "{resumed}");
    let all = app.admin("{ findings(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(all.data()["findings"]["totalCount"], json!(1_004));
    assert_eq!(source_status(&app).await["failures"], json!(0));
}

#[tokio::test]
async fn only_superusers_manage_sources_and_bad_settings_are_refused() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let (_, member) = app.user("rincewind").await;
    let create = "mutation($u: String!) { createDefectDojoSource(input: {url: $u, token: \"abc\"}) { id } }";
    let denied = app.gql(Some(&member), create, json!({ "u": "https://dojo.example.com" })).await;
    assert_eq!(denied.code(), "FORBIDDEN");
    let listed = app.gql(Some(&member), "{ defectDojoSources { id } }", json!({})).await;
    assert_eq!(listed.code(), "FORBIDDEN");
    let synced = app.gql(Some(&member), SYNC, json!({ "id": "1" })).await;
    assert_eq!(synced.code(), "FORBIDDEN");
    assert_eq!(app.admin(SYNC, json!({ "id": "999" })).await.code(), "NOT_FOUND");
    for (url, token, interval, word) in [
        ("ftp://dojo.example.com", "abc", 300, "http(s)"),
        ("https://user:secret@dojo.example.com", "abc", 300, "credentials"),
        ("not a url", "abc", 300, "url"),
        ("https://dojo.example.com", "", 300, "token"),
        ("https://dojo.example.com", "abc", 5, "interval"),
    ] {
        let refused = app
            .admin(
                "mutation($u: String!, $t: String!, $i: Int) { createDefectDojoSource(input: {url: $u, token: $t, interval: $i}) { id } }",
                json!({ "u": url, "t": token, "i": interval }),
            )
            .await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{url} {token} {interval}");
        assert!(refused.message().contains(word), "{}", refused.message());
    }
    assert_eq!(app.admin("{ defectDojoSources { id } }", json!({})).await.data()["defectDojoSources"], json!([]));
}

#[tokio::test]
async fn a_synced_finding_is_changed_in_defectdojo_only_but_takes_notes_here() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    let source = add_source(&app, &dojo.url).await;
    sync(&app, &source).await;
    let read = app
        .admin("{ findings(first: 1, filter: {search: \"SQL injection\"}) { edges { node { id } } } }", json!({}))
        .await;
    let id = read.data()["findings"]["edges"][0]["node"]["id"].as_str().expect("the synced finding").to_owned();
    for change in [
        "mutation($id: ID!) { updateFinding(id: $id, input: {severity: LOW}) { id } }",
        "mutation($id: ID!) { mitigateFinding(id: $id) { id } }",
        "mutation($id: ID!) { acceptRisk(id: $id) { id } }",
        "mutation($id: ID!) { deleteFinding(id: $id) { id } }",
    ] {
        let refused = app.admin(change, json!({ "id": id })).await;
        assert_eq!(refused.code(), "FORBIDDEN", "{change}");
        assert!(refused.message().contains(&dojo.url), "names the instance: {}", refused.message());
    }
    let noted = app
        .admin(
            "mutation($id: ID!) { addFindingNote(findingId: $id, text: \"Fix in sprint 12\") { text } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(noted.data()["addFindingNote"]["text"], json!("Fix in sprint 12"));
    let kept = app.admin("query($id: ID!) { finding(id: $id) { severity isMitigated } }", json!({ "id": id })).await;
    assert_eq!(kept.data()["finding"], json!({ "severity": "HIGH", "isMitigated": false }));
}

#[tokio::test]
async fn data_as_defectdojo_stores_it_is_kept_and_its_history_does_not_flood() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    dojo.set(
        "findings",
        vec![
            // Mitigated ten days before its own date, and `mitigated` without `is_mitigated`: kept, flagged.
            finding(&json!({ "id": 401, "title": "Mitigated before found", "date": "2026-02-20", "active": false,
                             "is_mitigated": true, "mitigated": "2026-02-10T08:00:00Z", "sla_expiration_date": null })),
            finding(&json!({ "id": 402, "title": "Half closed", "date": "2026-02-27", "mitigated": "2026-02-28T08:00:00Z" })),
            // History: breached three months ago (nothing), breached this night (one breach), half way (one
            // approaching) — never a notification per threshold already passed.
            finding(&json!({ "id": 403, "title": "Ancient", "severity": "High", "date": "2025-12-01" })),
            finding(&json!({ "id": 404, "title": "Breached tonight", "severity": "Critical", "date": "2026-02-28" })),
            finding(&json!({ "id": 405, "title": "Half way", "severity": "Medium", "date": "2026-02-13" })),
        ],
    );
    let source = add_source(&app, &dojo.url).await;
    let report = sync(&app, &source).await;
    assert_eq!(
        report,
        json!({ "created": 5, "updated": 0, "unchanged": 0, "closed": 0, "anomalies": 2, "skipped": 0 })
    );
    // Counted when written, not again at each run that finds them as they were.
    let again = sync(&app, &source).await;
    assert_eq!((again["anomalies"].clone(), again["unchanged"].clone()), (json!(0), json!(5)));
    let states: Vec<(String, String, bool)> =
        synced(&app).await.into_iter().map(|(title, _, state, mitigated, _, _)| (title, state, mitigated)).collect();
    assert!(states.contains(&("Mitigated before found".to_owned(), "MET".to_owned(), true)), "{states:?}");
    assert!(states.contains(&("Half closed".to_owned(), "ON_TRACK".to_owned(), false)), "{states:?}");

    app.run_due_jobs().await;
    app.run_due_jobs().await;
    let sent = app.sla_notifications_by_title().await;
    assert_eq!(
        sent,
        [
            ("Breached tonight".to_owned(), "sla_breach".to_owned()),
            ("Half way".to_owned(), "sla_breach_approaching".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_command_line_and_the_scheduler_sync_configured_sources() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    let cli = |args: &[&str], dojo_env: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_slawatch"));
        command.args(args).env("DATABASE_URL", &app.state.config.database_url).env("RUST_LOG", "warn");
        if dojo_env {
            command.env("SLAWATCH_DEFECTDOJO_URL", &dojo.url).env("SLAWATCH_DEFECTDOJO_TOKEN", TOKEN);
        }
        command.output()
    };
    let none = cli(&["sync", "defectdojo"], false).await.expect("runs");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("SLAWATCH_DEFECTDOJO_URL"), "{none:?}");

    // The configured instance becomes a source and is synced.
    let first = cli(&["sync", "defectdojo"], true).await.expect("runs");
    let printed = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(first.status.success(), "{first:?}");
    assert!(printed.contains("4 created, 0 updated, 0 unchanged, 0 closed"), "{printed}");
    let unknown = cli(&["sync", "defectdojo", "--source", "999"], true).await.expect("runs");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--source 999"), "{unknown:?}");
    let sources = app.admin("{ defectDojoSources { id url } }", json!({})).await;
    assert_eq!(sources.data()["defectDojoSources"][0]["url"], json!(dojo.url));

    // The scheduler's job syncs a source when its interval has passed, not before.
    dojo.push(
        "findings",
        finding(&json!({ "id": 206, "title": "Clickjacking", "severity": "Low", "date": "2026-03-01",
                         "last_status_update": "2026-11-25T00:00:00Z" })),
    );
    app.run_due_jobs().await;
    let count = || async {
        app.admin("{ findings(first: 1) { totalCount } }", json!({})).await.data()["findings"]["totalCount"].clone()
    };
    assert_eq!(count().await, json!(4), "not due yet");
    // The command line ran on the real clock: its next run is an interval after that.
    let next =
        app.admin("{ defectDojoSources { nextRunAt } }", json!({})).await.data()["defectDojoSources"][0]["nextRunAt"]
            .as_str()
            .map(crate::helpers::at)
            .expect("a next run");
    app.clock.set(next + chrono::TimeDelta::seconds(1));
    app.run_due_jobs().await;
    assert_eq!(count().await, json!(5));
}

#[tokio::test]
async fn what_defectdojo_changes_moves_deadlines_and_notifies_once() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    dojo.set(
        "findings",
        vec![finding(&json!({ "id": 501, "title": "SQL injection", "severity": "High", "date": "2026-02-27" }))],
    );
    let source = add_source(&app, &dojo.url).await;
    sync(&app, &source).await;
    let expiration = || async {
        let read =
            app.admin("{ findings(first: 1) { edges { node { slaExpirationDate slaState } } } }", json!({})).await;
        read.data()["findings"]["edges"][0]["node"].clone()
    };
    assert_eq!(expiration().await["slaExpirationDate"], json!("2026-03-04"));

    // Oracle-Strict-SLA gives High 10 days now: the deadline moves, as for a local change.
    dojo.change("sla_configurations", 4, &json!({ "high": 10 }));
    let moved =
        app.admin("mutation($id: ID!) { syncDefectDojoSource(id: $id) { recomputed } }", json!({ "id": source })).await;
    assert_eq!(moved.data()["syncDefectDojoSource"]["recomputed"], json!(1));
    assert_eq!(expiration().await["slaExpirationDate"], json!("2026-03-09"));

    // Breached between two syncs: one sla_breach at the next sweep, not one per sweep or sync.
    app.clock.set(crate::helpers::at("2026-03-10T12:00:00Z"));
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    assert_eq!(expiration().await["slaState"], json!("BREACHED"));
    let breaches = |sent: &[(String, String)], event: &str| sent.iter().filter(|(_, e)| e == event).count();
    assert_eq!(breaches(&app.sla_notifications_by_title().await, "sla_breach"), 1);

    // Mitigated in DefectDojo: the cycle ends MISSED and the breach is resolved, once.
    dojo.change(
        "findings",
        501,
        &json!({ "is_mitigated": true, "active": false, "mitigated": "2026-03-10T13:00:00Z",
                 "last_status_update": "2026-11-24T08:00:00Z" }),
    );
    sync(&app, &source).await;
    app.run_due_jobs().await;
    assert_eq!(expiration().await["slaState"], json!("MISSED"));
    let sent = app.sla_notifications_by_title().await;
    assert_eq!((breaches(&sent, "sla_breach"), breaches(&sent, "sla_resolved")), (1, 1), "{sent:?}");
}

#[tokio::test]
async fn a_slow_defectdojo_times_out_and_the_next_run_goes_through() {
    let app = spawn_app_without_scheduler(|config| config.defectdojo_timeout_seconds = 2).await;
    let dojo = dojo().await;
    let source = add_source(&app, &dojo.url).await;
    dojo.delay_findings(std::time::Duration::from_secs(5));
    let slow = app.admin(SYNC, json!({ "id": source })).await;
    assert!(slow.message().contains("timed out"), "{}", slow.message());
    assert!(source_status(&app).await["lastError"].as_str().is_some_and(|e| e.contains("timed out")));
    dojo.delay_findings(std::time::Duration::ZERO);
    assert_eq!(sync(&app, &source).await["created"], json!(4));
}

#[tokio::test]
async fn shifting_pages_close_nothing_by_mistake() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    for id in 300..1_300 {
        dojo.push("findings", finding(&json!({ "id": id, "title": format!("Finding {id}"), "date": "2026-02-27" })));
    }
    let source = add_source(&app, &dojo.url).await;
    assert_eq!(sync(&app, &source).await["created"], json!(1_004));

    // A finding deleted in DefectDojo while a full run pages by offset: every later one moves a place up,
    // so one is not on the page the run reads. It is asked for by id, found, and not closed.
    dojo.delete_after_first_page(300);
    app.clock.advance(chrono::TimeDelta::minutes(61));
    let shifted = sync(&app, &source).await;
    assert_eq!((shifted["closed"].clone(), shifted["unchanged"].clone()), (json!(0), json!(1_004)), "{shifted}");
    // The next full run closes the deleted one.
    app.clock.advance(chrono::TimeDelta::minutes(61));
    let next = sync(&app, &source).await;
    assert_eq!((next["closed"].clone(), next["unchanged"].clone()), (json!(1), json!(1_003)), "{next}");
    let open = app.admin("{ findings(first: 1, filter: {isMitigated: false}) { totalCount } }", json!({})).await;
    // 1,004 less the one closed here and the one DefectDojo had mitigated from the start.
    assert_eq!(open.data()["findings"]["totalCount"], json!(1_002));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_a_removed_source_leaves_its_findings_editable() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let dojo = dojo().await;
    let source = add_source(&app, &dojo.url).await;
    dojo.set_token("rotated-in-defectdojo");
    assert_eq!(app.admin(SYNC, json!({ "id": source })).await.code(), "SERVICE_UNAVAILABLE");
    assert_eq!(source_status(&app).await["failures"], json!(1));

    let update = "mutation($id: ID!, $t: String, $i: Int) { updateDefectDojoSource(id: $id, input: {token: $t, interval: $i}) { interval failures } }";
    let (_, member) = app.user("twoflower").await;
    let denied = app.gql(Some(&member), update, json!({ "id": source, "t": "x" })).await;
    assert_eq!(denied.code(), "FORBIDDEN");
    assert_eq!(app.admin(update, json!({ "id": "999", "t": "x" })).await.code(), "NOT_FOUND");
    assert_eq!(app.admin(update, json!({ "id": source, "i": 10 })).await.code(), "BAD_USER_INPUT");
    let bad_url = "mutation($id: ID!) { updateDefectDojoSource(id: $id, input: {url: \"ftp://dojo\"}) { id } }";
    assert_eq!(app.admin(bad_url, json!({ "id": source })).await.code(), "BAD_USER_INPUT");
    assert_eq!(app.admin(update, json!({ "id": source, "t": "two words" })).await.code(), "BAD_USER_INPUT");
    let updated = app.admin(update, json!({ "id": source, "t": "rotated-in-defectdojo", "i": 600 })).await;
    assert_eq!(updated.data()["updateDefectDojoSource"], json!({ "interval": 600, "failures": 0 }));
    let status = source_status(&app).await;
    assert_eq!(status["nextRunAt"].as_str().map(crate::helpers::at), Some(app.clock.now()), "due at once");
    assert_eq!(sync(&app, &source).await["created"], json!(4));

    let delete = "mutation($id: ID!) { deleteDefectDojoSource(id: $id) { id } }";
    assert_eq!(app.gql(Some(&member), delete, json!({ "id": source })).await.code(), "FORBIDDEN");
    app.admin(delete, json!({ "id": source })).await.data();
    assert_eq!(app.admin("{ defectDojoSources { id } }", json!({})).await.data()["defectDojoSources"], json!([]));
    let read = app.admin("{ findings(first: 10) { totalCount edges { node { id } } } }", json!({})).await;
    assert_eq!(read.data()["findings"]["totalCount"], json!(4), "the findings stay");
    let id = read.data()["findings"]["edges"][0]["node"]["id"].clone();
    let edited = app
        .admin(
            "mutation($id: ID!) { updateFinding(id: $id, input: {severity: LOW}) { severity } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(edited.data()["updateFinding"]["severity"], json!("LOW"), "slawatch's own now");
}
