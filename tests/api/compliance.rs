//! The quarterly SLA compliance report (`slaCompliance`): every figure for products with a known history,
//! the targets' pass/fail, and bad requests.

use serde_json::{Value, json};

use crate::helpers::{TestApp, at, spawn_app};

const REPORT: &str = "query($p: ID, $from: Date, $to: Date, $q: String) {
    slaCompliance(productId: $p, from: $from, to: $to, quarter: $q) {
        product { name } from to asOf opened closedWithinSla breached complianceRate passed
        severities { severity opened closedWithinSla breached stillOpenBreached complianceRate target passed }
        breaches { findingId title reference severity deadline breachDurationSeconds remediatedAt } } }";

async fn create(app: &TestApp, inputs: Vec<Value>) -> Vec<String> {
    let created = app
        .admin("mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", json!({ "i": inputs }))
        .await;
    created.data()["createFindings"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

fn history(product: &str, severity: &str, title: &str, start: &str, mitigated: Option<&str>) -> Value {
    let mut input = json!({ "productId": product, "title": title, "severity": severity, "slaStart": start });
    if let Some(at) = mitigated {
        input["isMitigated"] = json!(true);
        input["mitigatedAt"] = json!(at);
    }
    input
}

/// Royal-Bank-Integration meets its targets; Golem Portal does not. Reported on 10 April for Q1 2026.
pub(crate) async fn quarter_of_history(app: &TestApp) -> (String, String, String, String) {
    let bank = app.product("Royal-Bank-Integration").await;
    let portal = app.product("Golem Portal").await;
    let mut inputs = vec![
        // Criticals (1 day): fixed after 10 h and after 20 h.
        history(&bank, "CRITICAL", "RCE", "2026-01-10T10:00:00Z", Some("2026-01-10T20:00:00Z")),
        history(&bank, "CRITICAL", "Auth bypass", "2026-02-10T10:00:00Z", Some("2026-02-11T06:00:00Z")),
        // Medium (30 days), still open 3 weeks past its deadline; Low (90 days), not yet due.
        history(&bank, "MEDIUM", "CSRF", "2026-01-12T00:00:00Z", None),
        history(&bank, "LOW", "Banner", "2026-03-25T00:00:00Z", None),
        // Portal: a Critical fixed a day late, a High still open past its deadline.
        history(&portal, "CRITICAL", "SSRF", "2026-02-01T08:00:00Z", Some("2026-02-03T08:00:00Z")),
        history(&portal, "HIGH", "Open redirect", "2026-03-20T12:00:00Z", None),
        // Fixed in Q4 2025: not in Q1's report.
        history(&bank, "HIGH", "Old", "2025-11-01T00:00:00Z", Some("2025-11-02T00:00:00Z")),
    ];
    // 19 Highs (7 days) fixed within three days, and one fixed two days late: 95 %.
    for day in 1..=19 {
        let start = format!("2026-02-{day:02}T09:00:00Z");
        let fixed = format!("2026-02-{:02}T09:00:00Z", day + 3);
        inputs.push(history(&bank, "HIGH", &format!("XSS {day}"), &start, Some(&fixed)));
    }
    let mut late = history(&bank, "HIGH", "SQL injection", "2026-03-01T00:00:00Z", Some("2026-03-10T00:00:00Z"));
    late["externalReference"] = json!("JIRA-101");
    inputs.push(late);
    let ids = create(app, inputs).await;
    (bank, portal, ids[ids.len() - 1].clone(), ids[5].clone())
}

fn severity<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["severities"].as_array().expect("severities").iter().find(|s| s["severity"] == name).expect("severity row")
}

#[tokio::test]
async fn every_figure_of_the_quarterly_report_and_the_targets() {
    let app = spawn_app().await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let (bank, portal, late_high, open_high) = quarter_of_history(&app).await;

    let read = app.admin(REPORT, json!({ "p": bank, "q": "2026-Q1" })).await;
    let report = &read.data()["slaCompliance"];
    assert_eq!(report["product"]["name"], "Royal-Bank-Integration");
    assert_eq!((report["from"].as_str(), report["to"].as_str()), (Some("2026-01-01"), Some("2026-03-31")));
    assert_eq!(report["asOf"], "2026-04-01T00:00:00+00:00");
    assert_eq!(report["opened"], 24);
    assert_eq!(report["closedWithinSla"], 21);
    assert_eq!(report["breached"], 2);
    assert!((report["complianceRate"].as_f64().expect("rate") - 2100.0 / 23.0).abs() < 1e-9);
    assert_eq!(report["passed"], true);
    assert_eq!(
        severity(report, "CRITICAL"),
        &json!({ "severity": "CRITICAL", "opened": 2, "closedWithinSla": 2, "breached": 0, "stillOpenBreached": 0,
                 "complianceRate": 100.0, "target": 100.0, "passed": true })
    );
    assert_eq!(
        severity(report, "HIGH"),
        &json!({ "severity": "HIGH", "opened": 20, "closedWithinSla": 19, "breached": 1, "stillOpenBreached": 0,
                 "complianceRate": 95.0, "target": 95.0, "passed": true })
    );
    assert_eq!(
        severity(report, "MEDIUM"),
        &json!({ "severity": "MEDIUM", "opened": 1, "closedWithinSla": 0, "breached": 1, "stillOpenBreached": 1,
                 "complianceRate": 0.0, "target": null, "passed": null })
    );
    assert_eq!(
        severity(report, "LOW"),
        &json!({ "severity": "LOW", "opened": 1, "closedWithinSla": 0, "breached": 0, "stillOpenBreached": 0,
                 "complianceRate": null, "target": null, "passed": null })
    );
    assert_eq!(
        report["breaches"],
        json!([{ "findingId": late_high, "title": "SQL injection", "reference": "JIRA-101", "severity": "HIGH",
                 "deadline": "2026-03-08T00:00:00+00:00", "breachDurationSeconds": 2 * 86_400,
                 "remediatedAt": "2026-03-10T00:00:00+00:00" }])
    );

    // Golem Portal misses both targets; its breaches are listed Critical first.
    let read = app.admin(REPORT, json!({ "p": portal, "from": "2026-01-01", "to": "2026-03-31" })).await;
    let report = &read.data()["slaCompliance"];
    assert_eq!(report["passed"], false);
    assert_eq!(
        (severity(report, "CRITICAL")["complianceRate"].as_f64(), severity(report, "CRITICAL")["passed"].as_bool()),
        (Some(0.0), Some(false))
    );
    assert_eq!(severity(report, "HIGH")["passed"], false);
    let breaches = report["breaches"].as_array().expect("breaches");
    assert_eq!(breaches.iter().map(|b| b["title"].as_str()).collect::<Vec<_>>(), [Some("SSRF"), Some("Open redirect")]);
    assert_eq!(breaches[0]["breachDurationSeconds"], 86_400);
    assert_eq!(breaches[1]["findingId"], open_high.as_str());
    assert_eq!(breaches[1]["breachDurationSeconds"], 4 * 86_400 + 12 * 3600);
    assert_eq!(breaches[1]["remediatedAt"], Value::Null);

    // Every product the admin may view.
    let read = app.admin(REPORT, json!({ "q": "2026-Q1" })).await;
    let all = &read.data()["slaCompliance"];
    assert_eq!(
        (all["product"].clone(), all["opened"].clone(), all["breached"].clone()),
        (Value::Null, json!(26), json!(4))
    );
}

#[tokio::test]
async fn bad_periods_unknown_products_and_non_members_are_refused() {
    let app = spawn_app().await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let (bank, portal, _, _) = quarter_of_history(&app).await;
    for (variables, code) in [
        (json!({ "p": bank, "from": "2026-03-31", "to": "2026-01-01" }), "BAD_USER_INPUT"),
        (json!({ "p": bank }), "BAD_USER_INPUT"),
        (json!({ "p": bank, "from": "2026-01-01" }), "BAD_USER_INPUT"),
        (json!({ "p": bank, "q": "2026-Q5" }), "BAD_USER_INPUT"),
        (json!({ "p": bank, "q": "2026-Q1", "from": "2026-01-01", "to": "2026-01-02" }), "BAD_USER_INPUT"),
        (json!({ "p": bank, "q": "2027-Q1" }), "BAD_USER_INPUT"),
        (json!({ "p": "999999", "q": "2026-Q1" }), "NOT_FOUND"),
    ] {
        let answer = app.admin(REPORT, variables.clone()).await;
        assert_eq!(answer.code(), code, "{variables}: {}", answer.message());
    }
    let inverted = app.admin(REPORT, json!({ "p": bank, "from": "2026-03-31", "to": "2026-01-01" })).await;
    assert!(inverted.message().contains("inverted"), "{}", inverted.message());

    // Otto reads Royal-Bank-Integration only: the portal's report does not exist for him.
    let (otto, jwt) = app.user("otto").await;
    app.add_member(&bank, &otto, "READER").await;
    let own = app.gql(Some(&jwt), REPORT, json!({ "p": bank, "q": "2026-Q1" })).await;
    assert_eq!(own.data()["slaCompliance"]["closedWithinSla"], 21);
    let other = app.gql(Some(&jwt), REPORT, json!({ "p": portal, "q": "2026-Q1" })).await;
    assert_eq!(other.code(), "NOT_FOUND");
    let all = app.gql(Some(&jwt), REPORT, json!({ "q": "2026-Q1" })).await;
    assert_eq!(all.data()["slaCompliance"]["opened"], 24, "only his product counts");
    let anonymous = app.gql(None, REPORT, json!({ "q": "2026-Q1" })).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

/// `pdftotext` (Debian `poppler-utils`) on a PDF; `None` (skipped, said once) when it is missing, unless
/// `SLAWATCH_PDF_TESTS=1` (CI) makes that a failure.
pub(crate) async fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write PDF");
    match tokio::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output().await {
        Ok(output) => {
            assert!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
            Some(String::from_utf8(output.stdout).expect("UTF-8 text"))
        }
        Err(err) => {
            assert!(
                std::env::var("SLAWATCH_PDF_TESTS").map_or(true, |v| v != "1"),
                "SLAWATCH_PDF_TESTS=1 but pdftotext cannot run: {err}"
            );
            eprintln!("pdftotext is missing (Debian poppler-utils): skipping the PDF text checks (CI runs them)");
            None
        }
    }
}

pub(crate) async fn download(app: &TestApp, query: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/reports/sla-compliance?{query}")));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.expect("download")
}

#[tokio::test]
async fn the_report_downloads_as_a_readable_pdf_csv_and_json() {
    let app = spawn_app().await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let (bank, portal, _, _) = quarter_of_history(&app).await;
    let token = format!("Token {}", app.admin_api_token);

    let pdf = download(&app, &format!("format=pdf&productId={portal}&quarter=2026-Q1"), Some(&token)).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(
        pdf.headers()["content-disposition"],
        "attachment; filename=\"sla-compliance-golem-portal-2026-01-01-2026-03-31.pdf\""
    );
    let bytes = pdf.bytes().await.expect("body");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    if let Some(text) = pdf_text(&bytes).await {
        for expected in [
            "SLA compliance report",
            "Golem Portal",
            "Period: 2026-01-01 to 2026-03-31",
            "Targets missed: FAIL",
            "Compliance by severity",
            "SSRF",
            "Open redirect",
            "1 d 0 h / 2026-02-03",
            "4 d 12 h / still open",
        ] {
            assert!(text.contains(expected), "{expected:?} not in the PDF text:\n{text}");
        }
        let line =
            |severity: &str| text.lines().find(|l| l.trim_start().starts_with(severity)).unwrap_or("").to_owned();
        let critical = line("Critical");
        assert!(critical.contains("0.0 %") && critical.contains("100 %") && critical.contains("FAIL"), "{critical}");
        assert!(line("High").contains("FAIL"), "{text}");
    }
    let bank_pdf = download(&app, &format!("productId={bank}&from=2026-01-01&to=2026-03-31"), Some(&token)).await;
    let bank_bytes = bank_pdf.bytes().await.expect("body");
    if let Some(text) = pdf_text(&bank_bytes).await {
        assert!(text.contains("Royal-Bank-Integration") && text.contains("Targets met: PASS"), "{text}");
        let high = text.lines().find(|l| l.trim_start().starts_with("High")).unwrap_or("");
        assert!(high.contains("95.0 %") && high.contains("PASS"), "{high}");
        assert!(
            text.contains("SQL injection") && text.contains("JIRA-101") && text.contains("2 d 0 h / 2026-03-10"),
            "{text}"
        );
    }

    // By name, as the findings endpoint takes a product: the same file; a name nobody may see is a 404.
    let by_name = download(&app, "format=json&product_name=Royal-Bank-Integration&quarter=2026-Q1", Some(&token)).await;
    assert_eq!(by_name.status(), 200);
    let by_id = download(&app, &format!("format=json&productId={bank}&quarter=2026-Q1"), Some(&token)).await;
    assert_eq!(by_name.bytes().await.expect("body"), by_id.bytes().await.expect("body"));
    let unknown = download(&app, "format=json&product_name=Nowhere&quarter=2026-Q1", Some(&token)).await;
    assert_eq!(unknown.status(), 404);
    // A product the caller may not view is as unknown as one that does not exist.
    let (_, outsider) = app.user("nobby").await;
    let hidden = download(
        &app,
        "format=json&product_name=Royal-Bank-Integration&quarter=2026-Q1",
        Some(&format!("Bearer {outsider}")),
    )
    .await;
    assert_eq!(hidden.status(), 404);
    let both =
        download(&app, &format!("product_name=Royal-Bank-Integration&productId={bank}&quarter=2026-Q1"), Some(&token))
            .await;
    assert_eq!(both.status(), 400);

    // JSON and CSV carry the same figures as GraphQL.
    let json_file: Value = download(&app, &format!("format=json&productId={bank}&quarter=2026-Q1"), Some(&token))
        .await
        .json()
        .await
        .expect("JSON");
    let graphql = app.admin(REPORT, json!({ "p": bank, "q": "2026-Q1" })).await;
    let graphql = &graphql.data()["slaCompliance"];
    assert_eq!(json_file["closed_within_sla"], graphql["closedWithinSla"]);
    assert_eq!(json_file["breached"], graphql["breached"]);
    assert_eq!(json_file["compliance_rate"], graphql["complianceRate"]);
    assert_eq!(json_file["breaches"][0]["reference"], "JIRA-101");
    let csv = download(&app, &format!("format=csv&productId={bank}&quarter=2026-Q1"), Some(&token)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("text");
    assert!(csv.contains("Royal-Bank-Integration,2026-01-01,2026-03-31,High,20,19,1,0,95.00,95.00,PASS\r\n"), "{csv}");
    assert!(csv.contains("Royal-Bank-Integration,2026-01-01,2026-03-31,Total,24,21,2,1,91.30,,PASS\r\n"), "{csv}");
    assert!(
        csv.contains("SQL injection,JIRA-101,High,2026-03-08T00:00:00+00:00,172800,2026-03-10T00:00:00+00:00"),
        "{csv}"
    );

    // Same authorization as GraphQL, and clear errors.
    let (otto, jwt) = app.user("otto").await;
    app.add_member(&bank, &otto, "READER").await;
    let bearer = format!("Bearer {jwt}");
    assert_eq!(download(&app, &format!("productId={bank}&quarter=2026-Q1"), Some(&bearer)).await.status(), 200);
    assert_eq!(download(&app, &format!("productId={portal}&quarter=2026-Q1"), Some(&bearer)).await.status(), 404);
    assert_eq!(download(&app, "quarter=2026-Q1", None).await.status(), 401);
    for query in [
        "quarter=2026-Q1&format=xls",
        "from=2026-03-31&to=2026-01-01",
        "quarter=2026-Q1&colour=red",
        "from=31.03.2026&to=2026-04-01",
        "",
    ] {
        let response = download(&app, query, Some(&token)).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("JSON error");
        assert!(body.as_object().is_some_and(|o| !o.is_empty()), "{query}: {body}");
    }
    assert_eq!(download(&app, "productId=999999&quarter=2026-Q1", Some(&token)).await.status(), 404);
}

#[tokio::test]
async fn the_report_command_writes_the_same_files_offline() {
    let app = crate::helpers::spawn_app_with(|config| config.scheduler_enabled = false).await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let (bank, _, _, _) = quarter_of_history(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_slawatch"))
            .arg("report")
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &app.state.config.database_url)
            .env("SLAWATCH_JWT_SECRET", crate::helpers::JWT_SECRET)
            .output()
            .expect("slawatch runs")
    };
    let csv = run(&["--product", "Royal-Bank-Integration", "--quarter", "2026-Q1", "--format", "csv", "--output", "-"]);
    assert!(csv.status.success(), "{}", String::from_utf8_lossy(&csv.stderr));
    let served = download(
        &app,
        &format!("format=csv&productId={bank}&quarter=2026-Q1"),
        Some(&format!("Token {}", app.admin_api_token)),
    )
    .await
    .text()
    .await
    .expect("text");
    assert_eq!(String::from_utf8(csv.stdout).expect("UTF-8"), served);

    let pdf = run(&["--product", "Golem Portal", "--from", "2026-01-01", "--to", "2026-03-31"]);
    assert!(pdf.status.success(), "{}", String::from_utf8_lossy(&pdf.stderr));
    let written = dir.path().join("sla-compliance-golem-portal-2026-01-01-2026-03-31.pdf");
    let bytes = std::fs::read(&written).expect("the PDF was written");
    if let Some(text) = pdf_text(&bytes).await {
        assert!(text.contains("Golem Portal") && text.contains("Open redirect"), "{text}");
    }

    for (args, message) in [
        (vec!["--product", "Nope", "--quarter", "2026-Q1"], "no product named \"Nope\""),
        (vec!["--quarter", "2026-Q7"], "not a quarter"),
        (vec!["--from", "2026-03-31", "--to", "2026-01-01"], "inverted"),
        (vec!["--quarter", "2026-Q1", "--format", "docx"], "is not a format"),
    ] {
        let failed = run(&args);
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success() && stderr.contains(message), "{args:?}: {stderr}");
    }
}

