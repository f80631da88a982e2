//! Evaluation reports: markdown tables and self-contained SVG figures, in plain `std`.
//!
//! - [`Table`]: a markdown table; numeric columns (detected, or set with [`Table::align`]) are
//!   right-aligned. [`fmt_f64`] and [`fmt_opt`] format numbers for it.
//! - [`LinePlot`]: named series of `(x, y)` points on linear, log2 or log10 axes, with a legend
//!   and labelled vertical markers ("trained window", "target"): perplexity against length,
//!   mean attention entropy against length.
//! - [`HeatMap`]: a grid of values in a colour scale with each value printed in its cell:
//!   passkey accuracy by needle depth (rows) and context length (columns).
//! - [`grid`]: several figures side by side in one SVG (one panel per method).
//!
//! Every renderer returns a `String` and never panics: non-finite numbers, empty inputs and
//! absurd sizes give a valid (possibly empty) document, never a NaN coordinate. Text is
//! XML-escaped. Figures use no element ids, so several can share one HTML page or one [`grid`].
//! Writing the strings to files is the caller's business.
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
//! assert!(svg.starts_with("<svg"));
//! ```

use std::fmt::{self, Write as _};

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
// Shared SVG pieces
// ---------------------------------------------------------------------------------------------

/// A figure that can be drawn at the origin of an SVG user space and placed in a [`grid`].
pub trait Figure {
    /// Width and height in SVG user units (pixels); finite and positive.
    fn size(&self) -> (f64, f64);
    /// Appends the figure's SVG elements to `out`, drawn in `[0, w] × [0, h]` (no root element).
    fn draw(&self, out: &mut String);
}

impl<T: Figure + ?Sized> Figure for &T {
    fn size(&self) -> (f64, f64) {
        (**self).size()
    }
    fn draw(&self, out: &mut String) {
        (**self).draw(out)
    }
}

/// Ten distinct colours (Tableau 10); series past the tenth reuse them with a dash pattern.
pub const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Dash patterns for the 1st, 2nd, 3rd and 4th round through [`PALETTE`].
const DASHES: [&str; 4] = ["", "7 4", "2 3", "9 3 2 3"];

const FONT: f64 = 12.0;
const SMALL: f64 = 11.0;
const TITLE: f64 = 15.0;
/// Approximate advance of one character, as a fraction of the font size (sans-serif digits).
const CHAR_W: f64 = 0.6;

/// The estimated width of `s` at font size `size`.
fn text_w(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * CHAR_W
}

/// `s` escaped for XML text and attribute values; characters XML 1.0 forbids are dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate for an attribute: two decimals, trailing zeros dropped, `0` for non-finite.
fn n(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() { "0".into() } else { s.to_string() }
}

/// `v` if it is finite and at least `min`, else `default`.
fn sane(v: f64, min: f64, default: f64) -> f64 {
    if v.is_finite() && v >= min { v.min(1e5) } else { default }
}

/// Appends a `<text>` element.
fn text(out: &mut String, x: f64, y: f64, size: f64, anchor: &str, extra: &str, s: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
        n(x),
        n(y),
        n(size),
        xml_escape(s)
    );
}

/// Wraps figure elements into a root `<svg>` element of size `(w, h)`.
fn document(w: f64, h: f64, body: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n{body}</svg>\n",
        w = n(w),
        h = n(h)
    )
}

/// Several figures side by side in one SVG, `columns` per row (0: all in one row), under an
/// optional `title` (empty: none). Each column is as wide as its widest figure and each row as
/// tall as its tallest. No figures give a small valid SVG holding only the title.
///
/// For the passkey results of several methods, give each [`HeatMap`] its method as title and
/// turn off the legend of all but the last. Figures of different types mix through
/// `&dyn Figure`: `grid("", &[&plot as &dyn Figure, &map], 2)`.
pub fn grid<F: Figure>(title: &str, figures: &[F], columns: usize) -> String {
    const GAP: f64 = 12.0;
    let cols = if columns == 0 { figures.len().max(1) } else { columns.min(figures.len().max(1)) };
    let rows = figures.len().div_ceil(cols);
    // Each column is as wide as its widest figure, each row as tall as its tallest.
    let (mut cw, mut rh) = (vec![0.0f64; cols], vec![0.0f64; rows]);
    for (i, f) in figures.iter().enumerate() {
        let (w, h) = f.size();
        cw[i % cols] = cw[i % cols].max(sane(w, 0.0, 0.0));
        rh[i / cols] = rh[i / cols].max(sane(h, 0.0, 0.0));
    }
    let offsets = |sizes: &[f64], start: f64| -> Vec<f64> {
        sizes.iter().scan(start, |acc, &s| Some(std::mem::replace(acc, *acc + s + GAP))).collect()
    };
    let (xs, top) = (offsets(&cw, GAP), if title.is_empty() { 0.0 } else { 32.0 });
    let ys = offsets(&rh, top + GAP);
    let w = (GAP + cw.iter().map(|c| c + GAP).sum::<f64>()).max(text_w(title, TITLE) + 2.0 * GAP).max(40.0);
    let h = (top + GAP + rh.iter().map(|r| r + GAP).sum::<f64>()).max(top + 20.0);
    let mut body = String::new();
    if !title.is_empty() {
        text(&mut body, w / 2.0, 22.0, TITLE + 1.0, "middle", " font-weight=\"bold\"", title);
    }
    for (i, f) in figures.iter().enumerate() {
        let (x, y) = (xs[i % cols], ys[i / cols]);
        let _ = writeln!(body, "<g transform=\"translate({},{})\">", n(x), n(y));
        f.draw(&mut body);
        body.push_str("</g>\n");
    }
    document(w, h, &body)
}

// ---------------------------------------------------------------------------------------------
// Axes
// ---------------------------------------------------------------------------------------------

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Linear; ticks at 1, 2 and 5 times a power of ten.
    #[default]
    Linear,
    /// Logarithmic base 2 (context lengths: each doubling is one step); ticks at the data's
    /// distinct x values when they are few and far enough apart, else at powers of two.
    /// Values ≤ 0 are skipped.
    Log2,
    /// Logarithmic base 10 (perplexity); ticks at powers of ten, and at 2× and 5× (or every
    /// multiple) when there is room. Values ≤ 0 are skipped.
    Log10,
}

