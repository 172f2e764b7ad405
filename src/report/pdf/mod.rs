//! The report as a PDF (`krilla`, PDF/A-2b, the `DejaVu Sans` font embedded and subset, every figure
//! selectable text): page 1 the executive summary (organisation, product, period, as-of instant, the SLA
//! profile applied, the per-severity table against the targets, the verdict, who prepared it, how findings are
//! counted); page 2 the charts (compliance rate per severity against its target, days to remediate against
//! the SLA days); then the Critical and High breaches and, as an appendix, every finding counted. Each page
//! names the product and period and says "page X of Y".

mod charts;
mod pen;

use krilla::Document;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::Font;
use krilla::{SerializeSettings, metadata};

use self::charts::Frame;
use self::pen::{BLACK, Colour, GREEN, GREY, LIGHT, Pen, RED};
use super::{RenderError, ReportView, rate_text, verdict_text};
use crate::domain::sla::human_duration;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// A4 in points.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const ROW: f32 = 16.0;
/// Where the flowing pages' lines may go.
const FLOW_TOP: f32 = MARGIN + 10.0;
const FLOW_BOTTOM: f32 = HEIGHT - MARGIN - 10.0;

/// How findings are counted, in the words of the README's definitions.
const HOW_COUNTED: [&str; 7] = [
    "Opened: findings reported (SLA start) in the period. A finding counts when it was remediated in the period,",
    "or was still open past its deadline at the as-of instant. Opened is not within SLA + breached: a finding",
    "reported in the period and not yet due at the as-of instant does not count yet, and one reported earlier",
    "counts when it is fixed or due in the period. Within SLA: remediated at or before its deadline. Breached:",
    "remediated after it, or open past it at the as-of instant. Findings without an SLA (Info, unenforced",
    "severities) or closed without remediation (false positive, duplicate, out of scope, accepted risk) never",
    "count. Rate = within SLA / (within SLA + breached). Targets: Critical 100 %, High at least 95 %.",
];

pub fn render(view: &ReportView) -> Result<Vec<u8>, RenderError> {
    let font = Font::new(FONT.to_vec().into(), 0).ok_or_else(|| RenderError("the embedded font is invalid".into()))?;
    let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| RenderError("bad page size".into()))?;
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| RenderError(format!("PDF/A configuration: {e:?}")))?;
    let mut document = Document::new_with(SerializeSettings { configuration, ..SerializeSettings::default() });
    document.set_metadata(
        Metadata::new()
            .title(format!("SLA compliance report: {}, {} to {}", view.product, view.from, view.to))
            .creator("slawatch".to_owned())
            .language("en".to_owned())
            .creation_date(pdf_date(view.generated_at)),
    );

    let flowing = paginate(&flowing_lines(view));
    let total = 2 + flowing.len();
    let footer = |pen: &mut Pen<'_, '_>, number: usize| {
        let place = format!("{}: {} to {}", view.product, view.from, view.to);
        pen.text(MARGIN, HEIGHT - 28.0, 8.0, GREY, &place);
        pen.text_right(WIDTH - MARGIN, HEIGHT - 28.0, 8.0, GREY, &format!("page {number} of {total}"));
    };

    let mut page = document.start_page_with(settings.clone());
    let mut surface = page.surface();
    let mut pen = Pen { surface: &mut surface, font: font.clone() };
    summary_page(&mut pen, view);
    footer(&mut pen, 1);
    surface.finish();
    page.finish();

    let mut page = document.start_page_with(settings.clone());
    let mut surface = page.surface();
    let mut pen = Pen { surface: &mut surface, font: font.clone() };
    pen.text(MARGIN, MARGIN + 14.0, 14.0, BLACK, "Compliance rate per severity against the target");
    charts::compliance_bars(
        &mut pen,
        view,
        Frame { x: MARGIN, y: MARGIN + 28.0, width: WIDTH - 2.0 * MARGIN, height: 300.0 },
    );
    pen.text(MARGIN, MARGIN + 370.0, 14.0, BLACK, "Days to remediate per severity against the SLA days");
    pen.text(
        MARGIN,
        MARGIN + 386.0,
        8.5,
        GREY,
        "Box: quartiles; line: median; whiskers: fastest and slowest; red dashes: the SLA.",
    );
    charts::remediation_boxes(
        &mut pen,
        view,
        Frame { x: MARGIN, y: MARGIN + 396.0, width: WIDTH - 2.0 * MARGIN, height: 220.0 },
    );
    footer(&mut pen, 2);
    surface.finish();
    page.finish();

    for (index, lines) in flowing.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut pen = Pen { surface: &mut surface, font: font.clone() };
        let mut y = FLOW_TOP;
        for line in lines {
            y = draw_line(&mut pen, line, y);
        }
        footer(&mut pen, index + 3);
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| RenderError(format!("{e:?}")))
}

