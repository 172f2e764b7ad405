//! The report as CSV (RFC 4180): a summary table (one row per severity and a total), a blank line, then the
//! breaches table.

use std::fmt::Write as _;

use super::{ReportView, verdict_text};

/// One CSV field, quoted when it has to be. A cell a spreadsheet would run as a formula (a finding title
/// such as `=HYPERLINK(…)` comes from a scanner or any writer) is neutralised with a leading `'` (OWASP's
/// advice); no figure of the report starts with one of those characters.
fn field(value: &str) -> String {
    let neutralised;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        neutralised = format!("'{value}");
        neutralised.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn row(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let _ = write!(out, "{}\r\n", line.join(","));
}

fn rate(value: Option<f64>) -> String {
    value.map(|r| format!("{r:.2}")).unwrap_or_default()
}

pub fn render(view: &ReportView) -> String {
    let mut out = String::new();
    let header = [
        "product",
        "from",
        "to",
        "severity",
        "opened",
        "closed_within_sla",
        "breached",
        "still_open_breached",
        "compliance_rate",
        "target",
        "result",
    ];
    row(&mut out, &header.map(str::to_owned));
    let prefix = [view.product.clone(), view.from.to_string(), view.to.to_string()];
    for s in &view.severities {
        let mut fields = prefix.to_vec();
        fields.extend([
            s.severity.as_str().to_owned(),
            s.opened.to_string(),
            s.on_time.to_string(),
            s.breached.to_string(),
            s.still_open_breached.to_string(),
            rate(s.compliance_rate),
            rate(s.target),
            verdict_text(s.passed).to_owned(),
        ]);
        row(&mut out, &fields);
    }
    let mut total = prefix.to_vec();
    let still_open: u32 = view.severities.iter().map(|s| s.still_open_breached).sum();
    total.extend([
        "Total".to_owned(),
        view.opened.to_string(),
        view.closed_within_sla.to_string(),
        view.breached.to_string(),
        still_open.to_string(),
        rate(view.compliance_rate),
        String::new(),
        (if view.passed { "PASS" } else { "FAIL" }).to_owned(),
    ]);
    row(&mut out, &total);
    out.push_str("\r\n");
    let header =
        ["finding_id", "title", "reference", "severity", "deadline", "breach_duration_seconds", "remediated_at"];
    row(&mut out, &header.map(str::to_owned));
    for b in &view.breaches {
        row(
            &mut out,
            &[
                b.finding_id.to_string(),
                b.title.clone(),
                b.reference.clone().unwrap_or_default(),
                b.severity.to_owned(),
                b.deadline.to_rfc3339(),
                b.breach_duration_seconds.to_string(),
                b.remediated_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_or_newlines_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        assert_eq!(field("=HYPERLINK(\"http://evil\")"), "\"'=HYPERLINK(\"\"http://evil\"\")\"");
        for start in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(field(start).trim_start_matches('"').starts_with('\''), "{start:?}");
        }
        assert_eq!(field("SQL injection"), "SQL injection");
        assert_eq!(field("95.00"), "95.00");
    }
}