impl Scale {
    /// The value in the axis' linear space, or `None` when it cannot be shown.
    fn fwd(self, v: f64) -> Option<f64> {
        let t = match self {
            Scale::Linear => v,
            Scale::Log2 if v > 0.0 => v.log2(),
            Scale::Log10 if v > 0.0 => v.log10(),
            _ => return None,
        };
        t.is_finite().then_some(t)
    }

    fn inv(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log2 => t.exp2(),
            Scale::Log10 => 10f64.powf(t),
        }
    }
}

/// A resolved axis: the range `[lo, hi]` in transformed space onto pixels `[p0, p1]`.
#[derive(Debug, Clone, Copy)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    p0: f64,
    p1: f64,
}

/// A tick: value and label.
#[derive(Debug, Clone, PartialEq)]
struct Tick {
    value: f64,
    label: String,
}

impl Axis {
    /// The axis for values in `[min, max]` (data units, already valid for the scale), or for
    /// `fixed` when that is a valid range. `None` data gives a default range.
    fn new(scale: Scale, data: Option<(f64, f64)>, fixed: Option<(f64, f64)>, p0: f64, p1: f64) -> Axis {
        let fixed = fixed.and_then(|(a, b)| Some((scale.fwd(a)?, scale.fwd(b)?))).filter(|(a, b)| a < b);
        let (lo, hi) = if let Some(r) = fixed {
            r
        } else {
            let (lo, hi) = data.and_then(|(a, b)| Some((scale.fwd(a)?, scale.fwd(b)?))).unwrap_or(match scale {
                Scale::Linear => (0.0, 1.0),
                Scale::Log2 => (0.0, 10.0),
                Scale::Log10 => (0.0, 1.0),
            });
            match scale {
                Scale::Linear => {
                    let (lo, hi) = if hi > lo {
                        (lo, hi)
                    } else {
                        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
                        (lo - d, hi + d)
                    };
                    let step = nice_step((hi - lo) / 5.0);
                    let (a, b) = ((lo / step).floor() * step, (hi / step).ceil() * step);
                    if a.is_finite() && b.is_finite() && a < b { (a, b) } else { (lo, hi) }
                }
                Scale::Log2 | Scale::Log10 => {
                    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
                    (lo - pad, hi + pad)
                }
            }
        };
        // A range too narrow for f64 to separate its ends stays drawable.
        let (lo, hi) = if hi - lo > lo.abs().max(hi.abs()) * 1e-12 {
            (lo, hi)
        } else {
            let d = lo.abs().max(hi.abs()).max(1.0) * 1e-6;
            (lo - d, hi + d)
        };
        Axis { scale, lo, hi, p0, p1 }
    }

    /// The pixel position of a data value, if it can be shown.
    fn px(&self, v: f64) -> Option<f64> {
        let t = self.scale.fwd(v)?;
        // Halves keep the differences finite for ranges as wide as f64 allows.
        let f = (t / 2.0 - self.lo / 2.0) / (self.hi / 2.0 - self.lo / 2.0);
        let p = self.p0 + f * (self.p1 - self.p0);
        p.is_finite().then_some(p)
    }

    /// Whether a data value lies within the axis (with a little slack).
    fn contains(&self, v: f64) -> bool {
        let eps = (self.hi - self.lo) * 1e-9;
        self.scale.fwd(v).is_some_and(|t| t >= self.lo - eps && t <= self.hi + eps)
    }

    fn len_px(&self) -> f64 {
        (self.p1 - self.p0).abs()
    }

    /// Ticks for this axis; `hint` are data values worth labelling (log2 axes only).
    fn ticks(&self, hint: &[f64]) -> Vec<Tick> {
        let ticks = match self.scale {
            Scale::Linear => Vec::new(),
            Scale::Log2 => self.log2_ticks(hint),
            Scale::Log10 => self.log10_ticks(),
        };
        if ticks.len() >= 2 { ticks } else { self.linear_ticks() }
    }

    /// 1-2-5 ticks in data space (for log axes only the positive ones).
    fn linear_ticks(&self) -> Vec<Tick> {
        let (a, b) = (self.scale.inv(self.lo), self.scale.inv(self.hi));
        if !(b - a).is_finite() {
            return [a, 0.0, b]
                .into_iter()
                .filter(|&v| self.contains(v))
                .map(|v| Tick { value: v, label: tick_label(v, 0) })
                .collect();
        }
        let target = (self.len_px() / 70.0).clamp(2.0, 10.0);
        let step = nice_step((b - a) / target);
        if !step.is_finite() || step <= 0.0 {
            return Vec::new();
        }
        let decimals = if step < 1.0 { (-step.log10().floor()) as usize } else { 0 };
        let first = (a / step).ceil();
        (0..50)
            .map(|i| (first + i as f64) * step)
            .take_while(|&v| v <= b + step * 1e-9)
            .filter(|&v| self.contains(v))
            .map(|v| Tick { value: v, label: tick_label(v, decimals) })
            .collect()
    }

    fn log2_ticks(&self, hint: &[f64]) -> Vec<Tick> {
        let mut xs: Vec<f64> = hint.iter().copied().filter(|&v| self.contains(v)).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if (2..=16).contains(&xs.len()) {
            let labels: Vec<String> = xs.iter().map(|&v| tick_label(v, 2)).collect();
            let room = xs.windows(2).zip(labels.windows(2)).all(|(v, l)| {
                let gap = (self.px(v[1]).unwrap_or(0.0) - self.px(v[0]).unwrap_or(0.0)).abs();
                gap >= (text_w(&l[0], SMALL) + text_w(&l[1], SMALL)) / 2.0 + 6.0
            });
            if room {
                return xs.into_iter().zip(labels).map(|(value, label)| Tick { value, label }).collect();
            }
        }
        let (k0, k1) = (self.lo.ceil(), self.hi.floor());
        if !(k0.is_finite() && k1.is_finite()) || k1 < k0 {
            return Vec::new();
        }
        let per = self.len_px() / (self.hi - self.lo);
        // Labels of large powers of two are up to 7 characters wide.
        let stride = ((50.0 / per).ceil() as i64).max(1);
        let k0 = k0 as i64;
        (k0..=k1 as i64)
            .filter(|k| (k - k0) % stride == 0)
            .take(64)
            .map(|k| {
                let v = (k as f64).exp2();
                Tick { value: v, label: tick_label(v, decimals_of(v)) }
            })
            .collect()
    }

