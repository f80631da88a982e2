//! The scaled rotary encoding on tensors, built from `rope-ext-core` tables.
//!
//! cos/sin rows come from [`rope_ext_core::Rope::table_with`] (f64 angles, attention factor
//! applied, LongRoPE's start tokens handled) and are uploaded as `[batch | 1, 1, n, d/2]`
//! tensors; [`apply`] rotates the first `rotary_dim` channels of `[batch, heads, n, head_dim]`
//! in the model's pair layout and passes the rest through.

use burn::tensor::{Device, Tensor, TensorData};
use rope_ext_core::{PairLayout, Rope, RopeFrequencies};

/// Positions of the tokens of one forward call.
#[derive(Debug, Clone, PartialEq)]
pub enum Positions {
    /// `start, start + 1, …` for every sample.
    Range {
        /// First position.
        start: usize,
    },
    /// One list per sample (E²-LLM's `(m + t)/g` during training); each as long as the input.
    PerSample(Vec<Vec<f64>>),
}

impl Positions {
    /// The current sequence length `max(position) + 1` for an input of `len` tokens.
    pub fn seq_len(&self, len: usize) -> usize {
        match self {
            Positions::Range { start } => start + len,
            Positions::PerSample(rows) => {
                rows.iter().flat_map(|r| r.iter().copied()).fold(0.0f64, f64::max).floor() as usize + 1
            }
        }
    }
}

/// cos and sin tensors, `[batch | 1, 1, n, pairs]`.
#[derive(Debug, Clone)]
pub struct RotaryTables {
    /// cos rows.
    pub cos: Tensor<4>,
    /// sin rows.
    pub sin: Tensor<4>,
}

impl RotaryTables {
    /// Builds the tables for `len` tokens at `positions` with frequencies `freqs`.
    pub fn new(rope: &Rope, freqs: &RopeFrequencies, positions: &Positions, len: usize, device: &Device) -> Self {
        let pairs = freqs.inv_freq.len();
        let (rows, tables): (usize, Vec<_>) = match positions {
            Positions::Range { start } => {
                let t = rope.table_with(freqs, (*start..start + len).map(|m| m as f64));
                (1, vec![t])
            }
            Positions::PerSample(ps) => {
                (ps.len(), ps.iter().map(|p| rope.table_with(freqs, p.iter().copied())).collect())
            }
        };
        let mut cos = Vec::with_capacity(rows * len * pairs);
        let mut sin = Vec::with_capacity(rows * len * pairs);
        for t in &tables {
            cos.extend_from_slice(t.cos());
            sin.extend_from_slice(t.sin());
        }
        let shape = [rows, 1, len, pairs];
        RotaryTables {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }
}

/// Rotates the first `rotary_dim` channels of `x` (`[batch, heads, n, head_dim]`).
pub fn apply(x: Tensor<4>, tables: &RotaryTables, rotary_dim: usize, layout: PairLayout) -> Tensor<4> {
    let [b, h, n, d] = x.dims();
    let half = rotary_dim / 2;
    let rot = x.clone().slice([0..b, 0..h, 0..n, 0..rotary_dim]);
    let (cos, sin) = (tables.cos.clone(), tables.sin.clone());
    let rotated = match layout {
        PairLayout::HalfSplit => {
            let x1 = rot.clone().slice([0..b, 0..h, 0..n, 0..half]);
            let x2 = rot.slice([0..b, 0..h, 0..n, half..rotary_dim]);
            let o1 = x1.clone() * cos.clone() - x2.clone() * sin.clone();
            let o2 = x2 * cos + x1 * sin;
            Tensor::cat(vec![o1, o2], 3)
        }
        PairLayout::Interleaved => {
            let pairs: Tensor<5> = rot.reshape([b, h, n, half, 2]);
            let x1: Tensor<4> = pairs.clone().slice([0..b, 0..h, 0..n, 0..half, 0..1]).reshape([b, h, n, half]);
            let x2: Tensor<4> = pairs.slice([0..b, 0..h, 0..n, 0..half, 1..2]).reshape([b, h, n, half]);
            let o1 = x1.clone() * cos.clone() - x2.clone() * sin.clone();
            let o2 = x2 * cos + x1 * sin;
            let stacked: Tensor<5> = Tensor::stack(vec![o1, o2], 4);
            stacked.reshape([b, h, n, rotary_dim])
        }
    };
    if rotary_dim == d { rotated } else { Tensor::cat(vec![rotated, x.slice([0..b, 0..h, 0..n, rotary_dim..d])], 3) }
}
