//! SLA arithmetic and lifecycle through the API: date and instant starts, states over time, mitigation,
//! reactivation, risk acceptance, recomputation, and filters that agree with the per-finding state.

use chrono::{NaiveDate, TimeDelta};
use serde_json::{Value, json};
use slawatch::domain::sla::{self, SlaStart};

use crate::helpers::{FINDING_FIELDS, PASSWORD, at, spawn_app};

fn id(finding: &Value) -> String {
    finding["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_date_only_finding_follows_defectdojo() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    // The clock starts on 2026-03-02; a Critical dated that day expires the next day.
    let finding =
        app.finding(json!({ "productId": product, "title": "t", "severity": "CRITICAL", "date": "2026-03-02" })).await;
    assert_eq!(finding["slaExpirationDate"], "2026-03-03");
    assert_eq!(finding["slaDeadline"], "2026-03-04T00:00:00+00:00");
    assert_eq!(finding["slaDaysRemaining"], 1);
    assert_eq!(finding["outsideSla"], false);
    app.clock.set(at("2026-03-03T23:59:59Z"));
    let on_expiry_day = app.get_finding(&id(&finding)).await;
    assert_eq!(
        (on_expiry_day["slaDaysRemaining"].clone(), on_expiry_day["outsideSla"].clone()),
        (json!(0), json!(false))
    );
    app.clock.set(at("2026-03-04T00:00:00Z"));
    let day_after = app.get_finding(&id(&finding)).await;
    assert_eq!((day_after["slaDaysRemaining"].clone(), day_after["outsideSla"].clone()), (json!(-1), json!(true)));
    assert_eq!(day_after["slaState"], "BREACHED");
}

#[tokio::test]
async fn a_finding_without_date_or_start_starts_its_clock_when_reported() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "t", "severity": "HIGH" })).await;
    assert_eq!(finding["slaStart"], "2026-03-02T09:30:00+00:00");
    assert_eq!(finding["date"], "2026-03-02");
    assert_eq!(finding["slaDeadline"], "2026-03-09T09:30:00+00:00");
}

#[tokio::test]
async fn the_state_moves_from_on_track_to_approaching_to_breached() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "t", "severity": "CRITICAL" })).await;
    let finding_id = id(&finding);
    assert_eq!(finding["slaState"], "ON_TRACK");
    assert_eq!(finding["slaRemainingSeconds"], 86_400);
    app.clock.advance(TimeDelta::hours(12));
    assert_eq!(app.get_finding(&finding_id).await["slaState"], "APPROACHING", "50 % remaining: 12 h before");
    app.clock.advance(TimeDelta::hours(12));
    let breached = app.get_finding(&finding_id).await;
    assert_eq!((breached["slaState"].clone(), breached["outsideSla"].clone()), (json!("BREACHED"), json!(true)));
}

#[tokio::test]
async fn mitigation_on_time_is_met_and_late_is_missed_with_frozen_figures() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let on_time =
        app.finding(json!({ "productId": product, "title": "a", "severity": "HIGH", "date": "2026-03-02" })).await;
    let late =
        app.finding(json!({ "productId": product, "title": "b", "severity": "HIGH", "date": "2026-03-02" })).await;
    let mitigate = "mutation($id: ID!, $at: DateTime) { mitigateFinding(id: $id, mitigatedAt: $at) { slaState slaDaysRemaining isMitigated active isOpen } }";
    let met = app.admin(mitigate, json!({ "id": id(&on_time), "at": "2026-03-07T12:00:00Z" })).await;
    assert_eq!(
        met.data()["mitigateFinding"],
        json!({ "slaState": "MET", "slaDaysRemaining": 2, "isMitigated": true, "active": false, "isOpen": false })
    );
    let missed = app.admin(mitigate, json!({ "id": id(&late), "at": "2026-03-12T08:00:00Z" })).await;
    assert_eq!(missed.data()["mitigateFinding"]["slaState"], "MISSED");
    assert_eq!(missed.data()["mitigateFinding"]["slaDaysRemaining"], -3);
    app.clock.advance(TimeDelta::days(60));
    assert_eq!(app.get_finding(&id(&late)).await["slaDaysRemaining"], -3, "frozen once mitigated");
    let again = app.admin(mitigate, json!({ "id": id(&late) })).await;
    assert_eq!(again.code(), "CONFLICT");
}

