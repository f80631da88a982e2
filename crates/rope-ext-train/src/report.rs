//! Evaluation reports: markdown tables, and figures drawn with plotters (SVG).
//!
//! - [`Table`]: a markdown table; numeric columns (detected, or set with [`Table::align`]) are
//!   right-aligned. [`fmt_f64`] and [`fmt_opt`] format numbers for it.
//! - [`LinePlot`]: named series of `(x, y)` points on linear, log2 or log10 axes, with a legend
//!   and labelled vertical reference lines ("trained window", "target"): perplexity against
//!   length, mean attention entropy against length.
//! - [`HeatMap`]: a grid of values in a colour scale with each value printed in its cell:
//!   passkey accuracy by needle depth (rows) and context length (columns).
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
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
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
// Figures: shared pieces
// ---------------------------------------------------------------------------------------------

/// The region of an SVG document that a [`Figure`] draws on.
pub type Canvas<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The outcome of drawing on a [`Canvas`].
pub type DrawResult = Result<(), DrawingAreaErrorKind<io::Error>>;

/// A figure that can be drawn alone or as a panel of a [`grid`].
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `area`, which is [`Figure::size`] large.
    fn draw(&self, area: &Canvas<'_>) -> DrawResult;
}

/// The font family of every text.
const FONT: &str = "sans-serif";
/// Font sizes in plotters' units (its SVG backend writes `size / 1.24` pixels).
const TITLE_SIZE: f64 = 20.0;
const GRID_TITLE_SIZE: f64 = 22.0;
const LABEL_SIZE: f64 = 16.0;
const TEXT_SIZE: f64 = 15.0;
/// Room in pixels for a title, for a row of tick labels, for an axis description, and between
/// an axis and its tick labels.
const TITLE_ROOM: u32 = 32;
const TICK_LABEL_ROOM: u32 = 24;
const DESC_ROOM: u32 = 24;
const TICK_ROOM: u32 = 14;
/// Space around a figure's content.
const MARGIN: u32 = 10;
/// The smallest and largest side of a figure, in pixels.
const MIN_SIDE: f64 = 160.0;
const MAX_SIDE: u32 = 8192;

const GRID_GREY: RGBColor = RGBColor(228, 228, 228);
const NOTE_GREY: RGBColor = RGBColor(136, 136, 136);
const REFERENCE_GREY: RGBColor = RGBColor(60, 60, 60);
const INK: RGBColor = RGBColor(17, 17, 17);

/// A plotters text style: [`FONT`] at `size`.
fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// A bold [`font`], for titles.
fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font().style(FontStyle::Bold))
}

/// The estimated width in pixels of `s` at font size `size`: 0.6 em a character, what common
/// sans-serif fonts average (plotters' own estimate, without `ttf`, is narrower); at most
/// [`MAX_SIDE`], so that sums of a few widths cannot overflow.
fn text_width(s: &str, size: f64) -> u32 {
    (s.chars().count() as f64 * size / 1.24 * 0.6).ceil().min(MAX_SIDE as f64) as u32
}

/// `s` as one line of SVG text: tabs and line breaks become spaces and the other characters
/// that XML 1.0 forbids are dropped (the backend escapes `<`, `&` and quotes).
fn one_line(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// The estimated width in pixels of the widest of `texts` at [`TEXT_SIZE`] (0 for none).
fn widest<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> u32 {
    texts.into_iter().map(|s| text_width(s.as_ref(), TEXT_SIZE)).max().unwrap_or(0)
}

/// The room for an axis description: none when it is empty.
fn desc_room(desc: &str) -> u32 {
    if desc.is_empty() { 0 } else { DESC_ROOM }
}

/// A requested figure side in pixels: `default` unless finite, and never too small or too large.
fn side(requested: f64, default: u32) -> u32 {
    if requested.is_finite() { requested.clamp(MIN_SIDE, MAX_SIDE as f64) as u32 } else { default }
}

/// The length of `n` cells of `each` pixels, saturating.
fn cells_length(n: usize, each: u32) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).saturating_mul(each)
}

/// A document of `size` drawn by `draw` on white; if plotters reports an error, a document that
/// says the figure could not be drawn.
fn render(size: (u32, u32), draw: impl FnOnce(&Canvas<'_>) -> DrawResult) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).and_then(|()| draw(&root)).and_then(|()| root.present())
    };
    match drawn {
        Ok(()) => svg,
        Err(e) => failure_svg(size, &e),
    }
}

/// A document of `size` that says the figure could not be drawn, and why.
fn failure_svg(size: (u32, u32), error: &dyn fmt::Display) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let message = one_line(&format!("this figure could not be drawn: {error}"));
        // Should even this fail, the document is still valid, only empty.
        let _ = root.draw_text(&message, &font(TEXT_SIZE), (MARGIN as i32, 2 * MARGIN as i32));
    }
    svg
}

/// The part of `area` below `title` (all of it when the title is empty), the title drawn.
fn below_title<'a>(area: &Canvas<'a>, title: &str, size: f64) -> Result<Canvas<'a>, DrawingAreaErrorKind<io::Error>> {
    if title.is_empty() { Ok(area.clone()) } else { area.titled(&one_line(title), bold(size)) }
}

/// Writes `note` ("no data") in grey at the centre of `area`.
fn draw_note(area: &Canvas<'_>, note: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = font(TEXT_SIZE).color(&NOTE_GREY).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(note, &style, (w as i32 / 2, h as i32 / 2))
}

// ---------------------------------------------------------------------------------------------
// Grids of figures
// ---------------------------------------------------------------------------------------------

/// Space around each panel of a [`grid`].
const PANEL_GAP: u32 = 12;

/// Several figures as the panels of one SVG, `columns` per row (0: all in one row), under
/// `title` (empty: none). Each column is as wide as its widest figure and each row as tall as
/// its tallest. No figures give a document that holds only the title.
///
/// For the passkey results of several methods, give each [`HeatMap`] its method as title and
/// turn off the colour bar of all but one.
pub fn grid<F: Figure>(title: &str, figures: &[F], columns: usize) -> String {
    let sizes: Vec<(u32, u32)> = figures.iter().map(Figure::size).collect();
    let panels = Panels::new(&sizes, columns);
    let title_room = if title.is_empty() { 0 } else { TITLE_ROOM };
    let width = panels.width.max(text_width(title, GRID_TITLE_SIZE) + 2 * MARGIN);
    render((width, panels.height.saturating_add(title_room)), |root| {
        let body = below_title(root, title, GRID_TITLE_SIZE)?;
        let cells = body.split_by_breakpoints(&panels.x_breaks, &panels.y_breaks);
        for ((figure, &size), cell) in figures.iter().zip(&sizes).zip(cells) {
            figure.draw(&cell.shrink((PANEL_GAP, PANEL_GAP), size))?;
        }
        Ok(())
    })
}

/// Where the panels of a [`grid`] go: the offsets at which columns and rows after the first
/// start, and the size of them all.
struct Panels {
    x_breaks: Vec<i32>,
    y_breaks: Vec<i32>,
    width: u32,
    height: u32,
}

impl Panels {
    /// Panels for figures of these sizes, `columns` per row (0: all in one row).
    fn new(sizes: &[(u32, u32)], columns: usize) -> Panels {
        let columns = if columns == 0 { sizes.len() } else { columns.min(sizes.len()) }.max(1);
        let mut widths = vec![0; columns];
        let mut heights = vec![0; sizes.len().div_ceil(columns)];
        for (i, &(w, h)) in sizes.iter().enumerate() {
            widths[i % columns] = widths[i % columns].max(w);
            heights[i / columns] = heights[i / columns].max(h);
        }
        let (x_breaks, width) = breakpoints(&widths);
        let (y_breaks, height) = breakpoints(&heights);
        Panels { x_breaks, y_breaks, width, height }
    }
}

