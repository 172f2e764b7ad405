//! Bad input gets a clear code and changes nothing.

use std::fmt::Write;

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn an_unknown_severity_is_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let literal = app.admin(&format!("mutation {{ createFinding(input: {{productId: \"{product}\", title: \"t\", severity: SEVERE}}) {{ id }} }}"), json!({})).await;
    assert_eq!(literal.code(), "BAD_USER_INPUT");
    let variable = app
        .admin(
            "mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }",
            json!({ "i": { "productId": product, "title": "t", "severity": "Severe" } }),
        )
        .await;
    assert_eq!(variable.code(), "BAD_USER_INPUT");
    assert_eq!(app.admin("{ findings { totalCount } }", json!({})).await.data()["findings"]["totalCount"], 0);
}

#[tokio::test]
async fn sla_days_below_one_and_bad_thresholds_are_refused() {
    let app = spawn_app().await;
    for input in [
        "{name: \"Zero\", critical: 0}",
        "{name: \"Negative\", high: -1}",
        "{name: \"T\", thresholds: [0]}",
        "{name: \"T\", thresholds: [50, 50]}",
        "{name: \"T\", escalationHours: 0}",
        "{name: \" \"}",
    ] {
        let refused =
            app.admin(&format!("mutation {{ createSlaConfiguration(input: {input}) {{ id }} }}"), json!({})).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{input}");
    }
    let default_id = app.default_sla_id().await;
    let refused = app
        .admin(
            "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {critical: 0}) { critical } }",
            json!({ "id": default_id }),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    let listed = app.admin("{ slaConfigurations { name critical } }", json!({})).await;
    assert_eq!(listed.data()["slaConfigurations"], json!([{ "name": "Default", "critical": 1 }]));
}

#[tokio::test]
async fn duplicate_names_conflict() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    assert!(!product.is_empty());
    let type_id = app.product_type("Internal").await;
    for query in [
        "mutation { createProductType(input: {name: \"Internal\"}) { id } }".to_owned(),
        format!("mutation {{ createProduct(input: {{name: \"Portal\", productTypeId: \"{type_id}\"}}) {{ id }} }}"),
        "mutation { createSlaConfiguration(input: {name: \"Default\"}) { id } }".to_owned(),
        "mutation { createUser(input: {username: \"admin\", email: \"a@b.am\"}) { id } }".to_owned(),
    ] {
        assert_eq!(app.admin(&query, json!({})).await.code(), "CONFLICT", "{query}");
    }
    let (_, _) = app.user("otto").await;
    let (_, _) = app.user("carrot").await;
    let rename = app
        .admin(
            "mutation($t: ID!) { updateProductType(id: $t, input: {name: \"Portal type\"}) { id } }",
            json!({ "t": type_id }),
        )
        .await;
    assert_eq!(rename.code(), "CONFLICT");
}

