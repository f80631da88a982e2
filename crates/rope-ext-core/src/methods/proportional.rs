//! Proportional RoPE (HF transformers v5 `"proportional"`, used by the Gemma 4 family).
//!
//! Only the first `k = floor(partial_rotary_factor · head_dim / 2)` pairs rotate, with
//! frequencies whose exponent uses the whole head: `θ_i = b^(-2i/head_dim)` for `i < k`, and
//! `θ_i = 0` for `k ≤ i < head_dim/2` (NoPE pairs); all divided by `factor`. Unlike every other
//! type the output always spans the whole head, so the rotary dimension is `head_dim` and the
//! half-split pairs are `(i, i + head_dim/2)`.
//!
//! Parity: HF transformers 5.23 `_compute_proportional_rope_parameters` — `tests/goldens`.

use crate::error::{RopeError, at_least};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Parameters of proportional RoPE.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Proportional {
    /// `≥ 1`; HF's default is 1.
    pub factor: f64,
}

impl Default for Proportional {
    fn default() -> Self {
        Proportional { factor: 1.0 }
    }
}

impl Proportional {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "proportional";

    /// Rejects `factor < 1`.
    pub fn validate(&self) -> Result<(), RopeError> {
        at_least(Self::NAME, "factor", self.factor, 1.0, ">= 1").map(drop)
    }

    /// Number of rotating pairs, `floor(partial_rotary_factor · head_dim / 2)`.
    pub fn rotating_pairs(ctx: &RopeContext) -> usize {
        ((ctx.partial_rotary_factor * ctx.head_dim as f64) / 2.0).floor() as usize
    }

    /// `b^(-2i/head_dim) / factor` for rotating pairs, 0 for the rest.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        let k = Self::rotating_pairs(ctx);
        let head = ctx.head_dim as f64;
        let inv_freq = (0..ctx.head_dim / 2)
            .map(|i| if i < k { ctx.theta.powf(-((2 * i) as f64) / head) / self.factor } else { 0.0 })
            .collect();
        RopeFrequencies::unscaled(inv_freq)
    }
}
