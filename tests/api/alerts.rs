//! The outbox end to end: API events become notifications and deliveries in the same transaction, the
//! worker delivers in-app alerts, and the delivery log shows it.

use chrono::TimeDelta;
use serde_json::json;
use slawatch::service::outbox::{self, NewNotification};

use crate::helpers::spawn_app;

const SET: &str = "mutation($i: NotificationSettingInput!) { setNotificationSetting(input: $i) { configured } }";

#[tokio::test]
async fn a_new_product_alerts_superusers_and_alerts_can_be_marked_read() {
    let app = spawn_app().await;
    let token = app.admin_token.clone();
    app.product("Royal-Bank-Integration").await;
    let titles = app.alert_titles(&token, 2).await;
    assert_eq!(titles, ["Product type Royal-Bank-Integration type added", "Product Royal-Bank-Integration added"]);
    let count = app.gql(Some(&token), "{ unreadAlertCount }", json!({})).await;
    assert_eq!(count.data()["unreadAlertCount"], 2);
    let first =
        app.gql(Some(&token), "{ alerts(first: 1) { edges { node { id event url readAt } } } }", json!({})).await;
    let alert = first.data()["alerts"]["edges"][0]["node"].clone();
    assert_eq!(alert["event"], "product_type_added");
    assert_eq!(alert["url"], format!("{}/", app.address), "siteUrl follows the bound address");
    let marked = app
        .gql(Some(&token), "mutation($ids: [ID!]) { markAlertsRead(ids: $ids) }", json!({ "ids": [alert["id"]] }))
        .await;
    assert_eq!(marked.data()["markAlertsRead"], 1);
    let unread = app
        .gql(Some(&token), "{ alerts(unreadOnly: true) { edges { node { title } } } unreadAlertCount }", json!({}))
        .await;
    assert_eq!(unread.data()["unreadAlertCount"], 1);
    assert_eq!(unread.data()["alerts"]["edges"][0]["node"]["title"], "Product Royal-Bank-Integration added");
    let all = app.gql(Some(&token), "mutation { markAlertsRead }", json!({})).await;
    assert_eq!(all.data()["markAlertsRead"], 1);
}

#[tokio::test]
async fn engagement_events_reach_members_and_not_outsiders() {
    let app = spawn_app().await;
    let product = app.product("Royal-Bank-Integration").await;
    let (carrot_id, carrot) = app.user("carrot").await;
    let (_, nobby) = app.user("nobby").await;
    app.add_member(&product, &carrot_id, "OWNER").await;
    let created = app
        .gql(
            Some(&carrot),
            "mutation($p: ID!) { createEngagement(input: {productId: $p, name: \"Q4 pentest\"}) { id } }",
            json!({ "p": product }),
        )
        .await;
    let id = created.data()["createEngagement"]["id"].as_str().expect("id").to_owned();
    app.gql(
        Some(&carrot),
        "mutation($id: ID!) { updateEngagement(id: $id, input: {status: COMPLETED}) { id } }",
        json!({ "id": id }),
    )
    .await
    .data();
    let titles = app.alert_titles(&carrot, 2).await;
    assert_eq!(
        titles,
        [
            "Engagement Q4 pentest added in Royal-Bank-Integration",
            "Engagement Q4 pentest closed in Royal-Bank-Integration"
        ]
    );
    let admin_titles = app.alert_titles(&app.admin_token, 4).await;
    assert!(
        admin_titles.contains(&"Engagement Q4 pentest closed in Royal-Bank-Integration".to_owned()),
        "superusers too"
    );
    assert_eq!(app.alert_titles(&nobby, 0).await, Vec::<String>::new());
}

