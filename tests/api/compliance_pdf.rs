//! The compliance PDF as the auditor reads it: every figure of page 1 (organisation, product, period, as-of,
//! who prepared it, the verdict, the per-severity table, the SLA profile's days, how findings are counted), the
//! charts of page 2 (their figures as text, and drawn: page 2 rendered by `pdftoppm` has the bars' colour),
//! "page X of Y" with the product and period on every page, and an appendix listing every counted finding.
//! Page 1 is kept as a PNG under `target/reports/` (CI's artifact). Needs poppler-utils (CI).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::compliance::{download, pdf_text, quarter_of_history};
use crate::helpers::{at, spawn_app};

/// `text` with every run of whitespace made one space.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How many pixels of `pdf`'s page `page` (rendered at 50 dpi) are within a few levels of `colour`.
fn pixels_of(pdf: &std::path::Path, page: u32, colour: (u8, u8, u8)) -> usize {
    let page = page.to_string();
    let output = Command::new("pdftoppm")
        .args(["-f", &page, "-l", &page, "-r", "50", "-singlefile"])
        .arg(pdf)
        .output()
        .expect("pdftoppm runs");
    assert!(output.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&output.stderr));
    // PPM: "P6\n<width> <height>\n255\n" then RGB bytes.
    let bytes = output.stdout;
    let mut fields = 0;
    let mut start = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if *byte == b'\n' {
            fields += 1;
            if fields == 3 {
                start = i + 1;
                break;
            }
        }
    }
    let near = |a: u8, b: u8| a.abs_diff(b) <= 12;
    bytes[start..]
        .chunks_exact(3)
        .filter(|p| near(p[0], colour.0) && near(p[1], colour.1) && near(p[2], colour.2))
        .count()
}

