//! The in-memory finding index answers as SQL does: random writes through the API (creations one at a time
//! and in batches, edits, mitigations, reactivations, deletions, an SLA configuration change) and clock moves,
//! and after each, counts, pages in both directions, REST slices and SLA summaries read with the index are
//! compared with the same reads with it off, for a superuser and for a member of two of three products; with
//! text searches too, which the index answers from the trigram index's candidates.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use slawatch::config::Config;
use slawatch::domain::{ProductId, Severity, SlaState, UserId};
use slawatch::service::Actor;
use slawatch::service::finding_filter::FindingFilter;
use slawatch::service::finding_reads;
use slawatch::service::page::{PageParts, PageRequest};
use slawatch::state::AppState;

use crate::helpers::{Rng, TestApp, spawn_app_without_scheduler};

const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];

struct World {
    app: TestApp,
    without_index: AppState,
    products: Vec<String>,
    findings: Vec<String>,
    member: Actor,
    admin: Actor,
}

#[tokio::test]
async fn the_finding_index_answers_as_sql_does_under_random_writes_and_clock_moves() {
    let app = spawn_app_without_scheduler(|config| config.kept_answers = false).await;
    let products = vec![app.product("Index A").await, app.product("Index B").await, app.product("Index C").await];
    let (member_id, _) = app.user("index-member").await;
    for product in [&products[0], &products[2]] {
        app.add_member(product, &member_id, "WRITER").await;
    }
    let without_index = without_index(&app);
    let member = Actor {
        user_id: UserId::new(member_id.parse().expect("numeric id")),
        username: "index-member".into(),
        is_superuser: false,
    };
    let admin = superuser();
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("index loaded");
    let mut world = World { app, without_index, products, findings: Vec::new(), member, admin };
    let mut rng = Rng(0x5EED_1DE7_2026_1203);
    let mut since_compared = Vec::new();
    for step in 0..240 {
        since_compared.push(world.change(&mut rng).await);
        // Several writes between reads too, so one catch-up meets a finding changed more than once.
        if rng.chance(40) {
            world.compare(&mut rng, &format!("step {step} (after {})", since_compared.join(", "))).await;
            since_compared.clear();
        }
    }
}

/// The app's state with the finding index off: every read asks SQL, the definition the index must match.
fn without_index(app: &TestApp) -> AppState {
    let config = Config { finding_index: false, ..(*app.state.config).clone() };
    AppState { config: Arc::new(config), ..app.state.clone() }
}

/// The superuser the test app starts with.
fn superuser() -> Actor {
    Actor { user_id: UserId::new(1), username: "admin".into(), is_superuser: true }
}

