//! Logarithmic attention-logit scalars: `max(1, ln(i) / ln(c))` for the 1-based position `i`.
//!
//! This one formula is shared by two methods:
//! - Qwen-7B's `use_logn_attn` (logN attention): `c` = the training length, every layer,
//!   inference only; q is multiplied by it.
//! - entropy-aware ABF's logit scalar `max(1, log_c(i))` ([`crate::methods::eabf`]), which adds a
//!   layer-exclusion set.
//!
//! Positions inside the window (`i ≤ c`) get exactly 1.
//!
//! Parity: QwenLM/Qwen `modeling_qwen.py` `logn_list` (`log(i, seq_length) if i > seq_length
//! else 1`); GAIR-NLP/Entropy-ABF `apply_rotary_pos_emb_scale`. Values checked against the spec's
//! §13 table.

/// `max(1, ln(m + 1) / ln(c))` for the 0-based position `m` and window `c`.
///
/// `c` must be at least 2 (`ln c > 0`); the methods that use this validate it. For `c < 2`
/// the result would be infinite, so it is computed as if `c = 2`.
pub fn log_scale(position: u64, context: u64) -> f64 {
    let i = position as f64 + 1.0;
    (i.ln() / (context.max(2) as f64).ln()).max(1.0)
}

/// Qwen's logN multiplier of q at 0-based position `m`, for training length `seq_length`.
pub fn qwen_logn(position: u64, seq_length: u64) -> f64 {
    log_scale(position, seq_length)
}