#[tokio::test]
async fn mentions_and_review_requests_reach_only_the_named_users_who_may_view_the_finding() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let finding = app.finding(json!({ "productId": product, "title": "Stored XSS", "severity": "HIGH" })).await;
    let mut users = Vec::new();
    for (name, role) in [("dorfl", Some("WRITER")), ("angua", Some("READER")), ("nobby", None)] {
        let (id, token) = app.user(name).await;
        if let Some(role) = role {
            app.add_member(&product, &id, role).await;
        }
        users.push((id, token));
    }
    let note = "mutation($f: ID!, $t: String!) { addFindingNote(findingId: $f, text: $t) { id } }";
    app.gql(Some(&users[0].1), note, json!({ "f": finding["id"], "t": "@angua @nobby @dorfl vendor patch on Friday" }))
        .await
        .data();
    assert_eq!(app.alert_titles(&users[1].1, 1).await, ["dorfl mentioned you on \"Stored XSS\""]);
    assert!(app.alert_titles(&users[2].1, 0).await.is_empty(), "a non-member is not told about the finding");
    assert!(app.alert_titles(&users[0].1, 0).await.is_empty(), "the author is not notified of their own mention");

    let review = "mutation($f: ID!, $r: [ID!]!) { requestReview(findingId: $f, reviewerIds: $r) { reviewerIds } }";
    let refused = app.gql(Some(&users[0].1), review, json!({ "f": finding["id"], "r": [users[2].0] })).await;
    assert_eq!(refused.code(), "NOT_FOUND", "a non-member reviewer looks like no user at all");
    let asked = app.gql(Some(&users[0].1), review, json!({ "f": finding["id"], "r": [users[1].0] })).await;
    assert_eq!(asked.data()["requestReview"]["reviewerIds"], json!([users[1].0]));
    let titles = app.alert_titles(&users[1].1, 2).await;
    assert_eq!(titles[1], "dorfl asks you to review \"Stored XSS\"");
    let reviewers =
        app.admin("query($id: ID!) { finding(id: $id) { reviewerIds } }", json!({ "id": finding["id"] })).await;
    assert_eq!(reviewers.data()["finding"]["reviewerIds"], json!([users[1].0]));
}

#[tokio::test]
async fn a_personal_opt_out_stops_alerts_but_not_the_override_list() {
    let app = spawn_app().await;
    let product = app.product("Portal").await;
    let (angua_id, angua) = app.user("angua").await;
    app.add_member(&product, &angua_id, "WRITER").await;
    app.gql(Some(&angua), SET, json!({ "i": { "scope": "PERSONAL", "event": "OTHER", "channels": [] } })).await.data();
    app.gql(Some(&angua), SET, json!({ "i": { "scope": "PERSONAL", "event": "USER_MENTIONED", "channels": [] } }))
        .await
        .data();
    let finding = app.finding(json!({ "productId": product, "title": "XSS", "severity": "LOW" })).await;
    let note = "mutation($f: ID!, $t: String!) { addFindingNote(findingId: $f, text: $t) { id } }";
    app.admin(note, json!({ "f": finding["id"], "t": "@angua first" })).await.data();
    // user_mentioned is in the override list: with an ALERT system setting it reaches her anyway.
    app.admin(SET, json!({ "i": { "scope": "SYSTEM", "event": "USER_MENTIONED", "channels": ["ALERT"] } }))
        .await
        .data();
    app.admin(note, json!({ "f": finding["id"], "t": "@angua second" })).await.data();
    let titles = app.alert_titles(&angua, 1).await;
    assert_eq!(titles, ["admin mentioned you on \"XSS\""]);
    let deliveries = app.admin("{ deliveries(filter: {event: USER_MENTIONED}) { totalCount } }", json!({})).await;
    assert_eq!(deliveries.data()["deliveries"]["totalCount"], 1, "the opted-out mention created no delivery");
}

#[tokio::test]
async fn the_delivery_log_shows_every_delivery_and_a_failed_change_writes_none() {
    let app = spawn_app().await;
    app.product("Portal").await;
    let token = app.admin_token.clone();
    let log = app
        .eventually(&token, "{ deliveries { totalCount edges { node { id channel target status attempts deliveredAt event deliveryKey } } } }", |d| {
            d["deliveries"]["edges"].as_array().is_some_and(|e| e.iter().all(|n| n["node"]["status"] == "DELIVERED"))
        })
        .await;
    assert_eq!(log["deliveries"]["totalCount"], 2);
    let first = &log["deliveries"]["edges"][0]["node"];
    assert_eq!(
        (first["channel"].clone(), first["target"].clone(), first["attempts"].clone()),
        (json!("ALERT"), json!("user:1"), json!(1))
    );
    assert_eq!(first["event"], "product_type_added");
    assert_eq!(first["deliveryKey"].as_str().map(str::len), Some(32));
    let again =
        app.admin("mutation($id: ID!) { retryDelivery(id: $id) { status } }", json!({ "id": first["id"] })).await;
    assert_eq!(again.code(), "CONFLICT");
    // A refused change publishes nothing.
    let type_id = app.product_type("Other").await;
    let duplicate = app
        .admin(
            "mutation($t: ID!) { createProduct(input: {name: \"Portal\", productTypeId: $t}) { id } }",
            json!({ "t": type_id }),
        )
        .await;
    assert_eq!(duplicate.code(), "CONFLICT");
    let filtered = app.admin("{ deliveries(filter: {event: PRODUCT_ADDED}) { totalCount } }", json!({})).await;
    assert_eq!(filtered.data()["deliveries"]["totalCount"], 1);
    let (_, otto) = app.user("otto").await;
    assert_eq!(app.gql(Some(&otto), "{ deliveries { totalCount } }", json!({})).await.code(), "FORBIDDEN");
}

