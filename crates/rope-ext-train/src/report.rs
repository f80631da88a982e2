//! Evaluation reports: markdown tables, and figures drawn with plotters (SVG).
//!
//! - [`Table`]: a markdown table; numeric columns (detected, or set with [`Table::align`]) are
//!   right-aligned. [`fmt_f64`] and [`fmt_opt`] format numbers for it.
//! - [`LinePlot`]: named series of `(x, y)` points on linear, log2 or log10 axes, with a legend
//!   and labelled vertical reference lines ("trained window", "target"): perplexity against
//!   length, mean attention entropy against length.
//! - [`HeatMap`]: a grid of values in plotters' viridis colours with each value printed in its
//!   cell: passkey accuracy by needle depth (rows) and context length (columns).
//! - [`grid`]: several figures as the panels of one SVG under a title (one panel per method).
//!
//! The figures are drawn with [`plotters`]' SVG backend, without its `ttf` feature, so no font
//! or bitmap library is involved: text is written as `<text>` elements in the `sans-serif`
//! family, escaped by the backend and laid out by an estimate of its width. Every renderer
//! returns a `String` and never panics: non-finite numbers, empty inputs, zero-width ranges and
//! absurd sizes give a valid document, and should plotters report an error, the document says
//! that the figure could not be drawn. Writing the strings to files is the caller's business.
//!
//! ```
//! # use rope_ext_train::report::{LinePlot, Scale};
//! let svg = LinePlot::new("Perplexity", "context length", "perplexity")
//!     .x_scale(Scale::Log2)
//!     .y_scale(Scale::Log10)
//!     .series("PI", [(256.0, 7.1), (512.0, 7.4), (1024.0, 8.0), (2048.0, 95.0)])
//!     .series("YaRN", [(256.0, 7.0), (512.0, 7.2), (1024.0, f64::NAN), (2048.0, 7.9)])
//!     .marker(256.0, "trained window 256")
//!     .marker(1024.0, "target 1024")
//!     .svg();
//! assert!(svg.starts_with("<svg") && svg.contains("trained window 256"));
//! ```

use std::fmt::{self, Write as _};
use std::io;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

/// What [`fmt_opt`] shows for a missing value.
pub const MISSING: &str = "—";

/// Formats `v` with `precision` digits after the point; non-finite values are written out as
/// `nan`, `inf` and `-inf` (an overflowing perplexity is a result, not a blank), and a value
/// that rounds to zero never shows a minus sign. `precision` is capped at 17.
pub fn fmt_f64(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v:.*}", precision.min(17));
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => s,
    }
}

/// Like [`fmt_f64`], with `None` shown as [`MISSING`] ("—").
pub fn fmt_opt(v: Option<f64>, precision: usize) -> String {
    v.map_or_else(|| MISSING.to_string(), |v| fmt_f64(v, precision))
}

// ---------------------------------------------------------------------------------------------
// Markdown tables
// ---------------------------------------------------------------------------------------------

/// The alignment of a [`Table`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// `:---`.
    Left,
    /// `---:`.
    Right,
    /// `:---:`.
    Center,
}

/// A markdown (GitHub-flavoured) table.
///
/// The table has as many columns as its widest line (header or row); shorter lines are padded
/// with empty cells, so every rendered line has the same number of cells. A `|` in a cell is
/// escaped and line breaks become spaces. Columns without an explicit [`Align`] are
/// right-aligned when every non-empty cell is a number (as [`fmt_f64`] and [`fmt_opt`] write
/// them, optionally with a `%` or `×` suffix) and left-aligned otherwise.
///
/// ```
/// # use rope_ext_train::report::{Table, fmt_f64};
/// let mut t = Table::new(["method", "ppl 256", "ppl 1024"]);
/// t.push_row(["PI".to_string(), fmt_f64(7.12, 2), fmt_f64(f64::INFINITY, 2)]);
/// assert_eq!(t.render(), "| method | ppl 256 | ppl 1024 |\n| :----- | ------: | -------: |\n| PI     |    7.12 |      inf |\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Table {
    /// Header cells.
    pub header: Vec<String>,
    /// Body rows.
    pub rows: Vec<Vec<String>>,
    /// Explicit alignments by column; `None` (or a missing entry) means detected.
    pub align: Vec<Option<Align>>,
}

impl Table {
    /// A table with this header and no rows.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table { header: header.into_iter().map(Into::into).collect(), ..Table::default() }
    }

    /// Appends a row.
    pub fn push_row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Appends a row (builder form).
    pub fn row<I, S>(mut self, cells: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push_row(cells);
        self
    }

    /// Sets the alignment of column `column` (0-based), overriding detection.
    pub fn align(&mut self, column: usize, align: Align) -> &mut Self {
        if self.align.len() <= column {
            self.align.resize(column + 1, None);
        }
        self.align[column] = Some(align);
        self
    }

    /// The number of columns: the length of the longest line.
    pub fn columns(&self) -> usize {
        self.rows.iter().map(Vec::len).chain([self.header.len()]).max().unwrap_or(0)
    }

    /// The table as markdown, one line per row, each ending in `\n`; the empty string when the
    /// table has no columns at all. A table with a header and no rows is a header and the
    /// alignment line (valid markdown).
    pub fn render(&self) -> String {
        let n = self.columns();
        if n == 0 {
            return String::new();
        }
        let line = |cells: &[String]| -> Vec<String> {
            (0..n).map(|j| cells.get(j).map_or_else(String::new, |c| md_cell(c))).collect()
        };
        let header = line(&self.header);
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| line(r)).collect();
        let aligns: Vec<Align> = (0..n)
            .map(|j| {
                self.align.get(j).copied().flatten().unwrap_or_else(|| {
                    let mut cells = rows.iter().map(|r| r[j].as_str()).filter(|c| !c.is_empty()).peekable();
                    let any = cells.peek().is_some();
                    if any && cells.all(is_numeric_cell) { Align::Right } else { Align::Left }
                })
            })
            .collect();
        let widths: Vec<usize> = (0..n)
            .map(|j| {
                rows.iter().map(|r| &r[j]).chain([&header[j]]).map(|c| c.chars().count()).max().unwrap_or(0).max(3)
            })
            .collect();
        let mut out = String::new();
        let mut emit = |cells: &[String]| {
            out.push('|');
            for (j, cell) in cells.iter().enumerate() {
                let pad = widths[j].saturating_sub(cell.chars().count());
                let (l, r) = match aligns[j] {
                    Align::Left => (0, pad),
                    Align::Right => (pad, 0),
                    Align::Center => (pad / 2, pad - pad / 2),
                };
                let _ = write!(out, " {}{cell}{} |", " ".repeat(l), " ".repeat(r));
            }
            out.push('\n');
        };
        emit(&header);
        let rule: Vec<String> = (0..n)
            .map(|j| {
                let w = widths[j];
                match aligns[j] {
                    Align::Left => format!(":{}", "-".repeat(w - 1)),
                    Align::Right => format!("{}:", "-".repeat(w - 1)),
                    Align::Center => format!(":{}:", "-".repeat(w - 2)),
                }
            })
            .collect();
        emit(&rule);
        for r in &rows {
            emit(r);
        }
        out
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// A cell's text with `|` escaped and line breaks turned into spaces.
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Whether a cell reads as a number: what [`fmt_f64`] / [`fmt_opt`] write, with an optional
/// sign, `%` or `×` suffix.
fn is_numeric_cell(c: &str) -> bool {
    let c = c.trim();
    if c == MISSING {
        return true;
    }
    let c = c.strip_suffix('%').or_else(|| c.strip_suffix('×')).unwrap_or(c).trim_end();
    !c.is_empty() && c.parse::<f64>().is_ok()
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/// The region of an SVG document that a [`Figure`] draws on.
pub type Canvas<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The outcome of drawing on a [`Canvas`].
pub type DrawResult = Result<(), DrawingAreaErrorKind<io::Error>>;

/// A figure that can be drawn alone or as a panel of a [`grid`]: a [`LinePlot`] or a [`HeatMap`].
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `area`, which is [`Figure::size`] large.
    fn draw(&self, area: &Canvas<'_>) -> DrawResult;
}

/// Font sizes of titles and of other text, in plotters' units (the SVG backend writes
/// `size / 1.24` pixels).
const TITLE_SIZE: f64 = 20.0;
const TEXT_SIZE: f64 = 15.0;
/// In pixels: the space around a figure (and a panel), and the room for a title, for the tick
/// labels under the plot, for an axis description, and between an axis and its tick labels.
const MARGIN: u32 = 10;
const TITLE_ROOM: u32 = 32;
const TICK_LABEL_ROOM: u32 = 24;
const DESC_ROOM: u32 = 24;
const TICK_ROOM: u32 = 14;
/// In pixels: the smallest plot, the smallest and largest figure side, the largest grid side.
const MIN_PLOT: u32 = 80;
const MIN_SIDE: u32 = 160;
const MAX_SIDE: u32 = 8192;
const MAX_GRID_SIDE: u32 = 1 << 16;

/// A `sans-serif` text style of `size`, bold for titles.
fn font(size: f64) -> TextStyle<'static> {
    let style = if size >= TITLE_SIZE { FontStyle::Bold } else { FontStyle::Normal };
    TextStyle::from(("sans-serif", size, style).into_font())
}

