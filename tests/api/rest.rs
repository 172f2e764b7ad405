//! The DefectDojo REST subset as the runbook uses it: the weekly `curl`, the Prometheus exporter script run
//! by Python (`SLAWATCH_PYTHON_TESTS=1` in CI makes a missing `python3`/`requests`/`curl` a failure), DRF
//! pagination, authorization and bad input.

use std::process::Command;

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// The runbook's findings: Royal-Bank-Integration and Golem Portal, two days after they were reported (the
/// Criticals are in breach, nothing else), one Critical mitigated in time, some unverified.
async fn runbook_findings(app: &TestApp) -> (String, String) {
    let bank = app.product("Royal-Bank-Integration").await;
    let portal = app.product("Golem Portal").await;
    for (product, severity, title, verified) in [
        (&bank, "CRITICAL", "RCE in payment gateway", true),
        (&bank, "CRITICAL", "Auth bypass", false),
        (&portal, "CRITICAL", "SSRF", true),
        (&bank, "HIGH", "Stored XSS", true),
        (&portal, "MEDIUM", "CSRF", true),
        (&portal, "LOW", "Version banner", false),
        (&portal, "INFO", "Note", true),
    ] {
        app.finding(json!({ "productId": product, "title": title, "severity": severity, "verified": verified })).await;
    }
    let fixed = app.finding(json!({ "productId": bank, "title": "Fixed", "severity": "CRITICAL" })).await;
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": fixed["id"] })).await.data();
    app.clock.advance(TimeDelta::days(2));
    (bank, portal)
}

async fn get(app: &TestApp, path_and_query: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path_and_query));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.expect("REST request")
}

async fn get_json(app: &TestApp, path_and_query: &str, token: &str) -> Value {
    let response = get(app, path_and_query, Some(&format!("Token {token}"))).await;
    assert_eq!(response.status(), 200, "{path_and_query}");
    response.json().await.expect("JSON")
}

async fn graphql_count(app: &TestApp, filter: Value) -> u64 {
    let read =
        app.admin("query($f: FindingFilter) { findings(filter: $f) { totalCount } }", json!({ "f": filter })).await;
    read.data()["findings"]["totalCount"].as_u64().expect("count")
}

/// Whether the Python/curl tests can run here; with `SLAWATCH_PYTHON_TESTS=1` (CI) they must.
fn python_available() -> bool {
    let required = std::env::var("SLAWATCH_PYTHON_TESTS").is_ok_and(|v| v == "1");
    let ok = Command::new("python3").args(["-c", "import requests"]).output().is_ok_and(|o| o.status.success())
        && Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok || !required, "SLAWATCH_PYTHON_TESTS=1 but python3 with requests, or curl, is missing");
    if !ok {
        eprintln!("python3 with requests or curl is missing: skipping the runbook script tests (CI runs them)");
    }
    ok
}

