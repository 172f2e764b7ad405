//! The report as a PDF (`krilla`, with the `DejaVu Sans` font embedded and subset): a title page with the
//! verdict, the per-severity table with compliance rates and PASS/FAIL against the targets, and the list of
//! breaches.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::{RenderError, ReportView, rate_text, verdict_text};
use crate::domain::sla::human_duration;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// A4 in points.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const ROW: f32 = 18.0;

const GREEN: (u8, u8, u8) = (0, 110, 40);
const RED: (u8, u8, u8) = (170, 0, 0);
const BLACK: (u8, u8, u8) = (0, 0, 0);
const GREY: (u8, u8, u8) = (90, 90, 90);

pub fn render(view: &ReportView) -> Result<Vec<u8>, RenderError> {
    let font = Font::new(FONT.to_vec().into(), 0).ok_or_else(|| RenderError("the embedded font is invalid".into()))?;
    let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| RenderError("bad page size".into()))?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("SLA compliance report: {}, {} to {}", view.product, view.from, view.to))
            .creator("slawatch".to_owned()),
    );

    // Title page.
    {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut pen = Pen { surface: &mut surface, font: font.clone() };
        pen.text(MARGIN, 200.0, 26.0, BLACK, "SLA compliance report");
        pen.text(MARGIN, 250.0, 18.0, BLACK, &view.product);
        pen.text(MARGIN, 280.0, 14.0, BLACK, &format!("Period: {} to {}", view.from, view.to));
        pen.text(MARGIN, 302.0, 11.0, GREY, &format!("Figures as of {} (UTC)", view.as_of.format("%Y-%m-%d %H:%M")));
        pen.text(
            MARGIN,
            320.0,
            11.0,
            GREY,
            &format!("Generated {} (UTC) by slawatch", view.generated_at.format("%Y-%m-%d %H:%M")),
        );
        pen.text(MARGIN, 380.0, 14.0, BLACK, &format!("Overall compliance rate: {}", rate_text(view.compliance_rate)));
        pen.text(
            MARGIN,
            402.0,
            11.0,
            BLACK,
            &format!(
                "Findings opened: {}   closed within SLA: {}   breached: {}",
                view.opened, view.closed_within_sla, view.breached
            ),
        );
        let (verdict, color) = if view.passed { ("Targets met: PASS", GREEN) } else { ("Targets missed: FAIL", RED) };
        pen.text(MARGIN, 440.0, 18.0, color, verdict);
        pen.text(
            MARGIN,
            470.0,
            10.0,
            GREY,
            "Targets: Critical 100 %, High at least 95 % of findings closed within SLA.",
        );
        surface.finish();
        page.finish();
    }

    // Per-severity table and breaches, on as many pages as they need.
    let columns = [MARGIN, 125.0, 180.0, 255.0, 315.0, 375.0, 435.0, 490.0];
    let mut rows: Vec<Line> = vec![
        Line::Heading("Compliance by severity".to_owned()),
        Line::Cells(
            ["Severity", "Opened", "Within SLA", "Breached", "Still open", "Rate", "Target", "Result"]
                .map(str::to_owned)
                .to_vec(),
            columns.to_vec(),
            BLACK,
            true,
        ),
    ];
    for s in &view.severities {
        let color = match s.passed {
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
            columns.to_vec(),
            color,
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
        columns.to_vec(),
        if view.passed { GREEN } else { RED },
        true,
    ));
    rows.push(Line::Gap);
    rows.push(Line::Heading(format!("Critical and High breaches ({})", view.breaches.len())));
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

    let mut remaining = rows.as_slice();
    let mut page_number = 1;
    while !remaining.is_empty() {
        page_number += 1;
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut pen = Pen { surface: &mut surface, font: font.clone() };
        pen.text(
            MARGIN,
            36.0,
            9.0,
            GREY,
            &format!("{}: {} to {}: page {page_number}", view.product, view.from, view.to),
        );
        let mut y = MARGIN + 20.0;
        while let Some((line, rest)) = remaining.split_first() {
            if y + ROW > HEIGHT - MARGIN {
                break;
            }
            y = pen.line(line, y);
            remaining = rest;
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| RenderError(format!("{e:?}")))
}

/// One line of the flowing pages.
enum Line {
    Heading(String),
    /// Cells at x positions, in a color, bold-ish (underlined) when a header.
    Cells(Vec<String>, Vec<f32>, (u8, u8, u8), bool),
    Note(String),
    Gap,
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(chars.saturating_sub(1)).collect::<String>())
    }
}

struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    font: Font,
}

impl Pen<'_, '_> {
    fn text(&mut self, x: f32, y: f32, size: f32, (red, green, blue): (u8, u8, u8), text: &str) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(red, green, blue).into(),
            opacity: NormalizedF32::ONE,
            rule: FillRule::default(),
        }));
        self.surface.draw_text(Point::from_xy(x, y), self.font.clone(), size, text, false, TextDirection::Auto);
    }

    fn rule(&mut self, y: f32) {
        let mut builder = PathBuilder::new();
        builder.move_to(MARGIN, y);
        builder.line_to(WIDTH - MARGIN, y);
        if let Some(path) = builder.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke { width: 0.5, ..Stroke::default() }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }

    /// Draws a line at `y` and returns the next line's `y`.
    fn line(&mut self, line: &Line, y: f32) -> f32 {
        match line {
            Line::Heading(text) => {
                self.text(MARGIN, y + 14.0, 14.0, BLACK, text);
                y + ROW + 10.0
            }
            Line::Cells(cells, columns, color, header) => {
                for (cell, x) in cells.iter().zip(columns) {
                    self.text(*x, y + 12.0, 9.5, *color, cell);
                }
                if *header {
                    self.rule(y + ROW - 2.0);
                }
                y + ROW
            }
            Line::Note(text) => {
                self.text(MARGIN, y + 12.0, 10.0, GREY, text);
                y + ROW
            }
            Line::Gap => y + ROW,
        }
    }
}