/// The estimated width in pixels of `s` at `size`: 0.6 em a character, what common sans-serif
/// fonts average (plotters' own estimate, without `ttf`, is narrower); at most [`MAX_SIDE`].
fn text_width(s: &str, size: f64) -> u32 {
    (s.chars().count() as f64 * size / 1.24 * 0.6).ceil().min(MAX_SIDE as f64) as u32
}

/// The estimated width of the widest of `texts` at [`TEXT_SIZE`] (0 for none).
fn widest<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> u32 {
    texts.into_iter().map(|s| text_width(s.as_ref(), TEXT_SIZE)).max().unwrap_or(0)
}

/// `pixels` of room for `text`, none when it is empty.
fn room(text: &str, pixels: u32) -> u32 {
    if text.is_empty() { 0 } else { pixels }
}

/// `s` as one line of SVG text: tabs and line breaks become spaces and the other characters
/// that XML 1.0 forbids are dropped (the backend escapes `<`, `>`, `&` and quotes).
fn one_line(s: impl Into<String>) -> String {
    let s: String = s.into();
    s.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// A document of `size` drawn by `draw` on white; if plotters reports an error, a document that
/// says the figure could not be drawn.
fn render(size: (u32, u32), draw: impl FnOnce(&Canvas<'_>) -> DrawResult) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).and_then(|()| draw(&root)).and_then(|()| root.present())
    };
    drawn.map_or_else(|e| failure_svg(size, &e), |()| svg)
}

/// A document of `size` that says the figure could not be drawn, and why.
fn failure_svg(size: (u32, u32), error: &dyn fmt::Display) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let message = one_line(format!("this figure could not be drawn: {error}"));
        // Should even this fail, the document is still valid, only empty.
        let _ = root.draw_text(&message, &font(TEXT_SIZE), (MARGIN as i32, 2 * MARGIN as i32));
    }
    svg
}

/// Writes `note` ("no data") in grey at the centre of the part of `area` below `title`.
fn draw_note(area: &Canvas<'_>, title: &str, note: &str) -> DrawResult {
    let area = if title.is_empty() { area.clone() } else { area.titled(title, font(TITLE_SIZE))? };
    let (w, h) = area.dim_in_pixel();
    let style = font(TEXT_SIZE).color(&RGBColor(136, 136, 136)).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(note, &style, (w as i32 / 2, h as i32 / 2))
}

/// A plotters coordinate over `range` with `ticks` as its key points (and no light ones).
fn key_points(range: Range<f64>, ticks: Vec<f64>) -> impl Ranged<ValueType = f64> + ValueFormatter<f64> {
    // With key points, an f64 range keeps its `NoDefaultFormatting`, for which plotters 0.3 has
    // no label formatter; a partial axis over the whole range changes only that.
    range.clone().with_key_points(ticks).partial_axis(range)
}

