//! Every query and mutation, end to end: product types, products, members, engagements, findings, notes,
//! SLA configurations, users and system settings.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn product_types_are_created_renamed_listed_and_deleted_when_empty() {
    let app = spawn_app().await;
    let id = app.product_type("Golem Trust").await;
    let renamed = app.admin("mutation($id: ID!) { updateProductType(id: $id, input: {name: \"Golem Trust Internal\", description: \"ours\"}) { name description } }", json!({ "id": id })).await;
    assert_eq!(renamed.data()["updateProductType"], json!({ "name": "Golem Trust Internal", "description": "ours" }));
    app.admin(
        "mutation($t: ID!) { createProduct(input: {name: \"Portal\", productTypeId: $t}) { id } }",
        json!({ "t": id }),
    )
    .await
    .data();
    let busy = app.admin("mutation($id: ID!) { deleteProductType(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(busy.code(), "CONFLICT");
    let empty = app.product_type("Empty").await;
    app.admin("mutation($id: ID!) { deleteProductType(id: $id) { id } }", json!({ "id": empty })).await.data();
    let listed = app.admin("{ productTypes { name } }", json!({})).await;
    assert_eq!(listed.data()["productTypes"], json!([{ "name": "Golem Trust Internal" }]));
}

#[tokio::test]
async fn products_are_created_on_the_default_configuration_updated_and_deleted_with_their_findings() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let read = app.admin("query($id: ID!) { product(id: $id) { name productType { name } slaConfiguration { name } disableSlaBreachNotifications createdAt } }", json!({ "id": product })).await;
    assert_eq!(
        read.data()["product"],
        json!({ "name": "Portal", "productType": { "name": "Portal type" }, "slaConfiguration": { "name": "Default" }, "disableSlaBreachNotifications": false, "createdAt": "2026-03-02T09:30:00+00:00" })
    );
    let updated = app.admin("mutation($id: ID!) { updateProduct(id: $id, input: {name: \"Golem-Trust-Portal\", disableSlaBreachNotifications: true}) { name disableSlaBreachNotifications } }", json!({ "id": product })).await;
    assert_eq!(
        updated.data()["updateProduct"],
        json!({ "name": "Golem-Trust-Portal", "disableSlaBreachNotifications": true })
    );
    app.finding(json!({ "productId": product, "title": "t", "severity": "LOW" })).await;
    let listed = app.admin("{ products { totalCount edges { node { name } } } }", json!({})).await;
    assert_eq!(listed.data()["products"]["totalCount"], 1);
    app.admin("mutation($id: ID!) { deleteProduct(id: $id) { name } }", json!({ "id": product })).await.data();
    let after = app.admin("{ products { totalCount } findings { totalCount } }", json!({})).await;
    assert_eq!(after.data(), &json!({ "products": { "totalCount": 0 }, "findings": { "totalCount": 0 } }));
}

#[tokio::test]
async fn members_are_added_changed_listed_and_removed() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let (user_id, token) = app.user("otto").await;
    let membership = app.add_member(&product, &user_id, "READER").await;
    let duplicate = app
        .admin(
            "mutation($p: ID!, $u: ID!) { addProductMember(productId: $p, userId: $u, role: OWNER) { id } }",
            json!({ "p": product, "u": user_id }),
        )
        .await;
    assert_eq!(duplicate.code(), "CONFLICT");
    let changed = app
        .admin(
            "mutation($id: ID!) { updateProductMember(id: $id, role: WRITER) { role user { username } } }",
            json!({ "id": membership }),
        )
        .await;
    assert_eq!(changed.data()["updateProductMember"], json!({ "role": "WRITER", "user": { "username": "otto" } }));
    let listed = app
        .gql(
            Some(&token),
            "query($id: ID!) { product(id: $id) { members { role user { username } } } }",
            json!({ "id": product }),
        )
        .await;
    assert_eq!(listed.data()["product"]["members"], json!([{ "role": "WRITER", "user": { "username": "otto" } }]));
    app.admin("mutation($id: ID!) { removeProductMember(id: $id) { id } }", json!({ "id": membership })).await.data();
    let gone = app.gql(Some(&token), "query($id: ID!) { product(id: $id) { name } }", json!({ "id": product })).await;
    assert_eq!(gone.code(), "NOT_FOUND");
}

