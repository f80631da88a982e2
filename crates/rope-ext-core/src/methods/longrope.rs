//! LongRoPE (Ding et al., arXiv 2402.13753, §3.1 Eq. 3, §3.2–3.3) and Phi-3's `"longrope"`
//! (legacy `"su"`).
//!
//! Per-pair rescale factors `λ_i` divide the frequencies, `θ'_i = θ_i / λ_i`; the first `n̂`
//! positions `m < n̂` are not interpolated (they take the original `θ_i` and no attention factor;
//! see [`crate::Rope::table`]). Eq. 3 gives only the frequencies; the paper never mentions the
//! attention factor. The "no factor below `n̂`" rule is the reference code's
//! (`MixedLongRoPEScaledRotaryEmbedding` copies the original model's cos/sin into rows `:n̂`).
//! The reference counts rows of the current call, not positions; here it is the position `m`, as
//! Eq. 3 writes it. The two agree for a prefill from position 0.
//!
//! Two factor lists are kept: `short_factor` while the current sequence length `n ≤ L`
//! (`L` = `original_max_position_embeddings`) and `long_factor` once `n > L` (HF
//! `longrope_frequency_update`; a prompt longer than `L` uses the long factors from token 0).
//!
//! Attention factor (multiplies cos and sin), with `s = factor` (or `max_position_embeddings /
//! L` when absent), applied in both regimes:
//! - `su` (the reference code's and HF's default; the paper does not name a policy):
//!   `sqrt(1 + ln s / ln L)` for `s > 1`, else 1;
//! - `yarn`: `0.1 ln s + 1` for `s > 1`, else 1;
//! - an explicit value (HF `attention_factor`).
//!
//! Dynamic rescale (LongRoPE `DynamicLongRoPEScaledRotaryEmbedding`): with `n > L`,
//! `λ'_i = 1 + (λ_i − 1)(n/L − 1)/(s − 1)`; needs `s > 1`. The reference has one factor list and
//! rescales it at every `n` (so `λ'_i < 1` below `L`); here only the long factors are rescaled,
//! once `n > L`; the attention factor stays at its value for `s` in both.
//!
//! The monotonic constraint of the search, `λ_i ≤ λ_{i+1}`, is checked when
//! [`LongRope::monotonic`] is set (search results), not for released checkpoints, whose factors
//! need not be monotone.
//!
//! Parity: HF transformers 5.23 `_compute_longrope_parameters` with `Phi3Config` (short/long
//! switching, top-level `original_max_position_embeddings`, explicit and derived attention
//! factor) — `tests/goldens`; `su` value 1.19023807 for s = 32, L = 4096 (spec §13).
//! microsoft/LongRoPE c9e56aa `rope/longrope.py` (start tokens, `su`/`yarn`/explicit attention
//! factor, dynamic rescale) and `evolution/search.py::rescale`, reimplemented in numpy —
//! `crates/rope-ext-core/tests/goldens/make_longrope.py`.

use crate::error::{RopeError, at_least, finite, positive};
use crate::frequencies::{RopeContext, RopeFrequencies};
use crate::methods::yarn::get_mscale;

/// How the attention factor is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum LongRopeAttention {
    /// `sqrt(1 + ln s / ln L)`.
    #[default]
    Su,
    /// `0.1 ln s + 1`.
    Yarn,
    /// A given value.
    Explicit(f64),
}

/// Parameters of LongRoPE.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LongRope {
    /// `λ_i` used while `n ≤ L`.
    pub short_factor: Vec<f64>,
    /// `λ_i` used once `n > L`.
    pub long_factor: Vec<f64>,
    /// `s`; `None` means `max_position_embeddings / L`.
    pub factor: Option<f64>,
    /// `L`; `None` means `max_position_embeddings`.
    pub original_max_position_embeddings: Option<usize>,
    /// The attention factor policy.
    pub attention: LongRopeAttention,
    /// `n̂`: positions below it are not interpolated (0 in HF and Phi-3).
    pub start_tokens: usize,
    /// Rescale the long factors to the current length (LongRoPE's dynamic variant).
    pub dynamic_rescale: bool,
    /// Require non-decreasing factor lists (the search's constraint).
    pub monotonic: bool,
}

/// LongRoPE's `su` attention factor, `sqrt(1 + ln s / ln L)` for `s > 1`, else 1; it multiplies
/// cos and sin, so the logits by `1 + ln s / ln L`.
pub fn su_attention_factor(scale: f64, original: usize) -> f64 {
    if scale <= 1.0 { 1.0 } else { (1.0 + scale.ln() / (original as f64).ln()).sqrt() }
}

/// Checks the monotonic constraint `λ_i ≤ λ_{i+1}`.
pub fn check_monotonic(field: &'static str, factors: &[f64]) -> Result<(), RopeError> {
    match factors.windows(2).position(|w| w[1] < w[0]) {
        None => Ok(()),
        Some(i) => Err(RopeError::NotMonotonic {
            method: LongRope::NAME,
            field,
            index: i + 1,
            value: factors[i + 1],
            previous: factors[i],
        }),
    }
}