#[tokio::test]
async fn deliveries_on_unconfigured_channels_retry_and_say_what_is_missing() {
    let app = spawn_app().await;
    // The API refuses to switch on a channel that cannot work…
    let refused =
        app.admin("mutation { updateSystemSettings(input: {enableMail: true}) { enableMail } }", json!({})).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(refused.message().contains("SMTP server"), "{}", refused.message());
    let refused =
        app.admin("mutation { updateSystemSettings(input: {enableSlack: true}) { enableSlack } }", json!({})).await;
    assert!(refused.message().contains("slackToken"), "{}", refused.message());
    // …but one can still be on without what it needs: mail switched on under a DD_EMAIL_URL that a restart
    // no longer has, as here.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE system_settings SET enable_mail = true, enable_slack = true",
    )
    .await
    .expect("switched on behind the API");
    app.admin(
        SET,
        json!({ "i": { "scope": "SYSTEM", "event": "PRODUCT_ADDED", "channels": ["SLACK", "MAIL"], "slackChannels": ["#security"], "emails": ["security-team@golemtrust.am"] } }),
    )
    .await
    .data();
    app.product("Portal").await;
    let query = "{ deliveries(filter: {event: PRODUCT_ADDED}) { edges { node { channel status target attempts lastError } } } }";
    let log = app
        .eventually_admin(query, |d| {
            d["deliveries"]["edges"]
                .as_array()
                .is_some_and(|e| e.len() == 3 && e.iter().all(|n| n["node"]["attempts"] == 1))
        })
        .await;
    let by_channel = |channel: &str| {
        log["deliveries"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["channel"] == channel)
            .map(|e| e["node"].clone())
    };
    assert_eq!(
        by_channel("SLACK"),
        Some(json!({ "channel": "SLACK", "status": "RETRYING", "target": "slack_channel:#security", "attempts": 1,
                     "lastError": "no Slack bot token is configured in the system settings" }))
    );
    let mail = by_channel("MAIL").expect("a mail delivery");
    assert_eq!((mail["status"].clone(), mail["attempts"].clone()), (json!("RETRYING"), json!(1)));
    assert_eq!(mail["lastError"], "no SMTP server is configured: set smtpUrl in the system settings (or DD_EMAIL_URL)");
    // systemHealth says so too.
    let health =
        app.admin("{ systemHealth { channels { channel enabled configured ok lastError } } }", json!({})).await;
    let channels = health.data()["systemHealth"]["channels"].as_array().expect("channels").clone();
    let of = |name: &str| channels.iter().find(|c| c["channel"] == name).cloned().expect("listed");
    assert_eq!(
        of("MAIL"),
        json!({ "channel": "MAIL", "enabled": true, "configured": false, "ok": false, "lastError": mail["lastError"] })
    );
    assert_eq!(of("SLACK")["ok"], false);
    assert_eq!(
        of("ALERT"),
        json!({ "channel": "ALERT", "enabled": true, "configured": true, "ok": true, "lastError": null })
    );
    assert_eq!(
        of("PAGER"),
        json!({ "channel": "PAGER", "enabled": false, "configured": false, "ok": false, "lastError": null })
    );
    let (_, otto) = app.user("otto").await;
    assert_eq!(app.gql(Some(&otto), "{ systemHealth { channels { ok } } }", json!({})).await.code(), "FORBIDDEN");
}

