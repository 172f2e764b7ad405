//! Scan intake through GraphQL: `importScan` / `reimportScan` with the report as a multipart upload, sent by
//! `curl -F` as the GraphQL multipart request spec describes (`operations`, `map`, the file): the same
//! statistics as the REST import, its authorization cases, its upload limit, and bad files that change
//! nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/scans/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// An import whose file variable is `$file`, for a map that puts the upload elsewhere.
const IMPORT_FILE_VARIABLE: &str = "mutation($file: Upload!) {
    importScan(input: {scanType: ZAP, file: $file, engagementId: \"1\"}) { test { id } } }";

/// `curl -F operations=… -F map=… -F 0=@file` to `/graphql` with `authorization`; the status and answer.
async fn upload(app: &TestApp, authorization: Option<&str>, query: &str, variables: Value, file: &str) -> (u16, Value) {
    let operations = json!({ "query": query, "variables": variables });
    let mut command = tokio::process::Command::new("curl");
    command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", &app.url("/graphql")]);
    if let Some(value) = authorization {
        command.args(["-H", &format!("Authorization: {value}")]);
    }
    command.args(["-F", &format!("operations={operations}"), "-F", r#"map={"0": ["variables.input.file"]}"#]);
    command.args(["-F", &format!("0=@{file}")]);
    let output = command.output().await.expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.trim().parse().expect("a status"), serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
}

const IMPORT_SCAN: &str = "mutation($input: ImportScanInput!) {
    importScan(input: $input) {
        test { id scanType scanDate title tags }
        engagement { id name product { name } }
        statistics { created closed reactivated untouched } } }";

const REIMPORT_SCAN: &str = "mutation($input: ImportScanInput!, $test: ID) {
    reimportScan(input: $input, testId: $test) {
        test { id scanDate }
        statistics { created closed reactivated untouched } } }";

fn admin(app: &TestApp) -> String {
    format!("Token {}", app.admin_api_token)
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

async fn finding_count(app: &TestApp) -> u64 {
    app.admin("{ findings { totalCount } }", json!({})).await.data()["findings"]["totalCount"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_report_uploaded_to_graphql_is_imported_then_reimported_into_its_test() {
    let app = spawn_app().await;
    let input = json!({
        "scanType": "ZAP", "file": null, "productName": "Bodgeit", "productTypeName": "Web",
        "engagementName": "CI", "autoCreateContext": true, "scanDate": "2026-02-20", "testTitle": "nightly",
        "tags": ["zap,nightly", "ci"],
    });
    let (status, imported) = upload(
        &app,
        Some(&admin(&app)),
        IMPORT_SCAN,
        json!({ "input": input }),
        &fixture("zap/zap-results-first-scan.xml"),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    let done = &imported["data"]["importScan"];
    assert_eq!(done["test"]["scanType"], "ZAP", "{imported}");
    assert_eq!(
        (done["test"]["scanDate"].as_str(), done["test"]["title"].as_str()),
        (Some("2026-02-20"), Some("nightly"))
    );
    assert_eq!(done["test"]["tags"], json!(["zap", "nightly", "ci"]));
    assert_eq!(done["engagement"]["name"], "CI");
    assert_eq!(done["engagement"]["product"]["name"], "Bodgeit");
    let created = done["statistics"]["created"].as_u64().expect("created");
    let alert_items = std::fs::read_to_string(fixture("zap/zap-results-first-scan.xml"))
        .expect("fixture")
        .matches("<alertitem>")
        .count();
    assert_eq!(created, alert_items as u64, "one finding per alert item");
    assert_eq!(finding_count(&app).await, created);

    // The same report again into its test: all untouched, nothing new.
    let test = done["test"]["id"].clone();
    let again_input = json!({ "scanType": "ZAP", "file": null, "scanDate": "2026-03-01" });
    let (status, again) = upload(
        &app,
        Some(&admin(&app)),
        REIMPORT_SCAN,
        json!({ "input": again_input, "test": test }),
        &fixture("zap/zap-results-first-scan.xml"),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    let counts = &again["data"]["reimportScan"]["statistics"];
    assert_eq!(counts, &json!({ "created": 0, "closed": 0, "reactivated": 0, "untouched": created }), "{again}");
    assert_eq!(again["data"]["reimportScan"]["test"]["id"], test);
}

#[tokio::test]
async fn only_a_products_writers_import_through_graphql_and_others_learn_nothing() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let made = app
        .admin(
            "mutation($p: ID!) { createEngagement(input: {productId: $p, name: \"CI\"}) { id } }",
            json!({ "p": product }),
        )
        .await;
    let engagement = made.data()["createEngagement"]["id"].clone();
    let (reader_id, reader) = app.user("nobby").await;
    let (_, outsider) = app.user("colon").await;
    app.add_member(&product, &reader_id, "READER").await;
    let input = json!({ "input": { "scanType": "ZAP", "file": null, "engagementId": engagement } });
    let report = fixture("zap/5_zap_sample_one.xml");
    // Refused before the body is read: no one unknown makes the server spool an upload.
    let (status, anonymous) = upload(&app, None, IMPORT_SCAN, input.clone(), &report).await;
    assert_eq!((status, code(&anonymous)), (401, "UNAUTHENTICATED"), "{anonymous}");
    let (status, forged) = upload(&app, Some("Bearer not-a-token"), IMPORT_SCAN, input.clone(), &report).await;
    assert_eq!((status, code(&forged)), (401, "UNAUTHENTICATED"), "{forged}");
    let (_, by_reader) = upload(&app, Some(&format!("Bearer {reader}")), IMPORT_SCAN, input.clone(), &report).await;
    assert_eq!(code(&by_reader), "FORBIDDEN", "{by_reader}");
    let (_, by_outsider) = upload(&app, Some(&format!("Bearer {outsider}")), IMPORT_SCAN, input.clone(), &report).await;
    assert_eq!(code(&by_outsider), "NOT_FOUND", "an outsider sees no engagement: {by_outsider}");
    assert_eq!(finding_count(&app).await, 0);
    let (_, by_admin) = upload(&app, Some(&admin(&app)), IMPORT_SCAN, input, &report).await;
    assert_eq!(by_admin["data"]["importScan"]["statistics"]["created"], 2, "{by_admin}");
}

#[tokio::test]
async fn bad_graphql_uploads_are_refused_naming_the_problem_and_change_nothing() {
    // A 64 KiB report limit, so the over-limit case needs no large file.
    let app = spawn_app_with(|config| config.limits.max_report_bytes = 64 * 1024).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let truncated = dir.path().join("truncated.json");
    let generic = std::fs::read(fixture("generic/generic_report1.json")).expect("fixture");
    std::fs::write(&truncated, &generic[..generic.len() * 9 / 10]).expect("write");
    let oversized = dir.path().join("oversized.json");
    let mut padding = b"{\"findings\": [], \"padding\": \"".to_vec();
    padding.resize(100 * 1024, b'a');
    padding.extend_from_slice(b"\"}");
    std::fs::write(&oversized, &padding).expect("write");
    let new_product = json!({
        "scanType": "GENERIC", "file": null, "productName": "Fresh", "productTypeName": "Web",
        "autoCreateContext": true,
    });
    let truncated = truncated.display().to_string();
    let oversized = oversized.display().to_string();
    let zap = fixture("zap/5_zap_sample_one.xml");
    let cases = [
        // Cut off after some findings were read: the ones before it are not kept, nor the product.
        (
            json!({ "input": new_product }),
            truncated.as_str(),
            200,
            "BAD_USER_INPUT",
            "not a valid Generic Findings Import",
        ),
        (
            json!({ "input": { "scanType": "TRIVY", "file": null, "productName": "Fresh" } }),
            zap.as_str(),
            200,
            "BAD_USER_INPUT",
            "no product",
        ),
        (
            json!({ "input": { "scanType": "SARIF", "file": null } }),
            zap.as_str(),
            200,
            "BAD_USER_INPUT",
            "where the scan goes",
        ),
        (
            json!({ "input": { "scanType": "NESSUS", "file": null, "engagementId": "1" } }),
            zap.as_str(),
            200,
            "BAD_USER_INPUT",
            "NESSUS",
        ),
        (json!({ "input": new_product }), oversized.as_str(), 413, "BAD_USER_INPUT", "over the limit of 1 MiB"),
        (
            json!({ "input": { "scanType": "ZAP", "file": null, "engagementId": "1", "tags": ["t".repeat(101)] } }),
            zap.as_str(),
            200,
            "BAD_USER_INPUT",
            "over 100 characters",
        ),
    ];
    for (variables, file, status, want_code, names) in cases {
        let (got, answer) = upload(&app, Some(&admin(&app)), IMPORT_SCAN, variables.clone(), file).await;
        assert_eq!((got, code(&answer)), (status, want_code), "{variables}: {answer}");
        assert!(answer.to_string().contains(names), "{variables} names {names:?}: {answer}");
    }
    let products = app.admin("{ products { totalCount } }", json!({})).await;
    assert_eq!(products.data()["products"]["totalCount"], 0, "no product left behind by a bad file");
    assert_eq!(finding_count(&app).await, 0);

    // A multipart request that is not the spec's shape, and the upload not where a variable wants it.
    let mut command = tokio::process::Command::new("curl");
    command.args(["-s", "-X", "POST", &app.url("/graphql"), "-H", &format!("Authorization: {}", admin(&app))]);
    command.args(["-F", "file=@/dev/null"]);
    let output = command.output().await.expect("curl runs");
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    let (_, misplaced) =
        upload(&app, Some(&admin(&app)), IMPORT_FILE_VARIABLE, json!({ "input": { "scanType": "ZAP" } }), &zap).await;
    assert_eq!(code(&misplaced), "BAD_USER_INPUT", "{misplaced}");
    assert_eq!(finding_count(&app).await, 0);
}