#[tokio::test]
async fn reactivation_keeps_the_old_deadline_unless_the_configuration_restarts_it() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "t", "severity": "CRITICAL" })).await;
    let finding_id = id(&finding);
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": finding_id })).await.data();
    app.clock.advance(TimeDelta::days(3));
    let reactivate =
        "mutation($id: ID!) { reactivateFinding(id: $id) { slaState slaDeadline slaCycle active isMitigated } }";
    let kept = app.admin(reactivate, json!({ "id": finding_id })).await;
    assert_eq!(
        kept.data()["reactivateFinding"],
        json!({ "slaState": "BREACHED", "slaDeadline": "2026-03-03T09:30:00+00:00", "slaCycle": 1, "active": true, "isMitigated": false })
    );

    let default_id = app.default_sla_id().await;
    app.admin(
        "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {restartSlaOnReactivation: true}) { restartSlaOnReactivation } }",
        json!({ "id": default_id }),
    )
    .await
    .data();
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": finding_id })).await.data();
    let restarted = app.admin(reactivate, json!({ "id": finding_id })).await;
    assert_eq!(
        restarted.data()["reactivateFinding"],
        json!({ "slaState": "ON_TRACK", "slaDeadline": "2026-03-06T09:30:00+00:00", "slaCycle": 2, "active": true, "isMitigated": false })
    );
    let active = app.admin(reactivate, json!({ "id": finding_id })).await;
    assert_eq!(active.code(), "CONFLICT");
}

#[tokio::test]
async fn accepting_risk_pauses_the_sla_and_revoking_resumes_it() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "t", "severity": "CRITICAL" })).await;
    app.clock.advance(TimeDelta::days(2));
    let accepted = app
        .admin(
            "mutation($id: ID!) { acceptRisk(id: $id) { riskAccepted isOpen slaState outsideSla } }",
            json!({ "id": id(&finding) }),
        )
        .await;
    assert_eq!(
        accepted.data()["acceptRisk"],
        json!({ "riskAccepted": true, "isOpen": false, "slaState": "NONE", "outsideSla": false })
    );
    let outside = app.admin("{ findings(filter: {outsideSla: true}) { totalCount } }", json!({})).await;
    assert_eq!(outside.data()["findings"]["totalCount"], 0);
    let revoked = app
        .admin(
            "mutation($id: ID!) { revokeRiskAcceptance(id: $id) { riskAccepted slaState } }",
            json!({ "id": id(&finding) }),
        )
        .await;
    assert_eq!(revoked.data()["revokeRiskAcceptance"], json!({ "riskAccepted": false, "slaState": "BREACHED" }));
}

#[tokio::test]
async fn info_and_unenforced_severities_have_no_deadline_and_changes_recompute() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let info = app.finding(json!({ "productId": product, "title": "banner", "severity": "INFO" })).await;
    assert_eq!((info["slaDeadline"].clone(), info["slaState"].clone()), (Value::Null, json!("NONE")));
    assert_eq!(info["slaDaysRemaining"], Value::Null);
    let update = "mutation($id: ID!, $i: UpdateFindingInput!) { updateFinding(id: $id, input: $i) { severity slaDeadline slaState } }";
    let raised = app.admin(update, json!({ "id": id(&info), "i": { "severity": "CRITICAL" } })).await;
    assert_eq!(raised.data()["updateFinding"]["slaDeadline"], "2026-03-03T09:30:00+00:00");
    let moved = app.admin(update, json!({ "id": id(&info), "i": { "slaStart": "2026-03-02T12:00:00Z" } })).await;
    assert_eq!(moved.data()["updateFinding"]["slaDeadline"], "2026-03-03T12:00:00+00:00");
    let dated = app.admin(update, json!({ "id": id(&info), "i": { "date": "2026-03-01" } })).await;
    assert_eq!(dated.data()["updateFinding"]["slaDeadline"], "2026-03-03T00:00:00+00:00");

    let default_id = app.default_sla_id().await;
    let unenforced = app
        .admin(
            "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {enforceCritical: false}) { enforceCritical } }",
            json!({ "id": default_id }),
        )
        .await;
    assert_eq!(unenforced.data()["updateSlaConfiguration"]["enforceCritical"], false);
    let none = app.get_finding(&id(&info)).await;
    assert_eq!((none["slaDeadline"].clone(), none["slaState"].clone()), (Value::Null, json!("NONE")));
}

