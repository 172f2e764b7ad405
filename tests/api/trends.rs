//! `slaTrend`: breached, opened and remediated findings per day or week and severity, for a known history;
//! who sees which products; bad periods.

use serde_json::{Value, json};

use crate::helpers::{TestApp, at, spawn_app};

const TREND: &str = "query($p: ID, $from: Date!, $to: Date!, $i: TrendInterval!) {
    slaTrend(productId: $p, from: $from, to: $to, interval: $i) {
        start end bySeverity { severity breached opened remediated } } }";

async fn create(app: &TestApp, product: &str, severity: &str, start: &str, mitigated: Option<&str>) {
    let mut input = json!({ "productId": product, "title": format!("{severity} of {start}"), "severity": severity, "slaStart": start });
    if let Some(at) = mitigated {
        input["isMitigated"] = json!(true);
        input["mitigatedAt"] = json!(at);
    }
    app.admin("mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }", json!({ "i": input }))
        .await
        .data();
}

/// One severity's series of one figure.
fn series(trend: &Value, severity: &str, figure: &str) -> Vec<u64> {
    trend
        .as_array()
        .expect("points")
        .iter()
        .map(|point| {
            let counts = point["bySeverity"].as_array().expect("severities");
            let row = counts.iter().find(|c| c["severity"] == severity).expect("severity");
            row[figure].as_u64().expect("count")
        })
        .collect()
}

/// In Golem Portal: a Critical (1 day) reported on 2 March at noon, breached from 3 March at noon, fixed on
/// 5 March; a High (7 days) reported on 1 March, fixed on time on 4 March; a Medium (30 days) open since
/// January, breached since February. In Bank: a Critical breached on 2 March, still open.
async fn history(app: &TestApp) -> (String, String) {
    let portal = app.product("Golem Portal").await;
    let bank = app.product("Royal-Bank-Integration").await;
    create(app, &portal, "CRITICAL", "2026-03-02T12:00:00Z", Some("2026-03-05T10:00:00Z")).await;
    create(app, &portal, "HIGH", "2026-03-01T08:00:00Z", Some("2026-03-04T08:00:00Z")).await;
    create(app, &portal, "MEDIUM", "2026-01-05T00:00:00Z", None).await;
    create(app, &bank, "CRITICAL", "2026-03-01T12:00:00Z", None).await;
    (portal, bank)
}