/// A chart on `area` with its title and its axes drawn: over `x` and `y`, with tick labels
/// `labels`, light grid lines at the ticks, axis descriptions `texts` (none where empty) and
/// `left` pixels for the y tick labels.
fn draw_chart<'a, 'b, X, Y>(
    area: &'a Canvas<'b>,
    [title, x_desc, y_desc]: &[String; 3],
    (x, y): (X, Y),
    labels: [&dyn Fn(&f64) -> String; 2],
    left: u32,
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>, DrawingAreaErrorKind<io::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut builder = ChartBuilder::on(area);
    builder.margin(MARGIN).x_label_area_size(TICK_LABEL_ROOM + room(x_desc, DESC_ROOM));
    builder.y_label_area_size(left + room(y_desc, DESC_ROOM));
    if !title.is_empty() {
        builder.caption(title, font(TITLE_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(x, y)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(labels[0]).y_label_formatter(labels[1]).label_style(font(TEXT_SIZE));
    mesh.bold_line_style(RGBColor(228, 228, 228));
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.axis_desc_style(font(TEXT_SIZE)).draw()?;
    Ok(chart)
}

/// Several figures as the panels of one SVG, `columns` per row (0: all in one row), under
/// `title` (empty: none). Every panel is as large as the largest figure. No figures give a
/// document that holds only the title.
pub fn grid<F: Figure>(title: &str, figures: &[F], columns: usize) -> String {
    let title = one_line(title);
    let columns = if columns == 0 { figures.len() } else { columns.min(figures.len()) }.max(1);
    let rows = figures.len().div_ceil(columns).max(1);
    let (w, h) = figures.iter().map(Figure::size).fold((0, 0), |(w, h), (a, b)| (w.max(a), h.max(b)));
    let span = |n: usize, each: u32| (n as u32).saturating_mul(each + MARGIN).saturating_add(MARGIN).min(MAX_GRID_SIDE);
    let width = span(columns, w).max(text_width(&title, TITLE_SIZE) + 2 * MARGIN);
    render((width, span(rows, h) + room(&title, TITLE_ROOM)), |root| {
        let body = if title.is_empty() { root.clone() } else { root.titled(&title, font(TITLE_SIZE))? };
        let panels = body.split_evenly((rows, columns));
        figures
            .iter()
            .zip(panels)
            .try_for_each(|(figure, panel)| figure.draw(&panel.shrink((MARGIN, MARGIN), figure.size())))
    })
}

// ---------------------------------------------------------------------------------------------
// Axes
// ---------------------------------------------------------------------------------------------

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scale {
    /// Linear; ticks at round numbers.
    #[default]
    Linear,
    /// Logarithmic base 2 (context lengths: each doubling is one step); ticks at (every so many)
    /// powers of two. Values ≤ 0 are skipped.
    Log2,
    /// Logarithmic base 10 (perplexity); ticks at 1, 2 and 5 times (every so many) powers of
    /// ten, or at round numbers when the range spans about a decade or less. Values ≤ 0 are
    /// skipped.
    Log10,
}

impl Scale {
    /// The position of `v` on the axis (its logarithm on a log scale), if it can be shown.
    fn forward(self, v: f64) -> Option<f64> {
        let t = match self {
            Scale::Linear => v,
            Scale::Log2 if v > 0.0 => v.log2(),
            Scale::Log10 if v > 0.0 => v.log10(),
            _ => return None,
        };
        t.is_finite().then_some(t)
    }

    /// The value at axis position `t`.
    fn inverse(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log2 => t.exp2(),
            Scale::Log10 => 10f64.powf(t),
        }
    }
}

/// An axis in axis units (logarithms on a log scale): its range and its ticks.
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// An axis over `range` (axis units; 0 to 1 without one), `pixels` long, with a tick label
    /// every `spacing` pixels or more.
    fn new(scale: Scale, range: Option<(f64, f64)>, pixels: u32, spacing: f64) -> Axis {
        let (lo, hi) = range.unwrap_or((0.0, 1.0));
        let count = (pixels as f64 / spacing).clamp(2.0, 12.0) as usize;
        Axis { scale, lo, hi, ticks: ticks(scale, (lo, hi), count) }
    }

    /// Whether axis position `t` lies on the axis.
    fn contains(&self, t: f64) -> bool {
        (self.lo..=self.hi).contains(&t)
    }

    /// The label of the tick at axis position `t`, in data units.
    fn label(&self, t: f64) -> String {
        tick_label(self.scale.inverse(t))
    }

    /// The plotters coordinate of the axis.
    fn coord(&self) -> impl Ranged<ValueType = f64> + ValueFormatter<f64> {
        key_points(self.lo..self.hi, self.ticks.clone())
    }
}

/// The axis range (axis units) over `values`: 5% to spare at each end, a single value (or
/// nearly) widened, all within ±`f64::MAX / 4` so that the width is finite; none without values.
fn padded(scale: Scale, values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    const LIMIT: f64 = f64::MAX / 4.0;
    let (lo, hi) = values.fold(None, |r, v| Some(r.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v)))))?;
    let magnitude = lo.abs().max(hi.abs()).min(LIMIT);
    let pad = match scale {
        _ if hi - lo > magnitude * 1e-9 => (hi - lo) * 0.05,
        Scale::Linear => magnitude.max(1.0) * 0.1,
        Scale::Log2 | Scale::Log10 => 0.5,
    };
    Some(((lo - pad).clamp(-LIMIT, LIMIT), (hi + pad).clamp(-LIMIT, LIMIT)))
}

/// About `count` tick positions (axis units) on an axis over `(lo, hi)`; see [`Scale`].
fn ticks(scale: Scale, (lo, hi): (f64, f64), count: usize) -> Vec<f64> {
    let (multiples, enough): (&[f64], usize) = match scale {
        Scale::Linear => (&[], 1),
        Scale::Log2 => (&[1.0], 2),
        Scale::Log10 if (hi - lo) * 3.0 <= count as f64 => (&[1.0, 2.0, 5.0], 3),
        Scale::Log10 => (&[1.0], 3),
    };
    let stride = ((hi - lo) * multiples.len() as f64 / count as f64).ceil().max(1.0);
    let first = (lo / stride).floor() * stride;
    let powers: Vec<f64> = (0..=count + 1)
        .map(|k| first + k as f64 * stride)
        .flat_map(|power| multiples.iter().map(move |m| power + m.log10())) // Only log10 has m ≠ 1.
        .filter(|t| (lo..=hi).contains(t))
        .collect();
    if powers.len() >= enough { powers } else { round_ticks(scale, (lo, hi), count) }
}

/// About `count` ticks (axis units) at round numbers of the data: plotters' linear key points.
fn round_ticks(scale: Scale, (lo, hi): (f64, f64), count: usize) -> Vec<f64> {
    let (a, b) = (scale.inverse(lo), scale.inverse(hi));
    if !(b - a).is_finite() || b - a <= a.abs().max(b.abs()) * 1e-9 {
        return vec![lo, hi];
    }
    let round = RangedCoordf64::from(a..b).key_points(count);
    round.into_iter().filter_map(|v| scale.forward(v)).filter(|t| (lo..=hi).contains(t)).collect()
}

/// A tick label: up to five significant digits without trailing zeros (`1024`, `0.3`, `7.25`),
/// scientific (`2.1e6`, `1.5e-5`) for very large and very small values.
fn tick_label(v: f64) -> String {
    let magnitude = v.abs().log10().floor();
    if v == 0.0 || !v.is_finite() {
        fmt_f64(v, 0)
    } else if (-4.0..6.0).contains(&magnitude) {
        trim_zeros(&format!("{v:.*}", (4.0 - magnitude) as usize))
    } else {
        let s = format!("{v:.2e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exponent}", trim_zeros(mantissa))
    }
}

/// A decimal number without trailing zeros after its point (`0.80` → `0.8`, `1.00` → `1`).
fn trim_zeros(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

// ---------------------------------------------------------------------------------------------
// Line plots
// ---------------------------------------------------------------------------------------------

/// A line plot: named series of `(x, y)` points, marked, with a legend to the right, optional
/// log axes and labelled dashed vertical reference lines.
///
/// Each of the first 40 series has its own look: one of ten colours (Tableau 10) and, for each
/// further ten series, the next marker shape.
///
/// The axes cover every point that can be shown and every reference line; the y axis covers
/// [`LinePlot::y_range`] instead where that is set (give the panels of a [`grid`] the same
/// range to compare them). A point that cannot be shown (a non-finite coordinate, one ≤ 0 on a
/// log axis, a y outside the set range) is skipped and breaks the line. A plot without
/// anything to show draws its axes and "no data".
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Title, x and y axis descriptions.
    texts: [String; 3],
    scales: (Scale, Scale),
    y_range: Option<(f64, f64)>,
    series: Vec<(String, Vec<(f64, f64)>)>,
    markers: Vec<(f64, String)>,
    size: (f64, f64),
}

/// Pixels a tick label needs along a horizontal and along a vertical axis.
const X_TICK_SPACING: f64 = 50.0;
const Y_TICK_SPACING: f64 = 22.0;
/// The legend: the space around entries, the width of an entry's sample, and the height of an
/// entry (plotters' line height, 1.25 em).
const LEGEND_MARGIN: u32 = 4;
const LEGEND_SAMPLE: u32 = 30;
const LEGEND_ROW: u32 = 19;