    fn log10_ticks(&self) -> Vec<Tick> {
        let per_decade = self.len_px() / (self.hi - self.lo);
        let (d0, d1) = (self.lo.floor(), self.hi.ceil());
        if !(d0.is_finite() && d1.is_finite()) || d1 - d0 > 400.0 {
            return Vec::new();
        }
        let mults: &[f64] = if per_decade >= 250.0 {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else if per_decade >= 60.0 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let stride = ((22.0 / per_decade).ceil() as i64).max(1);
        let mut out = Vec::new();
        for d in d0 as i64..=d1 as i64 {
            if (d - d0 as i64) % stride != 0 {
                continue;
            }
            for &m in mults {
                let v = m * 10f64.powi(d as i32);
                if self.contains(v) {
                    out.push(Tick { value: v, label: tick_label(v, decimals_of(v)) });
                }
            }
        }
        out
    }
}

/// 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Decimals needed to show a single-significant-digit value such as 0.02.
fn decimals_of(v: f64) -> usize {
    if v.abs() >= 1.0 || v == 0.0 { 0 } else { (-v.abs().log10().floor()).clamp(0.0, 12.0) as usize }
}

/// A tick label: fixed with `decimals` digits, or scientific (`2e6`, `1.5e-5`) for very large
/// or very small values.
fn tick_label(v: f64, decimals: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_f64(if v == 0.0 { 0.0 } else { v }, 0);
    }
    if v.abs() >= 1e6 || v.abs() < 1e-4 {
        let s = format!("{v:.2e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
        return format!("{mant}e{exp}");
    }
    let s = fmt_f64(v, decimals.min(12));
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

// ---------------------------------------------------------------------------------------------
// Line plots
// ---------------------------------------------------------------------------------------------

/// One named line of a [`LinePlot`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points, joined in this order. A point with a non-finite coordinate (or one ≤ 0
    /// on a log axis) is skipped and breaks the line. Serialized with non-finite numbers as
    /// `null`, which reads back as NaN.
    #[serde(with = "nullable_points")]
    pub points: Vec<(f64, f64)>,
}

/// A labelled vertical line of a [`LinePlot`] ("trained window 256").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Marker {
    /// Where the line stands (x data units).
    pub x: f64,
    /// Its label, written along the line.
    pub label: String,
}

/// A line plot: named series of `(x, y)` points, a legend to the right, optional log axes and
/// labelled vertical markers.
///
/// Axis ranges cover every finite, showable point and every marker unless fixed with
/// [`LinePlot::x_range`] / [`LinePlot::y_range`] (give panels of a [`grid`] the same ranges to
/// compare them); anything outside a fixed range is clipped. Non-finite points never enter
/// the range. A plot without showable points draws its axes and "no data".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinePlot {
    /// Title above the plot (empty: none).
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Scale of the x axis.
    pub x_scale: Scale,
    /// Scale of the y axis.
    pub y_scale: Scale,
    /// Fixed x range (data units), instead of the data's.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range (data units), instead of the data's.
    pub y_range: Option<(f64, f64)>,
    /// The lines; colours follow [`PALETTE`] in this order.
    pub series: Vec<Series>,
    /// Vertical marker lines.
    pub markers: Vec<Marker>,
    /// Width of the whole figure (grown when the labels need more room).
    pub width: f64,
    /// Height of the whole figure (grown when the legend needs more room).
    pub height: f64,
}

