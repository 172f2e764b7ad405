//! The authorization matrix: superuser, owner, writer, reader, non-member and anonymous, on reads and writes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

struct Team {
    product: String,
    finding: String,
    owner: String,
    writer: String,
    reader: String,
    outsider: String,
}

async fn team(app: &TestApp) -> Team {
    let product = app.product("Royal-Bank-Integration").await;
    let finding = app.finding(json!({ "productId": product, "title": "secret finding", "severity": "CRITICAL" })).await;
    let mut tokens = Vec::new();
    for (name, role) in
        [("carrot", Some("OWNER")), ("angua", Some("WRITER")), ("otto", Some("READER")), ("nobby", None)]
    {
        let (user_id, token) = app.user(name).await;
        if let Some(role) = role {
            app.add_member(&product, &user_id, role).await;
        }
        tokens.push(token);
    }
    let [owner, writer, reader, outsider] = <[String; 4]>::try_from(tokens).unwrap_or_else(|_| panic!("four users"));
    Team { product, finding: finding["id"].as_str().expect("id").to_owned(), owner, writer, reader, outsider }
}

/// The error code, or "OK".
async fn outcome(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let response = app.gql(token, query, variables).await;
    if response.0.get("errors").is_some() { response.code() } else { "OK".to_owned() }
}

#[tokio::test]
async fn reads_are_limited_to_members_and_hidden_from_everyone_else() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let product_query = "query($id: ID!) { product(id: $id) { name } }";
    let finding_query = "query($id: ID!) { finding(id: $id) { title } }";
    let by_name = "{ product(name: \"Royal-Bank-Integration\") { id } }";
    for (token, expected) in [
        (Some(app.admin_token.as_str()), "OK"),
        (Some(t.owner.as_str()), "OK"),
        (Some(t.writer.as_str()), "OK"),
        (Some(t.reader.as_str()), "OK"),
        (Some(t.outsider.as_str()), "NOT_FOUND"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(outcome(&app, token, product_query, json!({ "id": t.product })).await, expected);
        assert_eq!(outcome(&app, token, finding_query, json!({ "id": t.finding })).await, expected);
        assert_eq!(outcome(&app, token, by_name, json!({})).await, expected);
    }
    // A non-member never sees the product's findings in any list or count.
    let lists = "{ findings { totalCount } products { totalCount } engagements { totalCount } slaSummary { count } }";
    let seen = app.gql(Some(&t.outsider), lists, json!({})).await;
    assert_eq!(seen.data()["findings"]["totalCount"], 0);
    assert_eq!(seen.data()["products"]["totalCount"], 0);
    assert!(seen.data()["slaSummary"].as_array().expect("rows").iter().all(|r| r["count"] == 0));
    let counted = app
        .gql(
            Some(&t.outsider),
            "{ findings(filter: {productName: \"Royal-Bank-Integration\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(counted.data()["findings"]["totalCount"], 0);
    let summary = outcome(
        &app,
        Some(&t.outsider),
        "query($p: ID!) { slaSummary(productId: $p) { count } }",
        json!({ "p": t.product }),
    )
    .await;
    assert_eq!(summary, "NOT_FOUND");
    let as_reader = app.gql(Some(&t.reader), "{ findings { totalCount } }", json!({})).await;
    assert_eq!(as_reader.data()["findings"]["totalCount"], 1);
}

#[tokio::test]
async fn finding_writes_need_the_writer_role_and_risk_and_deletion_the_owner() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let update = "mutation($id: ID!) { updateFinding(id: $id, input: {title: \"renamed\"}) { title } }";
    let create = "mutation($p: ID!) { createFinding(input: {productId: $p, title: \"new\", severity: LOW}) { id } }";
    let accept = "mutation($id: ID!) { acceptRisk(id: $id) { riskAccepted } }";
    let note = "mutation($id: ID!) { addFindingNote(findingId: $id, text: \"Waiting on SEC-101\") { text } }";
    for (token, update_expected, create_expected) in
        [(t.reader.as_str(), "FORBIDDEN", "FORBIDDEN"), (t.outsider.as_str(), "NOT_FOUND", "NOT_FOUND")]
    {
        assert_eq!(outcome(&app, Some(token), update, json!({ "id": t.finding })).await, update_expected);
        assert_eq!(outcome(&app, Some(token), create, json!({ "p": t.product })).await, create_expected);
        assert_eq!(outcome(&app, Some(token), note, json!({ "id": t.finding })).await, update_expected);
    }
    assert_eq!(app.get_finding(&t.finding).await["title"], "secret finding", "refused writes change nothing");
    assert_eq!(outcome(&app, Some(&t.writer), update, json!({ "id": t.finding })).await, "OK");
    assert_eq!(outcome(&app, Some(&t.writer), create, json!({ "p": t.product })).await, "OK");
    assert_eq!(outcome(&app, Some(&t.writer), note, json!({ "id": t.finding })).await, "OK");
    assert_eq!(outcome(&app, Some(&t.writer), accept, json!({ "id": t.finding })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.owner), accept, json!({ "id": t.finding })).await, "OK");
    let delete = "mutation($id: ID!) { deleteFinding(id: $id) { id } }";
    assert_eq!(outcome(&app, Some(&t.writer), delete, json!({ "id": t.finding })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.owner), delete, json!({ "id": t.finding })).await, "OK");
}

