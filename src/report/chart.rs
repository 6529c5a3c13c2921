//! Hand-drawn SVG charts for the HTML reports: line charts (with horizontal target lines and vertical
//! markers) and stacked bars. No JavaScript, no fonts to fetch: the SVG scales with its `viewBox`, so
//! one drawing fits a 1280 px screen and a phone.
//!
//! Every series also carries its data as `data-series` / `data-values` attributes (`x,y` pairs in
//! Rust's shortest round-trip float format), so tests can read back exactly what was drawn and
//! compare it with the summary, and so can anyone scraping a report.

use std::fmt::Write;

/// Width of the drawing in SVG units (the page scales it); a compact chart (half the page on a
/// wide screen) is narrower, so its text stays as large as a full chart's.
const W: f64 = 900.0;
const W_COMPACT: f64 = 520.0;
/// Width of the phone drawing (about a phone's CSS width, so text keeps its size).
const W_NARROW: f64 = 400.0;
const H: f64 = 260.0;
/// Plot area margins: left for the y labels, top for the unit, bottom for the x labels.
const LEFT: f64 = 52.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 30.0;

/// One named line (or one layer of a stack) and its colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// A CSS colour, e.g. `#2e7d32`.
    pub color: &'static str,
    /// (x, y) in data units, x ascending.
    pub points: Vec<(f64, f64)>,
    /// Draw as steps (hold each value until the next x) instead of straight segments.
    pub step: bool,
    /// Draw dashed (a reference line, e.g. the target rate).
    pub dashed: bool,
}

impl Series {
    /// A solid, straight-segment line.
    pub fn line(name: impl Into<String>, color: &'static str, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            color,
            points,
            step: false,
            dashed: false,
        }
    }
}

/// A horizontal line across the plot (an SLO target), labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct HLine {
    /// Shown next to the line, e.g. `SLO p95 150 ms`.
    pub label: String,
    /// Height, in the y axis' data units.
    pub y: f64,
    /// A CSS colour.
    pub color: &'static str,
}

/// A vertical marker (a stage boundary), labelled at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct VLine {
    /// Shown at the top, e.g. `stage 2`.
    pub label: String,
    /// Position, in seconds from the run's start.
    pub x: f64,
}

/// What to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// `data-chart` attribute: a stable name tests and readers can find.
    pub id: &'static str,
    /// Shown above the plot.
    pub title: String,
    /// Unit of the y axis, e.g. `ms` or `calls/s`.
    pub y_unit: &'static str,
    /// The lines (or stacked layers) to draw, in legend order.
    pub series: Vec<Series>,
    /// Horizontal target lines.
    pub hlines: Vec<HLine>,
    /// Vertical stage markers.
    pub vlines: Vec<VLine>,
    /// Right end of the x axis (seconds); the left end is 0.
    pub x_max: f64,
    /// Labels on the x axis at these positions; empty = six clock times (the x axis is seconds).
    pub x_ticks: Vec<(f64, String)>,
    /// Draw the series as stacked bars (each point is a bar `[x, x + width)`), not lines.
    pub stacked_bar_width: Option<f64>,
    /// Drawn narrower (for half the page on a wide screen).
    pub compact: bool,
}

/// Escapes text for HTML/XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0; a server's error text may carry them.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The smallest "nice" number (1, 2, 2.5, 5, 7.5 × 10^k) at or above `v`.
fn nice_ceil(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    for m in [1.0, 2.0, 2.5, 5.0, 7.5, 10.0] {
        if v <= m * base * (1.0 + 1e-9) {
            return m * base;
        }
    }
    10.0 * base
}

/// A short label for a number on an axis.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Seconds as `m:ss` or `h:mm:ss` for the time axis.
pub fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn values_attr(points: &[(f64, f64)]) -> String {
    let mut s = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x},{y}");
    }
    s
}