#[tokio::test]
async fn engagements_are_created_updated_listed_and_deleted() {
    let app = spawn_app().await;
    let product = app.product("Royal-Bank-Integration").await;
    let (carrot, _) = app.user("carrot").await;
    app.add_member(&product, &carrot, "WRITER").await;
    let created = app
        .admin(
            "mutation($p: ID!, $l: ID!) { createEngagement(input: {productId: $p, name: \"Q4 pentest\", targetStart: \"2026-03-05\", targetEnd: \"2026-03-12\", leadId: $l}) { id name status targetStart targetEnd lead { username } product { name } } }",
            json!({ "p": product, "l": carrot }),
        )
        .await;
    let engagement = &created.data()["createEngagement"];
    assert_eq!(engagement["status"], "NOT_STARTED");
    assert_eq!(engagement["lead"]["username"], "carrot");
    assert_eq!(engagement["product"]["name"], "Royal-Bank-Integration");
    let id = engagement["id"].as_str().expect("id").to_owned();
    let inverted = app
        .admin(
            "mutation($id: ID!) { updateEngagement(id: $id, input: {targetEnd: \"2026-03-01\"}) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(inverted.code(), "BAD_USER_INPUT");
    let updated = app.admin("mutation($id: ID!) { updateEngagement(id: $id, input: {status: IN_PROGRESS, name: \"Q4 penetration test\"}) { name status } }", json!({ "id": id })).await;
    assert_eq!(updated.data()["updateEngagement"], json!({ "name": "Q4 penetration test", "status": "IN_PROGRESS" }));
    let finding =
        app.finding(json!({ "productId": product, "engagementId": id, "title": "t", "severity": "LOW" })).await;
    let linked =
        app.admin("query($id: ID!) { finding(id: $id) { engagement { name } } }", json!({ "id": finding["id"] })).await;
    assert_eq!(linked.data()["finding"]["engagement"]["name"], "Q4 penetration test");
    let listed =
        app.admin("query($p: ID!) { engagements(productId: $p) { totalCount } }", json!({ "p": product })).await;
    assert_eq!(listed.data()["engagements"]["totalCount"], 1);
    app.admin("mutation($id: ID!) { deleteEngagement(id: $id) { id } }", json!({ "id": id })).await.data();
    let unlinked =
        app.admin("query($id: ID!) { finding(id: $id) { engagement { name } } }", json!({ "id": finding["id"] })).await;
    assert_eq!(unlinked.data()["finding"]["engagement"], serde_json::Value::Null);
}

#[tokio::test]
async fn findings_are_updated_annotated_and_triaged() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "XSS", "severity": "HIGH" })).await;
    let id = finding["id"].as_str().expect("id").to_owned();
    let updated = app
        .admin(
            "mutation($id: ID!) { updateFinding(id: $id, input: {title: \"Stored XSS\", verified: true, externalReference: \"SEC-7\", description: \"in profile\"}) { title verified description } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        updated.data()["updateFinding"],
        json!({ "title": "Stored XSS", "verified": true, "description": "in profile" })
    );
    let note = app.admin("mutation($id: ID!) { addFindingNote(findingId: $id, text: \"Delayed: vendor patch due Friday\") { text } }", json!({ "id": id })).await;
    assert_eq!(note.data()["addFindingNote"]["text"], "Delayed: vendor patch due Friday");
    let read = app
        .admin(
            "query($id: ID!) { finding(id: $id) { notes { text authorId createdAt } externalReference } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read.data()["finding"]["notes"][0]["text"], "Delayed: vendor patch due Friday");
    assert_eq!(read.data()["finding"]["externalReference"], "SEC-7");
    let triaged = app.admin("mutation($id: ID!) { updateFinding(id: $id, input: {falsePositive: true}) { falsePositive isOpen slaState } }", json!({ "id": id })).await;
    assert_eq!(triaged.data()["updateFinding"], json!({ "falsePositive": true, "isOpen": false, "slaState": "NONE" }));
    let reopened = app
        .admin(
            "mutation($id: ID!) { updateFinding(id: $id, input: {falsePositive: false}) { isOpen slaState } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(reopened.data()["updateFinding"], json!({ "isOpen": true, "slaState": "ON_TRACK" }));
}

#[tokio::test]
async fn sla_configurations_are_created_read_and_updated() {
    let app = spawn_app().await;
    let created = app
        .admin(
            "mutation { createSlaConfiguration(input: {name: \"Royal Bank\", description: \"contract\", high: 5, thresholds: [10, 50, 25], escalationHours: 4, enforceLow: false, restartSlaOnReactivation: true}) {
                id name description critical high medium low enforceCritical enforceLow thresholds escalationHours restartSlaOnReactivation isDefault } }",
            json!({}),
        )
        .await;
    let config = &created.data()["createSlaConfiguration"];
    assert_eq!(config["thresholds"], json!([50, 25, 10]));
    assert_eq!(
        (config["critical"].clone(), config["high"].clone(), config["low"].clone()),
        (json!(1), json!(5), json!(90))
    );
    assert_eq!((config["enforceLow"].clone(), config["isDefault"].clone()), (json!(false), json!(false)));
    let id = config["id"].as_str().expect("id").to_owned();
    let read = app
        .admin(
            "query($id: ID!) { slaConfiguration(id: $id) { name escalationHours restartSlaOnReactivation } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read.data()["slaConfiguration"],
        json!({ "name": "Royal Bank", "escalationHours": 4, "restartSlaOnReactivation": true })
    );
    let renamed = app
        .admin(
            "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {name: \"Royal Bank 2027\"}) { name high } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(renamed.data()["updateSlaConfiguration"], json!({ "name": "Royal Bank 2027", "high": 5 }));
}