#[tokio::test]
async fn product_settings_and_members_are_the_owners_and_global_settings_the_superusers() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let update_product =
        "mutation($id: ID!) { updateProduct(id: $id, input: {description: \"contract\"}) { description } }";
    assert_eq!(outcome(&app, Some(&t.writer), update_product, json!({ "id": t.product })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.outsider), update_product, json!({ "id": t.product })).await, "NOT_FOUND");
    assert_eq!(outcome(&app, Some(&t.owner), update_product, json!({ "id": t.product })).await, "OK");
    let (liaison, _) = app.user("liaison").await;
    let add = "mutation($p: ID!, $u: ID!) { addProductMember(productId: $p, userId: $u, role: READER) { role } }";
    assert_eq!(outcome(&app, Some(&t.writer), add, json!({ "p": t.product, "u": liaison })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.owner), add, json!({ "p": t.product, "u": liaison })).await, "OK");
    let type_id = app.product_type("Other").await;
    for (query, variables) in [
        (
            "mutation($t: ID!) { createProduct(input: {name: \"X\", productTypeId: $t}) { id } }",
            json!({ "t": type_id }),
        ),
        ("mutation { createProductType(input: {name: \"Y\"}) { id } }", json!({})),
        ("mutation { createSlaConfiguration(input: {name: \"Z\"}) { id } }", json!({})),
        ("{ systemSettings { teamName } }", json!({})),
        ("mutation { updateSystemSettings(input: {teamName: \"Owned\"}) { teamName } }", json!({})),
        ("{ users { totalCount } }", json!({})),
        ("mutation { createUser(input: {username: \"u\", email: \"u@x.am\"}) { id } }", json!({})),
    ] {
        assert_eq!(outcome(&app, Some(&t.owner), query, variables.clone()).await, "FORBIDDEN", "{query}");
        assert_eq!(outcome(&app, None, query, variables).await, "UNAUTHENTICATED", "{query}");
    }
}

#[tokio::test]
async fn engagements_follow_the_product_roles() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let create = "mutation($p: ID!) { createEngagement(input: {productId: $p, name: \"Q4 pentest\", targetStart: \"2026-03-10\", targetEnd: \"2026-03-20\"}) { id } }";
    assert_eq!(outcome(&app, Some(&t.reader), create, json!({ "p": t.product })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.outsider), create, json!({ "p": t.product })).await, "NOT_FOUND");
    let created = app.gql(Some(&t.writer), create, json!({ "p": t.product })).await;
    let id = created.data()["createEngagement"]["id"].as_str().expect("id").to_owned();
    let read = "query($id: ID!) { engagement(id: $id) { name } }";
    assert_eq!(outcome(&app, Some(&t.reader), read, json!({ "id": id })).await, "OK");
    assert_eq!(outcome(&app, Some(&t.outsider), read, json!({ "id": id })).await, "NOT_FOUND");
    let delete = "mutation($id: ID!) { deleteEngagement(id: $id) { id } }";
    assert_eq!(outcome(&app, Some(&t.writer), delete, json!({ "id": id })).await, "FORBIDDEN");
    assert_eq!(outcome(&app, Some(&t.owner), delete, json!({ "id": id })).await, "OK");
}