#[tokio::test]
async fn recomputation_agrees_with_the_domain_formula() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let mut inputs = Vec::new();
    for (i, severity) in ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"].iter().enumerate() {
        inputs.push(json!({ "productId": product, "title": format!("instant {i}"), "severity": severity, "slaStart": format!("2026-02-1{i}T0{i}:17:43Z") }));
        inputs.push(json!({ "productId": product, "title": format!("date {i}"), "severity": severity, "date": format!("2026-02-2{i}") }));
        inputs.push(json!({ "productId": product, "title": format!("closed {i}"), "severity": severity, "date": "2026-01-05", "mitigatedAt": "2026-02-01T00:00:00Z" }));
    }
    let created = app
        .admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await;
    assert_eq!(created.data()["createFindings"].as_array().map(Vec::len), Some(15));

    let default_id = app.default_sla_id().await;
    let changed = app
        .admin(
            "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {critical: 2, high: 11, medium: 45, low: 120, thresholds: [75, 25], enforceLow: false}) { thresholds } }",
            json!({ "id": default_id }),
        )
        .await;
    assert_eq!(changed.data()["updateSlaConfiguration"]["thresholds"], json!([75, 25]));

    let listed = app
        .admin("{ findings(first: 100) { edges { node { severity slaStart slaStartsOnDate date slaDeadline slaExpirationDate slaApproachingAt } } } }", json!({}))
        .await;
    let days = |severity: &str| match severity {
        "CRITICAL" => Some(2),
        "HIGH" => Some(11),
        "MEDIUM" => Some(45),
        _ => None,
    };
    for edge in listed.data()["findings"]["edges"].as_array().expect("edges") {
        let node = &edge["node"];
        let start = if node["slaStartsOnDate"] == json!(true) {
            SlaStart::Date(NaiveDate::parse_from_str(node["date"].as_str().expect("date"), "%Y-%m-%d").expect("date"))
        } else {
            SlaStart::Instant(at(node["slaStart"].as_str().expect("start")))
        };
        let expected = sla::schedule(start, days(node["severity"].as_str().expect("severity")), Some(75));
        let deadline = expected.map(|s| s.deadline.to_rfc3339());
        let expiration = expected.map(|s| s.expiration_date.format("%Y-%m-%d").to_string());
        let approaching = expected.and_then(|s| s.approaching_at).map(|a| a.to_rfc3339());
        assert_eq!(node["slaDeadline"].as_str().map(str::to_owned), deadline, "{node}");
        assert_eq!(node["slaExpirationDate"].as_str().map(str::to_owned), expiration, "{node}");
        assert_eq!(node["slaApproachingAt"].as_str().map(str::to_owned), approaching, "{node}");
    }
}

