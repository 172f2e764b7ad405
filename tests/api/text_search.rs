//! A text search answers what a case-insensitive `LIKE` over every finding answers, whether or not SQLite's
//! trigram index narrows it first (`service::text_search`): random texts of a small alphabet (spaces, LIKE
//! wildcards, quotes, a backslash, an accent) created, edited and deleted through the API, with a product
//! deleted whole, closed and reopened, searched for among every finding and among the open ones with random
//! strings and random pieces of the texts; and the indexes stay exact (FTS5's own integrity check of every
//! finding's, piece by piece for the open findings'). Also the search's length limit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Rng, TestApp, spawn_app_without_scheduler};

/// Characters the texts are made of. Only lowercase accented letters: SQLite's `lower()` folds ASCII alone
/// and PostgreSQL's every letter, so an uppercase `É` in a text would be found on one and not the other.
const TEXT_ALPHABET: [char; 12] = ['a', 'b', 'A', 'B', 'c', ' ', '-', '%', '_', '"', '\\', 'é'];

/// Characters searched for: the texts' and an uppercase accent (folded by the search itself).
const SEARCH_ALPHABET: [char; 13] = ['a', 'b', 'A', 'B', 'c', ' ', '-', '%', '_', '"', '\\', 'é', 'É'];

/// `shortest` to `longest` characters of `alphabet`.
fn text(rng: &mut Rng, alphabet: &[char], shortest: usize, longest: usize) -> String {
    let length = shortest + rng.index(longest - shortest + 1);
    (0..length).map(|_| alphabet[rng.index(alphabet.len())]).collect()
}

/// A title: its first character a letter, so it is never blank.
fn title(rng: &mut Rng) -> String {
    format!("{}{}", ['a', 'b', 'c'][rng.index(3)], text(rng, &TEXT_ALPHABET, 2, 13))
}

/// What each finding's searchable texts are, by id, as the test wrote them.
type Texts = BTreeMap<String, [String; 3]>;

async fn create_batch(app: &TestApp, rng: &mut Rng, product: &str, count: usize, texts: &mut Texts) {
    let inputs: Vec<Value> = (0..count)
        .map(|_| {
            let reference = (rng.index(3) > 0).then(|| text(rng, &TEXT_ALPHABET, 1, 8));
            json!({ "productId": product, "title": title(rng), "severity": "HIGH",
                    "description": text(rng, &TEXT_ALPHABET, 0, 24), "externalReference": reference })
        })
        .collect();
    let created = app
        .admin(
            "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id title description externalReference } }",
            json!({ "i": inputs }),
        )
        .await;
    for finding in created.data()["createFindings"].as_array().expect("created") {
        let text = |field: &str| finding[field].as_str().unwrap_or_default().to_owned();
        texts.insert(text("id"), [text("title"), text("description"), text("externalReference")]);
    }
}

/// The findings the test closed (the others are open and on track).
type Closed = BTreeSet<String>;

/// Searches for `search` among every finding and among the open ones (the SLA states of open findings: the
/// finding index's question about open findings, whose candidates come from `open_finding_text`), and checks
/// each answer against the texts the test wrote: all of it in one page, and its first finding alone (where the
/// trigram index narrows a search, the finding index counts and pages the candidates holding the text).
async fn check_search(app: &TestApp, search: &str, texts: &Texts, closed: &Closed) {
    let wanted = search.trim().to_lowercase();
    let holding: BTreeSet<String> = texts
        .iter()
        .filter(|(_, fields)| fields.iter().any(|field| field.to_lowercase().contains(&wanted)))
        .map(|(id, _)| id.clone())
        .collect();
    let open: BTreeSet<String> = holding.iter().filter(|id| !closed.contains(*id)).cloned().collect();
    let every = "query($s: String!, $n: Int!) { findings(filter: {search: $s}, first: $n) { totalCount nodes { id } \
                 pageInfo { hasNextPage } } }";
    let of_open = "query($s: String!, $n: Int!) { findings(filter: {search: $s, slaStates: [BREACHED, APPROACHING, \
                   ON_TRACK]}, first: $n) { totalCount nodes { id } pageInfo { hasNextPage } } }";
    for (query, expected, among) in [(every, &holding, "every finding"), (of_open, &open, "open findings")] {
        let answer = app.admin(query, json!({ "s": search, "n": 100 })).await;
        assert_eq!(&node_ids(answer.data()), expected, "search {search:?} among {among}");
        assert_eq!(answer.data()["findings"]["totalCount"], expected.len(), "count of {search:?} among {among}");
        let mut in_order: Vec<i64> = expected.iter().map(|id| id.parse().expect("a numeric id")).collect();
        in_order.sort_unstable();
        let first: Vec<String> = in_order.iter().take(1).map(i64::to_string).collect();
        let answer = app.admin(query, json!({ "s": search, "n": 1 })).await;
        let nodes = answer.data()["findings"]["nodes"].as_array().expect("nodes");
        let ids: Vec<&str> = nodes.iter().map(|node| node["id"].as_str().expect("id")).collect();
        assert_eq!(ids, first, "first of {search:?} among {among}");
        assert_eq!(answer.data()["findings"]["totalCount"], expected.len(), "count of {search:?} among {among}");
        assert_eq!(answer.data()["findings"]["pageInfo"]["hasNextPage"], expected.len() > 1, "{search:?}");
    }
}

