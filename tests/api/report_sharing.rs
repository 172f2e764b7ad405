//! Reports that reach someone without an account: a schedule's extra recipient gets the file attached and a
//! signed link that opens it without credentials until it expires or is revoked; `shareReport` makes such
//! a link by hand; a changed link is refused.

use base64::Engine;
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::compliance::{pdf_text, quarter_of_history};
use crate::helpers::{TestApp, at, spawn_app_without_scheduler};
use crate::smtp_sink::SmtpSink;

/// The first attachment of a mail as lettre writes it: its headers, then base64 lines up to the boundary.
fn attachment(mail: &str) -> (String, Vec<u8>) {
    let start = mail.find("Content-Disposition: attachment").expect("an attachment");
    let part = &mail[start..];
    let (headers_end, gap) = part
        .find("\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| part.find("\n\n").map(|at| (at, 2)))
        .expect("the part's headers end");
    let headers = part[..headers_end].to_owned();
    let body: String =
        part[headers_end + gap..].lines().take_while(|line| !line.starts_with("--")).collect::<Vec<_>>().concat();
    let bytes = base64::engine::general_purpose::STANDARD.decode(body.trim()).expect("base64 body");
    (headers, bytes)
}

/// `GET` a link without credentials: the status and the body.
async fn fetch(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let response = app.client.get(url).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

/// A link whose `name` parameter is `value`.
fn with(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == name { value.to_owned() } else { v.into_owned() }))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test]
async fn mr_bent_gets_the_pdf_attached_and_a_link_that_opens_until_it_expires() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_without_scheduler(|config| config.email_url = Some(url)).await;
    let site = app.url("");
    app.admin(
        "mutation($s: String!) { updateSystemSettings(input: {enableMail: true, siteUrl: $s}) { enableMail } }",
        json!({ "s": site }),
    )
    .await
    .data();
    app.clock.set(at("2026-03-31T23:00:00Z"));
    let (bank, _, _, _) = quarter_of_history(&app).await;
    let schedule = json!({ "name": "Royal Bank quarterly", "productId": bank, "cron": "0 6 1 1,4,7,10 *",
        "period": "PREVIOUS_QUARTER", "format": "PDF", "recipients": ["bent@royalbank.am"] });
    app.admin(
        "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) { id } }",
        json!({ "i": schedule }),
    )
    .await
    .data();
    app.clock.set(at("2026-04-01T06:00:30Z"));
    app.run_due_jobs().await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["bent@royalbank.am"]);

    // The PDF itself, attached.
    let (headers, pdf) = attachment(&mails[0].data);
    // The name may come in RFC 2231 pieces (`filename*0="…"; filename*1="…"`).
    let file_name: String = headers.split("filename").skip(1).filter_map(|piece| piece.split('"').nth(1)).collect();
    assert_eq!(file_name, "sla-compliance-royal-bank-integration-2026-01-01-2026-03-31.pdf", "{headers}");
    assert!(mails[0].data.contains("Content-Type: application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    if let Some(text) = pdf_text(&pdf).await {
        assert!(text.contains("Royal-Bank-Integration"), "{text}");
    }

    // The link in the mail (its text part is quoted-printable) opens the same file without credentials.
    let text = mails[0].data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let link = text
        .lines()
        .find_map(|line| line.strip_prefix("Without an account, until ").and_then(|rest| rest.split_once(": ")))
        .map(|(_, link)| link.trim().to_owned())
        .expect("a link without an account");
    assert!(link.starts_with(&format!("{site}/reports/")), "{link}");
    assert_eq!(fetch(&app, &link).await, (200, pdf.clone()));
    let plain = link.split('?').next().expect("path");
    assert_eq!(fetch(&app, plain).await.0, 401, "the report itself still needs an account");

    // Changed, it is refused: another report, a later expiry, another signature.
    let exp: i64 = url::Url::parse(&link)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .and_then(|(_, v)| v.parse().ok())
        .expect("exp");
    for tampered in [
        with(&link, "exp", &(exp + 86_400).to_string()),
        with(&link, "sig", &"0".repeat(64)),
        with(&link, "share", "999"),
        link.replacen("/reports/1?", "/reports/2?", 1),
    ] {
        assert_eq!(fetch(&app, &tampered).await.0, 403, "{tampered}");
    }
    // Thirty days later it has expired.
    app.clock.advance(TimeDelta::days(30));
    let (status, body) = fetch(&app, &link).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("expired"));
}

#[tokio::test]
async fn a_report_is_shared_by_hand_and_the_link_is_revoked() {
    let app = spawn_app_without_scheduler(|_| {}).await;
    let site = app.url("");
    app.admin("mutation($s: String!) { updateSystemSettings(input: {siteUrl: $s}) { siteUrl } }", json!({ "s": site }))
        .await
        .data();
    app.clock.set(at("2026-04-10T08:00:00Z"));
    let (bank, _, _, _) = quarter_of_history(&app).await;
    let generate = "mutation($i: GenerateReportInput!) { generateReport(input: $i) { id } }";
    let made = app.admin(generate, json!({ "i": { "productId": bank, "quarter": "2026-Q1", "format": "CSV" } })).await;
    let report = made.data()["generateReport"]["id"].as_str().expect("id").to_owned();
    let share =
        "mutation($id: ID!, $d: Int) { shareReport(id: $id, expiresInDays: $d) { id reportId url expiresAt revoked } }";
    let shared = app.admin(share, json!({ "id": report, "d": 7 })).await;
    let link: Value = shared.data()["shareReport"].clone();
    assert_eq!((link["reportId"].clone(), link["revoked"].clone()), (json!(report), json!(false)));
    assert_eq!(link["expiresAt"], "2026-04-17T08:00:00+00:00");
    let url = link["url"].as_str().expect("url").to_owned();
    let (status, body) = fetch(&app, &url).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Royal-Bank-Integration"));

    // Bad input and who may.
    for days in [0, 366] {
        assert_eq!(app.admin(share, json!({ "id": report, "d": days })).await.code(), "BAD_USER_INPUT", "{days}");
    }
    assert_eq!(app.admin(share, json!({ "id": "999999" })).await.code(), "NOT_FOUND");
    let (_, nobby) = app.user("nobby").await;
    assert_eq!(app.gql(Some(&nobby), share, json!({ "id": report })).await.code(), "NOT_FOUND", "not his report");
    assert_eq!(app.gql(None, share, json!({ "id": report })).await.code(), "UNAUTHENTICATED");
    let revoke = "mutation($id: ID!) { revokeReportShare(id: $id) { revoked } }";
    let share_id = link["id"].clone();
    assert_eq!(app.gql(Some(&nobby), revoke, json!({ "id": share_id })).await.code(), "NOT_FOUND");

    // Revoked, it stops at once.
    assert_eq!(app.admin(revoke, json!({ "id": share_id })).await.data()["revokeReportShare"]["revoked"], true);
    let (status, body) = fetch(&app, &url).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("revoked"));
}