#[tokio::test]
async fn state_filters_and_the_summary_agree_with_each_findings_state() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let inputs = json!([
        { "productId": product, "title": "on track", "severity": "LOW" },
        { "productId": product, "title": "approaching", "severity": "CRITICAL", "slaStart": "2026-03-01T20:00:00Z" },
        { "productId": product, "title": "breached", "severity": "HIGH", "date": "2026-02-01" },
        { "productId": product, "title": "met", "severity": "HIGH", "date": "2026-02-01", "mitigatedAt": "2026-02-03T00:00:00Z" },
        { "productId": product, "title": "missed", "severity": "CRITICAL", "date": "2026-02-01", "mitigatedAt": "2026-02-10T00:00:00Z" },
        { "productId": product, "title": "info", "severity": "INFO" },
        { "productId": product, "title": "false positive", "severity": "HIGH", "date": "2026-02-01", "falsePositive": true },
    ]);
    app.admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await
        .data();
    let all = app.admin("{ findings { edges { node { title slaState } } } }", json!({})).await;
    let states: Vec<(String, String)> = all.data()["findings"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["title"].as_str().unwrap_or("").to_owned(),
                e["node"]["slaState"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("on track", "ON_TRACK"),
        ("approaching", "APPROACHING"),
        ("breached", "BREACHED"),
        ("met", "MET"),
        ("missed", "MISSED"),
        ("info", "NONE"),
        ("false positive", "NONE"),
    ];
    assert_eq!(states, expected.iter().map(|(t, s)| ((*t).to_owned(), (*s).to_owned())).collect::<Vec<_>>());
    let summary = app.admin("{ slaSummary { severity state count } }", json!({})).await;
    for state in ["NONE", "ON_TRACK", "APPROACHING", "BREACHED", "MET", "MISSED"] {
        let filtered = app
            .admin(
                &format!("{{ findings(filter: {{slaState: {state}}}) {{ edges {{ node {{ title }} }} }} }}"),
                json!({}),
            )
            .await;
        let titles: Vec<&str> = filtered.data()["findings"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["node"]["title"].as_str())
            .collect();
        let wanted: Vec<&str> = expected.iter().filter(|(_, s)| *s == state).map(|(t, _)| *t).collect();
        assert_eq!(titles, wanted, "filter slaState: {state}");
        let counted: u64 = summary.data()["slaSummary"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["state"] == state)
            .map(|r| r["count"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(counted, wanted.len() as u64, "summary for {state}");
    }
}

#[tokio::test]
async fn findings_filters_narrow_by_product_severity_flags_dates_and_text() {
    let app = spawn_app().await;
    let portal = app.product("Portal").await;
    let clacks = app.product("Clacks").await;
    let inputs = json!([
        { "productId": portal, "title": "SQL injection in search", "severity": "CRITICAL", "verified": true, "externalReference": "SEC-42" },
        { "productId": portal, "title": "Missing header", "severity": "LOW", "description": "No CSP: 100% of pages" },
        { "productId": clacks, "title": "Unsigned frames", "severity": "HIGH", "verified": true },
    ]);
    app.admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await
        .data();
    let count = |filter: &str| {
        let query = format!("{{ findings(filter: {filter}) {{ totalCount }} }}");
        let app = &app;
        async move { app.admin(&query, json!({})).await.data()["findings"]["totalCount"].as_u64().unwrap_or(99) }
    };
    assert_eq!(count(&format!("{{productId: \"{portal}\"}}")).await, 2);
    assert_eq!(count("{productName: \"Clacks\"}").await, 1);
    assert_eq!(count("{severities: [CRITICAL, HIGH]}").await, 2);
    assert_eq!(count("{verified: true}").await, 2);
    assert_eq!(count("{active: true, isMitigated: false}").await, 3);
    assert_eq!(count("{search: \"sql INJ\"}").await, 1);
    assert_eq!(count("{search: \"sec-42\"}").await, 1);
    assert_eq!(count("{search: \"100%\"}").await, 1);
    assert_eq!(count("{search: \"%\"}").await, 1, "a % in the text is literal");
    assert_eq!(count("{deadlineBefore: \"2026-03-04T00:00:00Z\"}").await, 1);
    assert_eq!(count("{deadlineAfter: \"2026-03-04T00:00:00Z\"}").await, 2);
    assert_eq!(count("{outsideSla: false}").await, 3);
}

#[tokio::test]
async fn pages_follow_cursors_in_both_directions() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let inputs: Vec<Value> =
        (0..7).map(|i| json!({ "productId": product, "title": format!("f{i}"), "severity": "LOW" })).collect();
    app.admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await
        .data();
    let page = |args: String| {
        let app = &app;
        async move {
            let query = format!(
                "{{ findings({args}) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor startCursor }} edges {{ node {{ title }} }} }} }}"
            );
            app.admin(&query, json!({})).await.data()["findings"].clone()
        }
    };
    let titles = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let first = page("first: 3".to_owned()).await;
    assert_eq!(first["totalCount"], 7);
    assert_eq!(titles(&first), ["f0", "f1", "f2"]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second =
        page(format!("first: 3, after: \"{}\"", first["pageInfo"]["endCursor"].as_str().expect("cursor"))).await;
    assert_eq!(titles(&second), ["f3", "f4", "f5"]);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);
    let last = page("last: 2".to_owned()).await;
    assert_eq!(titles(&last), ["f5", "f6"]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before =
        page(format!("last: 2, before: \"{}\"", last["pageInfo"]["startCursor"].as_str().expect("cursor"))).await;
    assert_eq!(titles(&before), ["f3", "f4"]);
}

#[tokio::test]
async fn bulk_creation_is_all_or_nothing_and_names_the_bad_input() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let inputs = json!([
        { "productId": product, "title": "fine", "severity": "LOW" },
        { "productId": product, "title": "   ", "severity": "LOW" },
    ]);
    let refused = app
        .admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(refused.message().starts_with("inputs[1]:"), "{}", refused.message());
    let count =
        app.admin(&format!("{{ findings {{ totalCount edges {{ node {{ {FINDING_FIELDS} }} }} }} }}"), json!({})).await;
    assert_eq!(count.data()["findings"]["totalCount"], 0);
}

/// `createFindings` builds its rows before its turn to write; a policy changed by the write it waited for must
/// still be the one its deadlines follow (the look-ups are read again in the turn). SQLite only: PostgreSQL's
/// writers do not queue, so there is no turn to hold.
#[tokio::test]
async fn a_batch_written_after_a_policy_change_it_waited_for_follows_the_new_policy() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    if app.state.config.is_postgres() {
        return;
    }
    let product = app.product("Portal").await;
    let held = app.state.begin_write().await.expect("the writers' turn");
    let request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", format!("Token {}", app.admin_api_token))
        .json(&json!({
            "query": "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { slaDeadline } }",
            "variables": { "i": [
                { "productId": product, "title": "first", "severity": "CRITICAL" },
                { "productId": product, "title": "second", "severity": "CRITICAL" },
            ] },
        }))
        .send();
    let sent = tokio::spawn(request);
    let queued = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while app.state.write_turns.waiting() == 0 {
            tokio::task::yield_now().await;
        }
    });
    queued.await.expect("the batch comes to wait for the turn");
    // Critical: one day on the default configuration, five from now on.
    let changed = sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Sqlite,
        "UPDATE sla_configurations SET critical_days = 5 \
         WHERE id = (SELECT sla_configuration_id FROM products WHERE id = ?)",
        [product.parse::<i32>().expect("a numeric id").into()],
    );
    assert_eq!(held.execute_raw(changed).await.expect("policy changed").rows_affected(), 1);
    held.commit().await.expect("committed");
    let answered: Value = sent.await.expect("sent").expect("answered").json().await.expect("json");
    assert_eq!(answered["errors"], Value::Null, "{answered}");
    let deadline = json!({ "slaDeadline": "2026-03-07T09:30:00+00:00" });
    assert_eq!(answered["data"]["createFindings"], json!([deadline, deadline]), "{answered}");
}