#[tokio::test]
async fn users_can_edit_themselves_but_not_their_privileges() {
    let app = spawn_app().await;
    let (id, token) = app.user("dorfl").await;
    let rename =
        "mutation($id: ID!) { updateUser(id: $id, input: {displayName: \"Dorfl the Golem\"}) { displayName } }";
    assert_eq!(outcome(&app, Some(&token), rename, json!({ "id": id })).await, "OK");
    let promote = "mutation($id: ID!) { updateUser(id: $id, input: {isSuperuser: true}) { isSuperuser } }";
    assert_eq!(outcome(&app, Some(&token), promote, json!({ "id": id })).await, "FORBIDDEN");
    let other = "mutation { updateUser(id: \"1\", input: {displayName: \"hacked\"}) { id } }";
    assert_eq!(outcome(&app, Some(&token), other, json!({})).await, "NOT_FOUND");
}

/// A batch's products and engagements are looked up together: one product the writer may not write to, or
/// may not see, or an engagement of another product refuses the whole batch, and nothing of it is stored.
#[tokio::test]
async fn a_batch_is_refused_whole_when_any_of_its_products_is_not_the_writers() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let (read_only, hidden) = (app.product("Read-Only-Here").await, app.product("Hidden-From-Angua").await);
    let angua = app.gql(Some(&t.writer), "{ me { id } }", json!({})).await.data()["me"]["id"].clone();
    app.add_member(&read_only, angua.as_str().expect("the writer's id"), "READER").await;
    let hidden_engagement = app
        .admin(
            "mutation($p: ID!) { createEngagement(input: {productId: $p, name: \"theirs\"}) { id } }",
            json!({ "p": hidden }),
        )
        .await
        .data()["createEngagement"]["id"]
        .clone();
    let create = "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }";
    let ours = json!({ "productId": t.product, "title": "ours", "severity": "LOW" });
    for (second, expected) in [
        (json!({ "productId": read_only, "title": "read only", "severity": "LOW" }), "FORBIDDEN"),
        (json!({ "productId": hidden, "title": "hidden", "severity": "LOW" }), "NOT_FOUND"),
        (json!({ "productId": "999999", "title": "no such product", "severity": "LOW" }), "NOT_FOUND"),
        (
            json!({ "productId": t.product, "engagementId": hidden_engagement, "title": "x", "severity": "LOW" }),
            "NOT_FOUND",
        ),
    ] {
        assert_eq!(outcome(&app, Some(&t.writer), create, json!({ "i": [ours.clone(), second] })).await, expected);
    }
    let count = "{ findings { totalCount } }";
    assert_eq!(app.admin(count, json!({})).await.data()["findings"]["totalCount"], 1, "nothing of a refused batch");
    let both = json!({ "i": [ours.clone(), ours] });
    let created = app.gql(Some(&t.writer), create, both).await;
    assert_eq!(created.data()["createFindings"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.admin(count, json!({})).await.data()["findings"]["totalCount"], 3);
}

/// A member's products are kept between requests while findings are written, and a membership added or
/// removed shows in the member's next read at once (finding lists, counts and summaries).
#[tokio::test]
async fn a_membership_added_or_removed_shows_in_the_next_read() {
    let app = spawn_app().await;
    let (first, second) = (app.product("First").await, app.product("Second").await);
    for product in [&first, &second] {
        app.finding(json!({ "productId": product, "title": "open", "severity": "HIGH" })).await;
    }
    let (user_id, token) = app.user("otto").await;
    let read = || async {
        let read = app
            .gql(Some(&token), "{ findings { totalCount nodes { product { name } } } slaSummary { count } }", json!({}))
            .await;
        let names: Vec<String> = read.data()["findings"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["product"]["name"].as_str().expect("name").to_owned())
            .collect();
        let summed: u64 =
            read.data()["slaSummary"].as_array().expect("rows").iter().filter_map(|r| r["count"].as_u64()).sum();
        (read.data()["findings"]["totalCount"].as_u64().expect("count"), names, summed)
    };
    assert_eq!(read().await, (0, vec![], 0), "no membership yet");
    let membership = app.add_member(&first, &user_id, "READER").await;
    assert_eq!(read().await, (1, vec!["First".to_owned()], 1));
    app.finding(json!({ "productId": second, "title": "another", "severity": "LOW" })).await;
    app.add_member(&second, &user_id, "READER").await;
    assert_eq!(read().await.0, 3, "both products, a finding's change in between");
    app.admin("mutation($id: ID!) { removeProductMember(id: $id) { id } }", json!({ "id": membership })).await.data();
    assert_eq!(read().await, (2, vec!["Second".to_owned(), "Second".to_owned()], 2), "the first is gone at once");
}