#[tokio::test]
async fn users_are_created_listed_and_updated() {
    let app = spawn_app().await;
    let created = app
        .admin("mutation { createUser(input: {username: \"cheery\", email: \"cheery@golemtrust.am\", displayName: \"Cheery\", isSuperuser: true, password: \"a-long-password\"}) { id username email displayName isSuperuser isActive slackEmail } }", json!({}))
        .await;
    let user = &created.data()["createUser"];
    assert_eq!(user["slackEmail"], "cheery@golemtrust.am", "defaults to the email");
    assert_eq!(user["isSuperuser"], true);
    let id = user["id"].as_str().expect("id").to_owned();
    let updated = app.admin("mutation($id: ID!) { updateUser(id: $id, input: {slackEmail: \"cheery@slack.golemtrust.am\", email: \"c@golemtrust.am\"}) { email slackEmail } }", json!({ "id": id })).await;
    assert_eq!(
        updated.data()["updateUser"],
        json!({ "email": "c@golemtrust.am", "slackEmail": "cheery@slack.golemtrust.am" })
    );
    let listed = app.admin("{ users(first: 10) { totalCount edges { node { username } } } }", json!({})).await;
    assert_eq!(listed.data()["users"]["totalCount"], 2);
    let cheery = app.login("cheery", "a-long-password").await;
    let me = app.gql(Some(&cheery), "{ me { username isSuperuser } }", json!({})).await;
    assert_eq!(me.data()["me"], json!({ "username": "cheery", "isSuperuser": true }));
    let demote_self = app
        .gql(
            Some(&cheery),
            "mutation($id: ID!) { updateUser(id: $id, input: {isSuperuser: false}) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(demote_self.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn system_settings_are_updated_and_secrets_are_write_only() {
    let app = spawn_app().await;
    let secret = "xoxb-1234-very-secret";
    let teams = "https://prod.workflows.example.test/hook?sig=also-secret";
    let smtp = "smtp://mailer:smtp-pass-9@mail.golems.internal:587/?from=defectdojo@golemtrust.am&tls=required";
    let updated = app
        .admin(
            "mutation($s: String!, $t: String!, $m: String!) { updateSystemSettings(input: {enableMail: true, smtpUrl: $m, enableSlack: true, slackToken: $s, slackChannel: \"#security\", msteamsUrl: $t,
                mailRecipients: [\"security-team@golemtrust.am\"], emailFrom: \"defectdojo@golemtrust.am\", teamName: \"Golem Trust\", siteUrl: \"https://slawatch.golemtrust.am/\",
                systemLevelTrump: [USER_MENTIONED, REVIEW_REQUESTED, SLA_BREACH]}) {
                enableMail smtpUrl smtpConfigured enableSlack slackTokenSet slackChannel msteamsUrlSet mailRecipients emailFrom teamName siteUrl systemLevelTrump } }",
            json!({ "s": secret, "t": teams, "m": smtp }),
        )
        .await;
    let text = updated.0.to_string();
    assert!(
        !text.contains(secret) && !text.contains("also-secret") && !text.contains("smtp-pass-9"),
        "secrets never come back"
    );
    assert_eq!(
        updated.data()["updateSystemSettings"],
        json!({ "enableMail": true, "smtpUrl": "smtp://mailer:***@mail.golems.internal:587/?from=defectdojo@golemtrust.am&tls=required", "smtpConfigured": true, "enableSlack": true, "slackTokenSet": true, "slackChannel": "#security", "msteamsUrlSet": true,
                "mailRecipients": ["security-team@golemtrust.am"], "emailFrom": "defectdojo@golemtrust.am", "teamName": "Golem Trust",
                "siteUrl": "https://slawatch.golemtrust.am", "systemLevelTrump": ["USER_MENTIONED", "REVIEW_REQUESTED", "SLA_BREACH"] })
    );
    // Slack is on: its token goes only with it, and mail keeps a server while it is on.
    let clear_token = "mutation { updateSystemSettings(input: {slackToken: \"\"}) { slackTokenSet msteamsUrlSet } }";
    assert_eq!(app.admin(clear_token, json!({})).await.code(), "BAD_USER_INPUT");
    let no_server = app.admin("mutation { updateSystemSettings(input: {smtpUrl: \"\"}) { smtpUrl } }", json!({})).await;
    assert_eq!(no_server.code(), "BAD_USER_INPUT");
    assert!(no_server.message().contains("smtpUrl"), "{}", no_server.message());
    let cleared = app
        .admin(
            "mutation { updateSystemSettings(input: {enableSlack: false, slackToken: \"\"}) { slackTokenSet msteamsUrlSet } }",
            json!({}),
        )
        .await;
    assert_eq!(cleared.data()["updateSystemSettings"], json!({ "slackTokenSet": false, "msteamsUrlSet": true }));
}