impl LinePlot {
    /// An empty 640 × 400 plot with linear axes.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot {
            texts: [one_line(title), one_line(x_label), one_line(y_label)],
            scales: (Scale::Linear, Scale::Linear),
            y_range: None,
            series: Vec::new(),
            markers: Vec::new(),
            size: (640.0, 400.0),
        }
    }

    /// Sets the x scale.
    pub fn x_scale(mut self, scale: Scale) -> Self {
        self.scales.0 = scale;
        self
    }

    /// Sets the y scale.
    pub fn y_scale(mut self, scale: Scale) -> Self {
        self.scales.1 = scale;
        self
    }

    /// Fixes the y range (ignored unless `lo < hi` and both can be shown on the y scale); the
    /// points outside it are skipped like non-finite ones.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Sets the figure size in pixels (at least 160 × 160, at most 8192 × 8192; grown when
    /// the title, the labels or the legend need more room).
    pub fn with_size(mut self, width: f64, height: f64) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds a series.
    pub fn series(mut self, name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.series.push((one_line(name), points.into_iter().collect()));
        self
    }

    /// Adds a dashed vertical reference line at `x`, labelled along the line.
    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.markers.push((x, one_line(label)));
        self
    }

    /// The plot as a standalone SVG document.
    pub fn svg(&self) -> String {
        render(self.size(), |area| self.draw(area))
    }

    /// The point `(x, y)` in axis units, if it can be shown on the scales and within `y_range`.
    fn locate(&self, (x, y): (f64, f64), y_range: Option<(f64, f64)>) -> Option<(f64, f64)> {
        let y = self.scales.1.forward(y).filter(|y| y_range.is_none_or(|(lo, hi)| (lo..=hi).contains(y)))?;
        Some((self.scales.0.forward(x)?, y))
    }

    /// The legend's width and height in pixels.
    fn legend_size(&self) -> (u32, u32) {
        let width = widest(self.series.iter().map(|s| &s.0)) + LEGEND_SAMPLE + 4 * LEGEND_MARGIN + MARGIN;
        let height = (self.series.len() as u32).saturating_mul(LEGEND_ROW) + 4 * LEGEND_MARGIN;
        if self.series.is_empty() { (0, 0) } else { (width, height) }
    }

    /// The room around the plot in pixels: beside it (margins, y tick labels `y_labels` wide,
    /// y description, legend) and above and below it (margins, title, x labels, x description).
    fn rooms(&self, y_labels: u32) -> (u32, u32) {
        let [title, x_desc, y_desc] = &self.texts;
        let beside = 2 * MARGIN + y_labels + room(y_desc, DESC_ROOM) + self.legend_size().0;
        (beside, 2 * MARGIN + room(title, TITLE_ROOM) + TICK_LABEL_ROOM + room(x_desc, DESC_ROOM))
    }

    /// The axes of the plot on a figure of `width` × `height` pixels, and the room left of the
    /// plot for the y tick labels.
    fn axes(&self, (width, height): (u32, u32)) -> (Axis, Axis, u32) {
        let fixed = self.y_range.and_then(|(lo, hi)| Some((self.scales.1.forward(lo)?, self.scales.1.forward(hi)?)));
        let fixed = fixed.filter(|(lo, hi)| lo < hi);
        let points: Vec<_> = self.series.iter().flat_map(|s| &s.1).filter_map(|&p| self.locate(p, fixed)).collect();
        let y_range = fixed.or(padded(self.scales.1, points.iter().map(|p| p.1)));
        let y = Axis::new(self.scales.1, y_range, height.saturating_sub(self.rooms(0).1), Y_TICK_SPACING);
        let y_labels = widest(y.ticks.iter().map(|&t| y.label(t))) + TICK_ROOM;
        let beside = self.rooms(y_labels).0;
        let markers = self.markers.iter().filter_map(|m| self.scales.0.forward(m.0));
        let x_range = padded(self.scales.0, points.iter().map(|p| p.0).chain(markers));
        (Axis::new(self.scales.0, x_range, width.saturating_sub(beside), X_TICK_SPACING), y, y_labels)
    }

    /// Draws the legend at the top left of `area`: each series' name after a sample of its line
    /// and marker.
    fn draw_legend(&self, area: &Canvas<'_>) -> DrawResult {
        if self.series.is_empty() {
            return Ok(());
        }
        let mut legend = ChartBuilder::on(area).build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        for (i, (name, _)) in self.series.iter().enumerate() {
            let style = series_style(i);
            let entry = legend.draw_series(std::iter::empty::<EmptyElement<(f64, f64), SVGBackend>>())?;
            entry.label(name).legend(move |at| {
                let half = LEGEND_SAMPLE as i32 / 2;
                EmptyElement::at(at)
                    + PathElement::new([(0, 0), (2 * half, 0)], style.0.stroke_width(2))
                    + marker(style, (half, 0))
            });
        }
        let mut labels = legend.configure_series_labels();
        labels.position(SeriesLabelPosition::UpperLeft).label_font(font(TEXT_SIZE)).margin(LEGEND_MARGIN);
        labels.legend_area_size(LEGEND_SAMPLE + LEGEND_MARGIN).draw()
    }
}

impl Figure for LinePlot {
    fn size(&self) -> (u32, u32) {
        let side = |requested: f64, default: u32| if requested.is_finite() { requested as u32 } else { default };
        let least_height = self.rooms(0).1 + self.legend_size().1.max(MIN_PLOT);
        let height = side(self.size.1, 400).max(least_height).clamp(MIN_SIDE, MAX_SIDE);
        let least_width =
            (self.rooms(self.axes((0, height)).2).0 + MIN_PLOT).max(text_width(&self.texts[0], TITLE_SIZE));
        (side(self.size.0, 640).max(least_width).clamp(MIN_SIDE, MAX_SIDE), height)
    }

    fn draw(&self, area: &Canvas<'_>) -> DrawResult {
        let (x, y, y_labels) = self.axes(area.dim_in_pixel());
        let (plot_area, legend_area) =
            area.split_horizontally(area.dim_in_pixel().0.saturating_sub(self.legend_size().0));
        let labels: [&dyn Fn(&f64) -> String; 2] = [&|t| x.label(*t), &|t| y.label(*t)];
        let mut chart = draw_chart(&plot_area, &self.texts, (x.coord(), y.coord()), labels, y_labels)?;
        for (at, label) in &self.markers {
            if let Some(t) = self.scales.0.forward(*at).filter(|&t| x.contains(t)) {
                draw_reference_line(chart.plotting_area(), t, label, (y.lo, y.hi))?;
            }
        }
        let on_axes = |p| self.locate(p, Some((y.lo, y.hi))).filter(|&(t, _)| x.contains(t));
        let mut shown = false;
        for (i, (_, points)) in self.series.iter().enumerate() {
            let style = series_style(i);
            let runs = points.split(|&p| on_axes(p).is_none()).map(|run| run.iter().filter_map(|&p| on_axes(p)));
            for run in runs.clone().filter(|run| run.clone().nth(1).is_some()) {
                chart.draw_series(LineSeries::new(run, style.0.stroke_width(2)))?;
            }
            shown |= runs.clone().flatten().next().is_some();
            chart.draw_series(runs.flatten().map(|p| EmptyElement::at(p) + marker(style, (0, 0))))?;
        }
        if !shown {
            draw_note(&chart.plotting_area().strip_coord_spec(), "", "no data")?;
        }
        let plot_top = chart.plotting_area().get_pixel_range().1.start - area.get_base_pixel().1;
        self.draw_legend(&legend_area.margin(plot_top, 0, 0, 0))
    }
}