impl Chart {
    /// The largest y any series (or stack, or target line) reaches.
    fn y_max(&self) -> f64 {
        let lines = self.hlines.iter().map(|h| h.y);
        let data = if self.stacked_bar_width.is_some() {
            // Sum the layers at each x (layers share their x values).
            let mut sums: Vec<(f64, f64)> = Vec::new();
            for s in &self.series {
                for &(x, y) in &s.points {
                    match sums.iter_mut().find(|(sx, _)| *sx == x) {
                        Some((_, sy)) => *sy += y,
                        None => sums.push((x, y)),
                    }
                }
            }
            sums.into_iter().map(|(_, y)| y).fold(0.0, f64::max)
        } else {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max)
        };
        // Four grid steps of a nice size.
        4.0 * nice_ceil(lines.fold(data, f64::max) * 1.05 / 4.0)
    }

    /// The chart as an inline `<svg>` element with a legend, or a short note when there is no data.
    pub fn svg(&self) -> String {
        let mut o = String::new();
        let has_data = self.series.iter().any(|s| !s.points.is_empty());
        let _ = write!(
            o,
            "<figure class=\"chart\" data-chart=\"{}\"><figcaption>{}</figcaption>",
            self.id,
            esc(&self.title)
        );
        if !has_data {
            o.push_str("<p class=\"empty\">No data for this chart in the summary.</p></figure>");
            return o;
        }
        // Two drawings of the same data: the page shows the narrow one on a phone, where the wide
        // one's text would be too small to read.
        self.plot(&mut o, if self.compact { W_COMPACT } else { W }, "wide");
        self.plot(&mut o, W_NARROW, "narrow");
        o.push_str("<ul class=\"legend\">");
        for s in &self.series {
            let _ = write!(
                o,
                "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                s.color,
                esc(&s.name)
            );
        }
        for h in &self.hlines {
            let _ = write!(
                o,
                "<li><span class=\"swatch dash\" style=\"border-color:{}\"></span>{}</li>",
                h.color,
                esc(&h.label)
            );
        }
        o.push_str("</ul></figure>");
        o
    }

    /// One `<svg>` drawing of the chart, `w` units wide.
    fn plot(&self, o: &mut String, w: f64, class: &str) {
        let x_max = if self.x_max > 0.0 { self.x_max } else { 1.0 };
        let y_max = self.y_max();
        let pw = w - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x / x_max).clamp(0.0, 1.0) * pw;
        let sy = |y: f64| TOP + ph - (y / y_max).clamp(0.0, 1.0) * ph;
        let _ = write!(
            o,
            "<svg class=\"{class}\" viewBox=\"0 0 {w} {H}\" role=\"img\" aria-label=\"{}\" \
             xmlns=\"http://www.w3.org/2000/svg\" preserveAspectRatio=\"xMidYMid meet\">",
            esc(&self.title)
        );
        // Grid and y labels: 4 steps from 0 to y_max.
        for i in 0..=4 {
            let v = y_max * i as f64 / 4.0;
            let y = sy(v);
            let _ = write!(
                o,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"ylab\" x=\"{}\" y=\"{:.1}\">{}</text>",
                w - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                esc(&tick_label(v))
            );
        }
        let _ = write!(
            o,
            "<text class=\"unit\" x=\"4\" y=\"{}\">{}</text>",
            TOP - 12.0,
            esc(self.y_unit)
        );
        // x labels: the given ticks, or 6 evenly spaced clock times.
        let ticks: Vec<(f64, String)> = if self.x_ticks.is_empty() {
            (0..=5)
                .map(|i| x_max * i as f64 / 5.0)
                .map(|v| (v, clock(v)))
                .collect()
        } else {
            self.x_ticks.clone()
        };
        for (v, label) in &ticks {
            let anchor = if *v <= 0.0 {
                "start"
            } else if *v >= x_max {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                o,
                "<text class=\"xlab\" text-anchor=\"{anchor}\" x=\"{:.1}\" y=\"{}\">{}</text>",
                sx(*v),
                H - 8.0,
                esc(label)
            );
        }
        for v in &self.vlines {
            let x = sx(v.x);
            let _ = write!(
                o,
                "<line class=\"vline\" data-x=\"{}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{}\"/>\
                 <text class=\"vlab\" x=\"{:.1}\" y=\"{}\">{}</text>",
                v.x,
                TOP + ph,
                x + 3.0,
                TOP + 10.0,
                esc(&v.label)
            );
        }
        match self.stacked_bar_width {
            Some(width) => self.draw_stack(o, width, &sx, &sy),
            None => self.draw_lines(o, &sx, &sy),
        }
        for h in &self.hlines {
            let y = sy(h.y);
            let _ = write!(
                o,
                "<line class=\"hline\" data-y=\"{}\" stroke=\"{}\" x1=\"{LEFT}\" x2=\"{}\" \
                 y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"hlab\" fill=\"{}\" x=\"{}\" y=\"{:.1}\" \
                 text-anchor=\"end\">{}</text>",
                h.y,
                h.color,
                w - RIGHT,
                h.color,
                w - RIGHT - 4.0,
                y - 4.0,
                esc(&h.label)
            );
        }
        o.push_str("</svg>");
    }

    fn draw_lines(&self, o: &mut String, sx: &dyn Fn(f64) -> f64, sy: &dyn Fn(f64) -> f64) {
        for s in &self.series {
            let mut pts = String::new();
            let mut prev: Option<(f64, f64)> = None;
            for &(x, y) in &s.points {
                if s.step
                    && let Some((_, py)) = prev
                {
                    let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(py));
                }
                let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(y));
                prev = Some((x, y));
            }
            let dash = if s.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                o,
                "<polyline class=\"series\" data-series=\"{}\" data-values=\"{}\" fill=\"none\" \
                 stroke=\"{}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
                esc(&s.name),
                values_attr(&s.points),
                s.color,
                pts.trim_end()
            );
        }
    }

    fn draw_stack(
        &self,
        o: &mut String,
        width: f64,
        sx: &dyn Fn(f64) -> f64,
        sy: &dyn Fn(f64) -> f64,
    ) {
        // Running top of the stack at each x.
        let mut tops: Vec<(f64, f64)> = Vec::new();
        for s in &self.series {
            let _ = write!(
                o,
                "<g class=\"series\" data-series=\"{}\" data-values=\"{}\" fill=\"{}\">",
                esc(&s.name),
                values_attr(&s.points),
                s.color
            );
            for &(x, y) in &s.points {
                if y <= 0.0 {
                    continue;
                }
                let base = match tops.iter_mut().find(|(tx, _)| *tx == x) {
                    Some((_, top)) => {
                        let b = *top;
                        *top += y;
                        b
                    }
                    None => {
                        tops.push((x, y));
                        0.0
                    }
                };
                let (x0, x1) = (sx(x), sx(x + width));
                let (y0, y1) = (sy(base + y), sy(base));
                let _ = write!(
                    o,
                    "<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.2}\" height=\"{:.2}\"/>",
                    (x1 - x0).max(0.5),
                    (y1 - y0).max(0.0)
                );
            }
            o.push_str("</g>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers() {
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(7.0), 7.5);
        assert_eq!(nice_ceil(8.0), 10.0);
        assert_eq!(nice_ceil(180.0), 200.0);
        assert_eq!(nice_ceil(2.1), 2.5);
        assert_eq!(nice_ceil(1000.0), 1000.0);
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(75.4), "1:15");
        assert_eq!(clock(3725.0), "1:02:05");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(esc("a\u{1}b"), "a\u{FFFD}b");
    }

    #[test]
    fn data_values_round_trip_and_empty_chart_says_so() {
        let c = Chart {
            id: "t",
            title: "T".into(),
            series: vec![Series::line(
                "s",
                "#000",
                vec![(0.5, 1.0 / 3.0), (1.0, 2.0)],
            )],
            x_max: 1.0,
            ..Chart::default()
        };
        let svg = c.svg();
        let v = format!("0.5,{} 1,2", 1.0 / 3.0);
        assert!(svg.contains(&format!("data-values=\"{v}\"")), "{svg}");
        let empty = Chart {
            id: "e",
            ..Chart::default()
        };
        assert!(empty.svg().contains("No data"));
    }
}
