//! Scan intake through DefectDojo's `import-scan` / `reimport-scan`, sent by `curl -F` as CI pipelines send
//! it: findings dated by the scan, re-import statistics, SLA states of what stayed and what was closed, the
//! one `scan_added` notification, authorization and bad input that changes nothing.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/scans/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// `curl -F` to `path` with `token`; returns the status and the JSON answer.
async fn curl_form(app: &TestApp, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> (u16, Value) {
    // tokio's Command: a blocking wait would stop the server running on this test's runtime.
    let mut command = tokio::process::Command::new("curl");
    command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", &app.url(path)]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Token {token}")]);
    }
    for (name, value) in fields {
        command.args(["-F", &format!("{name}={value}")]);
    }
    let output = command.output().await.expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.trim().parse().expect("a status"), serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
}

async fn import(app: &TestApp, fields: &[(&str, &str)]) -> (u16, Value) {
    curl_form(app, "/api/v2/import-scan/", Some(&app.admin_api_token), fields).await
}

async fn reimport(app: &TestApp, fields: &[(&str, &str)]) -> (u16, Value) {
    curl_form(app, "/api/v2/reimport-scan/", Some(&app.admin_api_token), fields).await
}

fn delta(answer: &Value, what: &str) -> u64 {
    answer["statistics"]["delta"][what]["total"].as_u64().unwrap_or_else(|| panic!("{what} in {answer}"))
}

/// The (alert, riskcode, cweid) of each alert item of a ZAP report, read from the XML text itself.
fn zap_alerts(path: &str) -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(fixture(path)).expect("fixture");
    let field = |item: &str, tag: &str| {
        item.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{tag}>")).next())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    text.split("<alertitem>")
        .skip(1)
        .map(|item| (field(item, "alert"), field(item, "riskcode"), field(item, "cweid")))
        .collect()
}

async fn findings(app: &TestApp) -> Vec<Value> {
    let read = app
        .admin(
            "{ findings(first: 100) { edges { node { id title date severity slaState slaDeadline isMitigated active } } } }",
            json!({}),
        )
        .await;
    read.data()["findings"]["edges"].as_array().expect("edges").iter().map(|e| e["node"].clone()).collect()
}

async fn scan_added_notifications(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    let sql = "SELECT title FROM notifications WHERE event = 'scan_added' ORDER BY id";
    let rows = app.state.db.query_all_raw(Statement::from_string(backend, sql)).await.expect("query");
    rows.iter().map(|row| row.try_get::<String>("", "title").expect("title")).collect()
}

async fn api_token(app: &TestApp, jwt: &str) -> String {
    let made = app.gql(Some(jwt), "mutation { createApiToken(name: \"ci\") { token } }", json!({})).await;
    made.data()["createApiToken"]["token"].as_str().expect("token").to_owned()
}

/// A form's fields, the status it gets and a word its answer must contain.
type BadUpload<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

async fn ci_engagement(app: &TestApp, product: &str) -> String {
    let made = app
        .admin(
            "mutation($p: ID!) { createEngagement(input: {productId: $p, name: \"CI\"}) { id } }",
            json!({ "p": product }),
        )
        .await;
    made.data()["createEngagement"]["id"].as_str().expect("id").to_owned()
}

const FIRST: &str = "zap/zap-results-first-scan.xml";
const SECOND: &str = "zap/zap-results-second-scan.xml";