fn pdf_date(at: chrono::DateTime<chrono::Utc>) -> metadata::DateTime {
    use chrono::{Datelike, Timelike};
    let narrow = |n: u32| u8::try_from(n).unwrap_or(0);
    metadata::DateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(narrow(at.month()))
        .day(narrow(at.day()))
        .hour(narrow(at.hour()))
        .minute(narrow(at.minute()))
        .second(narrow(at.second()))
}

/// Page 1: who, what, when, by which rules, and the verdict.
fn summary_page(pen: &mut Pen<'_, '_>, view: &ReportView) {
    let mut y = MARGIN + 16.0;
    pen.text(MARGIN, y, 22.0, BLACK, "SLA compliance report");
    y += 26.0;
    let organisation = if view.organisation.is_empty() { String::new() } else { format!("{}: ", view.organisation) };
    pen.text(MARGIN, y, 14.0, BLACK, &format!("{organisation}{}", view.product));
    y += 18.0;
    pen.text(MARGIN, y, 10.0, BLACK, &format!("Period: {} to {}", view.from, view.to));
    y += 14.0;
    pen.text(MARGIN, y, 9.5, GREY, &format!("Figures as of {} (UTC)", view.as_of.format("%Y-%m-%d %H:%M")));
    y += 13.0;
    let prepared = format!(
        "Prepared by {} on {} (UTC) with slawatch",
        view.prepared_by,
        view.generated_at.format("%Y-%m-%d %H:%M")
    );
    pen.text(MARGIN, y, 9.5, GREY, &prepared);
    y += 14.0;

    let (verdict, colour) = if view.passed { ("Targets met: PASS", GREEN) } else { ("Targets missed: FAIL", RED) };
    pen.rect(MARGIN, y, WIDTH - 2.0 * MARGIN, 40.0, LIGHT, Some(colour));
    pen.text(MARGIN + 10.0, y + 26.0, 16.0, colour, verdict);
    pen.text(
        MARGIN + 250.0,
        y + 25.0,
        11.0,
        BLACK,
        &format!("Overall compliance rate: {}", rate_text(view.compliance_rate)),
    );
    y += 62.0;

    pen.text(MARGIN, y, 12.0, BLACK, "Compliance by severity");
    y += 8.0;
    for line in severity_table(view) {
        y = draw_line(pen, &line, y);
    }
    y += 12.0;

    pen.text(MARGIN, y, 12.0, BLACK, "SLA profile applied (days to remediate)");
    y += 6.0;
    for profile in view.profiles.iter().take(6) {
        let days: Vec<String> = profile
            .days
            .iter()
            .map(|(severity, days)| {
                days.map_or_else(|| format!("{severity} not enforced"), |d| format!("{severity} {d} d"))
            })
            .collect();
        y += ROW - 2.0;
        pen.text(MARGIN, y, 9.5, BLACK, &clip(&format!("{}: {}", profile.name, days.join(", ")), 95));
        if view.profiles.len() > 1 {
            y += ROW - 4.0;
            pen.text(MARGIN + 12.0, y, 8.5, GREY, &clip(&format!("for {}", profile.products.join(", ")), 100));
        }
    }
    if view.profiles.len() > 6 {
        y += ROW - 2.0;
        pen.text(MARGIN, y, 9.0, GREY, &format!("and {} more profiles", view.profiles.len() - 6));
    }
    y += ROW - 2.0;
    if view.profile_changes.is_empty() {
        pen.text(
            MARGIN,
            y,
            8.5,
            GREY,
            "No change of profile during the period (days as configured when the report was made).",
        );
    } else {
        pen.text(
            MARGIN,
            y,
            9.0,
            BLACK,
            "Changes of profile during the period (each recomputed the open findings' deadlines):",
        );
        for change in view.profile_changes.iter().take(5) {
            y += ROW - 4.0;
            let line = format!("{}: {}", change.changed_at.format("%Y-%m-%d %H:%M"), change.summary);
            pen.text(MARGIN + 12.0, y, 8.5, BLACK, &clip(&line, 100));
        }
        if view.profile_changes.len() > 5 {
            y += ROW - 4.0;
            pen.text(MARGIN + 12.0, y, 8.5, GREY, &format!("and {} more", view.profile_changes.len() - 5));
        }
    }
    y += 18.0;

    let box_height = 20.0 + ROW * 0.8 * 7.0;
    pen.rect(MARGIN, y, WIDTH - 2.0 * MARGIN, box_height, (246, 247, 249), Some(GREY));
    pen.text(MARGIN + 8.0, y + 15.0, 10.5, BLACK, "How findings are counted");
    let mut line_y = y + 15.0;
    for text in HOW_COUNTED {
        line_y += ROW * 0.8;
        pen.text(MARGIN + 8.0, line_y, 8.2, BLACK, text);
    }
}