/// LongRoPE's `rescale`: `λ'_i = 1 + (λ_i − 1)(to − 1)/(from − 1)`, moving factors found for
/// scale `from` to scale `to` (used for dynamic rescale and to seed a search at a new length).
///
/// # Errors
/// [`RopeError::OutOfRange`] when `from ≤ 1` (the formula divides by `from − 1`) or either scale
/// is not finite.
pub fn rescale_factors(factors: &[f64], from: f64, to: f64) -> Result<Vec<f64>, RopeError> {
    finite(LongRope::NAME, "to_scale", to)?;
    finite(LongRope::NAME, "from_scale", from)?;
    if from <= 1.0 {
        return Err(RopeError::OutOfRange {
            method: LongRope::NAME,
            field: "from_scale",
            value: from,
            expected: "> 1",
        });
    }
    Ok(rescale(factors, from, to))
}

/// [`rescale_factors`] without the checks; `from > 1` is the caller's guarantee.
fn rescale(factors: &[f64], from: f64, to: f64) -> Vec<f64> {
    factors.iter().map(|&l| 1.0 + (l - 1.0) * (to - 1.0) / (from - 1.0)).collect()
}

impl LongRope {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "longrope";

    /// `L`.
    pub fn original(&self, ctx: &RopeContext) -> usize {
        self.original_max_position_embeddings.unwrap_or(ctx.max_position_embeddings)
    }

    /// `s`.
    pub fn factor(&self, ctx: &RopeContext) -> f64 {
        self.factor.unwrap_or(ctx.max_position_embeddings as f64 / self.original(ctx) as f64)
    }

    /// Checks list lengths against `d/2`, entries finite and positive, monotonicity when
    /// required, `factor ≥ 1`, and the attention factor.
    pub fn validate(&self, ctx: &RopeContext) -> Result<(), RopeError> {
        for (field, list) in [("short_factor", &self.short_factor), ("long_factor", &self.long_factor)] {
            if list.len() != ctx.pairs() {
                return Err(RopeError::WrongLength {
                    method: Self::NAME,
                    field,
                    len: list.len(),
                    expected: ctx.pairs(),
                });
            }
            for &l in list {
                positive(Self::NAME, field, l)?;
            }
            if self.monotonic {
                check_monotonic(field, list)?;
            }
        }
        if let Some(f) = self.factor {
            at_least(Self::NAME, "factor", f, 1.0, ">= 1")?;
        }
        if self.original(ctx) < 2 {
            // `su` divides by ln L
            return Err(RopeError::BadInteger {
                method: Self::NAME,
                field: "original_max_position_embeddings",
                value: self.original(ctx) as u64,
                expected: ">= 2",
            });
        }
        if let LongRopeAttention::Explicit(a) = self.attention {
            positive(Self::NAME, "attention_factor", a)?;
        }
        if self.dynamic_rescale && self.factor(ctx) <= 1.0 {
            return Err(RopeError::OutOfRange {
                method: Self::NAME,
                field: "factor",
                value: self.factor(ctx),
                expected: "> 1 for dynamic rescale",
            });
        }
        Ok(())
    }

    /// The attention factor for this model.
    pub fn attention_factor(&self, ctx: &RopeContext) -> f64 {
        let s = self.factor(ctx);
        match self.attention {
            LongRopeAttention::Explicit(a) => a,
            LongRopeAttention::Yarn => get_mscale(s, 1.0),
            LongRopeAttention::Su => su_attention_factor(s, self.original(ctx)),
        }
    }

    /// Whether sequence length `n` selects the long factors (`n > L`).
    pub fn is_long(&self, ctx: &RopeContext, seq_len: Option<usize>) -> bool {
        seq_len.is_some_and(|n| n > self.original(ctx))
    }

    /// The factors in force at sequence length `n`.
    pub fn factors(&self, ctx: &RopeContext, seq_len: Option<usize>) -> Vec<f64> {
        match seq_len {
            Some(n) if self.is_long(ctx, seq_len) => {
                if self.dynamic_rescale {
                    let to = n as f64 / self.original(ctx) as f64;
                    // `validate` guarantees `factor > 1` whenever `dynamic_rescale` is set.
                    rescale(&self.long_factor, self.factor(ctx), to)
                } else {
                    self.long_factor.clone()
                }
            }
            _ => self.short_factor.clone(),
        }
    }

    /// `θ_i / λ_i` with the factors in force at `n`, and the attention factor.
    pub fn frequencies(&self, ctx: &RopeContext, seq_len: Option<usize>) -> RopeFrequencies {
        let inv_freq = ctx.default_inv_freq().into_iter().zip(self.factors(ctx, seq_len)).map(|(t, l)| t / l).collect();
        RopeFrequencies { inv_freq, attention_factor: self.attention_factor(ctx) }
    }
}
