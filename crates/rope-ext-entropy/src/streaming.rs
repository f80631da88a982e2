//! Streamed entropy: a row seen in chunks, so a 32k-key row never exists at once.
//!
//! The state is the running maximum `m`, normaliser `Z = Σ e^(z_j − m)` and weighted sum
//! `S = Σ e^(z_j − m)(z_j − m)` (see [`crate::row`]). When a chunk raises the maximum to `m'`,
//! with `r = e^(m − m')`: `Z' = r·Z`, `S' = r·(S + (m − m')·Z)`, because every old term's
//! `z − m` becomes `z − m' = (z − m) + (m − m')`. Two states merge the same way, so chunks may
//! also be reduced in any tree order. `finish` returns `ln Z − S/Z`.

use crate::error::EntropyError;

/// The running state of one row's entropy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamingEntropy {
    max: f64,
    norm: f64,
    weighted: f64,
    seen: usize,
    kept: usize,
}

impl Default for StreamingEntropy {
    fn default() -> Self {
        StreamingEntropy::new()
    }
}

impl StreamingEntropy {
    /// An empty row.
    pub fn new() -> Self {
        StreamingEntropy { max: f64::NEG_INFINITY, norm: 0.0, weighted: 0.0, seen: 0, kept: 0 }
    }

    /// Appends a chunk of logits with every key visible.
    pub fn push(&mut self, chunk: &[f32]) -> Result<(), EntropyError> {
        self.push_masked(chunk, |_| true)
    }

    /// Appends a chunk; `keep(j)` decides for the row-global key index `j`.
    pub fn push_masked(&mut self, chunk: &[f32], keep: impl Fn(usize) -> bool) -> Result<(), EntropyError> {
        self.push_scaled(chunk, 1.0, keep)
    }

    /// Appends a chunk of logits multiplied by `scale`.
    pub fn push_scaled(&mut self, chunk: &[f32], scale: f64, keep: impl Fn(usize) -> bool) -> Result<(), EntropyError> {
        let base = self.seen;
        let mut chunk_max = f64::NEG_INFINITY;
        for (i, &z) in chunk.iter().enumerate() {
            if z.is_nan() || z == f32::INFINITY {
                return Err(EntropyError::NotFinite { index: base + i, value: z });
            }
            if keep(base + i) {
                chunk_max = chunk_max.max(f64::from(z) * scale);
            }
        }
        self.seen += chunk.len();
        if chunk_max == f64::NEG_INFINITY {
            return Ok(());
        }
        self.rebase(chunk_max);
        for (i, &z) in chunk.iter().enumerate() {
            let x = f64::from(z) * scale;
            if x != f64::NEG_INFINITY && keep(base + i) {
                let d = x - self.max;
                let e = d.exp();
                self.norm += e;
                self.weighted += e * d;
                self.kept += 1;
            }
        }
        Ok(())
    }

    /// Moves the reference maximum up to `m` if it is larger.
    fn rebase(&mut self, m: f64) {
        if m > self.max {
            if self.norm > 0.0 {
                let shift = self.max - m;
                let r = shift.exp();
                self.weighted = r * (self.weighted + shift * self.norm);
                self.norm *= r;
            }
            self.max = m;
        }
    }

    /// Folds another part of the same row into this one (the other part's keys come after).
    pub fn merge(&mut self, other: &StreamingEntropy) {
        self.seen += other.seen;
        if other.kept == 0 {
            return;
        }
        self.rebase(other.max);
        let shift = other.max - self.max;
        let r = shift.exp();
        self.norm += r * other.norm;
        self.weighted += r * (other.weighted + shift * other.norm);
        self.kept += other.kept;
    }

    /// Keys seen so far, masked or not.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Unmasked keys so far.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// The entropy `ln Z − S/Z` in nats, clamped to `[0, ln kept]` against rounding.
    pub fn finish(&self) -> Result<f64, EntropyError> {
        if self.seen == 0 {
            return Err(EntropyError::EmptyRow);
        }
        if self.kept == 0 {
            return Err(EntropyError::AllMasked { len: self.seen });
        }
        let h = self.norm.ln() - self.weighted / self.norm;
        Ok(h.clamp(0.0, (self.kept as f64).ln()))
    }
}
