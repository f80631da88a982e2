//! cos/sin tables: `cos(m · θ_i) · a` and `sin(m · θ_i) · a` for a list of positions `m`.
//!
//! The angle `m · θ_i` and its cosine and sine are computed in f64 and rounded once to f32, with
//! the attention factor `a` applied (it multiplies both q and k, so the logits by `a²`). HF forms
//! the angle in f32, which costs up to ~2e-5 absolute at position 300 and O(1) radians in bf16
//! at long context (spec §1.4, §14.3); this table does not.
//!
//! Rows hold one entry per rotary pair (`rotary_dim / 2`), not the duplicated `[cos, cos]` row
//! HF builds for `rotate_half`: expanding to a layout is the consumer's business
//! ([`crate::layout::apply_rotary`] takes these rows directly).
//!
//! Parity: HF transformers 5.23 `LlamaRotaryEmbedding.forward` (cos/sin × attention_scaling).

use crate::error::RopeError;
use crate::frequencies::RopeFrequencies;

/// The most entries (`rows × pairs`) one table may hold: 2³² (16 GiB per array).
pub const MAX_TABLE_ENTRIES: usize = 1 << 32;

/// cos and sin rows for a list of positions, row-major `[positions, pairs]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CosSinTable {
    pairs: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl CosSinTable {
    /// Builds the table for `positions` (fractional positions are allowed, e.g. E²-LLM's
    /// `(m + t)/g`).
    pub fn new(freqs: &RopeFrequencies, positions: impl IntoIterator<Item = f64>) -> Self {
        let mut table = CosSinTable::with_capacity(freqs.inv_freq.len(), 0);
        for m in positions {
            table.push_row(&freqs.inv_freq, freqs.attention_factor, m);
        }
        table
    }

    /// Builds the table for the contiguous integer positions `range`, much faster than
    /// [`CosSinTable::new`] and as accurate.
    ///
    /// With `m = b + j`, `b` a multiple of a block width `B ≈ √len`, the angle-addition formulas
    /// `cos(mθ) = cos(bθ)cos(jθ) − sin(bθ)sin(jθ)` and `sin(mθ) = sin(bθ)cos(jθ) + cos(bθ)sin(jθ)`
    /// need only `(B + len/B) · pairs` f64 `sin_cos` calls instead of `len · pairs`; each entry
    /// is then four f64 products. The f64 error (~1e-15) stays far below the final f32 rounding.
    ///
    /// # Errors
    /// [`RopeError::TableTooLarge`] when `range.len() × pairs` exceeds [`MAX_TABLE_ENTRIES`].
    pub fn for_range(freqs: &RopeFrequencies, range: std::ops::Range<u64>) -> Result<Self, RopeError> {
        let rows = range.end.saturating_sub(range.start);
        let pairs = freqs.inv_freq.len();
        let len = usize::try_from(rows)
            .ok()
            .filter(|&n| n.checked_mul(pairs).is_some_and(|e| e <= MAX_TABLE_ENTRIES))
            .ok_or(RopeError::TableTooLarge { rows, pairs })?;
        let mut table = CosSinTable::with_capacity(pairs, len);
        if len == 0 || pairs == 0 {
            return Ok(table);
        }
        let block = (len as f64).sqrt().ceil() as usize;
        let a = freqs.attention_factor;
        // cos/sin of jθ_i for j in 0..block, row-major [j, i]
        let (mut cj, mut sj) = (Vec::with_capacity(block * pairs), Vec::with_capacity(block * pairs));
        for j in 0..block {
            for &theta in &freqs.inv_freq {
                let (s, c) = (j as f64 * theta).sin_cos();
                cj.push(c);
                sj.push(s);
            }
        }
        let (mut cb, mut sb) = (vec![0.0; pairs], vec![0.0; pairs]);
        let mut m = range.start;
        while m < range.end {
            for (i, &theta) in freqs.inv_freq.iter().enumerate() {
                (sb[i], cb[i]) = (m as f64 * theta).sin_cos();
            }
            let rows = block.min(usize::try_from(range.end - m).unwrap_or(block));
            let at = table.cos.len();
            table.cos.resize(at + rows * pairs, 0.0);
            table.sin.resize(at + rows * pairs, 0.0);
            let rows_out = table.cos[at..].chunks_exact_mut(pairs).zip(table.sin[at..].chunks_exact_mut(pairs));
            for ((cos_row, sin_row), (cjr, sjr)) in rows_out.zip(cj.chunks_exact(pairs).zip(sj.chunks_exact(pairs))) {
                for ((((co, so), (&c, &s)), &cj), &sj) in
                    cos_row.iter_mut().zip(sin_row.iter_mut()).zip(cb.iter().zip(&sb)).zip(cjr).zip(sjr)
                {
                    *co = ((c * cj - s * sj) * a) as f32;
                    *so = ((s * cj + c * sj) * a) as f32;
                }
            }
            m += rows as u64;
        }
        Ok(table)
    }

    /// An empty table with room for `rows` rows of `pairs` entries.
    pub(crate) fn with_capacity(pairs: usize, rows: usize) -> Self {
        CosSinTable { pairs, cos: Vec::with_capacity(rows * pairs), sin: Vec::with_capacity(rows * pairs) }
    }

    /// Appends the row for position `m`.
    pub(crate) fn push_row(&mut self, inv_freq: &[f64], attention_factor: f64, m: f64) {
        debug_assert_eq!(inv_freq.len(), self.pairs);
        for &theta in inv_freq {
            let (s, c) = (m * theta).sin_cos();
            self.cos.push((c * attention_factor) as f32);
            self.sin.push((s * attention_factor) as f32);
        }
    }

    /// Appends the rows of `other` (same number of pairs).
    pub(crate) fn append(&mut self, mut other: CosSinTable) {
        debug_assert_eq!(other.pairs, self.pairs);
        self.cos.append(&mut other.cos);
        self.sin.append(&mut other.sin);
    }

    /// Number of rows (positions).
    pub fn len(&self) -> usize {
        self.cos.len().checked_div(self.pairs).unwrap_or(0)
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.cos.is_empty()
    }

    /// Entries per row (`rotary_dim / 2`).
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// All cos values, row-major `[positions, pairs]`.
    pub fn cos(&self) -> &[f32] {
        &self.cos
    }

    /// All sin values, row-major `[positions, pairs]`.
    pub fn sin(&self) -> &[f32] {
        &self.sin
    }

    /// The cos row of the `row`-th position, or `None` past the end.
    pub fn cos_row(&self, row: usize) -> Option<&[f32]> {
        self.cos.get(self.row_range(row)?)
    }

    /// The sin row of the `row`-th position, or `None` past the end.
    pub fn sin_row(&self, row: usize) -> Option<&[f32]> {
        self.sin.get(self.row_range(row)?)
    }

    fn row_range(&self, row: usize) -> Option<std::ops::Range<usize>> {
        let start = row.checked_mul(self.pairs)?;
        Some(start..start.checked_add(self.pairs)?)
    }
}
