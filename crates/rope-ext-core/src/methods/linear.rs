//! Position Interpolation (Chen et al., arXiv 2306.15595), HF `"linear"`.
//!
//! Positions are compressed, `m → m/s`, which is the same as `θ'_i = θ_i / s`; attention
//! factor 1.
//!
//! Parity: HF transformers 5.23 `_compute_linear_scaling_rope_parameters` — `tests/goldens`.

use crate::error::{RopeError, at_least};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Parameters of PI.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Linear {
    /// `s ≥ 1`: the extension ratio `L'/L`.
    pub factor: f64,
}

impl Linear {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "linear";

    /// Rejects `factor < 1` and non-finite factors.
    pub fn validate(&self) -> Result<(), RopeError> {
        at_least(Self::NAME, "factor", self.factor, 1.0, ">= 1").map(drop)
    }

    /// `θ_i / s`.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.default_inv_freq().into_iter().map(|f| f / self.factor).collect())
    }
}