/// Counts and pages are kept between identical queries (`service::finding_reads`); each kind of change must
/// still show at once: a deadline passing with no write, a configuration change, a reactivation, a new
/// membership, a deleted product.
#[tokio::test]
async fn repeated_queries_follow_every_kind_of_change() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let other = app.product("Relay").await;
    let (reader_id, _) = app.user("cheery").await;
    let count = |token: Option<String>| {
        let app = &app;
        async move {
            let query = "{ findings(filter: {outsideSla: true}) { totalCount nodes { id } } \
                         slaSummary { severity state count } }";
            let answer = match token {
                Some(token) => app.gql(Some(&token), query, json!({})).await,
                None => app.admin(query, json!({})).await,
            };
            let data = answer.data().clone();
            let breached_highs = data["slaSummary"]
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| r["severity"] == "HIGH" && r["state"] == "BREACHED")
                .map(|r| r["count"].as_u64().unwrap_or(0));
            let total = data["findings"]["totalCount"].as_u64().expect("count");
            assert_eq!(data["findings"]["nodes"].as_array().map(Vec::len), Some(total as usize));
            (total, breached_highs.unwrap_or(0))
        }
    };
    // High: 7 days on the default configuration; started 6 days ago.
    let high = json!({ "productId": product, "title": "High", "severity": "HIGH", "slaStart": "2026-02-24T09:30:00Z" });
    let finding = app.finding(high).await;
    app.finding(
        json!({ "productId": other, "title": "Other", "severity": "HIGH", "slaStart": "2026-02-24T09:30:00Z" }),
    )
    .await;
    assert_eq!(count(None).await, (0, 0));
    assert_eq!(count(None).await, (0, 0), "asked twice, same answer");

    app.clock.set(at("2026-03-03T09:30:00Z"));
    assert_eq!(count(None).await, (2, 2), "the deadline passed without any write");

    let default_id = app.default_sla_id().await;
    app.admin(
        "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {high: 30}) { high } }",
        json!({ "id": default_id }),
    )
    .await
    .data();
    assert_eq!(count(None).await, (0, 0), "a longer period on the configuration");

    app.clock.set(at("2026-03-26T10:00:00Z"));
    assert_eq!(count(None).await, (2, 2), "30 days later");
    let reader = app.login("cheery", PASSWORD).await;
    assert_eq!(count(Some(reader.clone())).await, (0, 0), "not a member yet");
    app.add_member(&product, &reader_id, "READER").await;
    assert_eq!(count(Some(reader.clone())).await, (1, 1), "the reader sees only Portal once a member");
    app.admin("mutation($id: ID!) { mitigateFinding(id: $id) { id } }", json!({ "id": finding["id"] })).await.data();
    assert_eq!(count(Some(reader.clone())).await, (0, 0), "mitigated");
    assert_eq!(count(None).await, (1, 1), "Relay's finding is still breached");
    app.admin("mutation($id: ID!) { deleteProduct(id: $id) { name } }", json!({ "id": other })).await.data();
    assert_eq!(count(None).await, (0, 0), "the deleted product's finding is gone");
    assert_eq!(count(Some(reader)).await, (0, 0));
}