impl Default for LinePlot {
    fn default() -> Self {
        LinePlot {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
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
}

/// The computed geometry of a [`LinePlot`].
struct PlotLayout {
    w: f64,
    h: f64,
    left: f64,
    top: f64,
    pw: f64,
    ph: f64,
    x: Axis,
    y: Axis,
    xt: Vec<Tick>,
    yt: Vec<Tick>,
    legend_x: f64,
}

const PLOT_MIN_W: f64 = 80.0;
const PLOT_MIN_H: f64 = 60.0;
const LEGEND_ROW: f64 = 17.0;

impl LinePlot {
    /// An empty 640 × 400 plot with linear axes.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..LinePlot::default() }
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

    /// Sets the figure size.
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

    /// Adds a vertical marker line.
    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.markers.push(Marker { x, label: label.into() });
        self
    }

    /// The plot as a standalone SVG document.
    pub fn svg(&self) -> String {
        let l = self.layout();
        let mut body = String::new();
        self.draw_with(&l, &mut body);
        document(l.w, l.h, &body)
    }

    /// Whether a point can be drawn on these scales.
    fn showable(&self, (x, y): (f64, f64)) -> bool {
        self.x_scale.fwd(x).is_some() && self.y_scale.fwd(y).is_some()
    }

    fn layout(&self) -> PlotLayout {
        let pts = || self.series.iter().flat_map(|s| s.points.iter().copied()).filter(|&p| self.showable(p));
        let span = |it: &mut dyn Iterator<Item = f64>| {
            it.fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))))
        };
        let markers: Vec<f64> = self.markers.iter().map(|m| m.x).filter(|&x| self.x_scale.fwd(x).is_some()).collect();
        let xdata = span(&mut pts().map(|p| p.0).chain(markers.iter().copied()));
        let ydata = span(&mut pts().map(|p| p.1));

        let width = sane(self.width, 1.0, 640.0);
        let height = sane(self.height, 1.0, 400.0);
        let top = if self.title.is_empty() { 16.0 } else { 42.0 };
        let bottom = 10.0 + 20.0 + if self.x_label.is_empty() { 0.0 } else { 20.0 };
        let legend_h = self.series.len() as f64 * LEGEND_ROW + 8.0;
        let ph = (height - top - bottom).max(PLOT_MIN_H).max(legend_h);
        let y = Axis::new(self.y_scale, ydata, self.y_range, top + ph, top);
        let yt = y.ticks(&[]);
        let ytw = yt.iter().map(|t| text_w(&t.label, SMALL)).fold(0.0, f64::max);
        let left = 12.0 + if self.y_label.is_empty() { 0.0 } else { 20.0 } + ytw + 8.0;
        let legend_w = self.series.iter().map(|s| 34.0 + text_w(&s.name, SMALL)).fold(0.0, f64::max).min(320.0);
        let right = if self.series.is_empty() { 16.0 } else { legend_w + 28.0 };
        let pw = (width - left - right).max(PLOT_MIN_W);
        let x = Axis::new(self.x_scale, xdata, self.x_range, left, left + pw);
        let hint: Vec<f64> = pts().map(|p| p.0).collect();
        let xt = x.ticks(&hint);
        let w = (left + pw + right).max(text_w(&self.title, TITLE) + 20.0);
        let h = top + ph + bottom;
        PlotLayout { w, h, left, top, pw, ph, x, y, xt, yt, legend_x: left + pw + 16.0 }
    }

    fn draw_with(&self, l: &PlotLayout, out: &mut String) {
        let (left, top, pw, ph) = (l.left, l.top, l.pw, l.ph);
        if !self.title.is_empty() {
            text(out, left + pw / 2.0, 24.0, TITLE, "middle", " font-weight=\"bold\"", &self.title);
        }
        // Grid lines and ticks.
        for t in &l.yt {
            if let Some(py) = l.y.px(t.value) {
                let _ = writeln!(
                    out,
                    "<line x1=\"{}\" y1=\"{p}\" x2=\"{}\" y2=\"{p}\" stroke=\"#e6e6e6\"/>",
                    n(left),
                    n(left + pw),
                    p = n(py)
                );
                text(out, left - 6.0, py + SMALL * 0.35, SMALL, "end", "", &t.label);
            }
        }
        for t in &l.xt {
            if let Some(px) = l.x.px(t.value) {
                let _ = writeln!(
                    out,
                    "<line x1=\"{p}\" y1=\"{}\" x2=\"{p}\" y2=\"{}\" stroke=\"#e6e6e6\"/>",
                    n(top),
                    n(top + ph),
                    p = n(px)
                );
                text(out, px, top + ph + 16.0, SMALL, "middle", "", &t.label);
            }
        }
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>",
            n(left),
            n(top),
            n(pw),
            n(ph)
        );
        if !self.x_label.is_empty() {
            text(out, left + pw / 2.0, top + ph + 38.0, FONT, "middle", "", &self.x_label);
        }
        if !self.y_label.is_empty() {
            let (x, y) = (16.0, top + ph / 2.0);
            let rot = format!(" transform=\"rotate(-90 {} {})\"", n(x), n(y));
            text(out, x, y, FONT, "middle", &rot, &self.y_label);
        }
        // Markers.
        for m in &self.markers {
            let Some(px) = l.x.px(m.x).filter(|_| l.x.contains(m.x)) else { continue };
            let _ = writeln!(
                out,
                "<line x1=\"{p}\" y1=\"{}\" x2=\"{p}\" y2=\"{}\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"/>",
                n(top),
                n(top + ph),
                p = n(px)
            );
            if !m.label.is_empty() {
                // Rotated text extends to the left of its anchor: put the anchor a glyph height
                // right of the line, or just left of it near the right edge.
                let x = if px + SMALL + 6.0 < left + pw { px + SMALL + 2.0 } else { px - 4.0 };
                let y = top + 6.0;
                let extra = format!(
                    " fill=\"#333\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\" transform=\"rotate(-90 {} {})\"",
                    n(x),
                    n(y)
                );
                text(out, x, y, SMALL, "end", &extra, &m.label);
            }
        }
        // Series, clipped to the plot area (a nested <svg> clips without ids); the viewport is a
        // little larger so that the dots on the frame stay whole.
        const PAD: f64 = 5.0;
        let _ = writeln!(
            out,
            "<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"{} {} {} {}\" overflow=\"hidden\">",
            n(left - PAD),
            n(top - PAD),
            n(pw + 2.0 * PAD),
            n(ph + 2.0 * PAD),
            n(left - PAD),
            n(top - PAD),
            n(pw + 2.0 * PAD),
            n(ph + 2.0 * PAD)
        );
        let mut any = false;
        for (i, s) in self.series.iter().enumerate() {
            let (color, dash) = style(i);
            let dash_attr = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
            let dots = s.points.len() <= 64;
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let flush = |seg: &mut Vec<(f64, f64)>, out: &mut String| {
                if seg.len() >= 2 {
                    let pts: Vec<String> = seg.iter().map(|&(x, y)| format!("{},{}", n(x), n(y))).collect();
                    let _ = writeln!(
                        out,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" stroke-linejoin=\"round\"{dash_attr}/>",
                        pts.join(" ")
                    );
                }
                if dots || seg.len() == 1 {
                    for &(x, y) in seg.iter() {
                        let _ = writeln!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"2.8\" fill=\"{color}\"/>", n(x), n(y));
                    }
                }
                seg.clear();
            };
            for &p in &s.points {
                match (l.x.px(p.0), l.y.px(p.1)) {
                    (Some(x), Some(y)) => {
                        segment.push((x, y));
                        any = true;
                    }
                    _ => flush(&mut segment, out),
                }
            }
            flush(&mut segment, out);
        }
        out.push_str("</svg>\n");
        if !any {
            text(out, left + pw / 2.0, top + ph / 2.0, FONT, "middle", " fill=\"#888\"", "no data");
        }
        // Legend.
        for (i, s) in self.series.iter().enumerate() {
            let (color, dash) = style(i);
            let y = top + 10.0 + i as f64 * LEGEND_ROW;
            let x = l.legend_x;
            let dash_attr = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"1.8\"{dash_attr}/>",
                n(x),
                n(x + 24.0),
                y = n(y)
            );
            let _ = writeln!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"2.8\" fill=\"{color}\"/>", n(x + 12.0), n(y));
            text(out, x + 30.0, y + SMALL * 0.35, SMALL, "start", "", &s.name);
        }
    }
}

impl Figure for LinePlot {
    fn size(&self) -> (f64, f64) {
        let l = self.layout();
        (l.w, l.h)
    }

    fn draw(&self, out: &mut String) {
        let l = self.layout();
        self.draw_with(&l, out);
    }
}

/// Colour and dash pattern of series `i`.
fn style(i: usize) -> (&'static str, &'static str) {
    (PALETTE[i % PALETTE.len()], DASHES[(i / PALETTE.len()) % DASHES.len()])
}