const CREATE_SCHEDULE: &str = "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) {
    id cron period format recipients nextRunAt lastRunAt } }";

const GENERATE: &str = "mutation($i: GenerateReportInput!) {
    generateReport(input: $i) { id productId from to format fileName downloadPath scheduleId } }";

#[tokio::test]
async fn a_generated_report_is_kept_announced_and_only_for_those_who_may_see_it() {
    let app = spawn_app().await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let (bank, portal, _, _) = quarter_of_history(&app).await;
    let (otto, otto_jwt) = app.user("otto").await;
    app.add_member(&bank, &otto, "READER").await;
    let (_, vimes_jwt) = app.user("vimes").await;

    let generated =
        app.gql(Some(&otto_jwt), GENERATE, json!({ "i": { "productId": bank, "quarter": "2026-Q1" } })).await;
    let report = generated.data()["generateReport"].clone();
    assert_eq!((report["from"].as_str(), report["to"].as_str()), (Some("2026-01-01"), Some("2026-03-31")));
    assert_eq!(report["format"], "pdf");
    let path = report["downloadPath"].as_str().expect("path").to_owned();
    let fetch = |authorization: String| {
        let request = app.client.get(app.url(&path)).header("Authorization", authorization);
        async move { request.send().await.expect("download") }
    };
    let first = fetch(format!("Bearer {otto_jwt}")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "application/pdf");
    let first = first.bytes().await.expect("body");
    // Kept as generated: the figures as of a later instant do not change the file.
    app.clock.advance(chrono::TimeDelta::minutes(30));
    let again = fetch(format!("Token {}", app.admin_api_token)).await.bytes().await.expect("body");
    assert_eq!(first, again);
    assert_eq!(fetch(format!("Bearer {vimes_jwt}")).await.status(), 404);
    let mut forged = path.clone();
    forged.push('9');
    assert_eq!(
        app.client
            .get(app.url(&forged))
            .header("Authorization", format!("Bearer {otto_jwt}"))
            .send()
            .await
            .expect("request")
            .status(),
        404
    );

    // Otto hears of it with the link, and finds it in his list; Vimes has none.
    let titles = app.alert_titles(&otto_jwt, 1).await;
    assert_eq!(titles, ["SLA compliance report ready: Royal-Bank-Integration, 2026-01-01 to 2026-03-31"]);
    let alerts = app.gql(Some(&otto_jwt), "{ alerts { edges { node { url } } } }", json!({})).await;
    assert!(alerts.data()["alerts"]["edges"][0]["node"]["url"].as_str().is_some_and(|u| u.ends_with(&path)));
    let listed = app.gql(Some(&otto_jwt), "{ reports { id fileName } }", json!({})).await;
    assert_eq!(listed.data()["reports"][0]["id"], report["id"]);
    let none = app.gql(Some(&vimes_jwt), "{ reports { id } }", json!({})).await;
    assert_eq!(none.data()["reports"], json!([]));
    // A product he may not view cannot be reported on.
    let refused =
        app.gql(Some(&otto_jwt), GENERATE, json!({ "i": { "productId": portal, "quarter": "2026-Q1" } })).await;
    assert_eq!(refused.code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_quarterly_schedule_sends_the_report_once_to_its_owner_and_recipients() {
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::helpers::spawn_app_without_scheduler(|config| config.email_url = Some(url)).await;
    app.admin(
        "mutation { updateSystemSettings(input: {enableMail: true, siteUrl: \"https://slawatch.golemtrust.am\"}) { enableMail } }",
        json!({}),
    )
    .await
    .data();
    app.clock.set(at("2026-03-31T23:00:00Z"));
    let (bank, _, _, _) = quarter_of_history(&app).await;
    let input = json!({ "name": "Royal Bank quarterly", "productId": bank, "cron": "0 6 1 1,4,7,10 *",
        "period": "PREVIOUS_QUARTER", "format": "CSV", "recipients": ["bent@royalbank.am"] });
    let created = app.admin(CREATE_SCHEDULE, json!({ "i": input })).await;
    let schedule = created.data()["createReportSchedule"].clone();
    assert_eq!(schedule["nextRunAt"], "2026-04-01T06:00:00+00:00");
    for (change, code) in [
        (json!({ "cron": "every quarter" }), "BAD_USER_INPUT"),
        (json!({ "recipients": ["not an email"] }), "BAD_USER_INPUT"),
        (json!({ "name": " " }), "BAD_USER_INPUT"),
        (json!({ "productId": "999999" }), "NOT_FOUND"),
    ] {
        let mut bad = input.clone();
        for (key, value) in change.as_object().expect("object") {
            bad[key] = value.clone();
        }
        assert_eq!(app.admin(CREATE_SCHEDULE, json!({ "i": bad })).await.code(), code, "{change}");
    }

    // 06:00:30 on 1 April: the scheduler generates Q1's report once, mails Mr. Bent the link.
    app.clock.set(at("2026-04-01T06:00:30Z"));
    app.run_due_jobs().await;
    let listed = app.admin("{ reports { id scheduleId fileName downloadPath } }", json!({})).await;
    let report = &listed.data()["reports"][0];
    assert_eq!(report["scheduleId"], schedule["id"]);
    assert_eq!(report["fileName"], "sla-compliance-royal-bank-integration-2026-01-01-2026-03-31.csv");
    let mails = sink.wait_for(1).await;
    let log = app.admin("{ deliveries { edges { node { channel target status lastError } } } }", json!({})).await;
    assert_eq!(mails.len(), 1, "{mails:?} {:?}", log.0);
    assert_eq!(mails[0].to, ["bent@royalbank.am"]);
    let link = format!("https://slawatch.golemtrust.am{}", report["downloadPath"].as_str().expect("path"));
    assert!(mails[0].data.contains(&link), "{}", mails[0].data);
    let csv = app
        .client
        .get(app.url(report["downloadPath"].as_str().expect("path")))
        .header("Authorization", format!("Token {}", app.admin_api_token))
        .send()
        .await
        .expect("download")
        .text()
        .await
        .expect("CSV");
    assert!(csv.contains("Royal-Bank-Integration,2026-01-01,2026-03-31,Total,24,21,2,1,91.30,,PASS"), "{csv}");

    // More runs add nothing; the schedule now waits for July.
    app.run_due_jobs().await;
    app.run_due_jobs().await;
    let after = app.admin("{ reports { id } reportSchedules { nextRunAt lastRunAt } }", json!({})).await;
    assert_eq!(after.data()["reports"].as_array().map(Vec::len), Some(1));
    assert_eq!(after.data()["reportSchedules"][0]["nextRunAt"], "2026-07-01T06:00:00+00:00");
    assert_eq!(after.data()["reportSchedules"][0]["lastRunAt"], "2026-04-01T06:00:30+00:00");
}