#[tokio::test]
async fn a_pipelines_import_then_reimport_dates_keeps_closes_and_reactivates_findings() {
    let app = spawn_app().await;
    let first_file = format!("@{}", fixture(FIRST));
    let (status, imported) = import(
        &app,
        &[
            ("scan_type", "ZAP Scan"),
            ("file", &first_file),
            ("product_name", "Bodgeit"),
            ("product_type_name", "Web"),
            ("engagement_name", "CI"),
            ("auto_create_context", "true"),
            ("scan_date", "2026-02-20"),
            ("tags", "nightly, zap"),
            ("tags", "ci"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["tags"], json!(["nightly", "zap", "ci"]), "tags repeated or comma-separated");
    let first_alerts = zap_alerts(FIRST);
    assert_eq!(delta(&imported, "created"), first_alerts.len() as u64, "one finding per alert item");
    let listed = findings(&app).await;
    assert_eq!(listed.len(), first_alerts.len());
    assert!(listed.iter().all(|f| f["date"] == "2026-02-20"), "the scan's date is each finding's date");
    let high = listed.iter().find(|f| f["severity"] == "HIGH").expect("a High (riskcode 3)").clone();
    // High is 7 days from 2026-02-20: breached by the test clock's 2026-03-02.
    assert_eq!(high["slaState"], "BREACHED");
    assert_eq!(scan_added_notifications(&app).await.len(), 1, "one summary per import");

    let second_alerts = zap_alerts(SECOND);
    let kept: BTreeSet<_> = first_alerts.intersection(&second_alerts).cloned().collect();
    assert!(!kept.is_empty() && kept.len() < first_alerts.len(), "the pair overlaps in part");
    let second_file = format!("@{}", fixture(SECOND));
    let engagement = imported["engagement"].to_string();
    let (status, again) = reimport(
        &app,
        &[("scan_type", "ZAP Scan"), ("file", &second_file), ("engagement", &engagement), ("scan_date", "2026-03-01")],
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["test"], imported["test"], "the same test");
    assert_eq!(again["tags"], imported["tags"], "a re-import without tags keeps the test's");
    assert_eq!(delta(&again, "untouched"), kept.len() as u64);
    assert_eq!(delta(&again, "created"), (second_alerts.len() - kept.len()) as u64);
    assert_eq!(delta(&again, "closed"), (first_alerts.len() - kept.len()) as u64);
    assert_eq!(delta(&again, "reactivated"), 0);

    let after = findings(&app).await;
    for finding in &after {
        let title = finding["title"].as_str().unwrap_or_default();
        let was_first = listed.iter().find(|f| f["id"] == finding["id"]);
        match was_first {
            Some(before) if finding["isMitigated"] == json!(false) => {
                assert_eq!(
                    (&finding["date"], &finding["slaDeadline"]),
                    (&before["date"], &before["slaDeadline"]),
                    "{title}: untouched"
                );
            }
            Some(_) => {
                let state = finding["slaState"].as_str().unwrap_or_default();
                assert!(matches!(state, "MET" | "MISSED" | "NONE"), "{title}: closed, {state}");
            }
            None => assert_eq!(finding["date"], "2026-03-01", "{title}: new, dated by the re-import"),
        }
    }
    let closed_high = after
        .iter()
        .filter(|f| f["isMitigated"] == json!(true) && f["severity"] == "HIGH")
        .map(|f| f["slaState"].clone())
        .collect::<Vec<_>>();
    assert!(
        closed_high.iter().all(|s| s == "MISSED"),
        "a High closed 9 days after it was found missed: {closed_high:?}"
    );

    // The first report again: what it lists and the second closed comes back.
    let (status, back) = reimport(
        &app,
        &[("scan_type", "ZAP Scan"), ("file", &first_file), ("engagement", &engagement), ("scan_date", "2026-03-02")],
    )
    .await;
    assert_eq!(status, 201, "{back}");
    assert_eq!(delta(&back, "reactivated"), (first_alerts.len() - kept.len()) as u64);
    assert_eq!(delta(&back, "created"), 0);
    assert_eq!(scan_added_notifications(&app).await.len(), 3);
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_problem_and_change_nothing() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let engagement = ci_engagement(&app, &product).await;
    let zap = format!("@{}", fixture(FIRST));
    let sarif_empty_runs = std::env::temp_dir().join(format!("no-runs-{}.sarif", std::process::id()));
    std::fs::write(&sarif_empty_runs, br#"{"version": "2.1.0", "runs": []}"#).expect("write");
    let no_runs = format!("@{}", sarif_empty_runs.display());
    let truncated_path = std::env::temp_dir().join(format!("truncated-{}.xml", std::process::id()));
    let xml = std::fs::read(fixture(FIRST)).expect("fixture");
    std::fs::write(&truncated_path, &xml[..xml.len() / 2]).expect("write");
    let truncated = format!("@{}", truncated_path.display());
    // Cut off after 2,500 findings: more than the import writes at once, so some were written when the end
    // of the file turns out to be missing — and are not kept.
    let long_path = std::env::temp_dir().join(format!("long-truncated-{}.json", std::process::id()));
    let entries: Vec<String> =
        (0..2_500).map(|i| format!(r#"{{"title": "finding {i}", "severity": "Low", "description": "d"}}"#)).collect();
    std::fs::write(&long_path, format!(r#"{{"findings": [{}, {{"title": "cut"#, entries.join(","))).expect("write");
    let long_truncated = format!("@{}", long_path.display());
    let long_tag = "t".repeat(101);
    let cases: Vec<BadUpload> = vec![
        (
            vec![("scan_type", "Generic Findings Import"), ("file", &long_truncated), ("engagement", &engagement)],
            400,
            "EOF while parsing",
        ),
        (vec![("scan_type", "Nessus"), ("file", &zap), ("engagement", &engagement)], 400, "scan_type"),
        (vec![("file", &zap), ("engagement", &engagement)], 400, "scan_type"),
        (vec![("scan_type", "ZAP Scan"), ("engagement", &engagement)], 400, "file"),
        (
            vec![("scan_type", "Trivy Scan"), ("file", &zap), ("engagement", &engagement)],
            400,
            "not a valid Trivy Scan report",
        ),
        (vec![("scan_type", "ZAP Scan"), ("file", &truncated), ("engagement", &engagement)], 400, "ZAP Scan"),
        (vec![("scan_type", "SARIF"), ("file", &no_runs), ("engagement", &engagement)], 400, "no runs"),
        (vec![("scan_type", "ZAP Scan"), ("file", &zap), ("product_name", "Nowhere")], 400, "auto_create_context"),
        (
            vec![("scan_type", "ZAP Scan"), ("file", &zap), ("engagement", &engagement), ("scan_date", "yesterday")],
            400,
            "scan_date",
        ),
        (vec![("scan_type", "ZAP Scan"), ("file", &zap), ("engagement", "99999")], 404, "Not found"),
        (
            vec![("scan_type", "ZAP Scan"), ("file", &zap), ("engagement", &engagement), ("tags", &long_tag)],
            400,
            "tags",
        ),
    ];
    for (fields, status, names) in cases {
        let (got, answer) = import(&app, &fields).await;
        assert_eq!(got, status, "{fields:?}: {answer}");
        assert!(answer.to_string().contains(names), "{fields:?} names {names}: {answer}");
    }
    assert!(findings(&app).await.is_empty(), "nothing imported");
    assert!(scan_added_notifications(&app).await.is_empty());
    let _ = std::fs::remove_file(sarif_empty_runs);
    let _ = std::fs::remove_file(truncated_path);
    let _ = std::fs::remove_file(long_path);
}

#[tokio::test]
async fn only_a_products_writers_import_and_others_learn_nothing() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let engagement = ci_engagement(&app, &product).await;
    let (reader_id, reader) = app.user("nobby").await;
    let (_, outsider) = app.user("colon").await;
    app.add_member(&product, &reader_id, "READER").await;
    let (reader, outsider) = (api_token(&app, &reader).await, api_token(&app, &outsider).await);
    let zap = format!("@{}", fixture("zap/5_zap_sample_one.xml"));
    let fields = [("scan_type", "ZAP Scan"), ("file", zap.as_str()), ("engagement", engagement.as_str())];
    assert_eq!(curl_form(&app, "/api/v2/import-scan/", None, &fields).await.0, 401);
    assert_eq!(curl_form(&app, "/api/v2/import-scan/", Some(&reader), &fields).await.0, 403, "a reader may not import");
    assert_eq!(
        curl_form(&app, "/api/v2/import-scan/", Some(&outsider), &fields).await.0,
        404,
        "an outsider sees no engagement"
    );
    let by_name =
        [("scan_type", "ZAP Scan"), ("file", zap.as_str()), ("product_name", "Portal"), ("engagement_name", "CI")];
    let (status, answer) = curl_form(&app, "/api/v2/import-scan/", Some(&outsider), &by_name).await;
    assert_eq!((status, answer.to_string().contains("no product")), (400, true), "{answer}");
    assert!(findings(&app).await.is_empty());
    let (status, answer) = import(&app, &by_name).await;
    assert_eq!((status, delta(&answer, "created")), (201, 2), "{answer}");
}

#[tokio::test]
async fn imported_history_announces_each_findings_present_state_once_and_old_breaches_not_at_all() {
    let app = crate::helpers::spawn_app_without_scheduler(|_| {}).await;
    // The test clock stands at 2026-03-02; the default configuration gives High 7, Medium 30, Low 90 days.
    let report = json!({ "findings": [
        { "title": "Old weak cipher", "severity": "Low", "description": "breached a month ago", "date": "2025-11-01" },
        { "title": "Reflected XSS", "severity": "Medium", "description": "20 of 30 days gone", "date": "2026-02-10" },
        { "title": "SQL injection", "severity": "High", "description": "breached yesterday", "date": "2026-02-22" },
    ]});
    let path = std::env::temp_dir().join(format!("history-{}.json", std::process::id()));
    std::fs::write(&path, report.to_string()).expect("write");
    let file = format!("@{}", path.display());
    let (status, answer) = import(
        &app,
        &[
            ("scan_type", "Generic Findings Import"),
            ("file", &file),
            ("product_name", "Portal"),
            ("product_type_name", "Web"),
            ("auto_create_context", "true"),
        ],
    )
    .await;
    let _ = std::fs::remove_file(&path);
    assert_eq!((status, delta(&answer, "created")), (201, 3), "{answer}");
    let sla_states: Vec<(String, String)> = findings(&app)
        .await
        .iter()
        .map(|f| (f["title"].as_str().unwrap_or("").to_owned(), f["slaState"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert!(sla_states.contains(&("Old weak cipher".to_owned(), "BREACHED".to_owned())), "{sla_states:?}");
    assert!(sla_states.contains(&("Reflected XSS".to_owned(), "APPROACHING".to_owned())), "{sla_states:?}");
    app.run_due_jobs().await;
    app.run_due_jobs().await; // a second sweep emits nothing more
    let sent = app.sla_notifications_by_title().await;
    assert_eq!(
        sent,
        [
            ("Reflected XSS".to_owned(), "sla_breach_approaching".to_owned()),
            ("SQL injection".to_owned(), "sla_breach".to_owned()),
        ],
        "one notification of the present state each; none for a breach older than a week"
    );
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_before_anything_is_read_into_findings() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let engagement = ci_engagement(&app, &product).await;
    let path = std::env::temp_dir().join(format!("huge-{}.json", std::process::id()));
    // 101 MiB of a JSON string: over the 100 MiB limit.
    let mut huge = b"{\"findings\": [], \"padding\": \"".to_vec();
    huge.resize(101 * 1024 * 1024, b'a');
    huge.extend_from_slice(b"\"}");
    std::fs::write(&path, &huge).expect("write");
    let file = format!("@{}", path.display());
    let fields =
        [("scan_type", "Generic Findings Import"), ("file", file.as_str()), ("engagement", engagement.as_str())];
    let (status, answer) = import(&app, &fields).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.to_string().contains("100 MiB"), "{answer}");
    assert!(scan_added_notifications(&app).await.is_empty(), "no test, no import");
}

/// Writes a Generic Findings Import report of `titles` (High each) to a temporary file; returns `@path`.
fn generic_report(name: &str, titles: &[&str]) -> (std::path::PathBuf, String) {
    let findings: Vec<Value> =
        titles.iter().map(|t| json!({ "title": t, "severity": "High", "description": "numbered" })).collect();
    let path = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
    std::fs::write(&path, json!({ "findings": findings }).to_string()).expect("write");
    let file = format!("@{}", path.display());
    (path, file)
}

#[tokio::test]
async fn imported_findings_take_ids_never_used_before_in_step_with_other_writers() {
    let app = spawn_app().await;
    let form = |file: &str| {
        vec![
            ("scan_type", "Generic Findings Import"),
            ("file", file),
            ("product_name", "Ledger"),
            ("product_type_name", "Finance"),
            ("engagement_name", "CI"),
            ("auto_create_context", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect::<Vec<_>>()
    };
    let send = async |fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        import(&app, &fields).await
    };
    let (path, file) = generic_report("first-ids", &["first"]);
    let (status, answer) = send(form(&file)).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(status, 201, "{answer}");
    let product = answer["product"].as_u64().expect("product").to_string();
    let create =
        "mutation($p: ID!, $t: String!) { createFinding(input: {productId: $p, title: $t, severity: HIGH}) { id } }";
    let id = |v: &Value| v.as_str().and_then(|s| s.parse::<i64>().ok()).expect("an id");
    let doomed = id(&app.admin(create, json!({ "p": product, "t": "doomed" })).await.data()["createFinding"]["id"]);
    app.admin("mutation($id: ID!) { deleteFinding(id: $id) { id } }", json!({ "id": doomed.to_string() })).await.data();

    let (path, file) = generic_report("second-ids", &["second a", "second b", "second c"]);
    let (status, answer) = send(form(&file)).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!((status, delta(&answer, "created")), (201, 3), "{answer}");
    let later = id(&app.admin(create, json!({ "p": product, "t": "later" })).await.data()["createFinding"]["id"]);

    let mut by_title: Vec<(String, i64)> =
        findings(&app).await.iter().map(|f| (f["title"].as_str().expect("title").to_owned(), id(&f["id"]))).collect();
    by_title.sort_by_key(|(_, id)| *id);
    let imported: Vec<i64> = by_title.iter().filter(|(t, _)| t.starts_with("second")).map(|(_, id)| *id).collect();
    assert_eq!(imported.len(), 3, "{by_title:?}");
    assert!(imported.iter().all(|i| *i > doomed), "a deleted finding's id is not given again: {by_title:?}");
    assert!(later > imported[2], "a finding created after the import comes after it: {by_title:?}");
    let titles: Vec<&str> = by_title.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["first", "second a", "second b", "second c", "later"], "ids follow the report's order");
}