/// Serde for points with non-finite coordinates written as `null` (and `null` read as NaN).
mod nullable_points {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Nullable = (Option<f64>, Option<f64>);

    pub fn serialize<S: Serializer>(points: &[(f64, f64)], s: S) -> Result<S::Ok, S::Error> {
        let f = |v: f64| v.is_finite().then_some(v);
        points.iter().map(|&(x, y)| (f(x), f(y))).collect::<Vec<Nullable>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
        let v = Vec::<Nullable>::deserialize(d)?;
        Ok(v.into_iter().map(|(x, y)| (x.unwrap_or(f64::NAN), y.unwrap_or(f64::NAN))).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Heat maps
// ---------------------------------------------------------------------------------------------

/// The colours of a [`HeatMap`], from its low to its high end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorScale {
    /// White to dark blue (ColorBrewer Blues).
    #[default]
    WhiteBlue,
    /// Red through yellow to green (ColorBrewer RdYlGn): failure red, success green.
    RedGreen,
}

impl ColorScale {
    fn stops(self) -> &'static [[u8; 3]] {
        match self {
            ColorScale::WhiteBlue => &[[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]],
            ColorScale::RedGreen => {
                &[[215, 48, 39], [252, 141, 89], [254, 224, 139], [217, 239, 139], [145, 207, 96], [26, 152, 80]]
            }
        }
    }

    /// The colour at `t` in `[0, 1]` (clamped; NaN gives the low end).
    pub fn color(self, t: f64) -> [u8; 3] {
        let stops = self.stops();
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (stops.len() - 1) as f64;
        let i = (pos.floor() as usize).min(stops.len() - 2);
        let f = pos - i as f64;
        let (a, b) = (stops[i], stops[i + 1]);
        std::array::from_fn(|k| (a[k] as f64 + (b[k] as f64 - a[k] as f64) * f).round().clamp(0.0, 255.0) as u8)
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Whether dark text is readable on `c` (relative luminance above one half).
fn is_light([r, g, b]: [u8; 3]) -> bool {
    0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64 > 140.0
}

/// A heat map: `values[row][column]` coloured on [`ColorScale`] over `[min, max]` (default
/// `[0, 1]`), each value printed in its cell with up to `digits` decimals (trailing zeros
/// dropped: `0.8`, `1`), a colour bar to the right.
///
/// The grid is as large as the longest of the labels and the values; a missing, `None` or
/// non-finite value is a hatched grey cell. Values outside `[min, max]` are printed as they are
/// and coloured as the nearest end. An empty map draws its title and "no data".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeatMap {
    /// Title above the map (empty: none).
    pub title: String,
    /// Label under the column labels ("context length").
    pub x_label: String,
    /// Label left of the row labels ("needle depth").
    pub y_label: String,
    /// Column labels, left to right.
    pub columns: Vec<String>,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Values by row, then column.
    pub values: Vec<Vec<Option<f64>>>,
    /// The colours.
    pub colors: ColorScale,
    /// Value at the low end of the colours.
    pub min: f64,
    /// Value at the high end of the colours.
    pub max: f64,
    /// Most decimals printed in a cell (capped at 6).
    pub digits: usize,
    /// Whether to draw the colour bar.
    pub legend: bool,
    /// Cell width.
    pub cell_width: f64,
    /// Cell height.
    pub cell_height: f64,
}

impl Default for HeatMap {
    fn default() -> Self {
        HeatMap {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            values: Vec::new(),
            colors: ColorScale::WhiteBlue,
            min: 0.0,
            max: 1.0,
            digits: 2,
            legend: true,
            cell_width: 52.0,
            cell_height: 28.0,
        }
    }
}

/// The computed geometry of a [`HeatMap`].
struct MapLayout {
    w: f64,
    h: f64,
    left: f64,
    top: f64,
    cw: f64,
    ch: f64,
    nr: usize,
    nc: usize,
    rotate_columns: bool,
    col_label_h: f64,
}

const LEGEND_BAR_W: f64 = 12.0;
const LEGEND_STEPS: usize = 40;

impl HeatMap {
    /// An empty map with a title and axis labels.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        HeatMap { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..HeatMap::default() }
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

    /// Sets the value range of the colours.
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
        let l = self.layout();
        let mut body = String::new();
        self.draw_with(&l, &mut body);
        document(l.w, l.h, &body)
    }

    /// The colour range, made usable: `[0, 1]` unless both ends are finite and `min < max`.
    fn lim(&self) -> (f64, f64) {
        if self.min.is_finite() && self.max.is_finite() && self.min < self.max {
            (self.min, self.max)
        } else {
            (0.0, 1.0)
        }
    }

    fn value(&self, r: usize, c: usize) -> Option<f64> {
        self.values.get(r).and_then(|row| row.get(c)).copied().flatten().filter(|v| v.is_finite())
    }

    fn label(&self, v: f64) -> String {
        tick_label_trim(fmt_f64(v, self.digits.min(6)))
    }

    fn layout(&self) -> MapLayout {
        let nr = self.rows.len().max(self.values.len());
        let nc = self.columns.len().max(self.values.iter().map(Vec::len).max().unwrap_or(0));
        let cw = sane(self.cell_width, 8.0, 52.0);
        let ch = sane(self.cell_height, 8.0, 28.0);
        let top = if self.title.is_empty() { 10.0 } else { 36.0 };
        let row_w = self.rows.iter().map(|s| text_w(s, SMALL)).fold(0.0, f64::max);
        let col_w = self.columns.iter().map(|s| text_w(s, SMALL)).fold(0.0, f64::max);
        let rotate_columns = col_w > cw - 4.0;
        let left = (10.0 + if self.y_label.is_empty() { 0.0 } else { 20.0 } + row_w + 8.0).max(if rotate_columns {
            // The first rotated column label reaches left of its cell.
            text_w(self.columns.first().map_or("", String::as_str), SMALL) * std::f64::consts::FRAC_1_SQRT_2 - cw / 2.0
                + 10.0
        } else {
            0.0
        });
        let col_label_h = if rotate_columns { col_w * std::f64::consts::FRAC_1_SQRT_2 + 16.0 } else { 18.0 };
        let gh = nr as f64 * ch;
        let bottom = col_label_h + if self.x_label.is_empty() { 0.0 } else { 22.0 } + 8.0;
        let (lo, hi) = self.lim();
        let legend_w = if self.legend {
            let lw = [lo, (lo + hi) / 2.0, hi].iter().map(|&v| text_w(&self.label(v), SMALL)).fold(0.0, f64::max);
            16.0 + LEGEND_BAR_W + 6.0 + lw + 8.0
        } else {
            8.0
        };
        let legend_h = if self.legend { 80.0 } else { 0.0 };
        let w = (left + nc as f64 * cw + legend_w).max(text_w(&self.title, TITLE) + 20.0).max(120.0);
        let h = top + (gh + bottom).max(legend_h + 8.0).max(if nr == 0 { 40.0 } else { 0.0 });
        MapLayout { w, h, left, top, cw, ch, nr, nc, rotate_columns, col_label_h }
    }

    fn draw_with(&self, l: &MapLayout, out: &mut String) {
        let (left, top, cw, ch) = (l.left, l.top, l.cw, l.ch);
        let (gw, gh) = (l.nc as f64 * cw, l.nr as f64 * ch);
        if !self.title.is_empty() {
            let cx = if l.nc == 0 { l.w / 2.0 } else { (left + gw / 2.0).max(text_w(&self.title, TITLE) / 2.0 + 10.0) };
            text(out, cx, 22.0, TITLE, "middle", " font-weight=\"bold\"", &self.title);
        }
        if l.nr == 0 || l.nc == 0 {
            text(out, l.w / 2.0, top + 24.0, FONT, "middle", " fill=\"#888\"", "no data");
        }
        let (lo, hi) = self.lim();
        for r in 0..l.nr {
            let y = top + r as f64 * ch;
            for c in 0..l.nc {
                let x = left + c as f64 * cw;
                match self.value(r, c) {
                    Some(v) => {
                        let rgb = self.colors.color((v - lo) / (hi - lo));
                        let _ = writeln!(
                            out,
                            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\" stroke-width=\"1\"/>",
                            n(x),
                            n(y),
                            n(cw),
                            n(ch),
                            hex(rgb)
                        );
                        let fill = if is_light(rgb) { "#111" } else { "white" };
                        text(
                            out,
                            x + cw / 2.0,
                            y + ch / 2.0 + SMALL * 0.35,
                            SMALL,
                            "middle",
                            &format!(" fill=\"{fill}\""),
                            &self.label(v),
                        );
                    }
                    None => hatch(out, x, y, cw, ch),
                }
            }
        }
        for (r, label) in self.rows.iter().enumerate() {
            let y = top + r as f64 * ch + ch / 2.0 + SMALL * 0.35;
            text(out, left - 6.0, y, SMALL, "end", "", label);
        }
        for (c, label) in self.columns.iter().enumerate() {
            let x = left + c as f64 * cw + cw / 2.0;
            if l.rotate_columns {
                let (x, y) = (x + SMALL * 0.35, top + gh + 8.0);
                let rot = format!(" transform=\"rotate(-45 {} {})\"", n(x), n(y));
                text(out, x, y, SMALL, "end", &rot, label);
            } else {
                text(out, x, top + gh + 15.0, SMALL, "middle", "", label);
            }
        }
        if !self.x_label.is_empty() {
            text(out, left + gw / 2.0, top + gh + l.col_label_h + 16.0, FONT, "middle", "", &self.x_label);
        }
        if !self.y_label.is_empty() && l.nr > 0 {
            let (x, y) = (16.0, top + gh / 2.0);
            let rot = format!(" transform=\"rotate(-90 {} {})\"", n(x), n(y));
            text(out, x, y, FONT, "middle", &rot, &self.y_label);
        }
        if self.legend {
            let bx = left + gw + 16.0;
            let bh = gh.clamp(80.0, 200.0);
            let step = bh / LEGEND_STEPS as f64;
            for k in 0..LEGEND_STEPS {
                // Top is the high end.
                let t = 1.0 - (k as f64 + 0.5) / LEGEND_STEPS as f64;
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                    n(bx),
                    n(top + k as f64 * step),
                    n(LEGEND_BAR_W),
                    n(step + 0.5),
                    hex(self.colors.color(t))
                );
            }
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#666\"/>",
                n(bx),
                n(top),
                n(LEGEND_BAR_W),
                n(bh)
            );
            for (v, y) in [(hi, top), ((lo + hi) / 2.0, top + bh / 2.0), (lo, top + bh)] {
                text(out, bx + LEGEND_BAR_W + 5.0, y + SMALL * 0.35, SMALL, "start", "", &self.label(v));
            }
        }
    }
}

