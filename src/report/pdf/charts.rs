//! The report's two charts, drawn as vector graphics with their figures as text beside them (so `pdftotext`
//! reads what they show): compliance rate per severity against its target, and days to remediate per
//! severity (a box plot) against the SLA days.

use super::pen::{BLACK, Colour, GREY, LIGHT, Pen, RED, severity_colour};
use crate::report::{ReportView, rate_text};

/// Where a chart goes on the page: its left, top, width and height.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// Bars of the compliance rate per severity (0–100 %), the target of each as a red line across its bar.
pub fn compliance_bars(pen: &mut Pen<'_, '_>, view: &ReportView, frame: Frame) {
    let Frame { x, y, width, height } = frame;
    let (plot_left, plot_bottom, plot_top) = (x + 34.0, y + height - 24.0, y + 14.0);
    let scale = |rate: f64| {
        #[allow(clippy::cast_possible_truncation, reason = "a rate is between 0 and 100")]
        let rate = rate.clamp(0.0, 100.0) as f32;
        plot_bottom - (plot_bottom - plot_top) * rate / 100.0
    };
    for tick in [0.0, 50.0, 100.0] {
        pen.line((plot_left, scale(tick)), (x + width, scale(tick)), 0.4, LIGHT, false);
        pen.text_right(plot_left - 4.0, scale(tick) + 3.0, 8.0, GREY, &format!("{tick:.0} %"));
    }
    #[allow(clippy::cast_precision_loss, reason = "four severities")]
    let slot = (x + width - plot_left) / view.severities.len().max(1) as f32;
    for (i, figures) in view.severities.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "four severities")]
        let left = plot_left + slot * i as f32 + slot * 0.25;
        let bar = slot * 0.5;
        let name = figures.severity.as_str();
        if let Some(rate) = figures.compliance_rate {
            let colour: Colour = severity_colour(name);
            pen.rect(left, scale(rate), bar, plot_bottom - scale(rate), colour, None);
        }
        pen.text(
            left,
            scale(figures.compliance_rate.unwrap_or(0.0)) - 4.0,
            8.0,
            BLACK,
            &rate_text(figures.compliance_rate),
        );
        if let Some(target) = figures.target {
            pen.line((left - 6.0, scale(target)), (left + bar + 6.0, scale(target)), 1.5, RED, true);
            pen.text(left + bar + 8.0, scale(target) + 3.0, 7.5, RED, &format!("target {target:.0} %"));
        }
        pen.text(left, plot_bottom + 12.0, 9.0, BLACK, name);
    }
    pen.line((plot_left, plot_bottom), (x + width, plot_bottom), 0.8, BLACK, false);
}

/// The five figures of a box plot of `values` (sorted): minimum, lower quartile, median, upper quartile,
/// maximum; quartiles by linear interpolation.
#[must_use]
pub fn five_figures(values: &[f64]) -> Option<[f64; 5]> {
    let (first, last) = (values.first()?, values.last()?);
    let at = |q: f64| {
        #[allow(clippy::cast_precision_loss, reason = "a report's findings are few enough")]
        let position = q * (values.len() - 1) as f64;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a position in the slice")]
        let below = position.floor() as usize;
        let above = (below + 1).min(values.len() - 1);
        values[below] + (values[above] - values[below]) * (position - position.floor())
    };
    Some([*first, at(0.25), at(0.5), at(0.75), *last])
}

/// One row per severity: a box plot of the days its remediated findings took, and the SLA days (of the one
/// profile applied; with several, their longest) as a dashed line.
pub fn remediation_boxes(pen: &mut Pen<'_, '_>, view: &ReportView, frame: Frame) {
    let Frame { x, y, width, height } = frame;
    let rows: Vec<(&str, Vec<f64>, Option<i32>)> = view
        .severities
        .iter()
        .map(|figures| {
            let name = figures.severity.as_str();
            let mut days: Vec<f64> =
                view.counted.iter().filter(|c| c.severity == name).filter_map(|c| c.days_to_remediate).collect();
            days.sort_by(f64::total_cmp);
            let sla = view.profiles.iter().filter_map(|p| p.days.iter().find(|(s, _)| *s == name)?.1).max();
            (name, days, sla)
        })
        .collect();
    let longest = rows
        .iter()
        .flat_map(|(_, days, sla)| days.last().copied().into_iter().chain(sla.map(f64::from)))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let (plot_left, plot_right) = (x + 60.0, x + width - 150.0);
    let scale = |days: f64| {
        #[allow(clippy::cast_possible_truncation, reason = "days on a page")]
        let fraction = (days / longest) as f32;
        plot_left + (plot_right - plot_left) * fraction
    };
    #[allow(clippy::cast_precision_loss, reason = "four severities")]
    let row_height = (height - 20.0) / rows.len().max(1) as f32;
    for (i, (name, days, sla)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "four severities")]
        let middle = y + row_height * (i as f32 + 0.5);
        pen.text(x, middle + 3.0, 9.0, BLACK, name);
        pen.line((plot_left, middle), (plot_right, middle), 0.3, LIGHT, false);
        let summary = if let Some([low, q1, median, q3, high]) = five_figures(days) {
            let colour = severity_colour(name);
            pen.line((scale(low), middle), (scale(high), middle), 0.8, colour, false);
            pen.rect(scale(q1), middle - 6.0, scale(q3) - scale(q1), 12.0, LIGHT, Some(colour));
            pen.line((scale(median), middle - 6.0), (scale(median), middle + 6.0), 1.6, colour, false);
            format!("n={} median {median:.1} d, max {high:.1} d", days.len())
        } else {
            "none remediated".to_owned()
        };
        if let Some(sla) = sla {
            let at = scale(f64::from(*sla));
            pen.line((at, middle - 9.0), (at, middle + 9.0), 1.2, RED, true);
        }
        let sla_text = sla.map_or_else(|| "no SLA".to_owned(), |d| format!("SLA {d} d"));
        pen.text(plot_right + 8.0, middle + 3.0, 7.5, GREY, &format!("{summary}; {sla_text}"));
    }
    let axis = y + height - 14.0;
    pen.line((plot_left, axis), (plot_right, axis), 0.8, BLACK, false);
    pen.text(plot_left, axis + 11.0, 8.0, GREY, "0 d");
    pen.text_right(plot_right, axis + 11.0, 8.0, GREY, &format!("{longest:.0} d"));
}

#[cfg(test)]
mod tests {
    use super::five_figures;

    #[test]
    fn five_figures_interpolate_the_quartiles() {
        assert_eq!(five_figures(&[]), None);
        assert_eq!(five_figures(&[2.0]), Some([2.0; 5]));
        assert_eq!(five_figures(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some([1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(five_figures(&[0.0, 10.0]), Some([0.0, 2.5, 5.0, 7.5, 10.0]));
    }
}
