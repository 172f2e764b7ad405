//! The hourly chores with a short interval: engagement reminders (once each, to the lead), auto-close,
//! alert retention; job leases between instances.

use chrono::TimeDelta;
use serde_json::json;
use slawatch::service::job_leases;

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_without_scheduler};

async fn engagement(app: &TestApp, product: &str, lead: &str, name: &str, dates: (&str, &str), status: &str) -> String {
    let created = app
        .admin(
            &format!(
                "mutation($p: ID!, $n: String!, $s: Date!, $e: Date!, $l: ID!) {{ createEngagement(input: \
                 {{productId: $p, name: $n, targetStart: $s, targetEnd: $e, status: {status}, leadId: $l}}) {{ id }} }}"
            ),
            json!({ "p": product, "n": name, "s": dates.0, "e": dates.1, "l": lead }),
        )
        .await;
    created.data()["createEngagement"]["id"].as_str().expect("id").to_owned()
}

fn reminders(titles: Vec<String>) -> Vec<String> {
    let kinds = ["Upcoming engagement: ", "Stale engagement: ", "Engagement auto-closed: "];
    titles.into_iter().filter(|t| kinds.iter().any(|k| t.starts_with(k))).collect()
}

#[tokio::test]
async fn engagement_reminders_reach_the_lead_once_and_overdue_engagements_auto_close() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let product = app.product("Royal-Bank-Integration").await;
    let (lead_id, lead) = app.user("carrot").await;
    app.add_member(&product, &lead_id, "WRITER").await;
    app.admin(
        "mutation { updateSystemSettings(input: {engagementAutoCloseDays: 5}) { engagementAutoCloseDays } }",
        json!({}),
    )
    .await
    .data();
    // Today is 2026-03-02.
    engagement(&app, &product, &lead_id, "Q1 pentest", ("2026-03-05", "2026-03-20"), "NOT_STARTED").await;
    engagement(&app, &product, &lead_id, "Audit prep", ("2026-02-01", "2026-02-27"), "IN_PROGRESS").await;
    let overdue = engagement(&app, &product, &lead_id, "Old review", ("2026-01-01", "2026-02-20"), "IN_PROGRESS").await;
    engagement(&app, &product, &lead_id, "Later", ("2026-03-06", "2026-03-30"), "NOT_STARTED").await;
    engagement(&app, &product, &lead_id, "Done", ("2026-01-01", "2026-01-10"), "COMPLETED").await;

    // The lead, a member, also heard of each engagement being added: five alerts, then three reminders.
    app.run_due_jobs().await;
    app.alert_titles(&lead, 8).await;
    // A few more runs of the job change nothing.
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    let mut titles = reminders(app.alert_titles(&lead, 8).await);
    titles.sort();
    assert_eq!(
        titles,
        ["Engagement auto-closed: Old review", "Stale engagement: Audit prep", "Upcoming engagement: Q1 pentest"]
    );
    let closed = app.admin("query($id: ID!) { engagement(id: $id) { status } }", json!({ "id": overdue })).await;
    assert_eq!(closed.data()["engagement"]["status"], "COMPLETED");

    // Three days on, "Later" is upcoming, once; the admin (not the lead) gets none of these.
    app.clock.advance(TimeDelta::days(1));
    app.run_due_jobs().await;
    let lead = app.login("carrot", PASSWORD).await;
    let titles = reminders(app.alert_titles(&lead, 9).await);
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert!(titles.contains(&"Upcoming engagement: Later".to_owned()), "{titles:?}");
    let admin_alerts = app.admin("{ alerts(first: 100) { edges { node { event } } } }", json!({})).await;
    let reminders = admin_alerts.data()["alerts"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["node"]["event"].as_str().is_some_and(|ev| ev.contains("engagement") && ev != "engagement_added"))
        .count();
    assert_eq!(reminders, 0, "reminders go to the lead");
}

#[tokio::test]
async fn alerts_older_than_the_retention_are_deleted() {
    let app = spawn_app_without_scheduler(|config| config.alert_retention_days = 30).await;
    app.product("Portal").await;
    let count = "{ alerts(first: 10) { totalCount } }";
    // product_type_added and product_added.
    app.run_due_jobs().await;
    assert_eq!(app.admin(count, json!({})).await.data()["alerts"]["totalCount"], 2);
    app.clock.advance(TimeDelta::days(29));
    app.run_due_jobs().await;
    assert_eq!(app.admin(count, json!({})).await.data()["alerts"]["totalCount"], 2, "kept within the retention");
    app.clock.advance(TimeDelta::days(2));
    app.run_due_jobs().await;
    assert_eq!(app.admin(count, json!({})).await.data()["alerts"]["totalCount"], 0, "deleted after it");
}

#[tokio::test]
async fn a_job_lease_is_held_by_one_instance_until_it_expires_or_is_released() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let take = |holder: &'static str, now: i64| async move {
        job_leases::try_acquire(db, "report", holder, now, 60).await.expect("lease query")
    };
    assert!(take("a", 1_000).await, "a free lease");
    assert!(!take("b", 1_010).await, "held by a");
    assert!(take("a", 1_030).await, "a renews");
    assert!(!take("b", 1_089).await, "renewed until 1090");
    assert!(take("b", 1_091).await, "expired: b takes over");
    assert!(!take("a", 1_092).await);
    job_leases::release_all(db, "b").await.expect("release");
    assert!(take("a", 1_093).await, "released");
}
