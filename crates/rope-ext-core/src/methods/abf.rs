//! Adjusted Base Frequency (Code Llama, arXiv 2308.12950; LLaMA-2-Long, Xiong et al., arXiv
//! 2309.16039): replace the base `b` by a larger `b'` and fine-tune.
//!
//! `θ_i = b'^(-2i/d)`; no position transform, attention factor 1. In an HF config this is just
//! `rope_theta` with the default rope type. The 100-samples paper (arXiv 2401.07004, Table 1)
//! uses `b' = 500,000` for LLaMA-2 (its text says 50,000 twice; its table and code say 500,000).
//!
//! Parity: identical to the default rope type with `rope_theta = b'` in HF transformers 5.23
//! (`tests/goldens`, `abf_*` cases).

use crate::error::{RopeError, positive};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// The base used by ABF and entropy-aware ABF in the 100-samples paper.
pub const PAPER_THETA: f64 = 500_000.0;

/// Parameters of ABF.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Abf {
    /// `b'`: the new base, replacing the model's `rope_theta`.
    pub theta: f64,
}

impl Default for Abf {
    fn default() -> Self {
        Abf { theta: PAPER_THETA }
    }
}

impl Abf {
    /// The name used in our `rope_ext` config extension.
    pub const NAME: &'static str = "abf";

    /// Rejects a non-positive or non-finite base.
    pub fn validate(&self) -> Result<(), RopeError> {
        positive(Self::NAME, "rope_theta", self.theta).map(drop)
    }

    /// `b'^(-2i/d)`.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.inv_freq_with_base(self.theta))
    }
}