impl Figure for HeatMap {
    fn size(&self) -> (f64, f64) {
        let l = self.layout();
        (l.w, l.h)
    }

    fn draw(&self, out: &mut String) {
        let l = self.layout();
        self.draw_with(&l, out);
    }
}

/// A fixed-decimal number with trailing zeros dropped (`0.80` → `0.8`, `1.00` → `1`).
fn tick_label_trim(s: String) -> String {
    if s.contains('.') && !s.contains('e') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A grey cell hatched with diagonal lines (drawn, not a `<pattern>`, so no ids are needed).
fn hatch(out: &mut String, x: f64, y: f64, w: f64, h: f64) {
    const SPACING: f64 = 7.0;
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#eeeeee\" stroke=\"white\" stroke-width=\"1\"/>",
        n(x),
        n(y),
        n(w),
        n(h)
    );
    // Lines u + v = k in cell coordinates (u right, v down), running from lower left to upper right.
    let mut d = String::new();
    let mut k = SPACING;
    while k < w + h {
        let (a0, a1) = ((k - h).max(0.0), k.min(w));
        let _ = write!(d, "M{} {}L{} {}", n(x + a0), n(y + k - a0), n(x + a1), n(y + k - a1));
        k += SPACING;
    }
    let _ = writeln!(out, "<path d=\"{d}\" stroke=\"#b5b5b5\" stroke-width=\"1\" fill=\"none\"/>");
}

#[cfg(test)]
mod tests {
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
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
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