impl World {
    /// One random write or clock move; says which.
    async fn change(&mut self, rng: &mut Rng) -> String {
        let now = self.app.clock.now();
        let roll = rng.below(100);
        if roll < 30 || self.findings.is_empty() {
            let input = self.new_finding(rng, now);
            let created = self
                .app
                .admin("mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }", json!({ "i": input }))
                .await;
            self.findings.push(created.data()["createFinding"]["id"].as_str().expect("id").to_owned());
            return "create".into();
        }
        if roll < 36 {
            let inputs: Vec<Value> = (0..40).map(|_| self.new_finding(rng, now)).collect();
            let created = self
                .app
                .admin(
                    "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }",
                    json!({ "i": inputs }),
                )
                .await;
            let ids = created.data()["createFindings"].as_array().expect("list").clone();
            self.findings.extend(ids.iter().map(|f| f["id"].as_str().expect("id").to_owned()));
            return "create 40".into();
        }
        let id = rng.pick(&self.findings).clone();
        let (query, variables, what) = match roll {
            36..=50 => (
                "mutation($id: ID!, $i: UpdateFindingInput!) { updateFinding(id: $id, input: $i) { id } }",
                json!({ "id": id, "i": {
                    "severity": rng.pick(&SEVERITIES),
                    "verified": rng.chance(50),
                    "slaStart": (now - TimeDelta::hours(i64::try_from(rng.below(24 * 60)).expect("small"))).to_rfc3339(),
                }}),
                "update",
            ),
            51..=62 => (
                "mutation($id: ID!, $at: DateTime) { mitigateFinding(id: $id, mitigatedAt: $at) { id } }",
                json!({ "id": id, "at": (now - TimeDelta::hours(i64::try_from(rng.below(24 * 20)).expect("small"))).to_rfc3339() }),
                "mitigate",
            ),
            63..=70 => ("mutation($id: ID!) { reactivateFinding(id: $id) { id } }", json!({ "id": id }), "reactivate"),
            71..=76 => ("mutation($id: ID!) { deleteFinding(id: $id) { id } }", json!({ "id": id }), "delete"),
            77..=80 => {
                let sla = self.app.default_sla_id().await;
                let days = |rng: &mut Rng| 1 + i64::try_from(rng.below(60)).expect("small");
                let input = json!({ "critical": days(rng), "high": days(rng), "medium": days(rng), "low": days(rng) });
                self.app
                    .admin(
                        "mutation($id: ID!, $i: SlaConfigurationInput!) { updateSlaConfiguration(id: $id, input: $i) { id } }",
                        json!({ "id": sla, "i": input }),
                    )
                    .await
                    .data();
                return "SLA configuration".into();
            }
            _ => {
                self.app.clock.advance(TimeDelta::minutes(i64::try_from(1 + rng.below(60 * 24 * 6)).expect("small")));
                return "clock".into();
            }
        };
        // A refused change (reactivating an open finding, say) is a change that did not happen: fine here.
        let answer = self.app.admin(query, variables).await;
        if what == "delete" && answer.0.get("errors").is_none() {
            self.findings.retain(|f| *f != id);
        }
        what.into()
    }

    fn new_finding(&self, rng: &mut Rng, now: DateTime<Utc>) -> Value {
        let started = now - TimeDelta::hours(i64::try_from(rng.below(24 * 90)).expect("small"));
        let mut input = json!({
            "productId": rng.pick(&self.products),
            "title": format!("Finding {}", rng.below(1_000)),
            "severity": rng.pick(&SEVERITIES),
            "slaStart": started.to_rfc3339(),
            "verified": rng.chance(50),
        });
        match rng.below(10) {
            0 => input["isMitigated"] = json!(true),
            1 => input["riskAccepted"] = json!(true),
            2 => input["active"] = json!(false),
            _ => {}
        }
        input
    }

    async fn compare(&self, rng: &mut Rng, when: &str) {
        let now = self.app.clock.now();
        let filters = [
            FindingFilter { outside_sla: Some(true), ..FindingFilter::default() },
            FindingFilter {
                sla_states: Some(vec![SlaState::Breached, SlaState::Approaching]),
                ..FindingFilter::default()
            },
            self.random_filter(rng, now),
            self.random_filter(rng, now),
            FindingFilter::default(),
            FindingFilter { product_id: Some(self.random_product(rng)), ..FindingFilter::default() },
            FindingFilter { outside_sla: Some(true), search: Some("finding 1".to_owned()), ..FindingFilter::default() },
        ];
        for actor in [&self.admin, &self.member] {
            for filter in &filters {
                let after = rng.chance(30).then(|| self.random_id(rng));
                let before = rng.chance(20).then(|| self.random_id(rng));
                let forward = PageRequest { first: Some(5), after, ..PageRequest::default() };
                let backward = PageRequest { last: Some(3), before, ..PageRequest::default() };
                let count_only =
                    PageRequest { parts: PageParts { total_count: true, items: false }, ..PageRequest::default() };
                for request in [forward, backward, count_only] {
                    let read = |state: &AppState| {
                        let (state, filter) = (state.clone(), filter.clone());
                        async move {
                            let page = finding_reads::list(&state, actor, &filter, request).await.expect("a page");
                            let ids: Vec<i32> = page.items.iter().map(|f| f.id.get()).collect();
                            (ids, page.total_count, page.has_previous_page, page.has_next_page)
                        }
                    };
                    let (indexed, by_sql) = (read(&self.app.state).await, read(&self.without_index).await);
                    assert_eq!(indexed, by_sql, "{when}: {filter:?} {request:?} as {}", actor.username);
                }
                let offset = rng.below(12);
                let indexed = finding_reads::slice(&self.app.state, actor, filter, 4, offset).await.expect("a slice");
                let by_sql =
                    finding_reads::slice(&self.without_index, actor, filter, 4, offset).await.expect("a slice");
                let ids = |slice: &(u64, Vec<slawatch::entity::finding::Listed>)| {
                    (slice.0, slice.1.iter().map(|f| f.id.get()).collect::<Vec<_>>())
                };
                assert_eq!(ids(&indexed), ids(&by_sql), "{when}: slice {filter:?} +{offset} as {}", actor.username);
            }
            let product = rng.chance(50).then(|| self.random_product(rng));
            let product = product.filter(|_| actor.is_superuser);
            let indexed = finding_reads::sla_summary(&self.app.state, actor, product).await.expect("a summary");
            let by_sql = finding_reads::sla_summary(&self.without_index, actor, product).await.expect("a summary");
            assert_eq!(indexed, by_sql, "{when}: summary of {product:?} as {}", actor.username);
        }
    }