#[tokio::test]
async fn a_user_keeps_the_newest_999_alerts() {
    let app = spawn_app().await;
    let now = app.clock.now().timestamp();
    // A second user gets the first ten and the last ten: they must all be kept, the first ten older as they
    // are than what the first user keeps.
    let (second, second_token) = app.user("second").await;
    let second = slawatch::domain::UserId::new(second.parse().expect("a user id"));
    for batch in 0..5 {
        let txn = app.state.begin_write().await.expect("transaction");
        for i in 0..201 {
            let mut users = vec![slawatch::domain::UserId::new(1)];
            if batch * 201 + i < 10 || batch * 201 + i >= 995 {
                users.push(second);
            }
            let new = NewNotification {
                event: slawatch::domain::NotificationEvent::Other,
                audience: slawatch::domain::recipients::Audience::Directed(users),
                product_id: None,
                finding_id: None,
                title: format!("alert {}", batch * 201 + i),
                description: String::new(),
                url: None,
                payload: slawatch::domain::NotificationPayload::default(),
                dedupe_key: None,
                extra_targets: Vec::new(),
            };
            outbox::publish(&txn, now, new).await.unwrap_or_else(|e| panic!("{}", e.detail()));
        }
        txn.commit().await.expect("commit");
    }
    // The job's passes, run here until nothing is left (beside the scheduler's worker), instead of waiting
    // on a clock for 1,005 deliveries.
    let channels = slawatch::notify::Channels::from_state(&app.state);
    while slawatch::jobs::delivery::run_once(&app.state, &channels).await.unwrap_or_else(|e| panic!("{}", e.detail()))
        > 0
    {}
    let data = app
        .eventually_admin("{ deliveries(filter: {status: DELIVERED}) { totalCount } }", |d| {
            d["deliveries"]["totalCount"] == 1025
        })
        .await;
    assert_eq!(data["deliveries"]["totalCount"], 1025);
    // The user sees their newest 999 before the chore has deleted the older ones and after.
    let held = |user: i32| {
        let db = app.state.db.clone();
        async move {
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            use slawatch::entity::alert;
            alert::Entity::find().filter(alert::Column::UserId.eq(user)).count(&db).await.expect("counted")
        }
    };
    let second_id = second.get();
    assert_eq!((held(1).await, held(second_id).await), (1005, 20), "written, not yet trimmed");
    let seen = "{ unreadAlertCount oldest: alerts(first: 1) { totalCount edges { node { title } } } \
                newest: alerts(last: 1) { edges { node { title } } } }";
    for trimmed in [false, true] {
        if trimmed {
            // A write deletes at most what it is told to, the oldest first; the chore writes until none is left.
            let txn = app.state.begin_batch_write().await.expect("a write");
            let first_two = slawatch::service::alerts::trim_oldest(&txn, slawatch::domain::UserId::new(1), 2).await;
            txn.commit().await.expect("committed");
            assert_eq!(first_two.expect("trimmed"), 2);
            assert_eq!(held(1).await, 1003);
            let oldest_left = {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
                use slawatch::entity::alert;
                let rows = alert::Entity::find().filter(alert::Column::UserId.eq(1)).order_by_asc(alert::Column::Id);
                rows.one(&app.state.db).await.expect("read").expect("an alert").title
            };
            assert_eq!(oldest_left, "alert 2", "the oldest two went first");
            let deleted = slawatch::service::alerts::trim(&app.state).await.expect("trimmed");
            assert_eq!(deleted, 4, "the first user's next four, none of the second user's");
            assert_eq!((held(1).await, held(second_id).await), (999, 20));
        }
        let kept = app.gql(Some(&app.admin_token), seen, json!({})).await;
        assert_eq!(kept.data()["oldest"]["totalCount"], 999, "trimmed: {trimmed}");
        assert_eq!(kept.data()["oldest"]["edges"][0]["node"]["title"], "alert 6", "the oldest six are not seen");
        assert_eq!(kept.data()["newest"]["edges"][0]["node"]["title"], "alert 1004");
        assert_eq!(kept.data()["unreadAlertCount"], 999, "of the alerts kept");
        let theirs = app.gql(Some(&second_token), "{ alerts(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(theirs.data()["alerts"]["totalCount"], 20, "the second user's alerts are all kept");
    }
    assert_eq!(slawatch::service::alerts::trim(&app.state).await.expect("trimmed"), 0, "nothing left");
}

#[tokio::test]
async fn alerts_written_with_their_outcomes_fall_back_to_one_by_one_when_one_cannot_be_written() {
    use sea_orm::{ActiveModelTrait, Set};
    use slawatch::domain::recipients::{Audience, Channel, Target};
    use slawatch::domain::{NotificationEvent, NotificationPayload, UserId};
    let app = spawn_app().await;
    let now = app.clock.now().timestamp();
    let txn = app.state.begin_write().await.expect("transaction");
    let mut last = None;
    for i in 0..20 {
        let new = NewNotification {
            event: NotificationEvent::Other,
            audience: Audience::Directed(vec![UserId::new(1)]),
            product_id: None,
            finding_id: None,
            title: format!("alert {i}"),
            description: String::new(),
            url: None,
            payload: NotificationPayload::default(),
            dedupe_key: None,
            extra_targets: Vec::new(),
        };
        last = outbox::publish(&txn, now, new).await.unwrap_or_else(|e| panic!("{}", e.detail()));
    }
    // A delivery to a user the database does not have: its alert breaks the users foreign key.
    slawatch::entity::delivery::ActiveModel {
        notification_id: Set(last.expect("a notification")),
        channel: Set(Channel::Alert),
        target: Set(Target::User(UserId::new(9_999))),
        delivery_key: Set("to-nobody".to_owned()),
        status: Set(slawatch::domain::delivery::DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .expect("a delivery to nobody");
    txn.commit().await.expect("commit");
    let channels = slawatch::notify::Channels::from_state(&app.state);
    while slawatch::jobs::delivery::run_once(&app.state, &channels).await.unwrap_or_else(|e| panic!("{}", e.detail()))
        > 0
    {}
    let query = "{ delivered: deliveries(filter: {status: DELIVERED}) { totalCount } \
                 retrying: deliveries(filter: {status: RETRYING}) { totalCount edges { node { target lastError } } } }";
    let data = app.eventually_admin(query, |d| d["delivered"]["totalCount"] == 20).await;
    assert_eq!(data["delivered"]["totalCount"], 20, "every alert of the chunk with the bad one went one by one");
    assert_eq!(data["retrying"]["totalCount"], 1, "{data}");
    let failed = &data["retrying"]["edges"][0]["node"];
    assert!(
        failed["lastError"].as_str().is_some_and(|e| e.contains("FOREIGN KEY") || e.contains("foreign key")),
        "{failed}"
    );
    let alerts = app
        .gql(Some(&app.admin_token), "{ alerts(first: 50) { totalCount edges { node { title } } } }", json!({}))
        .await;
    assert_eq!(alerts.data()["alerts"]["totalCount"], 20, "each alert once: {}", alerts.data());
}

#[tokio::test]
async fn an_expired_risk_acceptance_resumes_the_sla_and_tells_the_product() {
    let app = crate::helpers::spawn_app_with(|config| config.sweep_interval_seconds = 1).await;
    let product = app.product("Royal-Bank-Integration").await;
    let (carrot_id, carrot) = app.user("carrot").await;
    app.add_member(&product, &carrot_id, "OWNER").await;
    let finding = app.finding(json!({ "productId": product, "title": "Legacy TLS", "severity": "HIGH" })).await;
    let accept = "mutation($id: ID!, $until: DateTime) { acceptRisk(id: $id, expiresAt: $until) { riskAccepted riskAcceptanceExpiresAt slaState } }";
    let past = app.gql(Some(&carrot), accept, json!({ "id": finding["id"], "until": "2026-03-01T00:00:00Z" })).await;
    assert_eq!(past.code(), "BAD_USER_INPUT");
    let accepted =
        app.gql(Some(&carrot), accept, json!({ "id": finding["id"], "until": "2026-03-05T00:00:00Z" })).await;
    assert_eq!(
        accepted.data()["acceptRisk"],
        json!({ "riskAccepted": true, "riskAcceptanceExpiresAt": "2026-03-05T00:00:00+00:00", "slaState": "NONE" })
    );
    app.clock.advance(TimeDelta::days(4));
    let carrot = app.login("carrot", crate::helpers::PASSWORD).await;
    // The acceptance ends, and the resumed SLA (past 50 % of its period) is swept: both reach the owner.
    let mut titles = app.alert_titles(&carrot, 2).await;
    titles.sort();
    assert_eq!(
        titles,
        ["Risk acceptance expired: Legacy TLS", "SLA breach approaching (50% of the period left): Legacy TLS"]
    );
    let after = app.get_finding(finding["id"].as_str().expect("id")).await;
    assert_eq!(
        (after["riskAccepted"].clone(), after["slaState"].clone()),
        (json!(false), json!("APPROACHING")),
        "{after}"
    );
}