/// The offsets at which cells of these lengths start (each with [`PANEL_GAP`] before it),
/// the first left out, and the total length with a closing gap.
fn breakpoints(lengths: &[u32]) -> (Vec<i32>, u32) {
    let mut breaks = Vec::new();
    let mut at = 0u32;
    for (i, &length) in lengths.iter().enumerate() {
        if i > 0 {
            breaks.push(i32::try_from(at).unwrap_or(i32::MAX));
        }
        at = at.saturating_add(length).saturating_add(PANEL_GAP);
    }
    (breaks, at.saturating_add(PANEL_GAP).min(i32::MAX as u32 / 2))
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
    /// Logarithmic base 2 (context lengths: each doubling is one step); ticks at the data's
    /// distinct x values when they are few and far enough apart, else at powers of two.
    /// Values ≤ 0 are skipped.
    Log2,
    /// Logarithmic base 10 (perplexity); ticks at powers of ten, and at 2× and 5× (or every
    /// multiple) when there is room, or at round numbers when the range spans less than a
    /// decade. Values ≤ 0 are skipped.
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

    /// The range (axis units) of an axis without data: 0 to 1, 1 to 1024, 1 to 10.
    fn default_range(self) -> (f64, f64) {
        match self {
            Scale::Linear | Scale::Log10 => (0.0, 1.0),
            Scale::Log2 => (0.0, 10.0),
        }
    }
}

/// Room a tick label needs along a horizontal and along a vertical axis, in pixels.
const X_TICK_ROOM: f64 = 64.0;
const Y_TICK_ROOM: f64 = 22.0;

/// A chart's plotting area, in axis units.
type ChartArea<'a> = DrawingArea<SVGBackend<'a>, Cartesian2d<Axis, Axis>>;

/// A resolved axis: its range and ticks in axis units (logarithms on a log scale).
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// The axis over `fixed` (data units) when that is a valid range on the scale, else over
    /// `data` (axis units) with 5% to spare; `pixels` long, with a tick label every `room`
    /// pixels or more, at `hints` (axis units) when they fit.
    fn new(
        scale: Scale,
        data: Option<(f64, f64)>,
        fixed: Option<(f64, f64)>,
        pixels: f64,
        room: f64,
        hints: &[f64],
    ) -> Axis {
        let fixed = fixed.and_then(|(a, b)| Some((scale.forward(a)?, scale.forward(b)?))).filter(|(a, b)| a < b);
        let (lo, hi) = drawable(fixed.unwrap_or_else(|| padded(scale, data)));
        let ticks = ticks(scale, (lo, hi), pixels, room, hints);
        Axis { scale, lo, hi, ticks }
    }

    /// Whether axis position `t` lies on the axis.
    fn contains(&self, t: f64) -> bool {
        (self.lo..=self.hi).contains(&t)
    }

    /// `t` moved onto the axis.
    fn clamp(&self, t: f64) -> f64 {
        t.clamp(self.lo, self.hi)
    }

    /// The label of the tick at axis position `t`.
    fn label(&self, t: f64) -> String {
        tick_label(self.scale.inverse(t))
    }

    /// The width of the widest tick label.
    fn label_width(&self) -> u32 {
        widest(self.ticks.iter().map(|&t| self.label(t)))
    }
}

/// The axis as a plotters coordinate: linear in axis units, its ticks as the only key points
/// (so no light grid lines), labelled in data units.
impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, t: &f64, pixels: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.lo..self.hi).map(t, pixels)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(t: &f64) -> String {
        tick_label(*t)
    }

    fn format_ext(&self, t: &f64) -> String {
        self.label(*t)
    }
}

/// The data range `data` (axis units) with 5% to spare at each end, a single value widened
/// (by 10% of it on a linear axis, half a step on a log axis), no data the scale's default.
fn padded(scale: Scale, data: Option<(f64, f64)>) -> (f64, f64) {
    let Some((lo, hi)) = data else { return scale.default_range() };
    let pad = match scale {
        _ if hi > lo => (hi - lo) * 0.05,
        Scale::Linear if lo == 0.0 => 1.0,
        Scale::Linear => lo.abs() * 0.1,
        Scale::Log2 | Scale::Log10 => 0.5,
    };
    (lo - pad, hi + pad)
}

/// `(lo, hi)` made safe to draw: within ±`f64::MAX / 4`, so that its width is finite, and at
/// least a millionth of its magnitude wide.
fn drawable((lo, hi): (f64, f64)) -> (f64, f64) {
    const LIMIT: f64 = f64::MAX / 4.0;
    let (lo, hi) = (lo.clamp(-LIMIT, LIMIT), hi.clamp(-LIMIT, LIMIT));
    let magnitude = lo.abs().max(hi.abs());
    if hi - lo > magnitude * 1e-12 {
        (lo, hi)
    } else {
        let d = magnitude.max(1.0) * 1e-6;
        (lo - d, hi + d)
    }
}

/// Tick positions (axis units) for an axis over `(lo, hi)` drawn `pixels` long, a label every
/// `room` pixels or more; see [`Scale`].
fn ticks(scale: Scale, (lo, hi): (f64, f64), pixels: f64, room: f64, hints: &[f64]) -> Vec<f64> {
    let per_unit = pixels / (hi - lo);
    let ticks = match scale {
        Scale::Linear => None,
        Scale::Log2 => Some(log2_ticks((lo, hi), per_unit, room, hints)).filter(|ticks| ticks.len() >= 2),
        // Fewer than three: the range lies within a decade or two, where round numbers say more.
        Scale::Log10 => Some(log10_ticks((lo, hi), per_unit, room)).filter(|ticks| ticks.len() >= 3),
    };
    ticks.unwrap_or_else(|| round_ticks(scale, (lo, hi), pixels / room))
}

/// Ticks at round numbers of the data (1, 2 or 5 times a power of ten, where plotters puts
/// them on a linear axis), about `count` of them, in axis units.
fn round_ticks(scale: Scale, (lo, hi): (f64, f64), count: f64) -> Vec<f64> {
    let (a, b) = (scale.inverse(lo), scale.inverse(hi));
    if !(b - a).is_finite() || a >= b {
        return vec![lo, hi];
    }
    RangedCoordf64::from(a..b)
        .key_points(count.clamp(2.0, 12.0) as usize)
        .into_iter()
        .filter_map(|v| scale.forward(v))
        .filter(|&t| (lo..=hi).contains(&t))
        .collect()
}

/// Ticks of a log2 axis: the data's own x values (`hints`) when there are 2 to 16 of them and
/// their labels fit side by side, else every so many powers of two.
fn log2_ticks((lo, hi): (f64, f64), per_unit: f64, room: f64, hints: &[f64]) -> Vec<f64> {
    let mut at: Vec<f64> = hints.iter().copied().filter(|t| (lo..=hi).contains(t)).collect();
    at.sort_by(f64::total_cmp);
    at.dedup();
    let width = |t: f64| text_width(&tick_label(t.exp2()), TEXT_SIZE) as f64;
    let fits = at.windows(2).all(|w| (w[1] - w[0]) * per_unit >= (width(w[0]) + width(w[1])) / 2.0 + 8.0);
    if (2..=16).contains(&at.len()) && fits {
        return at;
    }
    every_step((lo, hi), (room / per_unit).ceil().max(1.0)).collect()
}

/// Ticks of a log10 axis: every so many powers of ten, and 2× and 5× (or every multiple) when
/// a decade has room for their labels.
fn log10_ticks((lo, hi): (f64, f64), per_unit: f64, room: f64) -> Vec<f64> {
    let fits = |ratio: f64| ratio.log10() * per_unit >= room;
    let multiples: &[f64] = if fits(10.0 / 9.0) {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    } else if fits(2.0) {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let stride = (room / per_unit).ceil().max(1.0);
    every_step(((lo / stride).floor() * stride, hi), stride)
        .flat_map(|decade| multiples.iter().map(move |m| decade + m.log10()))
        .filter(|t| (lo..=hi).contains(t))
        .collect()
}

/// The whole multiples of `step` from `lo` to `hi`, at most 400 of them.
fn every_step((lo, hi): (f64, f64), step: f64) -> impl Iterator<Item = f64> {
    let first = (lo / step).ceil() * step;
    (0..400).map(move |k| first + k as f64 * step).take_while(move |&t| t <= hi)
}

/// A tick label: up to five significant digits without trailing zeros (`1024`, `0.3`, `7.25`),
/// scientific (`2.1e6`, `1.5e-5`) for very large and very small values.
fn tick_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_f64(v, 0);
    }
    let magnitude = v.abs().log10().floor();
    if (-4.0..6.0).contains(&magnitude) {
        let decimals = (4.0 - magnitude).max(0.0) as usize;
        return trim_zeros(&format!("{v:.decimals$}"));
    }
    let s = format!("{v:.2e}");
    match s.split_once('e') {
        Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
        None => s,
    }
}