    fn random_filter(&self, rng: &mut Rng, now: DateTime<Utc>) -> FindingFilter {
        let open_states = [SlaState::Breached, SlaState::Approaching, SlaState::OnTrack];
        let states: Vec<SlaState> = open_states.iter().copied().filter(|_| rng.chance(50)).collect();
        let severities: Vec<Severity> = Severity::ALL.iter().copied().filter(|_| rng.chance(60)).collect();
        let hours =
            |rng: &mut Rng| TimeDelta::hours(i64::try_from(rng.below(24 * 120)).expect("small")) - TimeDelta::days(60);
        FindingFilter {
            product_id: rng.chance(40).then(|| self.random_product(rng)),
            severities: rng.chance(60).then_some(severities),
            verified: rng.chance(40).then(|| rng.chance(50)),
            outside_sla: rng.chance(50).then_some(true),
            sla_states: rng.chance(50).then_some(states),
            deadline_before: rng.chance(40).then(|| now + hours(rng)),
            deadline_after: rng.chance(30).then(|| now + hours(rng)),
            active: rng.chance(10).then(|| rng.chance(50)),
            is_mitigated: rng.chance(10).then(|| rng.chance(50)),
            // Titles are "Finding <n>": searches the trigram index narrows (three characters or more) and
            // ones SQL scans for.
            search: rng
                .chance(40)
                .then(|| format!("{} {}", rng.pick(&["Finding", "ding", "g", "FINDING"]), rng.below(40))),
            ..FindingFilter::default()
        }
    }

    fn random_product(&self, rng: &mut Rng) -> ProductId {
        ProductId::new(rng.pick(&self.products).parse().expect("numeric id"))
    }

    fn random_id(&self, rng: &mut Rng) -> i32 {
        if self.findings.is_empty() { 1 } else { rng.pick(&self.findings).parse().expect("numeric id") }
    }
}