#[tokio::test]
async fn the_default_and_in_use_configurations_cannot_be_deleted() {
    let app = spawn_app().await;
    let delete = "mutation($id: ID!) { deleteSlaConfiguration(id: $id) { name } }";
    let default_id = app.default_sla_id().await;
    assert_eq!(app.admin(delete, json!({ "id": default_id })).await.code(), "CONFLICT");
    let created = app
        .admin("mutation { createSlaConfiguration(input: {name: \"Royal Bank\", high: 5}) { id } }", json!({}))
        .await;
    let royal_id = created.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    let type_id = app.product_type("Customers").await;
    app.admin(
        "mutation($t: ID!, $c: ID!) { createProduct(input: {name: \"Royal-Bank-Integration\", productTypeId: $t, slaConfigurationId: $c}) { id } }",
        json!({ "t": type_id, "c": royal_id }),
    )
    .await
    .data();
    let in_use = app.admin(delete, json!({ "id": royal_id })).await;
    assert_eq!(in_use.code(), "CONFLICT");
    assert!(in_use.message().contains("1 product"));
    let unused = app.admin("mutation { createSlaConfiguration(input: {name: \"Spare\"}) { id } }", json!({})).await;
    let unused = unused.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    assert_eq!(app.admin(delete, json!({ "id": unused })).await.data()["deleteSlaConfiguration"]["name"], "Spare");
    assert_eq!(
        app.admin("{ slaConfigurations { name } }", json!({})).await.data()["slaConfigurations"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn malformed_json_and_batches_get_400_with_a_code() {
    let app = spawn_app().await;
    for body in ["{not json", "[{\"query\": \"{ me { id } }\"}]", "\"just a string\""] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", app.admin_token))
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 400, "{body}");
        let json: serde_json::Value = response.json().await.expect("JSON error");
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = spawn_app_with(|config| config.limits.max_body_bytes = 4096).await;
    let padding = "x".repeat(10_000);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": "{ me { id } }", "variables": { "padding": padding } }).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 413);
    let json: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn too_deep_and_too_complex_queries_are_refused_but_introspection_works() {
    let app = spawn_app().await;
    let mut deep = "name".to_owned();
    for _ in 0..20 {
        deep = format!("ofType {{ {deep} }}");
    }
    let refused =
        app.admin(&format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}"), json!({})).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(refused.message().to_lowercase().contains("nested too deep"), "{}", refused.message());
    // GraphiQL's introspection (TypeRef seven levels deep) stays within the limit.
    let mut type_ref = "kind name".to_owned();
    for _ in 0..7 {
        type_ref = format!("kind name ofType {{ {type_ref} }}");
    }
    let introspection = app.admin(&format!("{{ __schema {{ types {{ name fields {{ name args {{ type {{ {type_ref} }} }} type {{ {type_ref} }} }} }} }} }}"), json!({})).await;
    assert!(introspection.data()["__schema"]["types"].is_array());
    let aliases = (0..60).fold(String::new(), |mut query, i| {
        let _ = write!(query, "a{i}: findings(first: 100) {{ edges {{ node {{ id title }} }} }} ");
        query
    });
    let complex = app.admin(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(complex.code(), "BAD_USER_INPUT");
    assert!(complex.message().to_lowercase().contains("complex"), "{}", complex.message());
}

#[tokio::test]
async fn page_sizes_ids_dates_and_cursors_are_checked() {
    let app = spawn_app().await;
    for query in [
        "{ findings(first: 101) { totalCount } }",
        "{ findings(first: 0) { totalCount } }",
        "{ findings(first: 1, last: 1) { totalCount } }",
        "{ findings(after: \"not-a-cursor\") { totalCount } }",
        "{ finding(id: \"abc\") { id } }",
        "{ product(id: \"-3\") { id } }",
        "{ findings(filter: {deadlineBefore: \"yesterday\"}) { totalCount } }",
        "mutation { createEngagement(input: {productId: \"1\", name: \"x\", targetStart: \"2026-13-01\"}) { id } }",
    ] {
        assert_eq!(app.admin(query, json!({})).await.code(), "BAD_USER_INPUT", "{query}");
    }
    assert_eq!(app.admin("{ finding(id: \"999\") { id } }", json!({})).await.code(), "NOT_FOUND");
}

#[tokio::test]
async fn invalid_values_in_findings_users_and_settings_are_refused() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let create = "mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }";
    for input in [
        json!({ "productId": product, "title": "t", "severity": "LOW", "slaStart": "2026-03-02T00:00:00Z", "mitigatedAt": "2026-03-01T00:00:00Z" }),
        json!({ "productId": product, "title": "t", "severity": "LOW", "isMitigated": false, "mitigatedAt": "2026-03-03T00:00:00Z" }),
        json!({ "productId": product, "title": "t", "severity": "LOW", "date": "1969-12-31" }),
        json!({ "productId": product, "title": "", "severity": "LOW" }),
    ] {
        assert_eq!(app.admin(create, json!({ "i": input })).await.code(), "BAD_USER_INPUT", "{input}");
    }
    for query in [
        "mutation { createUser(input: {username: \"bad name\", email: \"x@y.am\"}) { id } }",
        "mutation { createUser(input: {username: \"ok\", email: \"not-an-email\"}) { id } }",
        "mutation { createUser(input: {username: \"ok\", email: \"x@y.am\", password: \"short\"}) { id } }",
        "mutation { updateSystemSettings(input: {siteUrl: \"ftp://golemtrust.am\"}) { siteUrl } }",
        "mutation { updateSystemSettings(input: {msteamsUrl: \"not a url\"}) { msteamsUrlSet } }",
        "mutation { updateSystemSettings(input: {mailRecipients: [\"security-team@golemtrust.am\", \"cheery\"]}) { mailRecipients } }",
        "mutation { updateSystemSettings(input: {webhookTimeoutSeconds: 0}) { webhookTimeoutSeconds } }",
    ] {
        assert_eq!(app.admin(query, json!({})).await.code(), "BAD_USER_INPUT", "{query}");
    }
    let settings = app.admin("{ systemSettings { siteUrl mailRecipients } }", json!({})).await;
    assert_eq!(settings.data()["systemSettings"], json!({ "siteUrl": app.address, "mailRecipients": [] }));
    assert_eq!(app.admin("{ findings { totalCount } }", json!({})).await.data()["findings"]["totalCount"], 0);
}
