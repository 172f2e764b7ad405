//! Drawing on a page: text in the embedded font, rules, rectangles and lines, in the report's colours.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

pub type Colour = (u8, u8, u8);

pub const GREEN: Colour = (0, 110, 40);
pub const RED: Colour = (170, 0, 0);
pub const BLACK: Colour = (0, 0, 0);
pub const GREY: Colour = (90, 90, 90);
pub const LIGHT: Colour = (225, 229, 235);
pub const BLUE: Colour = (29, 78, 216);

/// The colour of a severity in charts.
#[must_use]
pub fn severity_colour(severity: &str) -> Colour {
    match severity {
        "Critical" => (163, 0, 27),
        "High" => (194, 65, 12),
        "Medium" => (161, 98, 7),
        _ => BLUE,
    }
}

fn paint((red, green, blue): Colour) -> krilla::paint::Paint {
    rgb::Color::new(red, green, blue).into()
}

pub struct Pen<'a, 'b> {
    pub surface: &'a mut Surface<'b>,
    pub font: Font,
}

impl Pen<'_, '_> {
    /// Text with its baseline at `y`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, colour: Colour, text: &str) {
        self.surface.set_fill(Some(Fill {
            paint: paint(colour),
            opacity: NormalizedF32::ONE,
            rule: FillRule::default(),
        }));
        self.surface.draw_text(Point::from_xy(x, y), self.font.clone(), size, text, false, TextDirection::Auto);
    }

    /// Text ending at `right` (an estimate of its width: the font's average glyph is about half its size).
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, colour: Colour, text: &str) {
        #[allow(clippy::cast_precision_loss, reason = "a line of text has few characters")]
        let width = text.chars().count() as f32 * size * 0.55;
        self.text(right - width, y, size, colour, text);
    }

    /// A straight line, solid or dashed.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, colour: Colour, dashed: bool) {
        let mut builder = PathBuilder::new();
        builder.move_to(from.0, from.1);
        builder.line_to(to.0, to.1);
        if let Some(path) = builder.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: paint(colour),
                width,
                dash: dashed.then(|| StrokeDash { array: vec![4.0, 3.0], offset: 0.0 }),
                ..Stroke::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }

    /// A filled rectangle, optionally outlined.
    pub fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: Colour, outline: Option<Colour>) {
        let Some(rect) = Rect::from_xywh(x, y, width.max(0.1), height.max(0.1)) else { return };
        let mut builder = PathBuilder::new();
        builder.push_rect(rect);
        if let Some(path) = builder.finish() {
            self.surface.set_fill(Some(Fill {
                paint: paint(fill),
                opacity: NormalizedF32::ONE,
                rule: FillRule::default(),
            }));
            self.surface.set_stroke(outline.map(|colour| Stroke {
                paint: paint(colour),
                width: 0.7,
                ..Stroke::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }
}