/// Draws a dashed grey vertical line at axis position `t` from `y.0` to `y.1`, with `label`
/// along it from the top, right of the line, on a white ground that keeps it readable.
fn draw_reference_line(
    plot: &DrawingArea<SVGBackend<'_>, impl CoordTranslate<From = (f64, f64)>>,
    t: f64,
    label: &str,
    (lo, hi): (f64, f64),
) -> DrawResult {
    let grey = RGBColor(60, 60, 60);
    plot.draw(&DashedPathElement::new([(t, lo), (t, hi)], 6, 4, grey.stroke_width(1)))?;
    let (glyph, length) = ((TEXT_SIZE / 1.24).ceil() as i32, text_width(label, TEXT_SIZE) as i32);
    let ground = Rectangle::new([(2, 2), (glyph + 4, length + 6)], WHITE.mix(0.85).filled());
    let style = font(TEXT_SIZE).color(&grey).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Top));
    let text = Text::new(label.to_string(), (3, 4), style);
    if label.is_empty() { Ok(()) } else { plot.draw(&(EmptyElement::at((t, hi)) + ground + text)) }
}

/// Tableau 10: ten colours that stay apart on white.
const PALETTE: [u32; 20] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0xaec7e8,
    0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94, 0xf7b6d2, 0xc7c7c7, 0xdbdb8d, 0x9edae5,
];

/// The look of series `i`: colour `i` of the [`PALETTE`] (Tableau's twenty: every series of a
/// figure of up to twenty has its own colour) and marker shape `(i + i / 20) mod 4` (see
/// [`marker`]), so series 20 apart differ in shape: the first 80 are all distinct.
fn series_style(i: usize) -> (RGBColor, usize) {
    let [_, r, g, b] = PALETTE[i % PALETTE.len()].to_be_bytes();
    (RGBColor(r, g, b), (i + i / PALETTE.len()) % 4)
}

/// The marker of a series of this style, centred at pixel offset `(x, y)`: a circle, triangle,
/// square or diamond, each a polygon, so that the markers of any series are one kind of element.
fn marker((color, shape): (RGBColor, usize), (x, y): (i32, i32)) -> Polygon<(i32, i32)> {
    let corners: Vec<(i32, i32)> = match shape {
        0 => (0..12)
            .map(|k| (k as f64 * 30f64.to_radians()).sin_cos())
            .map(|(s, c)| ((4.0 * c).round() as i32, (4.0 * s).round() as i32))
            .collect(),
        1 => vec![(0, -5), (5, 4), (-5, 4)],
        2 => vec![(-4, -4), (4, -4), (4, 4), (-4, 4)],
        _ => vec![(0, -5), (5, 0), (0, 5), (-5, 0)],
    };
    Polygon::new(corners.into_iter().map(|(dx, dy)| (x + dx, y + dy)).collect::<Vec<_>>(), color.filled())
}

// ---------------------------------------------------------------------------------------------
// Heat maps
// ---------------------------------------------------------------------------------------------

/// A heat map: `values[row][column]` coloured on plotters' viridis scale over `[min, max]`
/// (default `[0, 1]`), each value printed in its cell with up to two decimals (`0.8`, `1`).
///
/// The grid is as large as the longest of the labels and the values; a missing, `None` or
/// non-finite value is a light grey cell that reads "—". Values outside `[min, max]` are
/// printed as they are and coloured as the nearest end. An empty map draws its title and
/// "no data".
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Title, x and y axis descriptions.
    texts: [String; 3],
    columns: Vec<String>,
    rows: Vec<String>,
    values: Vec<Vec<Option<f64>>>,
    range: (f64, f64),
}

/// Cells: the narrowest, the room beside their text, their height, and the fill without value.
const CELL_MIN_WIDTH: u32 = 48;
const CELL_PADDING: u32 = 14;
const CELL_HEIGHT: u32 = 28;
const MISSING_FILL: RGBColor = RGBColor(230, 230, 230);

impl HeatMap {
    /// An empty map with a title and axis labels, coloured over `[0, 1]`.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        let texts = [one_line(title), one_line(x_label), one_line(y_label)];
        HeatMap { texts, columns: Vec::new(), rows: Vec::new(), values: Vec::new(), range: (0.0, 1.0) }
    }

    /// Sets the column labels.
    pub fn columns<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.columns = labels.into_iter().map(one_line).collect();
        self
    }

    /// Appends a row: its label and its values by column.
    pub fn row(mut self, label: impl Into<String>, values: impl IntoIterator<Item = Option<f64>>) -> Self {
        self.rows.push(one_line(label));
        self.values.push(values.into_iter().collect());
        self
    }

    /// Sets the value range of the colours (ignored unless both ends are finite and
    /// `min < max`).
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.range = (min, max);
        self
    }

    /// The map as a standalone SVG document.
    pub fn svg(&self) -> String {
        render(self.size(), |area| self.draw(area))
    }

    /// The number of rows and of columns.
    fn shape(&self) -> (usize, usize) {
        (self.rows.len(), self.values.iter().map(Vec::len).chain([self.columns.len()]).max().unwrap_or(0))
    }

    /// The colour of `v`: its place in the colour range on the viridis scale.
    fn color(&self, v: f64) -> RGBColor {
        let (lo, hi) = self.range;
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo < hi { (lo, hi) } else { (0.0, 1.0) };
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        ViridisRGB::get_color(if t.is_nan() { 0.0 } else { t })
    }

    /// Draws the cell at row `r`, column `c`: its colour and value, or grey and "—".
    fn draw_cell(
        &self,
        area: &DrawingArea<SVGBackend<'_>, impl CoordTranslate<From = (f64, f64)>>,
        (r, c): (usize, usize),
    ) -> DrawResult {
        let value = self.values.get(r).and_then(|row| row.get(c)).copied().flatten().filter(|v| v.is_finite());
        let fill = value.map_or(MISSING_FILL, |v| self.color(v));
        let RGBColor(red, green, blue) = fill;
        let light = 0.2126 * red as f64 + 0.7152 * green as f64 + 0.0722 * blue as f64 > 140.0;
        let ink = if light { BLACK } else { WHITE };
        let style = font(TEXT_SIZE).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
        let (x, y) = (c as f64, r as f64);
        area.draw(&Rectangle::new([(x, y), (x + 1.0, y + 1.0)], fill.filled()))?;
        area.draw(&Rectangle::new([(x, y), (x + 1.0, y + 1.0)], WHITE.stroke_width(1)))?;
        area.draw(&Text::new(value.map_or_else(|| MISSING.to_string(), cell_label), (x + 0.5, y + 0.5), style))
    }
}