/// A decimal number without trailing zeros after its point (`0.80` → `0.8`, `1.00` → `1`).
fn trim_zeros(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

// ---------------------------------------------------------------------------------------------
// Line plots
// ---------------------------------------------------------------------------------------------

/// One named line of a [`LinePlot`], in data units.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

/// A labelled vertical reference line of a [`LinePlot`] ("trained window 256").
#[derive(Debug, Clone, PartialEq)]
struct Marker {
    x: f64,
    label: String,
}

/// A line plot: named series of `(x, y)` points, a legend to the right, optional log axes and
/// labelled vertical reference lines.
///
/// Every series has its own look: ten colours (Tableau 10), and past the tenth series a new
/// dash pattern and marker shape for each further ten, so that the first 160 series all
/// differ. A point with a non-finite coordinate (or one ≤ 0 on a log axis) is skipped and
/// breaks the line. Points are marked unless a series has more than 64 of them.
///
/// Axis ranges cover every point that can be shown and every reference line, unless fixed with
/// [`LinePlot::x_range`] / [`LinePlot::y_range`] (give the panels of a [`grid`] the same ranges
/// to compare them); lines are clipped to a fixed range, and points and reference lines outside
/// it are left out. A plot without anything to show draws its axes and "no data".
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    x_scale: Scale,
    y_scale: Scale,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    series: Vec<Series>,
    markers: Vec<Marker>,
    width: f64,
    height: f64,
}

/// The smallest plot area, in pixels.
const MIN_PLOT: u32 = 80;
/// A series with more points than this is drawn without markers.
const MAX_MARKED: usize = 64;
/// Line width of a series.
const LINE_WIDTH: u32 = 2;
/// The legend: space between plot and legend, around its entries, the width of an entry's
/// sample of line and the height of an entry.
const LEGEND_GAP: u32 = 12;
const LEGEND_MARGIN: u32 = 4;
const LEGEND_SAMPLE: u32 = 34;
const LEGEND_ROW: u32 = 16;

/// A line plot's chart.
type PlotChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// The resolved geometry of a [`LinePlot`]: its size, its axes and the room around the plot.
struct PlotLayout {
    size: (u32, u32),
    x: Axis,
    y: Axis,
    /// Left of the plot: y tick labels and description.
    y_label_room: u32,
    /// Under the plot: x tick labels and description.
    x_label_room: u32,
    /// Right of the plot: the legend.
    legend_room: u32,
}

impl LinePlot {
    /// An empty 640 × 400 plot with linear axes.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            series: Vec::new(),
            markers: Vec::new(),
            width: 640.0,
            height: 400.0,
        }
    }

    /// Sets the x scale.
    pub fn x_scale(mut self, scale: Scale) -> Self {
        self.x_scale = scale;
        self
    }

    /// Sets the y scale.
    pub fn y_scale(mut self, scale: Scale) -> Self {
        self.y_scale = scale;
        self
    }

    /// Fixes the x range (ignored unless `lo < hi` and both are showable on the scale).
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    /// Fixes the y range (ignored unless `lo < hi` and both are showable on the scale).
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Sets the figure size in pixels (at least 160 × 160, at most 8192 × 8192; grown when
    /// the labels or the legend need more room).
    pub fn with_size(mut self, width: f64, height: f64) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Adds a series.
    pub fn series(mut self, name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.series.push(Series { name: name.into(), points: points.into_iter().collect() });
        self
    }

    /// Adds a vertical reference line at `x`, labelled along the line.
    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.markers.push(Marker { x, label: label.into() });
        self
    }

    /// The plot as a standalone SVG document.
    pub fn svg(&self) -> String {
        let layout = self.layout();
        render(layout.size, |area| self.draw_with(area, &layout))
    }

    /// The points that can be shown on these scales, in axis units.
    fn shown_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.series
            .iter()
            .flat_map(|s| &s.points)
            .filter_map(|&(x, y)| Some((self.x_scale.forward(x)?, self.y_scale.forward(y)?)))
    }

    fn layout(&self) -> PlotLayout {
        let points: Vec<(f64, f64)> = self.shown_points().collect();
        let markers = self.markers.iter().filter_map(|m| self.x_scale.forward(m.x));
        let x_data = extent(points.iter().map(|p| p.0).chain(markers));
        let y_data = extent(points.iter().map(|p| p.1));
        let title_room = if self.title.is_empty() { 0 } else { TITLE_ROOM };
        let x_label_room = TICK_LABEL_ROOM + desc_room(&self.x_label);
        let legend_room = self.legend_room();
        let plot_height = side(self.height, 400)
            .saturating_sub(2 * MARGIN + title_room + x_label_room)
            .max(MIN_PLOT)
            .max(cells_length(self.series.len(), LEGEND_ROW) + 2 * LEGEND_MARGIN);
        let y = Axis::new(self.y_scale, y_data, self.y_range, plot_height as f64, Y_TICK_ROOM, &[]);
        let y_label_room = y.label_width() + TICK_ROOM + desc_room(&self.y_label);
        let plot_width = side(self.width, 640).saturating_sub(2 * MARGIN + y_label_room + legend_room).max(MIN_PLOT);
        let hints: Vec<f64> = points.iter().map(|p| p.0).collect();
        let x = Axis::new(self.x_scale, x_data, self.x_range, plot_width as f64, X_TICK_ROOM, &hints);
        let width = (2 * MARGIN + y_label_room + plot_width + legend_room)
            .max(text_width(&self.title, TITLE_SIZE) + 2 * MARGIN)
            .min(MAX_SIDE);
        let height = (2 * MARGIN + title_room + plot_height + x_label_room).min(MAX_SIDE);
        PlotLayout { size: (width, height), x, y, y_label_room, x_label_room, legend_room }
    }

    /// The room right of the plot that the legend needs: none without series.
    fn legend_room(&self) -> u32 {
        if self.series.is_empty() {
            return 0;
        }
        LEGEND_GAP + 2 * LEGEND_MARGIN + LEGEND_SAMPLE + MARGIN + widest(self.series.iter().map(|s| &s.name))
    }

    /// The reference lines on the x axis: position (axis units) and label.
    fn reference_lines(&self, x: &Axis) -> Vec<(f64, String)> {
        let on_axis = |m: &Marker| self.x_scale.forward(m.x).filter(|&t| x.contains(t));
        self.markers.iter().filter_map(|m| Some((on_axis(m)?, one_line(&m.label)))).collect()
    }

    fn draw_with(&self, area: &Canvas<'_>, l: &PlotLayout) -> DrawResult {
        let mut builder = ChartBuilder::on(area);
        builder
            .margin(MARGIN)
            .margin_right(MARGIN + l.legend_room)
            .x_label_area_size(l.x_label_room)
            .y_label_area_size(l.y_label_room);
        if !self.title.is_empty() {
            builder.caption(one_line(&self.title), bold(TITLE_SIZE));
        }
        let mut chart = builder.build_cartesian_2d(l.x.clone(), l.y.clone())?;
        self.draw_mesh(&mut chart)?;
        let references = self.reference_lines(&l.x);
        for (t, _) in &references {
            draw_reference_line(chart.plotting_area(), *t, &l.y)?;
        }
        let visible: Vec<Visible> = self.series.iter().map(|s| Visible::of(&s.points, &l.x, &l.y)).collect();
        for (i, visible) in visible.iter().enumerate() {
            draw_series(chart.plotting_area(), visible, series_style(i))?;
        }
        for (t, label) in &references {
            draw_reference_label(&chart, *t, label, &l.y)?;
        }
        if visible.iter().all(Visible::is_empty) {
            draw_note(&chart.plotting_area().strip_coord_spec(), "no data")?;
        }
        draw_legend(area, &chart, &self.series)
    }

    /// Draws the grid lines, the axes, their tick labels and their descriptions.
    fn draw_mesh(&self, chart: &mut PlotChart<'_, '_>) -> DrawResult {
        let mut mesh = chart.configure_mesh();
        mesh.label_style(font(TEXT_SIZE)).axis_desc_style(font(LABEL_SIZE)).bold_line_style(GRID_GREY);
        if !self.x_label.is_empty() {
            mesh.x_desc(one_line(&self.x_label));
        }
        if !self.y_label.is_empty() {
            mesh.y_desc(one_line(&self.y_label));
        }
        mesh.draw()
    }
}