/// A finding's product is read from the kept products (`service::products::kept`): an edit shows at once, and
/// a product made after they were kept is found too.
#[tokio::test]
async fn a_findings_product_shows_its_edits_at_once_and_a_new_product_is_found() {
    let app = spawn_app().await;
    let portal = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": portal, "title": "Stored XSS", "severity": "HIGH" })).await;
    let query = "query($id: ID!) { finding(id: $id) { product { name description } } }";
    let app = &app;
    let read =
        |id: Value| async move { app.admin(query, json!({ "id": id })).await.data()["finding"]["product"].clone() };
    assert_eq!(read(finding["id"].clone()).await, json!({ "name": "Portal", "description": "" }));
    app.admin(
        "mutation($id: ID!) { updateProduct(id: $id, input: {name: \"Portal 2\", description: \"renamed\"}) { id } }",
        json!({ "id": portal }),
    )
    .await
    .data();
    assert_eq!(read(finding["id"].clone()).await, json!({ "name": "Portal 2", "description": "renamed" }));
    let shop = app.product("Shop").await;
    let in_shop = app.finding(json!({ "productId": shop, "title": "SQLi", "severity": "LOW" })).await;
    assert_eq!(read(in_shop["id"].clone()).await, json!({ "name": "Shop", "description": "" }));
}