impl Figure for HeatMap {
    fn size(&self) -> (u32, u32) {
        let [title, x_desc, y_desc] = &self.texts;
        let (rows, columns) = self.shape();
        let values = self.values.iter().flatten().flatten().map(|&v| cell_label(v));
        let cell_width = (widest(&self.columns).max(widest(values)) + CELL_PADDING).max(CELL_MIN_WIDTH);
        let beside = 2 * MARGIN + widest(&self.rows) + TICK_ROOM + room(y_desc, DESC_ROOM);
        let width = beside.saturating_add((columns as u32).saturating_mul(cell_width));
        let below = 2 * MARGIN + room(title, TITLE_ROOM) + TICK_LABEL_ROOM + room(x_desc, DESC_ROOM);
        let height = below.saturating_add((rows as u32).saturating_mul(CELL_HEIGHT).max(MIN_PLOT / 2));
        (width.max(text_width(title, TITLE_SIZE) + 2 * MARGIN).clamp(MIN_SIDE, MAX_SIDE), height.min(MAX_SIDE))
    }

    fn draw(&self, area: &Canvas<'_>) -> DrawResult {
        let (rows, columns) = self.shape();
        if rows == 0 || columns == 0 {
            return draw_note(area, &self.texts[0], "no data");
        }
        let centres = |n: usize| (0..n).map(|i| i as f64 + 0.5).collect();
        let coords = (key_points(0.0..columns as f64, centres(columns)), key_points(rows as f64..0.0, centres(rows)));
        let label = |labels: &[String], v: f64| labels.get(v.floor() as usize).cloned().unwrap_or_default();
        let labels: [&dyn Fn(&f64) -> String; 2] = [&|v| label(&self.columns, *v), &|v| label(&self.rows, *v)];
        let chart = draw_chart(area, &self.texts, coords, labels, widest(&self.rows) + TICK_ROOM)?;
        let mut cells = (0..rows).flat_map(|r| (0..columns).map(move |c| (r, c)));
        cells.try_for_each(|at| self.draw_cell(chart.plotting_area(), at))
    }
}