#[tokio::test]
async fn a_finding_breached_on_day_3_and_fixed_on_day_5_counts_on_days_3_and_4_only() {
    let app = spawn_app().await;
    app.clock.set(at("2026-03-10T12:00:00Z"));
    let (portal, _bank) = history(&app).await;

    let read = app.admin(TREND, json!({ "p": portal, "from": "2026-03-01", "to": "2026-03-07", "i": "DAY" })).await;
    let trend = &read.data()["slaTrend"];
    assert_eq!(trend.as_array().map(Vec::len), Some(7));
    assert_eq!(trend[0]["start"], "2026-03-01T00:00:00+00:00");
    assert_eq!(trend[6]["end"], "2026-03-08T00:00:00+00:00");
    assert_eq!(series(trend, "CRITICAL", "breached"), [0, 0, 1, 1, 0, 0, 0]);
    assert_eq!(series(trend, "CRITICAL", "opened"), [0, 1, 0, 0, 0, 0, 0]);
    assert_eq!(series(trend, "CRITICAL", "remediated"), [0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(series(trend, "HIGH", "breached"), [0; 7], "fixed within its 7 days");
    assert_eq!(series(trend, "HIGH", "remediated"), [0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(series(trend, "MEDIUM", "breached"), [1; 7], "open past its deadline all along");
    assert_eq!(series(trend, "MEDIUM", "opened"), [0; 7], "reported before the period");
    assert_eq!(series(trend, "LOW", "breached"), [0; 7]);

    // Weeks from 1 March: the Critical is breached at the end of neither (8 and 15 March).
    let weeks = app.admin(TREND, json!({ "p": portal, "from": "2026-03-01", "to": "2026-03-10", "i": "WEEK" })).await;
    let weeks = &weeks.data()["slaTrend"];
    assert_eq!(weeks[1]["end"], "2026-03-11T00:00:00+00:00", "the last week ends with the period");
    assert_eq!(series(weeks, "CRITICAL", "breached"), [0, 0]);
    assert_eq!(series(weeks, "CRITICAL", "opened"), [1, 0]);
    assert_eq!(series(weeks, "MEDIUM", "breached"), [1, 1]);
}

#[tokio::test]
async fn today_counts_what_is_breached_now_and_every_product_is_the_sum_of_the_visible_ones() {
    let app = spawn_app().await;
    app.clock.set(at("2026-03-10T12:00:00Z"));
    let (portal, bank) = history(&app).await;
    let all = app.admin(TREND, json!({ "from": "2026-03-09", "to": "2026-03-10", "i": "DAY" })).await;
    let all = &all.data()["slaTrend"];
    assert_eq!(series(all, "CRITICAL", "breached"), [1, 1], "the Bank's open Critical");
    assert_eq!(series(all, "MEDIUM", "breached"), [1, 1]);

    // A member of the Portal only: its figures for it, the Portal's alone for every product, and the Bank is
    // NOT_FOUND, as if it did not exist.
    let (member, token) = app.user("cheery").await;
    app.add_member(&portal, &member, "READER").await;
    let own = app
        .gql(Some(&token), TREND, json!({ "p": portal, "from": "2026-03-01", "to": "2026-03-07", "i": "DAY" }))
        .await;
    assert_eq!(series(&own.data()["slaTrend"], "CRITICAL", "breached"), [0, 0, 1, 1, 0, 0, 0]);
    let visible = app.gql(Some(&token), TREND, json!({ "from": "2026-03-09", "to": "2026-03-10", "i": "DAY" })).await;
    assert_eq!(series(&visible.data()["slaTrend"], "CRITICAL", "breached"), [0, 0], "not the Bank's");
    let hidden =
        app.gql(Some(&token), TREND, json!({ "p": bank, "from": "2026-03-01", "to": "2026-03-07", "i": "DAY" })).await;
    assert_eq!(hidden.code(), "NOT_FOUND");

    // A user who belongs to nothing sees zeros for every product and NOT_FOUND for either.
    let (_outsider, stranger) = app.user("rincewind").await;
    let nothing =
        app.gql(Some(&stranger), TREND, json!({ "from": "2026-03-09", "to": "2026-03-10", "i": "DAY" })).await;
    assert_eq!(series(&nothing.data()["slaTrend"], "MEDIUM", "breached"), [0, 0]);
    let portal_hidden = app
        .gql(Some(&stranger), TREND, json!({ "p": portal, "from": "2026-03-01", "to": "2026-03-07", "i": "DAY" }))
        .await;
    assert_eq!(portal_hidden.code(), "NOT_FOUND");
    let anonymous = app.gql(None, TREND, json!({ "from": "2026-03-01", "to": "2026-03-07", "i": "DAY" })).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_periods_are_refused_with_the_reason() {
    let app = spawn_app().await;
    app.clock.set(at("2026-03-10T12:00:00Z"));
    for (from, to, interval, reason) in [
        ("2026-03-07", "2026-03-01", "DAY", "inverted"),
        ("2026-03-01", "2026-03-11", "DAY", "after today"),
        ("2024-01-01", "2026-03-01", "DAY", "at most 366"),
        ("2019-01-01", "2026-03-01", "WEEK", "at most 366"),
    ] {
        let refused = app.admin(TREND, json!({ "from": from, "to": to, "i": interval })).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{from}..{to} {interval}");
        assert!(refused.message().contains(reason), "{from}..{to}: {}", refused.message());
    }
    let not_a_date = app.admin(TREND, json!({ "from": "2026-02-30", "to": "2026-03-01", "i": "DAY" })).await;
    assert!(not_a_date.message().contains("2026-02-30"), "{}", not_a_date.message());
    let not_an_id =
        app.admin(TREND, json!({ "p": "portal", "from": "2026-03-01", "to": "2026-03-01", "i": "DAY" })).await;
    assert_eq!(not_an_id.code(), "BAD_USER_INPUT");
    let no_such = app.admin(TREND, json!({ "p": "999", "from": "2026-03-01", "to": "2026-03-01", "i": "DAY" })).await;
    assert_eq!(no_such.code(), "NOT_FOUND");
}
