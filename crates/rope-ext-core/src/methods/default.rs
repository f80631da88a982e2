//! Vanilla RoPE (Su et al., RoFormer, arXiv 2104.09864).
//!
//! `θ_i = b^(-2i/d)` for `i in 0..d/2`, `d = int(head_dim · partial_rotary_factor)`; attention
//! factor 1. Channels at and beyond `d` pass through unrotated.
//!
//! Parity: HF transformers 5.23 `Phi3RotaryEmbedding.compute_default_rope_parameters` (which
//! honours `partial_rotary_factor`; Llama's ignores it) — `tests/goldens`.

use crate::frequencies::{RopeContext, RopeFrequencies};

/// The frequencies of unscaled RoPE.
pub fn frequencies(ctx: &RopeContext) -> RopeFrequencies {
    RopeFrequencies::unscaled(ctx.default_inv_freq())
}
