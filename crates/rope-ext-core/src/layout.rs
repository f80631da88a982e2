//! Which channels of a head vector form a rotary pair, and the reference rotation on slices.
//!
//! Pair `i` (`0 ≤ i < rotary_dim/2`) is rotated by the angle `φ_i = m · θ_i`:
//! `out_a = x_a cos φ_i − x_b sin φ_i`, `out_b = x_b cos φ_i + x_a sin φ_i`, where `(a, b)` is
//! - `(i, i + rotary_dim/2)` in the **half-split** layout (HF `rotate_half`, HF safetensors
//!   checkpoints, GPT-NeoX);
//! - `(2i, 2i + 1)` in the **interleaved** layout (Meta `consolidated.pth`, GPT-J, DeepSeek's own
//!   inference, burn-nn's `RotaryEncoding`).
//!
//! The two layouts describe the same model only if the q/k projection rows are permuted
//! accordingly; a loader must pick the layout that matches its weight file. Channels at and
//! beyond `rotary_dim` (partial rotary) pass through unchanged.
//!
//! Parity: HF transformers 5.23 `modeling_llama.apply_rotary_pos_emb` (half-split) and
//! meta-llama/llama-models `apply_rotary_emb` (interleaved); see `tests/goldens`.

use crate::error::RopeError;

/// How the channels of a head vector are grouped into rotary pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PairLayout {
    /// Pairs `(i, i + d/2)`: HF `rotate_half`, the layout of HF safetensors checkpoints.
    #[default]
    HalfSplit,
    /// Pairs `(2i, 2i + 1)`: Meta's complex layout, GPT-J, DeepSeek's own inference.
    Interleaved,
}

impl PairLayout {
    /// The two channel indices of pair `i` inside a rotary block of width `rotary_dim`.
    #[inline]
    pub fn pair(self, i: usize, rotary_dim: usize) -> (usize, usize) {
        match self {
            PairLayout::HalfSplit => (i, i + rotary_dim / 2),
            PairLayout::Interleaved => (2 * i, 2 * i + 1),
        }
    }
}

/// Rotates one head vector in place: the first `2 · cos.len()` channels are rotated pair by pair
/// with the given `cos`/`sin` row (one entry per pair, attention factor already applied), the
/// rest pass through.
///
/// The arithmetic is done in f64 and rounded once to f32, so this is the reference the tensor
/// implementations are checked against.
///
/// # Errors
/// [`RopeError::Unsupported`] when `cos` and `sin` differ in length or the rotary block is wider
/// than `x`.
pub fn apply_rotary(x: &mut [f32], cos: &[f32], sin: &[f32], layout: PairLayout) -> Result<(), RopeError> {
    if cos.len() != sin.len() {
        return Err(RopeError::Unsupported {
            method: "apply_rotary",
            field: "sin",
            value: sin.len().to_string(),
            reason: "cos and sin rows must have the same length",
        });
    }
    let rotary_dim = 2 * cos.len();
    if rotary_dim > x.len() {
        return Err(RopeError::Unsupported {
            method: "apply_rotary",
            field: "x",
            value: x.len().to_string(),
            reason: "the head vector is shorter than the rotary block (2 × cos.len())",
        });
    }
    for (i, (&c, &s)) in cos.iter().zip(sin).enumerate() {
        let (a, b) = layout.pair(i, rotary_dim);
        let (xa, xb) = (f64::from(x[a]), f64::from(x[b]));
        let (c, s) = (f64::from(c), f64::from(s));
        x[a] = (xa * c - xb * s) as f32;
        x[b] = (xb * c + xa * s) as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_each_layout() {
        assert_eq!(PairLayout::HalfSplit.pair(1, 8), (1, 5));
        assert_eq!(PairLayout::Interleaved.pair(1, 8), (2, 3));
    }

    #[test]
    fn quarter_turn_moves_a_into_b_and_leaves_pass_through_alone() {
        let mut x = [1.0, 0.0, 0.0, 0.0, 7.0];
        apply_rotary(&mut x, &[0.0, 1.0], &[1.0, 0.0], PairLayout::HalfSplit).unwrap();
        assert_eq!(x, [0.0, 0.0, 1.0, 0.0, 7.0]);
        let mut y = [1.0, 0.0, 0.0, 0.0, 7.0];
        apply_rotary(&mut y, &[0.0, 1.0], &[1.0, 0.0], PairLayout::Interleaved).unwrap();
        assert_eq!(y, [0.0, 1.0, 0.0, 0.0, 7.0]);
    }

    #[test]
    fn mismatched_rows_are_errors_not_panics() {
        let mut x = [0.0; 4];
        assert!(apply_rotary(&mut x, &[1.0], &[0.0, 0.0], PairLayout::HalfSplit).is_err());
        assert!(apply_rotary(&mut x, &[1.0; 3], &[0.0; 3], PairLayout::HalfSplit).is_err());
    }
}