/// A cell's value as printed: up to two decimals, without trailing zeros.
fn cell_label(v: f64) -> String {
    trim_zeros(&fmt_f64(v, 2))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A minimal well-formedness check: balanced tags under one root, quoted attributes, and no
    /// raw `<` or `>`, bare `&` or unknown entity in text or attribute values.
    fn check_xml(s: &str) -> Result<(), String> {
        let escaped = |t: &str| {
            let entity = |e: &str| ["amp;", "lt;", "gt;", "quot;", "apos;", "#"].iter().any(|x| e.starts_with(x));
            !t.contains('>') && t.split('&').skip(1).all(entity)
        };
        let (mut open, mut roots, mut pieces) = (Vec::new(), 0, s.split('<'));
        if !pieces.next().is_some_and(|before| before.trim().is_empty()) {
            return Err("text before the root".into());
        }
        for piece in pieces {
            let (tag, text) = piece.split_once('>').ok_or(format!("unterminated tag {piece:?}"))?;
            let (name, attributes) =
                tag.trim_end_matches('/').split_once(' ').unwrap_or((tag.trim_end_matches('/'), ""));
            let quoted = attributes.split('=').skip(1).all(|value| value.starts_with('"'));
            if !quoted || attributes.matches('"').count() % 2 == 1 || !escaped(attributes) {
                return Err(format!("bad attributes in <{tag}>"));
            } else if let Some(name) = name.strip_prefix('/') {
                if open.pop() != Some(name) {
                    return Err(format!("</{name}> closes {open:?}"));
                }
            } else if !tag.starts_with("!--") {
                roots += usize::from(open.is_empty());
                if !tag.ends_with('/') {
                    open.push(name);
                }
            }
            if !escaped(text) || (open.is_empty() && !text.trim().is_empty()) {
                return Err(format!("bad text {text:?}"));
            }
        }
        if open.is_empty() && roots == 1 { Ok(()) } else { Err(format!("unclosed {open:?} or {roots} roots")) }
    }

    fn assert_svg(s: &str) {
        if let Err(e) = check_xml(s) {
            panic!("not well-formed: {e}\n{s}");
        }
        assert!(s.starts_with("<svg ") && s.contains(" xmlns=\"http://www.w3.org/2000/svg\""));
        // Every attribute value that is a number is a modest finite one.
        for chunk in s.split("=\"").skip(1) {
            let v = &chunk[..chunk.find('"').unwrap()];
            assert!(!v.contains("NaN") && !v.contains("inf"), "{v} in output");
            if let Ok(x) = v.parse::<f64>() {
                assert!(x.is_finite() && x.abs() < 1e6, "{v} in output");
            }
        }
    }

    /// Whether a document is `width` × `height` pixels large.
    fn is_sized(s: &str, (width, height): (u32, u32)) -> bool {
        s.starts_with(&format!("<svg width=\"{width}\" height=\"{height}\" "))
    }

    /// The content of every `<text>` element, trimmed.
    fn text_contents(s: &str) -> Vec<String> {
        s.split("<text ")
            .skip(1)
            .filter_map(|e| Some(e[e.find('>')? + 1..e.find("</text>")?].trim().to_string()))
            .collect()
    }

    /// The number of `<tag ` elements whose attributes contain `needle`.
    fn count(s: &str, tag: &str, needle: &str) -> usize {
        s.split(&format!("<{tag} "))
            .skip(1)
            .filter(|e| e.find('>').is_some_and(|end| e[..end].contains(needle)))
            .count()
    }

    /// A colour as the SVG backend writes it.
    fn hex(RGBColor(r, g, b): RGBColor) -> String {
        format!("#{r:02X}{g:02X}{b:02X}")
    }

    fn has(texts: &[String], want: &str) -> bool {
        texts.iter().any(|t| t == want)
    }

    /// The labels of an axis' ticks.
    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks.iter().map(|&t| axis.label(t)).collect()
    }

    /// A plot's axes at its size.
    fn axes(plot: &LinePlot) -> (Axis, Axis) {
        let (x, y, _) = plot.axes(plot.size());
        (x, y)
    }

    #[test]
    fn the_checker_rejects_broken_xml() {
        for bad in ["<a><b></a></b>", "<a>x < y</a>", "<a>R&D</a>", "<a x=1/>", "<a/><b/>", "<a>", "<a x=\"<\"/>"] {
            assert!(check_xml(bad).is_err(), "{bad}");
        }
        assert!(check_xml("<a x=\"&amp;\"><b/>t &lt; &#38;<!-- c --></a>").is_ok());
    }

    #[test]
    fn fmt_f64_writes_non_finite_values_out() {
        assert_eq!(fmt_f64(7.125, 2), "7.12");
        assert_eq!(fmt_f64(f64::NAN, 2), "nan");
        assert_eq!(fmt_f64(f64::INFINITY, 2), "inf");
        assert_eq!(fmt_f64(f64::NEG_INFINITY, 0), "-inf");
        assert_eq!(fmt_f64(-0.0001, 3), "0.000");
        assert_eq!(fmt_f64(-1.5, 1), "-1.5");
        assert_eq!(fmt_f64(1.0, 1000).len(), 19);
        assert_eq!(fmt_opt(None, 2), "—");
        assert_eq!(fmt_opt(Some(0.5), 1), "0.5");
    }

    #[test]
    fn every_table_line_has_the_same_number_of_cells() {
        let mut t = Table::new(["method", "256", "1024"]);
        t.push_row(["PI", "7.10", "inf"]).push_row(["YaRN"]).push_row(["NTK", "7.00", "8.00", "extra"]);
        t.push_row(["a|b", "—", "nan"]);
        let md = t.render();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 6);
        for line in &lines {
            let cells = line.replace("\\|", "").matches('|').count() - 1;
            assert_eq!(cells, 4, "{line}");
            assert!(line.starts_with("| ") && line.ends_with(" |"));
        }
        assert!(md.contains("a\\|b"));
        // Numeric columns (with "—", "inf", "nan") right-aligned; text and the ragged last column left.
        let rule: Vec<&str> = lines[1].trim_matches('|').split('|').map(str::trim).collect();
        assert!(rule[0].starts_with(':') && !rule[0].ends_with(':'));
        assert!(rule[1].ends_with(':') && rule[2].ends_with(':'));
        assert!(rule[3].starts_with(':'));
        assert_eq!(t.to_string(), md);
    }

    #[test]
    fn table_alignment_can_be_forced_and_empty_tables_render_empty() {
        let mut t = Table::new(["a", "b"]).row(["1", "x"]);
        t.align(0, Align::Center).align(5, Align::Right);
        let md = t.render();
        assert!(md.lines().nth(1).unwrap().starts_with("| :-:"), "{md}");
        assert_eq!(md.lines().next().unwrap().matches('|').count(), 3, "an alignment adds no column: {md}");
        assert_eq!(Table::default().render(), "");
        assert_eq!(Table::new(Vec::<String>::new()).row(Vec::<String>::new()).render(), "");
        assert_eq!(Table::new(["x"]).render(), "| x   |\n| :-- |\n");
        let multiline = Table::new(["a"]).row(["one\ntwo"]).render();
        assert_eq!(multiline.lines().count(), 3);
    }

    #[test]
    fn tables_round_trip_through_json() {
        let t = Table::new(["a"]).row(["1"]);
        assert_eq!(serde_json::from_str::<Table>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
    }

    #[test]
    fn text_is_written_as_escaped_svg_text() {
        let title = "ppl <PI & YaRN> \"q\" 'a'\u{1}";
        let svg =
            LinePlot::new(title, "x < y", "a & b").series("a<b&c", [(1.0, 1.0), (2.0, 2.0)]).marker(1.5, "m&m").svg();
        let map = HeatMap::new("<t>", "&", "'").columns(["<c>"]).row("r&\nx", [Some(0.5)]).svg();
        let texts = [svg, map, grid("a<b", &[HeatMap::new("m&", "", "")], 3)].map(|s| {
            assert_svg(&s);
            text_contents(&s)
        });
        let wants = [
            &[
                "ppl &lt;PI &amp; YaRN&gt; &quot;q&quot; &apos;a&apos;",
                "x &lt; y",
                "a &amp; b",
                "a&lt;b&amp;c",
                "m&amp;m",
            ][..],
            &["&lt;t&gt;", "&lt;c&gt;", "r&amp; x"],
            &["a&lt;b", "m&amp;"],
        ];
        for (texts, wants) in texts.iter().zip(wants) {
            assert!(wants.iter().all(|want| has(texts, want)), "{wants:?} in {texts:?}");
        }
    }

    #[test]
    fn log_axes_tick_at_round_numbers() {
        let plot = LinePlot::new("ppl", "length", "perplexity")
            .x_scale(Scale::Log2)
            .y_scale(Scale::Log10)
            .series("PI", [(256.0, 5.0), (512.0, 40.0), (1024.0, 1e4), (2048.0, 1e4)]);
        let (x, y) = axes(&plot);
        assert_eq!(labels(&x), ["256", "512", "1024", "2048"]);
        assert_eq!(labels(&y), ["5", "10", "20", "50", "100", "200", "500", "1000", "2000", "5000", "10000"]);
        let texts = text_contents(&plot.svg());
        assert!(has(&texts, "1024") && has(&texts, "10000"), "{texts:?}");
        // Many lengths on a narrow plot: every so many powers of two.
        let xs = (8..=20).map(|k| ((k as f64).exp2(), 1.0));
        let (x, _) = axes(&LinePlot::new("", "", "").x_scale(Scale::Log2).with_size(300.0, 200.0).series("s", xs));
        assert!((3..=6).contains(&x.ticks.len()) && x.ticks.iter().all(|t| t.fract() == 0.0), "{:?}", x.ticks);
        // A range within a decade gets round numbers, a huge one a few readable labels.
        let (_, y) = axes(&LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 7.0), (2.0, 8.0)]));
        assert!(has(&labels(&y), "7.5"), "{:?}", labels(&y));
        let huge = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 1e-30), (2.0, 1e300)]);
        let (_, y) = axes(&huge);
        assert!((2..=12).contains(&y.ticks.len()) && labels(&y).iter().all(|l| l.len() <= 6), "{:?}", labels(&y));
    }

    #[test]
    fn unshowable_points_are_skipped_and_break_the_line() {
        let points =
            [(1.0, 1.0), (2.0, 2.0), (3.0, f64::INFINITY), (4.0, 3.0), (5.0, 4.0), (f64::NAN, 9.0), (7.0, f64::NAN)];
        let plot = LinePlot::new("", "", "").series("s", points);
        let (x, y) = axes(&plot);
        assert!(y.hi <= 5.0 && y.lo >= 0.0 && x.hi <= 5.5, "only the finite points count: {x:?} {y:?}");
        let log = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 10.0), (2.0, 0.0), (3.0, -5.0)]);
        // Lines (and the legend's) and markers (and the legend's): skipped points, points outside
        // a set y range and values ≤ 0 on a log axis break the line.
        let color = hex(series_style(0).0);
        for (plot, lines, marks) in [(plot.clone(), 2, 4), (plot.y_range(0.0, 3.5), 1, 3), (log, 0, 1)] {
            let svg = plot.svg();
            assert_svg(&svg);
            assert_eq!(count(&svg, "polyline", &format!("stroke=\"{color}\"")), lines + 1);
            assert_eq!(count(&svg, "polygon", &format!("fill=\"{color}\"")), marks + 1);
        }
    }

    #[test]
    fn markers_are_drawn_and_widen_the_range() {
        let plot = LinePlot::new("", "", "")
            .x_scale(Scale::Log2)
            .series("s", [(512.0, 1.0), (2048.0, 2.0)])
            .marker(256.0, "trained window 256")
            .marker(1024.0, "target 1024")
            .marker(f64::NAN, "lost")
            .marker(-1.0, "lost too");
        assert!(axes(&plot).0.contains(256f64.log2()));
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(has(&texts, "trained window 256") && has(&texts, "target 1024"), "{texts:?}");
        assert!(!texts.iter().any(|t| t.starts_with("lost")));
        assert_eq!(svg.matches("transform=\"rotate(270").count(), 2, "labels along the lines");
    }

    #[test]
    fn empty_and_degenerate_figures_are_valid() {
        let line = |plot: LinePlot| plot.series("s", [(1.0, 1.0), (2.0, 2.0)]);
        let plots = [
            LinePlot::new("", "", ""),
            LinePlot::new("", "", "").series("empty", []),
            LinePlot::new("", "", "").series("nan", [(f64::NAN, f64::NAN), (1.0, f64::INFINITY)]),
            LinePlot::new("", "", "").series("one", [(3.0, 3.0)]),
            LinePlot::new("", "", "").x_scale(Scale::Log2).y_scale(Scale::Log10).series("one", [(8.0, 1.0)]),
            LinePlot::new("", "", "").series("flat", [(1.0, 0.0), (1.0, 0.0)]),
            LinePlot::new("", "", "").series("tiny", [(1.0, 1.0), (1.0 + 1e-15, 1.0 + 1e-15)]),
            LinePlot::new("", "", "").series("huge", [(-1e308, -1e308), (1e308, 1e308)]),
            LinePlot::new("", "", "").series("extreme", [(-f64::MAX, f64::MIN_POSITIVE), (f64::MAX, f64::MAX)]),
            line(LinePlot::new("", "", "").with_size(f64::NAN, -3.0)),
            line(LinePlot::new("", "", "").with_size(1e12, 0.0)),
            line(LinePlot::new("", "", "").y_range(5.0, 1.0)),
            line(LinePlot::new("", "", "").y_range(-f64::MAX, f64::MAX)),
            line(LinePlot::new("", "", "").y_range(1.0, 1.0 + 1e-15)),
            line(LinePlot::new("", "", "").y_scale(Scale::Log2).y_range(0.0, 8.0)),
            LinePlot::new("t".repeat(100_000), "", "").series("n".repeat(100_000), [(1.0, 1.0)]).marker(1.0, "m"),
        ];
        for p in &plots {
            let svg = p.svg();
            assert_svg(&svg);
            let (w, h) = p.size();
            assert!((MIN_SIDE..=MAX_SIDE).contains(&w) && (MIN_SIDE..=MAX_SIDE).contains(&h), "{:?}", (w, h));
            assert!(is_sized(&svg, (w, h)));
        }
        let maps = [
            HeatMap::new("", "", ""),
            HeatMap::new("t", "", "").columns(["a", "b"]),
            HeatMap::new("", "", "").row("r", []),
            HeatMap::new("", "", "").range(f64::NAN, f64::INFINITY).row("r", [Some(f64::INFINITY), Some(-1e300)]),
            HeatMap::new("", "", "").range(-f64::MAX, f64::MAX).row("r", [Some(f64::MAX), Some(0.123456789)]),
        ];
        maps.iter().for_each(|m| assert_svg(&m.svg()));
        for empty in [LinePlot::new("", "", "").svg(), HeatMap::new("", "", "").svg()] {
            assert!(has(&text_contents(&empty), "no data"));
        }
    }

    #[test]
    fn fourteen_series_get_fourteen_distinct_styles() {
        assert_eq!((0..14).map(series_style).collect::<HashSet<_>>().len(), 14);
        // up to twenty series differ in colour alone
        assert_eq!((0..20).map(|i| series_style(i).0).collect::<HashSet<_>>().len(), 20);
        assert_eq!((0..80).map(series_style).collect::<HashSet<_>>().len(), 80);
        let mut plot = LinePlot::new("", "", "").with_size(400.0, 200.0);
        for k in 0..32 {
            plot = plot.series(format!("layer {k}"), [(1.0, k as f64), (2.0, k as f64 + 1.0)]);
        }
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!((0..32).all(|k| has(&texts, &format!("layer {k}"))), "{texts:?}");
        assert!((0..20).all(|i| svg.contains(&hex(series_style(i).0))));
        assert!(plot.size().1 >= 32 * LEGEND_ROW, "a long legend makes the figure taller");
    }

    #[test]
    fn heat_map_prints_values_and_marks_missing_cells() {
        let map = HeatMap::new("passkey", "context length", "depth")
            .columns(["256", "512", "1024"])
            .row("0%", [Some(1.0), Some(0.8), Some(0.0)])
            .row("50%", [Some(0.5), None, Some(f64::NAN)])
            .row("100%", [Some(1.5), Some(-0.2)])
            .range(0.0, 2.0);
        let svg = map.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        for want in ["1", "0.8", "0", "0.5", "1.5", "-0.2", "256", "1024", "0%", "100%", "context length", "depth"] {
            assert!(has(&texts, want), "{want} in {texts:?}");
        }
        assert_eq!(texts.iter().filter(|t| *t == MISSING).count(), 3, "None, NaN and the missing cell");
        assert_eq!(count(&svg, "rect", &format!("fill=\"{}\"", hex(MISSING_FILL))), 3);
        // Out-of-range values take the end colours; an unusable range is [0, 1].
        assert_eq!((map.color(-1.0), map.color(3.0)), (ViridisRGB::get_color(0.0), ViridisRGB::get_color(1.0)));
        assert_eq!(map.range(1.0, f64::NAN).color(0.5), ViridisRGB::get_color(0.5));
    }

    #[test]
    fn grid_places_every_panel() {
        let maps: Vec<HeatMap> = (0..10)
            .map(|k| HeatMap::new(format!("method {k}"), "", "").columns(["1k", "2k"]).row("0%", [Some(0.1), None]))
            .collect();
        let svg = grid("passkey", &maps, 5);
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(has(&texts, "passkey") && (0..10).all(|k| has(&texts, &format!("method {k}"))), "{texts:?}");
        let (w, h) = maps[0].size();
        assert!(is_sized(&svg, (5 * (w + MARGIN) + MARGIN, TITLE_ROOM + 2 * (h + MARGIN) + MARGIN)));
        // Line plots too, and grids without figures.
        assert_svg(&grid("", &[LinePlot::new("p", "", "").series("s", [(1.0, 1.0)]), LinePlot::new("", "", "")], 0));
        assert_svg(&grid::<HeatMap>("", &[], 0));
        assert_eq!(text_contents(&grid::<HeatMap>("nothing", &[], 3)), ["nothing"]);
    }

    #[test]
    fn a_failed_drawing_gives_a_document_that_says_so() {
        let svg = failure_svg((300, 100), &"bad <layout>");
        assert_svg(&svg);
        assert_eq!(text_contents(&svg), ["this figure could not be drawn: bad &lt;layout&gt;"]);
        let failed = render((300, 100), |_| Err(DrawingAreaErrorKind::LayoutError));
        assert_eq!(failed, failure_svg((300, 100), &DrawingAreaErrorKind::<io::Error>::LayoutError));
    }

    #[test]
    fn tick_and_cell_labels_are_readable() {
        let ticks = [1024.0, 0.30000000000000004, 19.999999999999996, 7.25, 2e6, 1048576.0, 1.5e-5, -0.0];
        assert_eq!(ticks.map(tick_label), ["1024", "0.3", "20", "7.25", "2e6", "1.05e6", "1.5e-5", "0"]);
        assert_eq!([0.8, 1.0, -0.001].map(cell_label), ["0.8", "1", "0"]);
    }
}