#[tokio::test]
async fn change_log_rows_pruned_before_the_index_read_them_make_it_load_again() {
    let app = spawn_app_without_scheduler(|config| config.kept_answers = false).await;
    let product = app.product("Pruned").await;
    let breached = || {
        json!({ "productId": product, "title": "Old", "severity": "CRITICAL",
                "slaStart": (app.clock.now() - TimeDelta::days(200)).to_rfc3339() })
    };
    let count = || async {
        let answer = app.admin("{ findings(filter: {outsideSla: true}) { totalCount } }", json!({})).await;
        answer.data()["findings"]["totalCount"].as_u64().expect("a count")
    };
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("loaded");
    app.finding(breached()).await;
    assert_eq!(count().await, 1);
    app.finding(breached()).await;
    app.finding(breached()).await;
    // The chore's prune keeping no row behind the head, so rows go before the index read them (on PostgreSQL
    // it notes the newest transaction it pruned a row of, which is how a reader knows). PostgreSQL prunes only
    // rows older than every running transaction, the server's whole (other tests' databases too): it is asked
    // again until those transactions end.
    let mut gone = 0;
    for _ in 0..500 {
        gone += slawatch::service::finding_changes::prune_keeping(&app.state, 0).await.expect("pruned");
        if gone >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone >= 2, "the two unread rows at least, {gone} pruned");
    app.finding(breached()).await;
    assert_eq!(count().await, 4, "SQL answers while the index, noticing rows it never read, loads again");
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("loaded again");
    let from_index =
        slawatch::service::finding_index::read(&app.state, slawatch::domain::finding_index::FindingIndex::open_count)
            .await
            .expect("read");
    assert_eq!(from_index, Some(4), "the index, loaded again in the background, holds every finding");
    let pruned = slawatch::service::finding_changes::prune(&app.state).await.expect("prunes");
    assert_eq!(pruned, 0, "only rows more than LOG_KEPT behind the head go");
}

#[tokio::test]
async fn a_write_that_commits_after_a_later_numbered_one_is_not_missed() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app_without_scheduler(|config| config.kept_answers = false).await;
    if !app.state.config.is_postgres() {
        return; // SQLite writes one transaction at a time: its log's numbers are its commit order.
    }
    let product = app.product("Commit order").await;
    let new_finding = |title: &str| json!({ "productId": product, "title": title, "severity": "HIGH" });
    let first = app.finding(new_finding("First")).await["id"].as_str().expect("id").to_owned();
    let second = app.finding(new_finding("Second")).await["id"].as_str().expect("id").to_owned();
    let outside_sla = || async {
        let answer = app.admin("{ findings(filter: {outsideSla: true}) { totalCount } }", json!({})).await;
        answer.data()["findings"]["totalCount"].as_u64().expect("a count")
    };
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("loaded");
    assert_eq!(outside_sla().await, 0);
    let breach = |id: &str| format!("UPDATE findings SET sla_deadline = 1 WHERE id = {id}");
    // The first transaction's change is logged first and commits last.
    let earlier = app.state.db.begin().await.expect("a transaction");
    earlier.execute_unprepared(&breach(&first)).await.expect("breached");
    let later = app.state.db.begin().await.expect("another");
    later.execute_unprepared(&breach(&second)).await.expect("breached");
    later.commit().await.expect("committed");
    assert_eq!(outside_sla().await, 1, "the later-numbered change, committed");
    earlier.commit().await.expect("committed");
    assert_eq!(outside_sla().await, 2, "the earlier-numbered change, committed after the index read past it");
    let loaded = slawatch::service::finding_index::read(&app.state, |_| ()).await.expect("read");
    assert_eq!(loaded, Some(()), "the index answered, not SQL");
}

