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

use crate::frequencies::RopeFrequencies;

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

    /// An empty table with room for `rows` rows of `pairs` entries.
    pub(crate) fn with_capacity(pairs: usize, rows: usize) -> Self {
        CosSinTable {
            pairs,
            cos: Vec::with_capacity(rows * pairs),
            sin: Vec::with_capacity(rows * pairs),
        }
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
        self.cos.get(row * self.pairs..(row + 1) * self.pairs)
    }

    /// The sin row of the `row`-th position, or `None` past the end.
    pub fn sin_row(&self, row: usize) -> Option<&[f32]> {
        self.sin.get(row * self.pairs..(row + 1) * self.pairs)
    }
}