#[tokio::test]
async fn the_weekly_review_curl_returns_the_breached_findings() {
    let app = spawn_app().await;
    runbook_findings(&app).await;
    let expected = graphql_count(&app, json!({ "outsideSla": true, "active": true })).await;
    assert_eq!(expected, 3);

    let page = get_json(&app, "/api/v2/findings/?outside_sla=true&active=true", &app.admin_api_token).await;
    assert_eq!(page["count"], expected);
    let results = page["results"].as_array().expect("results");
    assert_eq!(results.len() as u64, expected);
    for finding in results {
        assert_eq!(finding["severity"], "Critical");
        assert_eq!(finding["outside_of_sla"], true);
        assert_eq!(finding["is_mitigated"], false);
        assert!(finding["sla_days_remaining"].as_i64().is_some_and(|d| d < 0), "{finding}");
        assert!(finding["sla_expiration_date"].is_string() && finding["product_name"].is_string(), "{finding}");
    }
    assert!(page["next"].is_null() && page["previous"].is_null());

    if !python_available() {
        return;
    }
    // The runbook's command, with the host changed.
    let command = format!(
        "curl \"{}/api/v2/findings/?outside_sla=true&active=true\" \\\n  -H \"Authorization: Token ${{DEFECTDOJO_API_TOKEN}}\" \\\n  | python3 -m json.tool",
        app.address
    );
    // tokio's Command: the server runs on this test's runtime and must keep answering while curl waits.
    let output = tokio::process::Command::new("sh")
        .args(["-c", &command])
        .env("DEFECTDOJO_API_TOKEN", &app.admin_api_token)
        .output()
        .await
        .expect("sh runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("json.tool prints JSON");
    let titles: Vec<&str> =
        printed["results"].as_array().expect("results").iter().filter_map(|f| f["title"].as_str()).collect();
    assert_eq!(titles, ["RCE in payment gateway", "Auth bypass", "SSRF"]);
}

#[tokio::test]
async fn the_runbook_exporter_script_writes_the_graphql_counts() {
    let app = spawn_app().await;
    runbook_findings(&app).await;
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("defectdojo-metrics-token");
    std::fs::write(&token_file, format!("{}\n", app.admin_api_token)).expect("token file");
    let prom_file = dir.path().join("defectdojo-sla.prom");
    let script = include_str!("../runbook/defectdojo_sla_exporter.py")
        .replace("https://defectdojo.golemtrust.am", &app.address)
        .replace("/etc/defectdojo-metrics-token", &token_file.display().to_string())
        .replace("/var/lib/prometheus-exporters/defectdojo-sla.prom", &prom_file.display().to_string());
    let script_file = dir.path().join("exporter.py");
    std::fs::write(&script_file, script).expect("script");
    let run = tokio::process::Command::new("python3").arg(&script_file).output().await.expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let written = std::fs::read_to_string(&prom_file).expect("the .prom file");
    let mut lines = Vec::new();
    for severity in ["CRITICAL", "HIGH", "MEDIUM", "LOW"] {
        let count = graphql_count(
            &app,
            json!({ "active": true, "severities": [severity], "isMitigated": false, "outsideSla": true }),
        )
        .await;
        lines.push(format!("defectdojo_sla_breach_count{{severity=\"{}\"}} {count}", severity.to_lowercase()));
    }
    assert_eq!(written, lines.join("\n") + "\n");
    assert!(written.starts_with("defectdojo_sla_breach_count{severity=\"critical\"} 3\n"), "{written}");
}

#[tokio::test]
async fn findings_page_filter_and_stay_within_the_tokens_products() {
    let app = spawn_app().await;
    let (bank, _portal) = runbook_findings(&app).await;
    // Links are built from the site URL (never from the request's Host).
    app.admin(
        "mutation($u: String!) { updateSystemSettings(input: {siteUrl: $u}) { siteUrl } }",
        json!({ "u": app.address }),
    )
    .await
    .data();

    // DRF pagination: count, next and previous keep the filters.
    let first = get_json(&app, "/api/v2/findings/?limit=3&active=True", &app.admin_api_token).await;
    assert_eq!(first["count"], 7);
    assert_eq!(first["results"].as_array().map(Vec::len), Some(3));
    let next = first["next"].as_str().expect("next link");
    assert!(next.contains("active=True") && next.contains("limit=3") && next.contains("offset=3"), "{next}");
    let second: Value = app
        .client
        .get(next)
        .header("Authorization", format!("Token {}", app.admin_api_token))
        .send()
        .await
        .expect("next page")
        .json()
        .await
        .expect("JSON");
    let previous = second["previous"].as_str().expect("previous link");
    assert!(!previous.contains("offset="), "{previous}");
    let last = get_json(&app, "/api/v2/findings/?limit=3&offset=6&active=1", &app.admin_api_token).await;
    assert_eq!((last["results"].as_array().map(Vec::len), last["next"].is_null()), (Some(1), true));

    // Filters: severities in any case, the DefectDojo and runbook spellings, product_name.
    for (query, filter) in [
        ("severity=critical&is_Mitigated=false", json!({ "severities": ["CRITICAL"], "isMitigated": false })),
        ("severity=CRITICAL&is_mitigated=1", json!({ "severities": ["CRITICAL"], "isMitigated": true })),
        ("outside_of_sla=0", json!({ "outsideSla": false })),
        ("verified=False", json!({ "verified": false })),
        ("product_name=Royal-Bank-Integration", json!({ "productName": "Royal-Bank-Integration" })),
    ] {
        let page = get_json(&app, &format!("/api/v2/findings/?{query}"), &app.admin_api_token).await;
        assert_eq!(page["count"], graphql_count(&app, filter).await, "{query}");
    }

    // One finding, and the SLA configurations.
    let id = first["results"][0]["id"].as_i64().expect("id");
    let one = get_json(&app, &format!("/api/v2/findings/{id}/"), &app.admin_api_token).await;
    assert_eq!(one["id"], id);
    assert_eq!(one["sla_start_date"], "2026-03-02");
    let configs = get_json(&app, "/api/v2/sla_configurations/", &app.admin_api_token).await;
    assert!(configs["results"].as_array().is_some_and(|c| c.iter().any(|c| c["critical"] == 1 && c["high"] == 7)));

    // A member's token sees its product only; another product's finding is 404.
    let (user_id, jwt) = app.user("otto").await;
    app.add_member(&bank, &user_id, "READER").await;
    let created = app.gql(Some(&jwt), "mutation { createApiToken(name: \"reports\") { token } }", json!({})).await;
    let otto = created.data()["createApiToken"]["token"].as_str().expect("token").to_owned();
    let visible = get_json(&app, "/api/v2/findings/", &otto).await;
    assert_eq!(visible["count"], 4);
    assert!(
        visible["results"].as_array().expect("results").iter().all(|f| f["product_name"] == "Royal-Bank-Integration")
    );
    let portal_finding = get_json(&app, "/api/v2/findings/?product_name=Golem%20Portal", &app.admin_api_token).await;
    let hidden = portal_finding["results"][0]["id"].as_i64().expect("id");
    let refused = get(&app, &format!("/api/v2/findings/{hidden}/"), Some(&format!("Token {otto}"))).await;
    assert_eq!(refused.status(), 404);
    assert_eq!(refused.json::<Value>().await.expect("JSON"), json!({ "detail": "Not found." }));
}

#[tokio::test]
async fn bad_requests_get_defectdojos_status_codes() {
    let app = spawn_app().await;
    runbook_findings(&app).await;
    let token = format!("Token {}", app.admin_api_token);

    let anonymous = get(&app, "/api/v2/findings/", None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.expect("JSON"),
        json!({ "detail": "Authentication credentials were not provided." })
    );
    let forged = get(&app, "/api/v2/findings/", Some("Token not-a-real-token")).await;
    assert_eq!(forged.status(), 401);
    assert!(forged.json::<Value>().await.expect("JSON")["detail"].as_str().is_some_and(|d| d.contains("invalid")));

    let bad = get(&app, "/api/v2/findings/?active=maybe&severity=Urgent&limit=many", Some(&token)).await;
    assert_eq!(bad.status(), 400);
    let errors: Value = bad.json().await.expect("JSON");
    for name in ["active", "severity", "limit"] {
        assert!(errors[name][0].as_str().is_some_and(|m| !m.is_empty()), "{errors}");
    }

    let unknown = get(&app, "/api/v2/findings/?o=-id&tags=pci&active=true", Some(&token)).await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(unknown.headers()["warning"], "299 - \"ignored query parameters: o, tags\"");

    for path in ["/api/v2/findings/999999/", "/api/v2/findings/abc/"] {
        assert_eq!(get(&app, path, Some(&token)).await.status(), 404, "{path}");
    }
}

/// What a list keeps between requests (the token's user, product names, the site URL) while findings are
/// written follows a rename, a new product, a new site URL and a revocation at once, and a token's use is
/// still recorded once a minute.
#[tokio::test]
async fn what_a_list_keeps_between_requests_follows_each_change_at_once() {
    let app = spawn_app().await;
    let first_product = app.product("Alpha").await;
    for n in 0..3 {
        app.finding(json!({ "productId": first_product, "title": format!("alpha {n}"), "severity": "HIGH" })).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["results"].as_array().expect("results").iter().map(|r| r["product_name"].to_string()).collect()
    };
    let page = get_json(&app, "/api/v2/findings/?limit=2", &app.admin_api_token).await;
    assert_eq!(names(&page), ["\"Alpha\"", "\"Alpha\""]);
    assert!(page["next"].as_str().is_some_and(|n| n.starts_with(&app.address)), "{page}");

    // A finding's change keeps what was kept; a rename does not.
    app.finding(json!({ "productId": first_product, "title": "alpha 3", "severity": "LOW" })).await;
    let renamed = app
        .admin(
            "mutation($id: ID!) { updateProduct(id: $id, input: {name: \"Alpha Prime\"}) { name } }",
            json!({ "id": first_product }),
        )
        .await;
    assert_eq!(renamed.data()["updateProduct"]["name"], "Alpha Prime");
    let page = get_json(&app, "/api/v2/findings/?limit=2", &app.admin_api_token).await;
    assert_eq!(names(&page), ["\"Alpha Prime\"", "\"Alpha Prime\""]);

    // A product made since the names were kept is named too.
    let second_product = app.product("Beta").await;
    app.finding(json!({ "productId": second_product, "title": "beta", "severity": "HIGH" })).await;
    let page = get_json(&app, "/api/v2/findings/?limit=2&offset=3", &app.admin_api_token).await;
    assert_eq!(names(&page), ["\"Alpha Prime\"", "\"Beta\""]);

    // A new site URL is in the next link at once.
    app.admin(
        "mutation { updateSystemSettings(input: {siteUrl: \"https://sla.golemtrust.am/\"}) { siteUrl } }",
        json!({}),
    )
    .await
    .data();
    let page = get_json(&app, "/api/v2/findings/?limit=2", &app.admin_api_token).await;
    assert!(
        page["next"].as_str().is_some_and(|n| n.starts_with("https://sla.golemtrust.am/api/v2/findings/")),
        "{page}"
    );

    // The token's use is recorded again after a minute, not on every request.
    let last_used = || async {
        let listed = app.admin("{ apiTokens { name lastUsedAt } }", json!({})).await;
        let tokens = listed.data()["apiTokens"].as_array().expect("tokens").clone();
        tokens.iter().find(|t| t["name"] == "tests").expect("the tests' token")["lastUsedAt"].clone()
    };
    let before = last_used().await;
    app.clock.advance(TimeDelta::seconds(30));
    get_json(&app, "/api/v2/findings/?limit=1", &app.admin_api_token).await;
    assert_eq!(last_used().await, before, "within the minute");
    app.clock.advance(TimeDelta::seconds(31));
    get_json(&app, "/api/v2/findings/?limit=1", &app.admin_api_token).await;
    assert_eq!(last_used().await, json!("2026-03-02T09:31:01+00:00"), "a minute later");

    // A revoked token is refused at once, though it was kept a moment ago.
    let created =
        app.admin("mutation { createApiToken(name: \"exporter\") { token apiToken { id } } }", json!({})).await;
    let token = created.data()["createApiToken"]["token"].as_str().expect("token").to_owned();
    let id = created.data()["createApiToken"]["apiToken"]["id"].clone();
    get_json(&app, "/api/v2/findings/?limit=1", &token).await;
    app.finding(json!({ "productId": second_product, "title": "beta 2", "severity": "LOW" })).await;
    app.admin("mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id })).await.data();
    assert_eq!(get(&app, "/api/v2/findings/?limit=1", Some(&format!("Token {token}"))).await.status(), 401);
}