/// The ids of a `findings` answer's nodes.
fn node_ids(data: &Value) -> BTreeSet<String> {
    let nodes = data["findings"]["nodes"].as_array().expect("nodes");
    nodes.iter().map(|node| node["id"].as_str().expect("id").to_owned()).collect()
}

/// Random strings, and random pieces of the texts with their letters' case turned at random.
async fn check_searches(app: &TestApp, rng: &mut Rng, texts: &Texts, closed: &Closed, rounds: usize) {
    for _ in 0..rounds {
        let search = if rng.index(2) == 0 {
            text(rng, &SEARCH_ALPHABET, 1, 5)
        } else {
            let ids: Vec<&String> = texts.keys().collect();
            let field = &texts[ids[rng.index(ids.len())]][rng.index(3)];
            let chars: Vec<char> = field.chars().collect();
            let start = rng.index(chars.len());
            let end = (start + 1 + rng.index(6)).min(chars.len());
            chars[start..end]
                .iter()
                .map(|&c| if rng.index(2) == 0 { c.to_ascii_uppercase() } else { c })
                .collect::<String>()
        };
        check_search(app, &search, texts, closed).await;
    }
}

/// FTS5's check of the trigram index against the findings (SQLite; fails on any difference), and of the open
/// findings' index piece by piece: each three characters of any text name exactly the open findings holding
/// them (its own check would compare it with every finding, the table it reads its text from).
async fn assert_indexes_exact(app: &TestApp, texts: &Texts, closed: &Closed) {
    if app.state.config.is_postgres() {
        return;
    }
    app.state
        .db
        .execute_unprepared("INSERT INTO finding_text (finding_text, rank) VALUES ('integrity-check', 1)")
        .await
        .expect("the trigram index matches the findings");
    let pieces: BTreeSet<String> = texts
        .values()
        .flatten()
        .flat_map(|field| {
            let chars: Vec<char> = field.to_lowercase().chars().collect();
            chars.windows(3).map(|piece| piece.iter().collect::<String>()).collect::<Vec<_>>()
        })
        .collect();
    assert!(pieces.len() > 100, "the texts have many pieces: {}", pieces.len());
    for piece in pieces {
        let named = app
            .state
            .db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                "SELECT rowid FROM open_finding_text WHERE open_finding_text MATCH ? ORDER BY rowid",
                [format!("\"{}\"", piece.replace('"', "\"\"")).into()],
            ))
            .await
            .expect("asked");
        let named: BTreeSet<String> =
            named.iter().map(|row| row.try_get_by_index::<i64>(0).expect("a rowid").to_string()).collect();
        let expected: BTreeSet<String> = texts
            .iter()
            .filter(|(id, fields)| {
                !closed.contains(*id) && fields.iter().any(|field| field.to_lowercase().contains(&piece))
            })
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(named, expected, "the open findings' index names the open findings holding {piece:?}");
    }
}