/// The per-severity table and its total, as lines.
fn severity_table(view: &ReportView) -> Vec<Line> {
    let columns = vec![MARGIN, 118.0, 170.0, 236.0, 292.0, 352.0, 410.0, 468.0];
    let mut rows = vec![Line::Cells(
        ["Severity", "Opened", "Within SLA", "Breached", "Still open", "Rate", "Target", "Result"]
            .map(str::to_owned)
            .to_vec(),
        columns.clone(),
        BLACK,
        true,
    )];
    for s in &view.severities {
        let colour = match s.passed {
            Some(true) => GREEN,
            Some(false) => RED,
            None => BLACK,
        };
        rows.push(Line::Cells(
            vec![
                s.severity.as_str().to_owned(),
                s.opened.to_string(),
                s.on_time.to_string(),
                s.breached.to_string(),
                s.still_open_breached.to_string(),
                rate_text(s.compliance_rate),
                s.target.map(|t| format!("{t:.0} %")).unwrap_or_default(),
                verdict_text(s.passed).to_owned(),
            ],
            columns.clone(),
            colour,
            false,
        ));
    }
    rows.push(Line::Cells(
        vec![
            "Total".to_owned(),
            view.opened.to_string(),
            view.closed_within_sla.to_string(),
            view.breached.to_string(),
            view.severities.iter().map(|s| s.still_open_breached).sum::<u32>().to_string(),
            rate_text(view.compliance_rate),
            String::new(),
            (if view.passed { "PASS" } else { "FAIL" }).to_owned(),
        ],
        columns,
        if view.passed { GREEN } else { RED },
        true,
    ));
    rows
}