#[tokio::test]
async fn searches_sql_must_scan_take_turns_and_leave_indexed_reads_and_writes_their_connections() {
    let app = spawn_app_without_scheduler(|config| {
        config.kept_answers = false;
        config.db_acquire_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let product = app.product("Turns").await;
    app.finding(json!({ "productId": product, "title": "Component-7 outdated", "severity": "CRITICAL",
                        "slaStart": (app.clock.now() - TimeDelta::days(200)).to_rfc3339() }))
        .await;
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("loaded");
    // Two characters: too short for the trigram index, so SQL scans for it.
    let search = "{ findings(filter: {search: \"-7\"}) { totalCount } }";
    let narrowed = "{ findings(filter: {search: \"component-7\"}) { totalCount } }";
    let rest_search = || async {
        let answer = reqwest::Client::new()
            .get(app.url("/api/v2/findings/?product_name=Turns"))
            .header("authorization", format!("Token {}", app.admin_api_token))
            .send()
            .await
            .expect("an answer");
        answer.status()
    };
    assert_eq!(app.admin(search, json!({})).await.data()["findings"]["totalCount"], 1);

    // Every turn taken, as by that many slow searches.
    let turns = u32::try_from(app.state.sql_scans.available_permits()).expect("few");
    let taken = app.state.sql_scans.clone().acquire_many_owned(turns).await.expect("turns");
    let refused = app.admin(search, json!({})).await;
    assert_eq!(refused.code(), "SERVICE_UNAVAILABLE", "a search waits its turn as long as for a connection");
    assert!(refused.message().contains("too many finding searches"), "{}", refused.message());
    assert_eq!(rest_search().await, 503, "REST by product name (SQL too)");
    let counted = app.admin("{ findings(filter: {outsideSla: true}) { totalCount } }", json!({})).await;
    assert_eq!(counted.data()["findings"]["totalCount"], 1, "the index still answers");
    // On both backends: SQLite's FTS5 index, PostgreSQL's pg_trgm indexes asked about the search's pieces.
    let found = app.admin(narrowed, json!({})).await;
    assert_eq!(found.data()["findings"]["totalCount"], 1, "the trigram index names few findings: no scan");
    app.finding(json!({ "productId": product, "title": "Component-7 again", "severity": "LOW" })).await;

    drop(taken);
    assert_eq!(app.admin(search, json!({})).await.data()["findings"]["totalCount"], 2, "a turn again");
    assert_eq!(rest_search().await, 200);
}

#[tokio::test]
async fn a_load_reads_every_chunk_of_findings_whole() {
    let app = spawn_app_without_scheduler(|config| config.kept_answers = false).await;
    let product = app.product("Chunked").await;
    let old_start = (app.clock.now() - TimeDelta::days(200)).to_rfc3339();
    // Two chunks and a part of a third; every fifth closed, every third of the rest breached.
    let total = usize::try_from(slawatch::service::finding_changes::LOAD_CHUNK).expect("small") * 2 + 7;
    let inputs: Vec<Value> = (0..total)
        .map(|i| {
            let mut input = json!({ "productId": product, "title": format!("Chunk {i}"), "severity": "HIGH" });
            if i % 5 == 0 {
                input["isMitigated"] = json!(true);
            } else if i % 3 == 0 {
                input["slaStart"] = json!(old_start);
            }
            input
        })
        .collect();
    for batch in inputs.chunks(1_000) {
        let created = app
            .admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": batch }))
            .await;
        assert_eq!(created.data()["createFindings"].as_array().map(Vec::len), Some(batch.len()));
    }
    // Whatever the index caught up with so far goes: the next read loads it whole, a chunk at a time.
    *app.state.finding_index.loaded.write().expect("not poisoned") = None;
    slawatch::service::finding_index::ensure_loaded(&app.state).await.expect("loaded");
    let open = (0..total).filter(|i| i % 5 != 0).count();
    let breached = (0..total).filter(|i| i % 5 != 0 && i % 3 == 0).count();
    let from_index =
        slawatch::service::finding_index::read(&app.state, slawatch::domain::finding_index::FindingIndex::open_count)
            .await
            .expect("read");
    assert_eq!(from_index, Some(open), "every open finding of every chunk is in the index");
    let (admin, without_index) = (superuser(), without_index(&app));
    let outside = FindingFilter { outside_sla: Some(true), ..FindingFilter::default() };
    let (count, _) = finding_reads::slice(&app.state, &admin, &outside, 1, 0).await.expect("a slice");
    assert_eq!(count, breached as u64, "the breached findings of every chunk");
    let indexed = finding_reads::sla_summary(&app.state, &admin, None).await.expect("a summary");
    let by_sql = finding_reads::sla_summary(&without_index, &admin, None).await.expect("a summary");
    assert_eq!(indexed, by_sql, "closed findings of every chunk counted as SQL counts them");
}