#[tokio::test]
async fn a_search_answers_as_like_over_every_finding_through_writes() {
    let app = spawn_app_without_scheduler(|config| config.kept_answers = false).await;
    let mut rng = Rng(0x5EA7_C4F0_0D15_EA5E);
    let kept = app.product("Kept").await;
    let dropped = app.product("Dropped").await;
    let mut texts = Texts::new();
    let mut closed = Closed::new();
    create_batch(&app, &mut rng, &kept, 60, &mut texts).await;
    create_batch(&app, &mut rng, &dropped, 20, &mut texts).await;
    check_searches(&app, &mut rng, &texts, &closed, 60).await;
    assert_indexes_exact(&app, &texts, &closed).await;

    // Edits of each text, some of them closing or reopening the finding in the same update (and some closed
    // findings' texts edited), deletions one at a time, and a product deleted with its findings.
    let ids: Vec<String> = texts.keys().cloned().collect();
    for id in ids.iter().skip(2).step_by(4) {
        update(&app, id, json!({ "active": false })).await;
        closed.insert(id.clone());
    }
    for id in ids.iter().step_by(3) {
        let [stored_title, description, reference] = texts.get_mut(id).expect("known");
        let mut input = match rng.index(3) {
            0 => {
                let sent = title(&mut rng);
                *stored_title = sent.trim().to_owned(); // a title is stored trimmed
                json!({ "title": sent })
            }
            1 => {
                *description = text(&mut rng, &TEXT_ALPHABET, 0, 24);
                json!({ "description": description })
            }
            _ => {
                let sent = text(&mut rng, &TEXT_ALPHABET, 1, 8);
                // A blank reference is stored as none.
                *reference = if sent.trim().is_empty() { String::new() } else { sent.clone() };
                json!({ "externalReference": sent })
            }
        };
        if rng.index(3) == 0 {
            let open = closed.contains(id);
            input["active"] = json!(open);
            if open {
                closed.remove(id)
            } else {
                closed.insert(id.clone())
            };
        }
        update(&app, id, input).await;
    }
    for id in ids.iter().skip(1).step_by(7) {
        app.admin("mutation($id: ID!) { deleteFinding(id: $id) { id } }", json!({ "id": id })).await.data();
        texts.remove(id);
    }
    let dropped_ids = node_ids(
        app.admin(
            "query($p: ID!) { findings(filter: {productId: $p}, first: 100) { nodes { id } } }",
            json!({ "p": dropped }),
        )
        .await
        .data(),
    );
    app.admin("mutation($id: ID!) { deleteProduct(id: $id) { id } }", json!({ "id": dropped })).await.data();
    texts.retain(|id, _| !dropped_ids.contains(id));
    let reopened: Vec<String> = closed.iter().filter(|id| texts.contains_key(*id)).step_by(2).cloned().collect();
    for id in reopened {
        update(&app, &id, json!({ "active": true })).await;
        closed.remove(&id);
    }
    create_batch(&app, &mut rng, &kept, 20, &mut texts).await;
    assert!(texts.keys().filter(|id| closed.contains(*id)).count() >= 5, "some findings stay closed");

    // Once with the rarity sample taken before these writes, once with a new one.
    check_searches(&app, &mut rng, &texts, &closed, 60).await;
    app.clock.advance(TimeDelta::hours(1));
    check_searches(&app, &mut rng, &texts, &closed, 30).await;
    check_search(&app, "   ", &texts, &closed).await;
    assert_indexes_exact(&app, &texts, &closed).await;
}

/// Updates finding `id` with `input` as the admin.
async fn update(app: &TestApp, id: &str, input: Value) {
    app.admin(
        "mutation($id: ID!, $i: UpdateFindingInput!) { updateFinding(id: $id, input: $i) { id } }",
        json!({ "id": id, "i": input }),
    )
    .await
    .data();
}

#[tokio::test]
async fn a_search_longer_than_200_characters_is_refused_naming_the_field() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let query = "query($s: String!) { findings(filter: {search: $s}) { totalCount } }";
    let refused = app.admin(query, json!({ "s": "a".repeat(201) })).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(refused.message().contains("search: at most 200 characters"), "{}", refused.message());
    let accepted = app.admin(query, json!({ "s": format!("  {}  ", "é".repeat(200)) })).await;
    assert_eq!(accepted.data()["findings"]["totalCount"], 0, "200 characters (trimmed), however many bytes");
}

#[tokio::test]
async fn a_search_with_fts_syntax_is_plain_text_and_one_with_a_nul_is_refused() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let product = app.product("Odd").await;
    app.finding(json!({ "productId": product, "title": "ab NEAR(c) \"d\" e* OR f", "severity": "LOW" })).await;
    let query = "query($s: String!) { findings(filter: {search: $s}) { totalCount } }";
    let searches = [("ab N", 1), ("NEAR(c)", 1), ("\"d\" e*", 1), ("e* OR f", 1), ("OR", 1), ("*:^", 0), ("\"\"\"", 0)];
    for (search, expected) in searches {
        let answer = app.admin(query, json!({ "s": search })).await;
        assert_eq!(answer.data()["findings"]["totalCount"], expected, "search {search:?}");
    }
    for search in ["a\u{0}b", "\u{0}\u{0}\u{0}"] {
        let refused = app.admin(query, json!({ "s": search })).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "search {search:?}");
        assert!(refused.message().contains("search: must not contain NUL"), "{}", refused.message());
    }
}