    fn text_contents(s: &str) -> Vec<String> {
        s.split("<text ").skip(1).filter_map(|e| Some(e[e.find('>')? + 1..e.find("</text>")?].to_string())).collect()
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
    fn text_is_escaped() {
        let title = "ppl <PI & YaRN> \"q\" 'a'\u{1}";
        let svg =
            LinePlot::new(title, "x < y", "a & b").series("<s>", [(1.0, 1.0), (2.0, 2.0)]).marker(1.5, "m&m").svg();
        assert_svg(&svg);
        assert!(svg.contains("ppl &lt;PI &amp; YaRN&gt; &quot;q&quot; &apos;a&apos;</text>"));
        assert!(svg.contains("x &lt; y") && svg.contains("a &amp; b") && svg.contains("&lt;s&gt;"));
        assert!(svg.contains("m&amp;m"));
        let map = HeatMap::new("<t>", "&", "'").columns(["<c>"]).row("r&", [Some(0.5)]).svg();
        assert_svg(&map);
        assert!(map.contains("&lt;c&gt;") && map.contains("r&amp;"));
        let g = grid("a<b", &[HeatMap::new("m&", "", "")], 3);
        assert_svg(&g);
        assert!(g.contains("a&lt;b"));
    }

    #[test]
    fn log2_axis_spaces_doublings_evenly() {
        let lengths: [f64; 4] = [256.0, 512.0, 1024.0, 2048.0];
        let plot = LinePlot::new("", "length", "entropy")
            .x_scale(Scale::Log2)
            .series("L0", lengths.iter().map(|&x| (x, x.ln())))
            .series("L1", lengths.iter().map(|&x| (x, 1.0)));
        let l = plot.layout();
        let px: Vec<f64> = lengths.iter().map(|&v| l.x.px(v).unwrap()).collect();
        for w in px.windows(3) {
            assert!(((w[1] - w[0]) - (w[2] - w[1])).abs() < 1e-9, "{px:?}");
        }
        // The ticks are the lengths themselves.
        let labels: Vec<&str> = l.xt.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["256", "512", "1024", "2048"]);
        // End to end: the dots of a series are evenly spaced.
        let svg = plot.svg();
        assert_svg(&svg);
        let cx = attrs(&svg, "circle", "cx");
        let gaps: Vec<f64> = cx[..4].windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() <= 0.011 && *g > 50.0), "{gaps:?}");
    }

    #[test]
    fn log2_axis_falls_back_to_powers_of_two_for_many_lengths() {
        let xs: Vec<f64> = (8..=20).map(|k| (k as f64).exp2()).chain([300.0, 310.0]).collect();
        let plot = LinePlot::new("", "", "").x_scale(Scale::Log2).series("s", xs.iter().map(|&x| (x, 1.0)));
        let l = plot.layout();
        assert!(l.xt.len() >= 3);
        assert!(l.xt.iter().all(|t| t.value.log2().fract() == 0.0), "{:?}", l.xt);
        assert_svg(&plot.svg());
    }

    #[test]
    fn log10_axis_ticks_at_powers_of_ten_and_2x_5x() {
        let plot = LinePlot::new("ppl", "length", "perplexity")
            .x_scale(Scale::Log2)
            .y_scale(Scale::Log10)
            .series("PI", [(256.0, 5.0), (512.0, 40.0), (1024.0, 1e4)]);
        let l = plot.layout();
        let labels: Vec<&str> = l.yt.iter().map(|t| t.label.as_str()).collect();
        for want in ["10", "20", "50", "100", "1000", "10000"] {
            assert!(labels.contains(&want), "{labels:?}");
        }
        assert!(l.y.lo <= 5f64.log10() && l.y.hi >= 4.0);
        // Equal ratios, equal distances.
        let (a, b, c) = (l.y.px(10.0).unwrap(), l.y.px(100.0).unwrap(), l.y.px(1000.0).unwrap());
        assert!(((a - b) - (b - c)).abs() < 1e-9);
        // A narrow range still gets at least two ticks.
        let narrow = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 5.0), (2.0, 9.0)]);
        assert!(narrow.layout().yt.len() >= 2);
        // A huge one gets readable labels.
        let huge = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 1e-30), (2.0, 1e300)]);
        let l = huge.layout();
        assert!(l.yt.len() >= 2 && l.yt.len() <= 30, "{:?}", l.yt);
        assert_svg(&huge.svg());
    }

    #[test]
    fn non_finite_points_are_skipped_and_break_the_line() {
        let plot = LinePlot::new("", "", "").y_scale(Scale::Linear).series(
            "s",
            [(1.0, 1.0), (2.0, 2.0), (3.0, f64::INFINITY), (4.0, 3.0), (5.0, 4.0), (f64::NAN, 9.0), (7.0, f64::NAN)],
        );
        let svg = plot.svg();
        assert_svg(&svg);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4 + 1, "4 dots and the legend's");
        // The infinite value leaves the axis at the finite data's scale.
        let l = plot.layout();
        assert!(l.y.hi <= 5.0 && l.y.lo >= 0.0, "{:?}", (l.y.lo, l.y.hi));
        assert!(l.x.hi <= 5.0, "the point at x = NaN, y = 9 does not count: {:?}", l.x.hi);
        // Log axes skip values ≤ 0 the same way.
        let log = LinePlot::new("", "", "").y_scale(Scale::Log10).series("s", [(1.0, 10.0), (2.0, 0.0), (3.0, -5.0)]);
        let svg = log.svg();
        assert_svg(&svg);
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert_eq!(svg.matches("<circle").count(), 2);
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
        let l = plot.layout();
        assert!(l.x.contains(256.0));
        let svg = plot.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        assert!(texts.iter().any(|t| t == "trained window 256") && texts.iter().any(|t| t == "target 1024"));
        assert!(!texts.iter().any(|t| t.starts_with("lost")));
        // A marker outside a fixed range is left out.
        let fixed = plot.clone().x_range(400.0, 4096.0);
        let texts = text_contents(&fixed.svg());
        assert!(!texts.iter().any(|t| t == "trained window 256"));
    }

    #[test]
    fn empty_and_degenerate_plots_are_valid() {
        let plots = [
            LinePlot::default(),
            LinePlot::new("only title", "", ""),
            LinePlot::new("", "", "").series("empty", []),
            LinePlot::new("", "", "").series("nan", [(f64::NAN, f64::NAN), (1.0, f64::INFINITY)]),
            LinePlot::new("", "", "").series("one", [(3.0, 3.0)]),
            LinePlot::new("", "", "").x_scale(Scale::Log2).y_scale(Scale::Log10).series("one", [(8.0, 1.0)]),
            LinePlot::new("", "", "").series("flat", [(1.0, 0.0), (1.0, 0.0)]),
            LinePlot::new("", "", "").series("tiny", [(1.0, 1.0), (1.0 + 1e-15, 1.0 + 1e-15)]),
            LinePlot::new("", "", "").series("far", [(1e20, 1e20), (1e20, 1e20)]),
            LinePlot::new("", "", "").series("huge", [(-1e308, -1e308), (1e308, 1e308)]),
            LinePlot::new("", "", "").with_size(f64::NAN, -3.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
            LinePlot::new("", "", "").x_range(f64::NAN, 1.0).y_range(5.0, 1.0).series("s", [(1.0, 1.0), (2.0, 2.0)]),
        ];
        for p in &plots {
            let svg = p.svg();
            assert_svg(&svg);
            let (w, h) = p.size();
            assert!(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0);
        }
        assert!(text_contents(&LinePlot::default().svg()).contains(&"no data".to_string()));
    }

    #[test]
    fn many_series_get_distinct_styles_and_a_taller_figure() {
        let mut plot = LinePlot::new("", "", "");
        for k in 0..32 {
            plot = plot.series(format!("L{k}"), [(1.0, k as f64), (2.0, k as f64 + 1.0)]);
        }
        let styles: std::collections::HashSet<_> = (0..32).map(style).collect();
        assert_eq!(styles.len(), 32);
        let (_, h) = plot.size();
        assert!(h >= 32.0 * LEGEND_ROW);
        assert_svg(&plot.svg());
    }

    #[test]
    fn heat_map_prints_values_and_hatches_missing_cells() {
        let map = HeatMap::new("passkey", "context length", "depth")
            .columns(["256", "512", "1024"])
            .row("0%", [Some(1.0), Some(0.8), Some(0.0)])
            .row("50%", [Some(0.5), None, Some(f64::NAN)])
            .row("100%", [Some(1.5), Some(-0.2)]);
        let svg = map.svg();
        assert_svg(&svg);
        let texts = text_contents(&svg);
        for want in ["1", "0.8", "0", "0.5", "1.5", "-0.2"] {
            assert!(texts.iter().any(|t| t == want), "{want} in {texts:?}");
        }
        assert_eq!(svg.matches("<path d=").count(), 3, "None, NaN and the missing cell are hatched");
        // Out-of-range values take the end colours.
        assert_eq!(ColorScale::WhiteBlue.color(1.5), ColorScale::WhiteBlue.color(1.0));
        assert_eq!(ColorScale::RedGreen.color(-1.0), [215, 48, 39]);
        assert_eq!(ColorScale::RedGreen.color(f64::NAN), [215, 48, 39]);
        assert!(is_light(ColorScale::WhiteBlue.color(0.0)) && !is_light(ColorScale::WhiteBlue.color(1.0)));
    }

    #[test]
    fn empty_and_degenerate_heat_maps_are_valid() {
        let maps = [
            HeatMap::default(),
            HeatMap::new("t", "", "").columns(["a", "b"]),
            HeatMap::new("", "", "").row("r", []),
            HeatMap { cell_width: f64::NAN, cell_height: -1.0, min: 1.0, max: 0.0, digits: 99, ..HeatMap::default() }
                .row("r", [Some(0.123456789)]),
            HeatMap::new("", "", "").legend(false).columns(["a very long column label"]).row("r", [Some(0.3)]),
        ];
        for m in &maps {
            assert_svg(&m.svg());
        }
        assert!(text_contents(&HeatMap::default().svg()).contains(&"no data".to_string()));
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
        assert_eq!(svg.matches("<g transform").count(), 10);
        let texts = text_contents(&svg);
        assert!((0..10).all(|k| texts.contains(&format!("method {k}"))));
        let w = maps.iter().map(|m| m.size().0).fold(0.0, f64::max);
        let h = maps.iter().map(|m| m.size().1).fold(0.0, f64::max);
        let narrow = maps[0].size().0;
        let root_w: f64 = attrs(&svg, "svg", "width")[0];
        assert!(root_w >= 4.0 * narrow + w && root_w < 4.0 * narrow + w + 100.0, "{root_w}");
        assert!(attrs(&svg, "svg", "height")[0] >= 2.0 * h);
        // Mixed figures and empty grids.
        let plot = LinePlot::new("p", "", "").series("s", [(1.0, 1.0)]);
        assert_svg(&grid("", &[&plot as &dyn Figure, &maps[0]], 0));
        assert_svg(&grid::<HeatMap>("", &[], 0));
        assert_svg(&grid::<HeatMap>("nothing", &[], 3));
    }

    #[test]
    fn figures_round_trip_through_json() {
        let plot = LinePlot::new("t", "x", "y")
            .x_scale(Scale::Log2)
            .series("s", [(1.0, f64::NAN), (2.0, 3.0)])
            .marker(2.0, "m");
        let json = serde_json::to_string(&plot).unwrap();
        assert!(json.contains("[1.0,null]"), "{json}");
        let back: LinePlot = serde_json::from_str(&json).unwrap();
        assert_eq!(back.svg(), plot.svg());
        let map = HeatMap::new("t", "", "").columns(["a"]).row("r", [None]);
        let back: HeatMap = serde_json::from_str(&serde_json::to_string(&map).unwrap()).unwrap();
        assert_eq!(back, map);
        let t = Table::new(["a"]).row(["1"]);
        assert_eq!(serde_json::from_str::<Table>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
    }

    #[test]
    fn tick_labels_are_readable() {
        assert_eq!(tick_label(1024.0, 0), "1024");
        assert_eq!(tick_label(0.30000000000000004, 1), "0.3");
        assert_eq!(tick_label(2e6, 0), "2e6");
        assert_eq!(tick_label(1.5e-5, 0), "1.5e-5");
        assert_eq!(tick_label(0.0, 3), "0");
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(23.0), 20.0);
    }
}