#[tokio::test]
async fn the_auditors_pdf_states_everything_on_page_1_draws_its_charts_and_lists_every_counted_finding() {
    let app = spawn_app().await;
    app.clock.set(at("2026-04-10T09:00:00Z"));
    app.admin("mutation { updateSystemSettings(input: {teamName: \"Golem Trust\"}) { teamName } }", json!({}))
        .await
        .data();
    let (bank, portal, _, _) = quarter_of_history(&app).await;
    // Two changes of profile in the quarter: the Default configuration's Low days (the bank's profile; its
    // one Low is not due either way), and the Golem Portal moved to a stricter one (not the bank's concern).
    app.clock.set(at("2026-03-15T12:00:00Z"));
    let default = app.default_sla_id().await;
    app.admin(
        "mutation($id: ID!) { updateSlaConfiguration(id: $id, input: {low: 120}) { low } }",
        json!({ "id": default }),
    )
    .await
    .data();
    let strict =
        app.admin("mutation { createSlaConfiguration(input: {name: \"Strict\", high: 5}) { id } }", json!({})).await;
    let strict = strict.data()["createSlaConfiguration"]["id"].as_str().expect("id").to_owned();
    app.admin(
        "mutation($id: ID!, $c: ID!) { updateProduct(id: $id, input: {slaConfigurationId: $c}) { id } }",
        json!({ "id": portal, "c": strict }),
    )
    .await
    .data();
    app.clock.set(at("2026-04-10T09:00:00Z"));
    let token = format!("Token {}", app.admin_api_token);
    let response = download(&app, &format!("format=pdf&productId={bank}&quarter=2026-Q1"), Some(&token)).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let kept = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/reports");
    std::fs::create_dir_all(&kept).expect("target/reports");
    let pdf = kept.join("sla-compliance-royal-bank-2026-Q1.pdf");
    std::fs::write(&pdf, &bytes).expect("keep the PDF");
    let Some(text) = pdf_text(&bytes).await else { return };
    let pages: Vec<String> = text.split('\u{c}').filter(|page| !page.trim().is_empty()).map(squeezed).collect();
    let total = pages.len();
    assert!(total >= 3, "summary, charts, breaches and appendix: {total} pages");
    for (index, page) in pages.iter().enumerate() {
        assert!(page.contains("Royal-Bank-Integration: 2026-01-01 to 2026-03-31"), "page {}: {page}", index + 1);
        assert!(page.contains(&format!("page {} of {total}", index + 1)), "page {}: {page}", index + 1);
    }

    let first = &pages[0];
    for expected in [
        "SLA compliance report",
        "Golem Trust: Royal-Bank-Integration",
        "Period: 2026-01-01 to 2026-03-31",
        "Figures as of 2026-04-01 00:00 (UTC)",
        "Prepared by admin on 2026-04-10 09:00 (UTC)",
        "Targets met: PASS",
        "Overall compliance rate: 91.3 %",
        "Severity Opened Within SLA Breached Still open Rate Target Result",
        "Critical 2 2 0 0 100.0 % 100 % PASS",
        "High 20 19 1 0 95.0 % 95 % PASS",
        "Medium 1 0 1 1 0.0 %",
        "Total 24 21 2 1 91.3 % PASS",
        "Default: Critical 1 d, High 7 d, Medium 30 d, Low 120 d",
        "Changes of profile during the period",
        "2026-03-15 12:00: Default: Low 90 d → 120 d",
        "How findings are counted",
        "Opened is not within SLA + breached",
    ] {
        assert!(first.contains(expected), "{expected:?} not on page 1:\n{first}");
    }

    assert!(!first.contains("moved from"), "another product's move is not the bank's: {first}");

    // The Golem Portal's report states its move.
    let portal_pdf = download(&app, &format!("format=pdf&productId={portal}&quarter=2026-Q1"), Some(&token)).await;
    let portal_text =
        pdf_text(&portal_pdf.bytes().await.expect("body")).await.map(|t| squeezed(&t)).unwrap_or_default();
    assert!(portal_text.contains("2026-03-15 12:00: Golem Portal moved from Default to Strict"), "{portal_text}");
    assert!(portal_text.contains("Strict: Critical 1 d, High 5 d, Medium 30 d, Low 90 d"), "{portal_text}");

    let charts = &pages[1];
    for expected in [
        "Compliance rate per severity against the target",
        "target 100 %",
        "target 95 %",
        "Days to remediate per severity against the SLA days",
        "n=2 median 0.6 d, max 0.8 d; SLA 1 d",
        "n=20 median 3.0 d, max 9.0 d; SLA 7 d",
        "none remediated; SLA 30 d",
        "none remediated; SLA 120 d",
    ] {
        assert!(charts.contains(expected), "{expected:?} not on page 2:\n{charts}");
    }
    // The bars are drawn, not only labelled: page 2 has the Critical bar's colour, page 1 has none of it.
    assert!(pixels_of(&pdf, 2, (163, 0, 27)) > 50, "the Critical bar is drawn");
    assert_eq!(pixels_of(&pdf, 1, (163, 0, 27)), 0, "no chart on page 1");

    // The appendix lists every counted finding: on time + breached = 21 + 2.
    let rest = pages[2..].join(" ");
    assert!(rest.contains("Appendix: every finding counted (23)"), "{rest}");
    let appendix = &rest[rest.find("Appendix").expect("appendix")..];
    let listed = appendix.matches(" within SLA").count() + appendix.matches(" breached").count();
    assert_eq!(listed, 23, "{appendix}");
    assert!(appendix.contains("SQL injection") && appendix.contains("CSRF"), "{appendix}");

    // Page 1 as a picture, for CI's artifacts and the README.
    let png = Command::new("pdftoppm")
        .args(["-f", "1", "-l", "1", "-r", "80", "-png", "-singlefile"])
        .arg(&pdf)
        .arg(kept.join("sla-compliance-page-1"))
        .output()
        .expect("pdftoppm runs");
    assert!(png.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&png.stderr));
    assert!(std::fs::metadata(kept.join("sla-compliance-page-1.png")).is_ok_and(|m| m.len() > 10_000));
}