#[tokio::test]
async fn on_postgresql_a_search_is_answered_from_the_trigram_indexes() {
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};
    use slawatch::domain::trigrams::TrigramIndex;
    use slawatch::entity::finding;
    use slawatch::service::finding_filter::FindingFilter;
    let app = spawn_app_without_scheduler(|_| {}).await;
    if !app.state.config.is_postgres() {
        assert_eq!(app.state.trigram_index, Some(TrigramIndex::Fts5), "migration 21's table, always");
        return; // SQLite's trigram index is asked separately (the property test above).
    }
    assert_eq!(app.state.trigram_index, Some(TrigramIndex::PgTrgm), "migration 23's indexes, found at start");
    let filter = FindingFilter { search: Some("Component-12".into()), ..FindingFilter::default() };
    let condition = filter.search_condition().expect("a search condition");
    let statement = finding::Entity::find().filter(condition).build(sea_orm::DbBackend::Postgres);
    explain_using_the_trigram_indexes(&app, statement).await;
}

#[tokio::test]
async fn on_postgresql_a_narrowed_search_asks_the_trigram_indexes_for_its_rare_pieces_only() {
    use slawatch::domain::finding_index::{OpenStates, Scope};
    use slawatch::domain::trigrams::{PieceSample, TrigramIndex};
    use slawatch::service::finding_filter::FindingFilter;
    use slawatch::service::text_search::{Asked, Narrowed};
    let app = spawn_app_without_scheduler(|_| {}).await;
    if !app.state.config.is_postgres() {
        return; // SQLite's FTS5 index is asked about pieces by construction (`fts5_match_expression`).
    }
    // Every sampled finding holds "component"; none holds "123": the search asks for "123" alone.
    let sample = PieceSample::from_findings([["component-1", "", ""], ["component-2", "", ""]]);
    let question = sample.narrowing("component-123", 1_000_000, TrigramIndex::PgTrgm).expect("narrowed");
    let narrowed = Narrowed::new(Asked::PgTrgm([question.clone(), question.clone(), question]));
    let filter = FindingFilter { search: Some("Component-123".into()), ..FindingFilter::default() };
    let statement = narrowed.candidates_statement(&filter, Scope::All, 50_001);
    // At a million findings the planner adds a `LIKE` it may use to the index scan (a BitmapAnd with the
    // lists of "component"'s trigrams: 188 ms instead of 19); a test database is too small for it to, so the
    // statement itself must keep the search's own `LIKE` out of its reach.
    assert!(
        statement.sql.contains(r"LIKE $3 ESCAPE E'\\') IS TRUE)"),
        "the text is not kept out of the index scan: {}",
        statement.sql
    );
    // The pieces are written into the statement: with a bound pattern PostgreSQL soon plans it once for any
    // pattern, and that plan reads every finding in id order.
    assert!(statement.sql.contains(r#"LOWER("title") LIKE '%123%'"#), "{}", statement.sql);
    let plan = explain_using_the_trigram_indexes(&app, statement).await;
    let shown = plan.join("\n");
    // The index is asked for the piece; the whole text is tested on the rows it names, not added to the
    // index's question (which would walk the lists of "component"'s trigrams: every finding).
    let asked: Vec<&String> = plan.iter().filter(|line| line.contains("Index Cond")).collect();
    // (The plan is generic: the search's own pattern, bound, shows as `$n`.)
    assert!(asked.iter().all(|line| line.contains("%123%") && !line.contains('$')), "{shown}");
    assert!(plan.iter().any(|line| line.contains("Filter") && line.contains("IS TRUE")), "{shown}");

    // A number of two digits has no piece of three letters or digits but the start of a word: "-12" asks
    // pg_trgm for the words starting with "12", where the search ran a `LIKE` over every finding before.
    let question = sample.narrowing("component-12", 1_000_000, TrigramIndex::PgTrgm).expect("narrowed");
    assert_eq!(question.pieces, ["-12"]);
    let narrowed = Narrowed::new(Asked::PgTrgm([question.clone(), question.clone(), question]));
    let filter = FindingFilter { search: Some("Component-12".into()), ..FindingFilter::default() };
    let statement = narrowed.candidates_statement(&filter, Scope::All, 50_001);
    assert!(statement.sql.contains(r#"LOWER("title") LIKE '%-12%'"#), "{}", statement.sql);
    let plan = explain_using_the_trigram_indexes(&app, statement).await;
    let asked: Vec<&String> = plan.iter().filter(|line| line.contains("Index Cond")).collect();
    assert!(asked.iter().all(|line| line.contains("%-12%") && !line.contains("component")), "{}", plan.join("\n"));
    // And it is answered: the word "12" starts after the hyphen in one title, inside "112" in the other.
    let product = app.product("Edges").await;
    for title in ["Component-12 outdated", "Component-112 outdated", "component 12"] {
        app.finding(json!({ "productId": product, "title": title, "severity": "LOW" })).await;
    }
    let found = app.admin("{ findings(filter: {search: \"component-12\"}) { totalCount } }", json!({})).await;
    assert_eq!(found.data()["findings"]["totalCount"], 1);

    // One digit: "t-7" asks pg_trgm for the words starting with "7" (the "t" before the hyphen, a word's end of
    // one character, looks up nothing), where the search read every finding before. About open findings, the
    // statement asks the indexes of the open findings alone (migration 26).
    let question = sample.narrowing("component-7", 1_000_000, TrigramIndex::PgTrgm).expect("narrowed");
    assert_eq!(question.pieces, ["t-7"]);
    let narrowed = Narrowed::new(Asked::PgTrgm([question.clone(), question.clone(), question]));
    let filter = FindingFilter { search: Some("Component-7".into()), ..FindingFilter::default() };
    let statement = narrowed.candidates_statement(&filter, Scope::Open(OpenStates::BREACHED), 50_001);
    assert!(statement.sql.contains(r#"LOWER("title") LIKE '%t-7%'"#), "{}", statement.sql);
    // The indexes of open findings by deadline, and of every finding's text, hidden: the plan must find the
    // partial indexes usable for this statement's condition (their expressions, and `is_open` written in it).
    let mut hidden = vec!["idx_findings_open_deadline", "idx_findings_product_open_deadline"];
    hidden.extend(TRIGRAM_INDEXES);
    let plan = explain_using(&app, statement, &OPEN_TRIGRAM_INDEXES, &hidden).await;
    let asked: Vec<&String> = plan.iter().filter(|line| line.contains("Index Cond")).collect();
    assert!(asked.iter().all(|line| line.contains("%t-7%") && !line.contains("component")), "{}", plan.join("\n"));
    app.finding(json!({ "productId": product, "title": "Component-71 fixed", "severity": "LOW", "isMitigated": true }))
        .await;
    app.finding(json!({ "productId": product, "title": "Component-7 outdated", "severity": "LOW" })).await;
    let found = app.admin("{ findings(filter: {search: \"component-7\"}) { totalCount } }", json!({})).await;
    assert_eq!(found.data()["findings"]["totalCount"], 2, "the open and the closed");
    let found =
        app.admin("{ findings(filter: {search: \"component-7\", active: true}) { totalCount } }", json!({})).await;
    assert_eq!(found.data()["findings"]["totalCount"], 1, "the open one");
}

/// Migration 23's trigram indexes, of every finding.
const TRIGRAM_INDEXES: [&str; 3] =
    ["idx_findings_title_trigrams", "idx_findings_description_trigrams", "idx_findings_external_reference_trigrams"];

/// Migration 26's, of the open findings.
const OPEN_TRIGRAM_INDEXES: [&str; 3] = [
    "idx_open_findings_title_trigrams",
    "idx_open_findings_description_trigrams",
    "idx_open_findings_external_reference_trigrams",
];

/// PostgreSQL's plan of `statement` (its lines), which must use each searched column's trigram index. A new
/// database is small enough for a sequential scan to be cheaper: it is forbidden, so the plan shows whether
/// the indexes' expressions are the ones the statement writes (a drift would leave only the scan).
async fn explain_using_the_trigram_indexes(app: &TestApp, statement: sea_orm::Statement) -> Vec<String> {
    explain_using(app, statement, &TRIGRAM_INDEXES, &[]).await
}

/// `explain_using_the_trigram_indexes` with the `indexes` the plan must use, the `hidden` ones dropped for the
/// plan (in a transaction rolled back after it): a new database's few rows make any index as cheap as another.
/// The plan is the generic one PostgreSQL turns to after a prepared statement's fifth run, which knows the
/// statement's text but not its bound values: what is to use an index must be written into the text.
async fn explain_using(app: &TestApp, statement: sea_orm::Statement, indexes: &[&str], hidden: &[&str]) -> Vec<String> {
    use sea_orm::TransactionTrait;
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
    let txn = app.state.db.begin().await.expect("a transaction");
    txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.expect("set");
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await.expect("set");
    for index in hidden {
        txn.execute_unprepared(&format!("DROP INDEX {index}")).await.expect("dropped for the plan");
    }
    txn.execute_unprepared(&format!("PREPARE explained AS {}", statement.sql)).await.expect("prepared");
    let values = statement.values.map(|values| values.0).unwrap_or_default();
    let values: Vec<String> = values.iter().map(|value| PostgresQueryBuilder.value_to_string(value)).collect();
    let execute = if values.is_empty() {
        "EXPLAIN EXECUTE explained".to_owned()
    } else {
        format!("EXPLAIN EXECUTE explained({})", values.join(", "))
    };
    let explained = txn
        .query_all_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, execute))
        .await
        .expect("explained");
    txn.execute_unprepared("DEALLOCATE explained").await.expect("deallocated");
    txn.rollback().await.expect("rolled back");
    let plan: Vec<String> = explained.iter().map(|row| row.try_get_by_index::<String>(0).expect("a line")).collect();
    for index in indexes {
        assert!(plan.iter().any(|line| line.contains(index)), "{index} unused:\n{}", plan.join("\n"));
    }
    plan
}

#[tokio::test]
async fn a_role_that_may_not_create_extensions_migrates_without_the_trigram_indexes_and_still_searches() {
    if std::env::var("TEST_DATABASE_URL").ok().is_none_or(|url| url.is_empty()) {
        return; // PostgreSQL's extensions and roles.
    }
    // A role that owns nothing but may create tables in the database's public schema: not a superuser, no
    // CREATE on the database, so it may not create even a trusted extension (as on many managed services).
    let dir = tempfile::tempdir().expect("temp dir");
    let database = crate::helpers::fresh_database(&dir).await;
    let name = format!("slawatch_plain_{}_{}", std::process::id(), chrono::Utc::now().timestamp_subsec_nanos());
    let as_admin = sea_orm::Database::connect(database.as_str()).await.expect("the new database");
    as_admin.execute_unprepared(&format!("CREATE ROLE {name} LOGIN")).await.expect("role");
    as_admin.execute_unprepared(&format!("GRANT ALL ON SCHEMA public TO {name}")).await.expect("grant");
    as_admin.close().await.expect("closed");
    let mut url = url::Url::parse(&database).expect("a URL");
    url.set_username(&name).expect("a user name");
    url.set_password(None).expect("no password");
    let plain_url = url.to_string();

    let app = crate::helpers::spawn_app_with(|config| {
        config.database_url = plain_url;
        config.kept_answers = false;
        config.db_acquire_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    assert_eq!(app.state.trigram_index, None, "searches know there is no trigram index to ask");
    let indexes = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_%_trigrams'",
        ))
        .await
        .expect("asked")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a count");
    assert_eq!(indexes, 0, "no extension, so no trigram index (migration 23), nor one of open findings (26)");
    let product = app.product("Plain role").await;
    app.finding(json!({ "productId": product, "title": "Component-12 outdated", "severity": "LOW" })).await;
    app.finding(json!({ "productId": product, "title": "Something else", "severity": "LOW" })).await;
    let found = app.admin("{ findings(filter: {search: \"component-12\"}) { totalCount } }", json!({})).await;
    assert_eq!(found.data()["findings"]["totalCount"], 1, "answered without the trigram indexes");
    // Without the indexes a search reads every finding, so it waits for a scan turn like any scan: with every
    // turn taken it is refused, not run beside them.
    let turns = u32::try_from(app.state.sql_scans.available_permits()).expect("few");
    let taken = app.state.sql_scans.clone().acquire_many_owned(turns).await.expect("turns");
    let refused = app.admin("{ findings(filter: {search: \"component-12\"}) { totalCount } }", json!({})).await;
    assert_eq!(refused.code(), "SERVICE_UNAVAILABLE", "a search without an index to narrow it takes a turn");
    drop(taken);
}