impl Figure for LinePlot {
    fn size(&self) -> (u32, u32) {
        self.layout().size
    }

    fn draw(&self, area: &Canvas<'_>) -> DrawResult {
        self.draw_with(area, &self.layout())
    }
}

/// The smallest and largest of `values`, if there are any.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))))
}

/// What of a series falls inside the plot, in axis units.
struct Visible {
    /// Stretches of line: runs of consecutive showable points, clipped to the plot.
    lines: Vec<Vec<(f64, f64)>>,
    /// Points to mark.
    dots: Vec<(f64, f64)>,
}

impl Visible {
    /// The visible part of `points` (data units) on axes `x` and `y`: every point inside is
    /// marked when there are at most [`MAX_MARKED`] points, else only those without neighbours.
    fn of(points: &[(f64, f64)], x: &Axis, y: &Axis) -> Visible {
        let runs = showable_runs(points, x.scale, y.scale);
        let marked = |run: &&Vec<(f64, f64)>| points.len() <= MAX_MARKED || run.len() == 1;
        let inside = |&(a, b): &(f64, f64)| x.contains(a) && y.contains(b);
        Visible {
            lines: runs.iter().flat_map(|run| clip_run(run, x, y)).collect(),
            dots: runs.iter().filter(marked).flatten().copied().filter(inside).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dots.is_empty()
    }
}

/// The runs of consecutive points (data units) that can be shown on these scales, in axis units.
fn showable_runs(points: &[(f64, f64)], x: Scale, y: Scale) -> Vec<Vec<(f64, f64)>> {
    let shown: Vec<Option<(f64, f64)>> = points.iter().map(|&(a, b)| Some((x.forward(a)?, y.forward(b)?))).collect();
    shown
        .split(Option::is_none)
        .filter(|run| !run.is_empty())
        .map(|run| run.iter().flatten().copied().collect())
        .collect()
}

/// The stretches of the line through `run` (axis units) that lie inside the axes' box.
fn clip_run(run: &[(f64, f64)], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let mut stretches: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut joined = false;
    for w in run.windows(2) {
        let Some((a, b)) = clip_segment(w[0], w[1], x, y) else {
            joined = false;
            continue;
        };
        match stretches.last_mut() {
            Some(stretch) if joined && a == w[0] => stretch.push(b),
            _ => stretches.push(vec![a, b]),
        }
        joined = b == w[1];
    }
    stretches
}

/// The part of the segment from `p` to `q` (axis units) inside the axes' box, if any
/// (Liang–Barsky); ends inside the box come back unchanged.
fn clip_segment(p: (f64, f64), q: (f64, f64), x: &Axis, y: &Axis) -> Option<((f64, f64), (f64, f64))> {
    let (mut enter, mut leave) = (0.0f64, 1.0f64);
    for (from, to, lo, hi) in [(p.0, q.0, x.lo, x.hi), (p.1, q.1, y.lo, y.hi)] {
        let d = to - from;
        for (toward, room) in [(-d, from - lo), (d, hi - from)] {
            if toward == 0.0 {
                if room < 0.0 {
                    return None;
                }
            } else if toward < 0.0 {
                enter = enter.max(room / toward);
            } else {
                leave = leave.min(room / toward);
            }
        }
    }
    if enter > leave {
        return None;
    }
    let lerp = |a: f64, b: f64, t: f64| a * (1.0 - t) + b * t;
    let at = |t: f64| (x.clamp(lerp(p.0, q.0, t)), y.clamp(lerp(p.1, q.1, t)));
    Some((at(enter), at(leave)))
}

/// Draws a dashed vertical reference line at axis position `t`.
fn draw_reference_line(area: &ChartArea<'_>, t: f64, y: &Axis) -> DrawResult {
    area.draw(&DashedPathElement::new(vec![(t, y.lo), (t, y.hi)], 6, 4, REFERENCE_GREY.stroke_width(1)))
}

/// Writes a reference line's label along it from the top of the plot, right of the line (left
/// of it near the right edge), on a white ground that keeps it readable over the data.
fn draw_reference_label(chart: &PlotChart<'_, '_>, t: f64, label: &str, y: &Axis) -> DrawResult {
    if label.is_empty() {
        return Ok(());
    }
    let (line_x, _) = chart.backend_coord(&(t, y.hi));
    let right_edge = chart.plotting_area().get_pixel_range().0.end;
    let glyph = (TEXT_SIZE / 1.24).ceil() as i32;
    let left = if line_x + glyph + 8 < right_edge { 3 } else { -glyph - 3 };
    let length = text_width(label, TEXT_SIZE) as i32;
    let ground = Rectangle::new([(left - 1, 2), (left + glyph + 1, length + 6)], WHITE.mix(0.85).filled());
    let style = font(TEXT_SIZE)
        .color(&REFERENCE_GREY)
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Right, VPos::Top));
    let text = Text::new(label.to_string(), (left, 4), style);
    chart.plotting_area().draw(&(EmptyElement::at((t, y.hi)) + ground + text))
}

/// Draws a series' visible lines and marked points.
fn draw_series(area: &ChartArea<'_>, visible: &Visible, style: SeriesStyle) -> DrawResult {
    for line in &visible.lines {
        draw_line(area, line, style)?;
    }
    visible.dots.iter().try_for_each(|&at| draw_mark(area, at, style))
}

/// Draws the legend on the figure's `area`, right of the chart's plot: for each series a
/// stretch of its line with its marker, and its name.
fn draw_legend(area: &Canvas<'_>, chart: &PlotChart<'_, '_>, series: &[Series]) -> DrawResult {
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    let (base_x, base_y) = area.get_base_pixel();
    let left = plot_x.end - base_x + LEGEND_GAP as i32;
    let top = plot_y.start - base_y + LEGEND_MARGIN as i32;
    let sample = (LEGEND_SAMPLE - 8) as i32;
    let style = font(TEXT_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, series) in series.iter().enumerate() {
        let y = top + (i as i32 * 2 + 1) * LEGEND_ROW as i32 / 2;
        draw_line(area, &[(left, y), (left + sample, y)], series_style(i))?;
        draw_mark(area, (left + sample / 2, y), series_style(i))?;
        area.draw_text(&one_line(&series.name), &style, (left + LEGEND_SAMPLE as i32, y))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Series styles
// ---------------------------------------------------------------------------------------------

/// Tableau 10: ten colours that stay apart on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// How a series' line is drawn: solid, or dashes `on` pixels long with `off`-pixel gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dash {
    Solid,
    Dashed { on: u32, off: u32 },
}

const DASHES: [Dash; 4] =
    [Dash::Solid, Dash::Dashed { on: 9, off: 5 }, Dash::Dashed { on: 2, off: 4 }, Dash::Dashed { on: 18, off: 4 }];

/// The marker drawn at a series' points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Circle,
    Triangle,
    Square,
    Cross,
}

const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Triangle, Shape::Square, Shape::Cross];

/// The look of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SeriesStyle {
    color: RGBColor,
    dash: Dash,
    shape: Shape,
}

/// The look of series `i`: colour `i` of the [`PALETTE`]; each round of ten series takes the
/// next pair of dash pattern and marker shape, all 16 pairs before one repeats, so that the
/// first 160 series all look different (and the first 40 differ in both dash and shape
/// from every other series of their colour).
fn series_style(i: usize) -> SeriesStyle {
    let round = i / PALETTE.len();
    SeriesStyle {
        color: PALETTE[i % PALETTE.len()],
        dash: DASHES[round % DASHES.len()],
        shape: SHAPES[(round + round / DASHES.len()) % SHAPES.len()],
    }
}

/// Draws the line through `points` in the series' colour and dash pattern.
fn draw_line<CT: CoordTranslate>(
    area: &DrawingArea<SVGBackend<'_>, CT>,
    points: &[CT::From],
    style: SeriesStyle,
) -> DrawResult
where
    CT::From: Clone,
{
    let stroke = style.color.stroke_width(LINE_WIDTH);
    match style.dash {
        Dash::Solid => area.draw(&PathElement::new(points.to_vec(), stroke)),
        Dash::Dashed { on, off } => area.draw(&DashedPathElement::new(points.iter().cloned(), on, off, stroke)),
    }
}

