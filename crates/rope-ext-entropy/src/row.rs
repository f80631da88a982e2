//! Entropy of one softmax row, from raw logits.
//!
//! For logits `z_j` over the unmasked keys, with `m = max z_j`, `Z = Σ e^(z_j − m)` and
//! `S = Σ e^(z_j − m)(z_j − m)`, the softmax `p_j = e^(z_j − m)/Z` has entropy
//!
//! `H = −Σ p_j ln p_j = ln Z − S / Z`  (nats),
//!
//! which never exponentiates a positive number (log-sum-exp stable). Logits are f32, every sum
//! is f64. A `-inf` logit is a masked key; NaN and `+inf` are errors.

use crate::error::EntropyError;
use crate::streaming::StreamingEntropy;

/// Which keys of a row take part in the softmax.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowMask<'a> {
    /// Causal attention: only keys `0..=query` are visible.
    pub causal_query: Option<usize>,
    /// Padding: `keep[j] == false` masks key `j`. Must be as long as the row.
    pub keep: Option<&'a [bool]>,
}

impl<'a> RowMask<'a> {
    /// Every key visible.
    pub const NONE: RowMask<'static> = RowMask { causal_query: None, keep: None };

    /// Keys `0..=query` visible.
    pub fn causal(query: usize) -> Self {
        RowMask { causal_query: Some(query), keep: None }
    }

    /// Keys with `keep[j]` visible.
    pub fn padding(keep: &'a [bool]) -> Self {
        RowMask { causal_query: None, keep: Some(keep) }
    }

    /// Whether key `j` is visible.
    pub fn keeps(&self, j: usize) -> bool {
        self.causal_query.is_none_or(|q| j <= q) && self.keep.is_none_or(|k| k.get(j).copied().unwrap_or(false))
    }

    pub(crate) fn check(&self, len: usize) -> Result<(), EntropyError> {
        match self.keep {
            Some(k) if k.len() != len => Err(EntropyError::ShapeMismatch { what: "keep", len: k.len(), expected: len }),
            _ => Ok(()),
        }
    }
}

/// Entropy in nats of `softmax(logits)`.
pub fn entropy(logits: &[f32]) -> Result<f64, EntropyError> {
    masked_entropy(logits, RowMask::NONE)
}

/// Entropy in nats of the softmax of the unmasked logits.
pub fn masked_entropy(logits: &[f32], mask: RowMask<'_>) -> Result<f64, EntropyError> {
    // multiplying by 1.0 is exact
    scaled_entropy(logits, 1.0, mask)
}

/// Entropy of `softmax(scale · logits)` over the unmasked keys (`scale > 0`).
pub fn scaled_entropy(logits: &[f32], scale: f64, mask: RowMask<'_>) -> Result<f64, EntropyError> {
    if logits.is_empty() {
        return Err(EntropyError::EmptyRow);
    }
    mask.check(logits.len())?;
    let mut s = StreamingEntropy::new();
    s.push_scaled(logits, scale, |j| mask.keeps(j))?;
    s.finish()
}
