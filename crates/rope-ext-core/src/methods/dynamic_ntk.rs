//! Dynamic NTK (emozilla, 2023; YaRN paper §3.3), HF `"dynamic"`.
//!
//! With `n = max(seq_len, L)` the current sequence length (`L` = `max_position_embeddings`, as
//! HF uses it; `original_max_position_embeddings` is ignored there too):
//! `b' = b · ((s · n / L) − (s − 1))^(d/(d−2))`, `θ_i = b'^(-2i/d)`; attention factor 1. At
//! `n ≤ L` the base is unchanged. Which `n` is current, and when the frequencies are recomputed
//! (growth) or restored (reset), is the job of [`crate::runtime::RopeRuntime`].
//!
//! vLLM's `"dynamic"` with `factor` is static and differs from HF (vllm-project/vllm#41236); HF
//! is the reference here.
//!
//! Parity: HF transformers 5.23 `_compute_dynamic_ntk_parameters` at sequence lengths on both
//! sides of `L` — `tests/goldens`; growth and reset rules of `dynamic_rope_update`.

use crate::error::{RopeError, at_least};
use crate::frequencies::{RopeContext, RopeFrequencies};
use crate::methods::ntk_aware::{scaled_base, validate_rotary_dim};

/// Parameters of dynamic NTK.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DynamicNtk {
    /// `s ≥ 1`.
    pub factor: f64,
}

impl DynamicNtk {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "dynamic";

    /// Rejects `factor < 1` and a rotary dimension of 2.
    pub fn validate(&self, ctx: &RopeContext) -> Result<(), RopeError> {
        at_least(Self::NAME, "factor", self.factor, 1.0, ">= 1")?;
        validate_rotary_dim(Self::NAME, ctx)
    }

    /// The base `b'` at sequence length `seq_len` (`None`: `L`).
    pub fn base(&self, ctx: &RopeContext, seq_len: Option<usize>) -> f64 {
        let l = ctx.max_position_embeddings as f64;
        let n = seq_len.map_or(l, |n| (n as f64).max(l));
        scaled_base(ctx.theta, self.factor * n / l - (self.factor - 1.0), ctx.rotary_dim)
    }

    /// `b'(n)^(-2i/d)`.
    pub fn frequencies(&self, ctx: &RopeContext, seq_len: Option<usize>) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.inv_freq_with_base(self.base(ctx, seq_len)))
    }
}