/// The breaches, then the appendix of every finding counted.
fn flowing_lines(view: &ReportView) -> Vec<Line> {
    let mut rows = vec![Line::Heading(format!("Critical and High breaches ({})", view.breaches.len()))];
    let breach_columns = vec![MARGIN, 96.0, 236.0, 300.0, 356.0, 420.0];
    rows.push(Line::Cells(
        ["Finding", "Title", "Reference", "Severity", "Deadline", "Breach / remediated"].map(str::to_owned).to_vec(),
        breach_columns.clone(),
        BLACK,
        true,
    ));
    if view.breaches.is_empty() {
        rows.push(Line::Note("No Critical or High finding breached its SLA in this period.".to_owned()));
    }
    for b in &view.breaches {
        let remediated =
            b.remediated_at.map_or_else(|| "still open".to_owned(), |at| at.format("%Y-%m-%d").to_string());
        rows.push(Line::Cells(
            vec![
                format!("#{}", b.finding_id),
                clip(&b.title, 26),
                clip(b.reference.as_deref().unwrap_or("-"), 12),
                b.severity.to_owned(),
                b.deadline.format("%Y-%m-%d").to_string(),
                format!("{} / {remediated}", human_duration(b.breach_duration_seconds)),
            ],
            breach_columns.clone(),
            BLACK,
            false,
        ));
    }
    rows.push(Line::Gap);
    rows.push(Line::Heading(format!("Appendix: every finding counted ({})", view.counted.len())));
    let columns = vec![MARGIN, 96.0, 262.0, 310.0, 370.0, 430.0, 492.0];
    rows.push(Line::Cells(
        ["Finding", "Title", "Severity", "Reported", "Deadline", "Remediated", "Result"].map(str::to_owned).to_vec(),
        columns.clone(),
        BLACK,
        true,
    ));
    for c in &view.counted {
        rows.push(Line::Cells(
            vec![
                format!("#{}", c.finding_id),
                clip(&c.title, 30),
                c.severity.to_owned(),
                c.reported_at.format("%Y-%m-%d").to_string(),
                c.deadline.format("%Y-%m-%d").to_string(),
                c.remediated_at.map_or_else(|| "open".to_owned(), |at| at.format("%Y-%m-%d").to_string()),
                (if c.breached { "breached" } else { "within SLA" }).to_owned(),
            ],
            columns.clone(),
            if c.breached { RED } else { BLACK },
            false,
        ));
    }
    rows
}

/// Splits the flowing lines into pages.
fn paginate(lines: &[Line]) -> Vec<Vec<Line>> {
    let mut pages: Vec<Vec<Line>> = Vec::new();
    let mut y = FLOW_BOTTOM;
    for line in lines {
        if y + line.height() > FLOW_BOTTOM {
            pages.push(Vec::new());
            y = FLOW_TOP;
        }
        y += line.height();
        if let Some(page) = pages.last_mut() {
            page.push(line.clone());
        }
    }
    pages
}

/// One line of a table or of the flowing pages.
#[derive(Clone)]
enum Line {
    Heading(String),
    /// Cells at x positions, in a colour, underlined when a header.
    Cells(Vec<String>, Vec<f32>, Colour, bool),
    Note(String),
    Gap,
}

impl Line {
    fn height(&self) -> f32 {
        match self {
            Self::Heading(_) => ROW + 12.0,
            _ => ROW,
        }
    }
}

/// Draws a line at `y` and returns the next line's `y`.
fn draw_line(pen: &mut Pen<'_, '_>, line: &Line, y: f32) -> f32 {
    match line {
        Line::Heading(text) => pen.text(MARGIN, y + 16.0, 13.0, BLACK, text),
        Line::Cells(cells, columns, colour, header) => {
            for (cell, x) in cells.iter().zip(columns) {
                pen.text(*x, y + 12.0, 9.0, *colour, cell);
            }
            if *header {
                pen.line((MARGIN, y + ROW - 1.0), (WIDTH - MARGIN, y + ROW - 1.0), 0.5, BLACK, false);
            }
        }
        Line::Note(text) => pen.text(MARGIN, y + 12.0, 9.5, GREY, text),
        Line::Gap => {}
    }
    y + line.height()
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(chars.saturating_sub(1)).collect::<String>())
    }
}
