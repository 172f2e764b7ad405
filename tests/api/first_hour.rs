//! What a newcomer touches in the first hour (issue 18): `siteUrl` follows the bound address until it is
//! set, token-kind hints, cron expressions, CLI messages and commands.

use serde_json::json;
use slawatch::startup::Application;

use crate::helpers::spawn_app;

#[tokio::test]
async fn site_url_follows_the_bound_address_until_a_superuser_sets_it() {
    let app = spawn_app().await;
    let read = "{ systemSettings { siteUrl } }";
    assert_eq!(app.admin(read, json!({})).await.data()["systemSettings"]["siteUrl"], app.address);

    // Started again on another port, an unset siteUrl moves with it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let again = Application::from_state(app.state.clone(), listener).await.expect("builds");
    let moved = format!("http://{}", again.address().expect("address"));
    assert_ne!(moved, app.address);
    assert_eq!(app.admin(read, json!({})).await.data()["systemSettings"]["siteUrl"], moved);

    // Once set, it stays whatever the next start binds to.
    let set = "mutation { updateSystemSettings(input: {siteUrl: \"https://slawatch.golemtrust.am\"}) { siteUrl } }";
    app.admin(set, json!({})).await.data();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Application::from_state(app.state.clone(), listener).await.expect("builds");
    assert_eq!(app.admin(read, json!({})).await.data()["systemSettings"]["siteUrl"], "https://slawatch.golemtrust.am");
}

#[tokio::test]
async fn a_token_sent_with_the_other_scheme_gets_a_hint() {
    let app = spawn_app().await;
    let me = "{ me { username } }";
    let jwt_as_token = app.gql_with_header(Some(&format!("Token {}", app.admin_token)), me, json!({})).await;
    assert_eq!(jwt_as_token.code(), "UNAUTHENTICATED");
    assert!(jwt_as_token.message().contains("Authorization: Bearer"), "{}", jwt_as_token.message());
    let opaque_as_bearer = app.gql_with_header(Some("Bearer 0123456789abcdef0123456789abcdef"), me, json!({})).await;
    assert_eq!(opaque_as_bearer.code(), "UNAUTHENTICATED");
    assert!(opaque_as_bearer.message().contains("Authorization: Token"), "{}", opaque_as_bearer.message());
    // The same hint over REST, in DRF's `detail`.
    let rest = app
        .client
        .get(app.url("/api/v2/findings/"))
        .header("authorization", format!("Token {}", app.admin_token))
        .send()
        .await
        .expect("answer");
    assert_eq!(rest.status(), 401);
    let body: serde_json::Value = rest.json().await.expect("JSON");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("Authorization: Bearer")), "{body}");
    // Both the right way round work.
    let right = app.gql_with_header(Some(&format!("Bearer {}", app.admin_token)), me, json!({})).await;
    assert_eq!(right.data()["me"]["username"], "admin");
    let right = app.gql_with_header(Some(&format!("Token {}", app.admin_api_token)), me, json!({})).await;
    assert_eq!(right.data()["me"]["username"], "admin");
}

#[tokio::test]
async fn a_schedule_takes_five_cron_fields_and_shows_its_next_three_runs() {
    let app = spawn_app().await;
    let product = app.product("Royal-Bank-Integration").await;
    let create =
        "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) { cron nextRunAt nextRunTimes } }";
    let input = |cron: &str| {
        json!({ "i": { "name": "Royal Bank quarterly", "productId": product, "cron": cron,
                       "period": "PREVIOUS_QUARTER", "format": "PDF" } })
    };
    // The test clock stands at 2026-03-02T09:30:00Z.
    let created = app.admin(create, input("0 6 1 1,4,7,10 *")).await;
    assert_eq!(
        created.data()["createReportSchedule"]["nextRunTimes"],
        json!(["2026-04-01T06:00:00+00:00", "2026-07-01T06:00:00+00:00", "2026-10-01T06:00:00+00:00"])
    );
    assert_eq!(created.data()["createReportSchedule"]["nextRunAt"], "2026-04-01T06:00:00+00:00");
    for bad in ["0 6 1 1,4,7,10 * *", "0 6 1 *", "@quarterly", "0 25 * * *"] {
        let refused = app.admin(create, input(bad)).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{bad}");
        assert!(refused.message().contains("minute hour day-of-month month day-of-week"), "{}", refused.message());
    }
    let schedules = app.admin("{ reportSchedules { cron } }", json!({})).await;
    assert_eq!(schedules.data()["reportSchedules"].as_array().map(Vec::len), Some(1), "refused ones are not stored");
}

/// A six-field schedule stored before they were refused does not stop the others: it is disabled, and the
/// valid schedule due at the same time still runs.
#[tokio::test]
async fn a_stored_schedule_whose_cron_is_no_longer_accepted_is_disabled_and_the_others_run() {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_app_without_scheduler(|_| {}).await;
    let product = app.product("Royal-Bank-Integration").await;
    let create = "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) { id } }";
    for name in ["old six fields", "monthly"] {
        let input = json!({ "i": { "name": name, "productId": product, "cron": "0 6 1 * *",
                                   "period": "PREVIOUS_MONTH", "format": "CSV" } });
        app.admin(create, input).await.data();
    }
    let db = &app.state.db;
    db.execute_unprepared("UPDATE report_schedules SET cron = '0 6 1 1,4,7,10 * *' WHERE name = 'old six fields'")
        .await
        .expect("an old stored expression");
    // Both are due on 1 April; the bad one comes first.
    app.clock.set(crate::helpers::at("2026-04-01T06:00:30Z"));
    app.run_due_jobs().await;
    let reports = app.admin("{ reports { scheduleId } reportSchedules { name nextRunTimes } }", json!({})).await;
    assert_eq!(reports.data()["reports"].as_array().map(Vec::len), Some(1), "the valid schedule ran");
    let schedules = reports.data()["reportSchedules"].as_array().expect("schedules").clone();
    let old = schedules.iter().find(|s| s["name"] == "old six fields").expect("kept");
    assert_eq!(old["nextRunTimes"], json!([]));
    let enabled = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(enabled AS INTEGER) FROM report_schedules WHERE name = 'old six fields'".to_owned(),
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i32>(0)
        .expect("flag");
    assert_eq!(enabled, 0, "disabled");
}