/// Draws the series' marker at `at`.
fn draw_mark<CT: CoordTranslate>(
    area: &DrawingArea<SVGBackend<'_>, CT>,
    at: CT::From,
    style: SeriesStyle,
) -> DrawResult {
    let (at, fill) = (EmptyElement::at(at), style.color.filled());
    match style.shape {
        Shape::Circle => area.draw(&(at + Circle::new((0, 0), 3, fill))),
        Shape::Triangle => area.draw(&(at + TriangleMarker::new((0, 0), 5, fill))),
        Shape::Square => area.draw(&(at + Rectangle::new([(-3, -3), (3, 3)], fill))),
        Shape::Cross => area.draw(&(at + Cross::new((0, 0), 3, style.color.stroke_width(2)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Heat maps
// ---------------------------------------------------------------------------------------------

/// The colours of a [`HeatMap`], from its low to its high end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorScale {
    /// White to dark blue (ColorBrewer Blues).
    #[default]
    WhiteBlue,
    /// Red through yellow to green (ColorBrewer RdYlGn): failure red, success green.
    RedGreen,
}

impl ColorScale {
    fn stops(self) -> &'static [RGBColor] {
        match self {
            ColorScale::WhiteBlue => &[
                RGBColor(247, 251, 255),
                RGBColor(198, 219, 239),
                RGBColor(107, 174, 214),
                RGBColor(33, 113, 181),
                RGBColor(8, 48, 107),
            ],
            ColorScale::RedGreen => &[
                RGBColor(215, 48, 39),
                RGBColor(252, 141, 89),
                RGBColor(254, 224, 139),
                RGBColor(217, 239, 139),
                RGBColor(145, 207, 96),
                RGBColor(26, 152, 80),
            ],
        }
    }

    /// The colour at `t` in `[0, 1]` (clamped; NaN gives the low end).
    fn color(self, t: f64) -> RGBColor {
        let stops = self.stops();
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let at = t * (stops.len() - 1) as f64;
        let i = (at.floor() as usize).min(stops.len() - 2);
        let (a, b, f) = (stops[i], stops[i + 1], at - i as f64);
        let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round().clamp(0.0, 255.0) as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// Whether dark text is readable on `c` (relative luminance above about a half).
fn is_light(RGBColor(r, g, b): RGBColor) -> bool {
    0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64 > 140.0
}

/// A heat map: `values[row][column]` coloured on a [`ColorScale`] over `[min, max]` (default
/// `[0, 1]`), each value printed in its cell with up to two decimals (`0.8`, `1`), and a
/// colour bar to the right.
///
/// The grid is as large as the longest of the labels and the values; a missing, `None` or
/// non-finite value is a hatched grey cell. Values outside `[min, max]` are printed as they
/// are and coloured as the nearest end. An empty map draws its title and "no data".
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    title: String,
    x_label: String,
    y_label: String,
    columns: Vec<String>,
    rows: Vec<String>,
    values: Vec<Vec<Option<f64>>>,
    colors: ColorScale,
    min: f64,
    max: f64,
    legend: bool,
}

/// Cells: the narrowest, the room beside their text, their height, and the decimals printed.
const CELL_MIN_WIDTH: u32 = 48;
const CELL_PADDING: u32 = 14;
const CELL_HEIGHT: u32 = 28;
const CELL_DECIMALS: usize = 2;
/// The colour bar: its width, its space from the cells, its shortest and longest length, and
/// the bands it is drawn in.
const BAR_WIDTH: u32 = 14;
const BAR_GAP: u32 = 16;
const BAR_MIN_HEIGHT: u32 = 80;
const BAR_MAX_HEIGHT: u32 = 240;
const BAR_BANDS: usize = 48;

const MISSING_FILL: RGBColor = RGBColor(238, 238, 238);
const HATCH_GREY: RGBColor = RGBColor(181, 181, 181);

/// The resolved geometry of a [`HeatMap`].
struct MapLayout {
    size: (u32, u32),
    rows: usize,
    columns: usize,
    /// The height of all cells together.
    grid_height: u32,
    /// Left of the cells: row labels and description.
    row_label_room: u32,
    /// Under the cells: column labels and description.
    column_label_room: u32,
    /// Right of the cells: the colour bar and its labels (none without a legend).
    bar_room: u32,
    /// Right of the colour bar: its labels.
    bar_label_room: u32,
    /// The length of the colour bar.
    bar_height: u32,
}

impl HeatMap {
    /// An empty map with a title and axis labels, coloured white to blue over `[0, 1]`, with a
    /// colour bar.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        HeatMap {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            columns: Vec::new(),
            rows: Vec::new(),
            values: Vec::new(),
            colors: ColorScale::WhiteBlue,
            min: 0.0,
            max: 1.0,
            legend: true,
        }
    }

    /// Sets the column labels.
    pub fn columns<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Appends a row: its label and its values by column.
    pub fn row(mut self, label: impl Into<String>, values: impl IntoIterator<Item = Option<f64>>) -> Self {
        self.rows.push(label.into());
        self.values.push(values.into_iter().collect());
        self
    }

    /// Sets the colour scale.
    pub fn colors(mut self, colors: ColorScale) -> Self {
        self.colors = colors;
        self
    }

    /// Sets the value range of the colours (ignored unless both ends are finite and
    /// `min < max`).
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// Turns the colour bar on or off.
    pub fn legend(mut self, on: bool) -> Self {
        self.legend = on;
        self
    }

    /// The map as a standalone SVG document.
    pub fn svg(&self) -> String {
        let layout = self.layout();
        render(layout.size, |area| self.draw_with(area, &layout))
    }

    /// The colour range, made usable: `[0, 1]` unless both ends are finite and `min < max`.
    fn limits(&self) -> (f64, f64) {
        if self.min.is_finite() && self.max.is_finite() && self.min < self.max {
            (self.min, self.max)
        } else {
            (0.0, 1.0)
        }
    }

    /// The value at row `r`, column `c`, if there is a finite one.
    fn value(&self, r: usize, c: usize) -> Option<f64> {
        self.values.get(r).and_then(|row| row.get(c)).copied().flatten().filter(|v| v.is_finite())
    }

    /// The labels of the colour bar: low end, middle and high end.
    fn bar_labels(&self) -> [f64; 3] {
        let (lo, hi) = self.limits();
        [lo, (lo + hi) / 2.0, hi]
    }

    fn layout(&self) -> MapLayout {
        let rows = self.rows.len().max(self.values.len());
        let columns = self.columns.len().max(self.values.iter().map(Vec::len).max().unwrap_or(0));
        let values = self.values.iter().flatten().flatten().map(|&v| cell_label(v));
        let cell_width = (widest(&self.columns).max(widest(values)) + CELL_PADDING).max(CELL_MIN_WIDTH);
        let row_label_room = widest(&self.rows) + TICK_ROOM + desc_room(&self.y_label);
        let column_label_room = TICK_LABEL_ROOM + desc_room(&self.x_label);
        let bar_label_room = widest(self.bar_labels().map(cell_label)) + TICK_ROOM;
        let bar_room = if self.legend { BAR_GAP + BAR_WIDTH + bar_label_room + MARGIN } else { 0 };
        let grid_height = cells_length(rows, CELL_HEIGHT);
        let bar_height = if self.legend { grid_height.clamp(BAR_MIN_HEIGHT, BAR_MAX_HEIGHT) } else { 0 };
        let title_room = if self.title.is_empty() { 0 } else { TITLE_ROOM };
        let content = (grid_height.saturating_add(column_label_room)).max(bar_height).max(MIN_PLOT / 2);
        let width =
            (2 * MARGIN + row_label_room).saturating_add(cells_length(columns, cell_width)).saturating_add(bar_room);
        let width = width.max(text_width(&self.title, TITLE_SIZE) + 2 * MARGIN).clamp(MIN_SIDE as u32, MAX_SIDE);
        let height = (2 * MARGIN + title_room).saturating_add(content).min(MAX_SIDE);
        MapLayout {
            size: (width, height),
            rows,
            columns,
            grid_height,
            row_label_room,
            column_label_room,
            bar_room,
            bar_label_room,
            bar_height,
        }
    }

    fn draw_with(&self, area: &Canvas<'_>, l: &MapLayout) -> DrawResult {
        let body = below_title(area, &self.title, TITLE_SIZE)?;
        if l.rows == 0 || l.columns == 0 {
            return draw_note(&body, "no data");
        }
        let (width, _) = body.dim_in_pixel();
        let (cells, bar) = body.split_horizontally(width.saturating_sub(l.bar_room));
        self.draw_cells(&cells, l)?;
        if self.legend {
            self.draw_color_bar(&bar, l)?;
        }
        Ok(())
    }

    /// Draws the cells with their values, and the row and column labels.
    fn draw_cells(&self, area: &Canvas<'_>, l: &MapLayout) -> DrawResult {
        let (_, height) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .margin(MARGIN)
            .margin_bottom(height.saturating_sub(MARGIN + l.grid_height + l.column_label_room).max(MARGIN))
            .x_label_area_size(l.column_label_room)
            .y_label_area_size(l.row_label_room)
            .build_cartesian_2d(cell_axis(0.0, l.columns as f64), cell_axis(l.rows as f64, 0.0))?;
        let column_label = |v: &f64| label_at(&self.columns, *v);
        let row_label = |v: &f64| label_at(&self.rows, *v);
        let mut mesh = chart.configure_mesh();
        mesh.disable_mesh()
            .x_label_formatter(&column_label)
            .y_label_formatter(&row_label)
            .label_style(font(TEXT_SIZE))
            .axis_desc_style(font(LABEL_SIZE));
        if !self.x_label.is_empty() {
            mesh.x_desc(one_line(&self.x_label));
        }
        if !self.y_label.is_empty() {
            mesh.y_desc(one_line(&self.y_label));
        }
        mesh.draw()?;
        for r in 0..l.rows {
            for c in 0..l.columns {
                self.draw_cell(chart.plotting_area(), (r, c))?;
            }
        }
        Ok(())
    }

    /// Draws the cell at row `r`, column `c`: its colour and value, or hatched grey.
    fn draw_cell(&self, area: &ChartArea<'_>, (r, c): (usize, usize)) -> DrawResult {
        let (x, y) = (c as f64, r as f64);
        let cell = [(x, y), (x + 1.0, y + 1.0)];
        match self.value(r, c) {
            Some(v) => {
                let (lo, hi) = self.limits();
                let fill = self.colors.color((v - lo) / (hi - lo));
                area.draw(&Rectangle::new(cell, fill.filled()))?;
                let ink = if is_light(fill) { INK } else { WHITE };
                let style = font(TEXT_SIZE).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                area.draw(&Text::new(cell_label(v), (x + 0.5, y + 0.5), style))?;
            }
            None => draw_hatched(area, (x, y))?,
        }
        area.draw(&Rectangle::new(cell, WHITE.stroke_width(1)))
    }

    /// Draws the colour bar, its top level with the cells', and its labels.
    fn draw_color_bar(&self, area: &Canvas<'_>, l: &MapLayout) -> DrawResult {
        let (_, height) = area.dim_in_pixel();
        let [lo, mid, hi] = self.bar_labels();
        let mut bar = ChartBuilder::on(area)
            .margin_top(MARGIN)
            .margin_bottom(height.saturating_sub(MARGIN + l.bar_height))
            .margin_left(BAR_GAP)
            .margin_right(MARGIN)
            .set_label_area_size(LabelAreaPosition::Right, l.bar_label_room)
            .build_cartesian_2d(
                Axis { scale: Scale::Linear, lo: 0.0, hi: 1.0, ticks: Vec::new() },
                Axis { scale: Scale::Linear, lo, hi, ticks: vec![lo, mid, hi] },
            )?;
        let label = |v: &f64| cell_label(*v);
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_label_formatter(&label)
            .label_style(font(TEXT_SIZE))
            .draw()?;
        for k in 0..BAR_BANDS {
            let (a, b) = (k as f64 / BAR_BANDS as f64, (k + 1) as f64 / BAR_BANDS as f64);
            let band = [(0.0, lo + (hi - lo) * a), (1.0, lo + (hi - lo) * b)];
            bar.plotting_area().draw(&Rectangle::new(band, self.colors.color((a + b) / 2.0).filled()))?;
        }
        bar.plotting_area().draw(&Rectangle::new([(0.0, lo), (1.0, hi)], NOTE_GREY.stroke_width(1)))
    }
}

impl Figure for HeatMap {
    fn size(&self) -> (u32, u32) {
        self.layout().size
    }

    fn draw(&self, area: &Canvas<'_>) -> DrawResult {
        self.draw_with(area, &self.layout())
    }
}

/// An axis of unit cells from `from` to `to` (descending: the first cell at the top), with a
/// tick at the centre of each cell.
fn cell_axis(from: f64, to: f64) -> Axis {
    let cells = (to - from).abs() as usize;
    Axis { scale: Scale::Linear, lo: from, hi: to, ticks: (0..cells).map(|i| i as f64 + 0.5).collect() }
}

/// A cell's value as printed: up to [`CELL_DECIMALS`] decimals, without trailing zeros.
fn cell_label(v: f64) -> String {
    trim_zeros(&fmt_f64(v, CELL_DECIMALS))
}

/// The label of the row or column whose centre is at `v`.
fn label_at(labels: &[String], v: f64) -> String {
    labels.get(v.floor() as usize).map(|s| one_line(s)).unwrap_or_default()
}

/// Draws a missing cell, its top left corner at `(x, y)`: light grey, hatched with diagonal lines.
fn draw_hatched(area: &ChartArea<'_>, (x, y): (f64, f64)) -> DrawResult {
    area.draw(&Rectangle::new([(x, y), (x + 1.0, y + 1.0)], MISSING_FILL.filled()))?;
    for k in 1..8 {
        // The line u + v = s across the unit cell, u to the right and v down.
        let s = k as f64 / 4.0;
        let (u0, u1) = ((s - 1.0).max(0.0), s.min(1.0));
        area.draw(&PathElement::new(vec![(x + u0, y + s - u0), (x + u1, y + s - u1)], HATCH_GREY.stroke_width(1)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A minimal well-formedness check: one root element, balanced tags, quoted attributes,
    /// no stray `<` or `&` in text, only known entities.
    fn check_xml(s: &str) -> Result<(), String> {
        let b = s.as_bytes();
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut i = 0;
        let check_text = |t: &str| -> Result<(), String> {
            let mut rest = t;
            while let Some(p) = rest.find('&') {
                let after = &rest[p + 1..];
                let end = after.find(';').ok_or_else(|| format!("bare & in {t:?}"))?;
                let ent = &after[..end];
                let ok = matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos")
                    || ent.strip_prefix('#').is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
                if !ok {
                    return Err(format!("bad entity &{ent};"));
                }
                rest = &after[end + 1..];
            }
            if t.contains('>') {
                return Err(format!("raw > in {t:?}"));
            }
            Ok(())
        };
        while i < b.len() {
            if b[i] != b'<' {
                let j = s[i..].find('<').map_or(b.len(), |p| i + p);
                let t = &s[i..j];
                if stack.is_empty() && !t.trim().is_empty() {
                    return Err(format!("text outside the root: {t:?}"));
                }
                check_text(t)?;
                i = j;
                continue;
            }
            if s[i..].starts_with("<!--") {
                i += s[i..].find("-->").ok_or("open comment")? + 3;
                continue;
            }
            if s[i..].starts_with("<?") {
                i += s[i..].find("?>").ok_or("open PI")? + 2;
                continue;
            }
            let close = s[i..].starts_with("</");
            let mut j = i + if close { 2 } else { 1 };
            let name_start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b"-_:.".contains(&b[j])) {
                j += 1;
            }
            let name = &s[name_start..j];
            if name.is_empty() {
                return Err(format!("bad tag at {i}"));
            }
            // Attributes.
            let mut self_closing = false;
            loop {
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j >= b.len() {
                    return Err("unterminated tag".into());
                }
                if b[j] == b'>' {
                    j += 1;
                    break;
                }
                if b[j] == b'/' && !close && b.get(j + 1) == Some(&b'>') {
                    self_closing = true;
                    j += 2;
                    break;
                }
                if close {
                    return Err(format!("junk in </{name}>"));
                }
                let a = j;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b"-_:.".contains(&b[j])) {
                    j += 1;
                }
                if a == j || b.get(j) != Some(&b'=') {
                    return Err(format!("bad attribute in <{name}> at {j}"));
                }
                j += 1;
                let q = *b.get(j).ok_or("eof")?;
                if q != b'"' && q != b'\'' {
                    return Err(format!("unquoted attribute in <{name}>"));
                }
                let end = s[j + 1..].find(q as char).ok_or("unterminated attribute")? + j + 1;
                let v = &s[j + 1..end];
                if v.contains('<') {
                    return Err(format!("< in attribute {v:?}"));
                }
                check_text(&v.replace('>', ""))?;
                j = end + 1;
            }
            if close {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else {
                if stack.is_empty() {
                    roots += 1;
                }
                if !self_closing {
                    stack.push(name.to_string());
                }
            }
            i = j;
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
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

    /// All values of attribute `attr` on elements `<tag `.
    fn attrs(s: &str, tag: &str, attr: &str) -> Vec<f64> {
        let open = format!("<{tag} ");
        let key = format!(" {attr}=\"");
        s.split(&open)
            .skip(1)
            .filter_map(|e| {
                let e = format!(" {}", &e[..e.find('>')?]);
                let v = &e[e.find(&key)? + key.len()..];
                v[..v.find('"')?].parse().ok()
            })
            .collect()
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
        assert_svg(&svg);
        let texts = text_contents(&svg);
        for want in [
            "ppl &lt;PI &amp; YaRN&gt; &quot;q&quot; &apos;a&apos;",
            "x &lt; y",
            "a &amp; b",
            "a&lt;b&amp;c",
            "m&amp;m",
        ] {
            assert!(has(&texts, want), "{want} in {texts:?}");
        }
        let map = HeatMap::new("<t>", "&", "'").columns(["<c>"]).row("r&\nx", [Some(0.5)]).svg();
        assert_svg(&map);
        let texts = text_contents(&map);
        assert!(has(&texts, "&lt;t&gt;") && has(&texts, "&lt;c&gt;") && has(&texts, "r&amp; x"), "{texts:?}");
        let g = grid("a<b", &[HeatMap::new("m&", "", "")], 3);
        assert_svg(&g);
        assert!(has(&text_contents(&g), "a&lt;b"));
    }

    #[test]
    fn log2_axis_spaces_doublings_evenly() {
        let lengths: [f64; 4] = [256.0, 512.0, 1024.0, 2048.0];
        let plot = LinePlot::new("", "length", "entropy")
            .x_scale(Scale::Log2)
            .series("L0", lengths.iter().map(|&x| (x, x.ln())))
            .series("L1", lengths.iter().map(|&x| (x, 1.0)));
        // The ticks are the lengths themselves.
        let l = plot.layout();
        let labels: Vec<String> = l.x.ticks.iter().map(|&t| l.x.label(t)).collect();
        assert_eq!(labels, ["256", "512", "1024", "2048"]);
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(labels.iter().all(|label| has(&texts, label)), "{texts:?}");
        // The dots of a series are evenly spaced.
        let cx = attrs(&svg, "circle", "cx");
        let gaps: Vec<f64> = cx[..4].windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() <= 1.0 && *g > 50.0), "{gaps:?}");
    }

    #[test]
    fn log2_axis_falls_back_to_powers_of_two_for_many_lengths() {
        let xs: Vec<f64> = (8..=20).map(|k| (k as f64).exp2()).chain([300.0, 310.0]).collect();
        let plot = LinePlot::new("", "", "").x_scale(Scale::Log2).series("s", xs.iter().map(|&x| (x, 1.0)));
        let l = plot.layout();
        assert!(l.x.ticks.len() >= 3, "{:?}", l.x.ticks);
        assert!(l.x.ticks.iter().all(|t| t.fract() == 0.0), "{:?}", l.x.ticks);
        assert_svg(&plot.svg());
    }

    #[test]
    fn log10_axis_ticks_at_powers_of_ten_and_2x_5x() {
        let plot = LinePlot::new("ppl", "length", "perplexity")
            .x_scale(Scale::Log2)
            .y_scale(Scale::Log10)
            .series("PI", [(256.0, 5.0), (512.0, 40.0), (1024.0, 1e4)]);
        let l = plot.layout();
        let labels: Vec<String> = l.y.ticks.iter().map(|&t| l.y.label(t)).collect();
        for want in ["10", "20", "50", "100", "1000", "10000"] {
            assert!(has(&labels, want), "{labels:?}");
        }
        assert!(l.y.lo <= 5f64.log10() && l.y.hi >= 4.0);
        assert!(has(&text_contents(&plot.svg()), "10000"));
        // A range within a decade gets round numbers.
        let narrow = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 7.0), (2.0, 8.0)]).layout();
        let labels: Vec<String> = narrow.y.ticks.iter().map(|&t| narrow.y.label(t)).collect();
        assert!(labels.len() >= 2 && has(&labels, "7.5"), "{labels:?}");
        // A huge one gets a few readable labels.
        let huge = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 1e-30), (2.0, 1e300)]);
        let l = huge.layout();
        assert!((2..=30).contains(&l.y.ticks.len()), "{:?}", l.y.ticks);
        assert!(l.y.ticks.iter().all(|&t| l.y.label(t).len() <= 7), "{:?}", l.y.ticks);
        assert_svg(&huge.svg());
    }

    #[test]
    fn non_finite_points_are_skipped_and_break_the_line() {
        let plot = LinePlot::new("", "", "").series(
            "s",
            [(1.0, 1.0), (2.0, 2.0), (3.0, f64::INFINITY), (4.0, 3.0), (5.0, 4.0), (f64::NAN, 9.0), (7.0, f64::NAN)],
        );
        let svg = plot.svg();
        assert_svg(&svg);
        let (stroke, fill) = (format!("stroke=\"{}\"", hex(PALETTE[0])), format!("fill=\"{}\"", hex(PALETTE[0])));
        assert_eq!(count(&svg, "polyline", &stroke), 2 + 1, "two stretches and the legend's");
        assert_eq!(count(&svg, "circle", &fill), 4 + 1, "4 dots and the legend's");
        // The infinite value leaves the axis at the finite data's scale.
        let l = plot.layout();
        assert!(l.y.hi <= 5.0 && l.y.lo >= 0.0, "{:?}", (l.y.lo, l.y.hi));
        assert!(l.x.hi <= 5.5, "the point at x = NaN, y = 9 does not count: {:?}", l.x.hi);
        // Log axes skip values ≤ 0 the same way.
        let log = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 10.0), (2.0, 0.0), (3.0, -5.0)]);
        let svg = log.svg();
        assert_svg(&svg);
        assert_eq!(count(&svg, "polyline", &stroke), 1, "only the legend's");
        assert_eq!(count(&svg, "circle", &fill), 2);
    }

    #[test]
    fn lines_are_clipped_to_a_fixed_range() {
        let unit = Axis { scale: Scale::Linear, lo: 0.0, hi: 1.0, ticks: Vec::new() };
        let close = |a: &[(f64, f64)], b: &[(f64, f64)]| {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| (p.0 - q.0).abs() < 1e-12 && (p.1 - q.1).abs() < 1e-12)
        };
        // Inside: as it is.
        let inside = [(0.1, 0.1), (0.2, 0.3), (0.9, 0.9)];
        assert_eq!(clip_run(&inside, &unit, &unit), [inside.to_vec()]);
        // Out and back in: two stretches, cut at the edge.
        let stretches = clip_run(&[(0.5, 0.5), (0.5, 2.0), (0.8, 0.5)], &unit, &unit);
        assert_eq!(stretches.len(), 2);
        assert!(close(&stretches[0], &[(0.5, 0.5), (0.5, 1.0)]) && close(&stretches[1], &[(0.7, 1.0), (0.8, 0.5)]));
        // Across: the part inside; past: nothing.
        assert!(close(&clip_run(&[(-1.0, 0.5), (2.0, 0.5)], &unit, &unit)[0], &[(0.0, 0.5), (1.0, 0.5)]));
        assert!(clip_run(&[(2.0, 0.0), (2.0, 1.0)], &unit, &unit).is_empty());
        // End to end, with points far out.
        let plot = LinePlot::new("", "", "")
            .x_range(0.0, 1.0)
            .y_range(0.0, 1.0)
            .series("s", [(0.5, 0.5), (0.5, 1e300), (-1e300, 0.5), (f64::MAX, -f64::MAX)]);
        assert_svg(&plot.svg());
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
        assert!(plot.layout().x.contains(256f64.log2()));
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(has(&texts, "trained window 256") && has(&texts, "target 1024"), "{texts:?}");
        assert!(!texts.iter().any(|t| t.starts_with("lost")));
        assert_eq!(svg.matches("transform=\"rotate(270").count(), 2, "labels along the lines");
        // A marker outside a fixed range is left out.
        let fixed = plot.clone().x_range(400.0, 4096.0);
        assert!(!has(&text_contents(&fixed.svg()), "trained window 256"));
    }

    #[test]
    fn empty_and_degenerate_plots_are_valid() {
        let plots = [
            LinePlot::new("", "", ""),
            LinePlot::new("only title", "", ""),
            LinePlot::new("", "", "").series("empty", []),
            LinePlot::new("", "", "").series("nan", [(f64::NAN, f64::NAN), (1.0, f64::INFINITY)]),
            LinePlot::new("", "", "").series("one", [(3.0, 3.0)]),
            LinePlot::new("", "", "").x_scale(Scale::Log2).y_scale(Scale::Log10).series("one", [(8.0, 1.0)]),
            LinePlot::new("", "", "").series("flat", [(1.0, 0.0), (1.0, 0.0)]),
            LinePlot::new("", "", "").series("tiny", [(1.0, 1.0), (1.0 + 1e-15, 1.0 + 1e-15)]),
            LinePlot::new("", "", "").series("far", [(1e20, 1e20), (1e20, 1e20)]),
            LinePlot::new("", "", "").series("huge", [(-1e308, -1e308), (1e308, 1e308)]),
            LinePlot::new("", "", "").series("extreme", [(-f64::MAX, f64::MIN_POSITIVE), (f64::MAX, f64::MAX)]),
            LinePlot::new("", "", "").with_size(f64::NAN, -3.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
            LinePlot::new("", "", "").with_size(1e12, 0.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
            LinePlot::new("", "", "").x_range(f64::NAN, 1.0).y_range(5.0, 1.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
            LinePlot::new("", "", "").x_scale(Scale::Log2).x_range(0.0, 8.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
            LinePlot::new("t".repeat(100_000), "", "")
                .series("n".repeat(100_000), [(1.0, 1.0)])
                .marker(1.0, "m".repeat(100_000)),
        ];
        for p in &plots {
            let svg = p.svg();
            assert_svg(&svg);
            let (w, h) = p.size();
            assert!(w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE, "{:?}", (w, h));
            assert_eq!(attrs(&svg, "svg", "width"), [w as f64]);
        }
        assert!(has(&text_contents(&LinePlot::new("", "", "").svg()), "no data"));
    }

    #[test]
    fn fourteen_series_get_fourteen_distinct_styles() {
        let mut plot = LinePlot::new("", "", "");
        for k in 0..14 {
            plot = plot.series(format!("L{k}"), [(1.0, k as f64), (2.0, k as f64 + 1.0)]);
        }
        assert_eq!((0..14).map(series_style).collect::<HashSet<_>>().len(), 14);
        assert_eq!((0..160).map(series_style).collect::<HashSet<_>>().len(), 160);
        // Past the tenth series a colour comes back with another dash pattern and marker shape.
        let (first, eleventh) = (series_style(0), series_style(10));
        assert!(first.color == eleventh.color && first.dash != eleventh.dash && first.shape != eleventh.shape);
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!((0..14).all(|k| has(&texts, &format!("L{k}"))), "{texts:?}");
        assert!(PALETTE.iter().all(|&c| svg.contains(&hex(c))));
    }

    #[test]
    fn a_long_legend_makes_the_figure_taller() {
        let mut plot = LinePlot::new("", "", "").with_size(400.0, 200.0);
        for k in 0..32 {
            plot = plot.series(format!("layer {k}"), [(1.0, k as f64), (2.0, k as f64 + 1.0)]);
        }
        assert!(plot.size().1 >= 32 * LEGEND_ROW);
        assert_svg(&plot.svg());
    }

    #[test]
    fn heat_map_prints_values_and_hatches_missing_cells() {
        let map = HeatMap::new("passkey", "context length", "depth")
            .columns(["256", "512", "1024"])
            .row("0%", [Some(1.0), Some(0.8), Some(0.0)])
            .row("50%", [Some(0.5), None, Some(f64::NAN)])
            .row("100%", [Some(1.5), Some(-0.2)])
            .colors(ColorScale::RedGreen)
            .range(0.0, 2.0);
        let svg = map.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        for want in ["1", "0.8", "0", "0.5", "1.5", "-0.2", "256", "1024", "0%", "100%", "context length", "depth"] {
            assert!(has(&texts, want), "{want} in {texts:?}");
        }
        assert!(has(&texts, "2"), "the colour bar's high end: {texts:?}");
        let missing = format!("fill=\"{}\"", hex(MISSING_FILL));
        assert_eq!(count(&svg, "rect", &missing), 3, "None, NaN and the missing cell are hatched");
        // Out-of-range values take the end colours.
        assert_eq!(ColorScale::WhiteBlue.color(1.5), ColorScale::WhiteBlue.color(1.0));
        assert_eq!(ColorScale::RedGreen.color(-1.0), RGBColor(215, 48, 39));
        assert_eq!(ColorScale::RedGreen.color(f64::NAN), RGBColor(215, 48, 39));
        assert!(is_light(ColorScale::WhiteBlue.color(0.0)) && !is_light(ColorScale::WhiteBlue.color(1.0)));
    }

    #[test]
    fn empty_and_degenerate_heat_maps_are_valid() {
        let maps = [
            HeatMap::new("", "", ""),
            HeatMap::new("t", "", "").columns(["a", "b"]),
            HeatMap::new("", "", "").row("r", []),
            HeatMap::new("", "", "").range(1.0, 0.0).row("r", [Some(0.123456789)]),
            HeatMap::new("", "", "").range(f64::NAN, f64::INFINITY).row("r", [Some(f64::INFINITY), Some(-1e300)]),
            HeatMap::new("", "", "").legend(false).columns(["a very long column label"]).row("r", [Some(0.3)]),
        ];
        for m in &maps {
            assert_svg(&m.svg());
        }
        assert!(has(&text_contents(&HeatMap::new("", "", "").svg()), "no data"));
    }

    #[test]
    fn grid_places_every_panel() {
        let maps: Vec<HeatMap> = (0..10)
            .map(|k| {
                HeatMap::new(format!("method {k}"), "", "")
                    .columns(["1k", "2k"])
                    .row("0%", [Some(k as f64 / 10.0), None])
                    .legend(k == 9)
            })
            .collect();
        let svg = grid("passkey", &maps, 5);
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(has(&texts, "passkey") && (0..10).all(|k| has(&texts, &format!("method {k}"))), "{texts:?}");
        // Each column is as wide as its widest panel, each row as tall as its tallest.
        let (narrow, wide) = (maps[0].size(), maps[9].size());
        assert!(wide.0 > narrow.0 && wide.1 > narrow.1);
        let width = 4 * (narrow.0 + PANEL_GAP) + wide.0 + 2 * PANEL_GAP;
        let height = TITLE_ROOM + narrow.1 + wide.1 + 3 * PANEL_GAP;
        assert_eq!(
            (attrs(&svg, "svg", "width"), attrs(&svg, "svg", "height")),
            (vec![width as f64], vec![height as f64])
        );
        // Line plots too, and grids without figures.
        let plots = [LinePlot::new("p", "", "").series("s", [(1.0, 1.0)]), LinePlot::new("", "", "")];
        assert_svg(&grid("", &plots, 0));
        assert_svg(&grid::<HeatMap>("", &[], 0));
        let only_title = grid::<HeatMap>("nothing", &[], 3);
        assert_svg(&only_title);
        assert_eq!(text_contents(&only_title), ["nothing"]);
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
        assert_eq!(tick_label(1024.0), "1024");
        assert_eq!(tick_label(0.30000000000000004), "0.3");
        assert_eq!(tick_label(19.999999999999996), "20");
        assert_eq!(tick_label(7.25), "7.25");
        assert_eq!(tick_label(2e6), "2e6");
        assert_eq!(tick_label(1048576.0), "1.05e6");
        assert_eq!(tick_label(1.5e-5), "1.5e-5");
        assert_eq!(tick_label(-0.0), "0");
        assert_eq!((cell_label(0.8), cell_label(1.0), cell_label(-0.001)), ("0.8".into(), "1".into(), "0".into()));
    }
}
