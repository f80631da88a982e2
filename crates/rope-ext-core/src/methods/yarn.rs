//! NTK-by-parts and YaRN (Peng et al., arXiv 2309.00071, §3.2–3.4, Eq. 17–22), HF `"yarn"`,
//! with DeepSeek's `mscale`/`mscale_all_dim` variant and dynamic YaRN.
//!
//! With `L` = `original_max_position_embeddings` and `s` = `factor`:
//! - correction dimension for `n` rotations: `c(n) = d · ln(L / (2π n)) / (2 ln b)`, the pair
//!   whose wavelength is `L/n`;
//! - `low = max(floor(c(β_fast)), 0)`, `high = min(ceil(c(β_slow)), d − 1)` (without
//!   `truncate` the floor/ceil are skipped); if `low == high`, `high += 0.001`;
//! - ramp `γ_i = clamp((i − low)/(high − low), 0, 1)`;
//! - `θ'_i = γ_i · θ_i/s + (1 − γ_i) · θ_i`: pairs below `low` keep θ (extrapolate), pairs
//!   above `high` are interpolated like PI. NTK-by-parts is this with attention factor 1.
//! - attention factor (multiplies cos and sin): `attention_factor` if given; else, if `mscale`
//!   and `mscale_all_dim` are both non-zero, `m(s, mscale) / m(s, mscale_all_dim)`; else
//!   `m(s, 1)`, where `m(s, k) = 0.1 · k · ln s + 1` for `s > 1` and 1 otherwise. The logit
//!   multiplier is its square, `(0.1 ln s + 1)²` (the paper's `1/t`).
//! - DeepSeek-V2/V3 additionally multiply the softmax scale by `m(s, mscale_all_dim)²`
//!   ([`Yarn::deepseek_softmax_multiplier`]); that lives in attention, not in cos/sin.
//!
//! Defaults: `β_fast = 32`, `β_slow = 1` (Llama; the YaRN repo's Mistral classes use 128/2),
//! `truncate = true`, `L = max_position_embeddings`.
//!
//! Deliberate differences from HF, all stricter: `beta_fast`/`beta_slow` of 0 are rejected (HF's
//! `or` silently replaces them by the defaults, spec §14.12); `beta_fast < beta_slow`, negative
//! `mscale`s and a non-positive `attention_factor` are errors, not warnings. The explicit
//! `factor` is always honoured (HF #38224).
//!
//! Parity: HF transformers 5.23 `_compute_yarn_parameters` (betas, mscale pairs, truncate,
//! explicit attention factor) and `DeepseekV3Attention`'s `yarn_apply_mscale` — `tests/goldens`.

use std::f64::consts::PI;

use crate::error::{RopeError, at_least, positive};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Default `beta_fast`: pairs completing more than 32 rotations in `L` are not interpolated.
pub const DEFAULT_BETA_FAST: f64 = 32.0;
/// Default `beta_slow`: pairs completing fewer than 1 rotation in `L` are fully interpolated.
pub const DEFAULT_BETA_SLOW: f64 = 1.0;
/// Added to `high` when the ramp would be a step (`low == high`), as every reference does.
pub const RAMP_EPSILON: f64 = 0.001;
/// The slope of YaRN's attention temperature fit, `0.1 · ln s + 1` (paper Eq. 22).
pub const MSCALE_SLOPE: f64 = 0.1;

/// Parameters of YaRN. `None` fields take the defaults above (or the model's
/// `max_position_embeddings` for `original_max_position_embeddings`); keeping them optional
/// lets a config be written back exactly as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Yarn {
    /// `s ≥ 1`.
    pub factor: f64,
    /// `L`, the pre-training context.
    pub original_max_position_embeddings: Option<usize>,
    /// Rotation count above which pairs are left alone.
    pub beta_fast: Option<f64>,
    /// Rotation count below which pairs are fully interpolated.
    pub beta_slow: Option<f64>,
    /// DeepSeek numerator scale of the attention factor.
    pub mscale: Option<f64>,
    /// DeepSeek denominator scale of the attention factor, and the softmax multiplier's scale.
    pub mscale_all_dim: Option<f64>,
    /// Explicit attention factor, overriding the computed one.
    pub attention_factor: Option<f64>,
    /// Round the correction range outward to integers (default true).
    pub truncate: Option<bool>,
}

/// YaRN's magnitude scale `m(s, k) = 0.1 · k · ln s + 1` for `s > 1`, else 1.
pub fn get_mscale(scale: f64, k: f64) -> f64 {
    if scale <= 1.0 { 1.0 } else { MSCALE_SLOPE * k * scale.ln() + 1.0 }
}

/// `c(n) = d · ln(L / (2π n)) / (2 ln b)`: the (fractional) pair index whose wavelength is `L/n`.
pub fn correction_dim(rotations: f64, rotary_dim: usize, base: f64, original: usize) -> f64 {
    rotary_dim as f64 * (original as f64 / (rotations * 2.0 * PI)).ln() / (2.0 * base.ln())
}

/// The ramp bounds `(low, high)`, clamped to `[0, d − 1]`.
pub fn correction_range(
    beta_fast: f64,
    beta_slow: f64,
    rotary_dim: usize,
    base: f64,
    original: usize,
    truncate: bool,
) -> (f64, f64) {
    let mut low = correction_dim(beta_fast, rotary_dim, base, original);
    let mut high = correction_dim(beta_slow, rotary_dim, base, original);
    if truncate {
        low = low.floor();
        high = high.ceil();
    }
    (low.max(0.0), high.min(rotary_dim as f64 - 1.0))
}

/// `γ_i = clamp((i − low)/(high − low), 0, 1)` for `i in 0..pairs`.
pub fn linear_ramp(low: f64, high: f64, pairs: usize) -> Vec<f64> {
    let high = if low == high { high + RAMP_EPSILON } else { high };
    (0..pairs).map(|i| ((i as f64 - low) / (high - low)).clamp(0.0, 1.0)).collect()
}

/// Which rule a DeepSeek implementation uses for the extra softmax multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepSeekSoftmaxRule {
    /// HF transformers and vLLM: `m(s, mscale_all_dim)²`, only when `mscale_all_dim` is non-zero.
    MscaleAllDim,
    /// deepseek-ai/DeepSeek-V3 `inference/model.py`: `m(s, mscale)²` (equal for V3, where both are 1).
    Mscale,
}

impl Yarn {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "yarn";

    /// YaRN with the given factor and every other field at its default.
    pub fn with_factor(factor: f64) -> Self {
        Yarn { factor, ..Yarn::default() }
    }

    /// `L`: `original_max_position_embeddings`, or the model's `max_position_embeddings`.
    pub fn original(&self, ctx: &RopeContext) -> usize {
        self.original_max_position_embeddings.unwrap_or(ctx.max_position_embeddings)
    }

    /// `β_fast` with its default.
    pub fn beta_fast(&self) -> f64 {
        self.beta_fast.unwrap_or(DEFAULT_BETA_FAST)
    }

    /// `β_slow` with its default.
    pub fn beta_slow(&self) -> f64 {
        self.beta_slow.unwrap_or(DEFAULT_BETA_SLOW)
    }

    /// Checks every field; see the module docs for what is stricter than HF.
    pub fn validate(&self, method: &'static str) -> Result<(), RopeError> {
        at_least(method, "factor", self.factor, 1.0, ">= 1")?;
        if self.original_max_position_embeddings == Some(0) {
            return Err(RopeError::BadInteger {
                method,
                field: "original_max_position_embeddings",
                value: 0,
                expected: ">= 1",
            });
        }
        if let Some(b) = self.beta_fast {
            positive(method, "beta_fast", b)?;
        }
        if let Some(b) = self.beta_slow {
            positive(method, "beta_slow", b)?;
        }
        if self.beta_fast() < self.beta_slow() {
            return Err(RopeError::Misordered {
                method,
                high_field: "beta_fast",
                high: self.beta_fast(),
                low_field: "beta_slow",
                low: self.beta_slow(),
            });
        }
        for (field, value) in [("mscale", self.mscale), ("mscale_all_dim", self.mscale_all_dim)] {
            if let Some(v) = value {
                at_least(method, field, v, 0.0, ">= 0")?;
            }
        }
        if let Some(a) = self.attention_factor {
            positive(method, "attention_factor", a)?;
        }
        Ok(())
    }

    /// The cos/sin factor (see the module docs).
    pub fn attention_factor(&self) -> f64 {
        if let Some(a) = self.attention_factor {
            return a;
        }
        match (self.mscale, self.mscale_all_dim) {
            (Some(m), Some(mad)) if m != 0.0 && mad != 0.0 => get_mscale(self.factor, m) / get_mscale(self.factor, mad),
            _ => get_mscale(self.factor, 1.0),
        }
    }

    /// DeepSeek-V2/V3's extra multiplier of the softmax scale, `m²` (1 when the rule's scale is
    /// absent or zero). It multiplies every logit dimension, rope and nope alike.
    pub fn deepseek_softmax_multiplier(&self, rule: DeepSeekSoftmaxRule) -> f64 {
        let k = match rule {
            DeepSeekSoftmaxRule::MscaleAllDim => self.mscale_all_dim,
            DeepSeekSoftmaxRule::Mscale => self.mscale,
        };
        match k {
            Some(k) if k != 0.0 => get_mscale(self.factor, k).powi(2),
            _ => 1.0,
        }
    }

    /// The ramp bounds `(low, high)` for this model.
    pub fn correction_range(&self, ctx: &RopeContext) -> (f64, f64) {
        correction_range(
            self.beta_fast(),
            self.beta_slow(),
            ctx.rotary_dim,
            ctx.theta,
            self.original(ctx),
            self.truncate.unwrap_or(true),
        )
    }

    /// `θ'_i = γ_i θ_i/s + (1 − γ_i) θ_i` and the attention factor.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        let (low, high) = self.correction_range(ctx);
        let ramp = linear_ramp(low, high, ctx.pairs());
        let inv_freq = ctx
            .default_inv_freq()
            .into_iter()
            .zip(ramp)
            .map(|(theta, g)| g * (theta / self.factor) + (1.0 - g) * theta)
            .collect();
        RopeFrequencies { inv_freq, attention_factor: self.attention_factor() }
    }
}

/// Dynamic YaRN (YaRN paper §3.3, Definition 3; jquesnelle/yarn
/// `LlamaDynamicYaRNScaledRotaryEmbedding`): YaRN whose scale follows the sequence,
/// `s(n) = max(s₀, n / L)`, where `s₀` is the factor the model was fine-tuned with (1 for a model
/// used without fine-tuning). The attention factor follows `s(n)` unless given explicitly.
///
/// Parity: equals HF `"yarn"` with `factor = s(n)` at every `n` (tested in `tests/goldens`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DynamicYarn {
    /// The YaRN parameters; `factor` is `s₀`.
    pub yarn: Yarn,
}

impl DynamicYarn {
    /// The name of this method in the YaRN repository and our `rope_ext` extension.
    pub const NAME: &'static str = "dynamic_yarn";

    /// Validates the inner YaRN parameters.
    pub fn validate(&self) -> Result<(), RopeError> {
        self.yarn.validate(Self::NAME)
    }

    /// `s(n) = max(s₀, n / L)`.
    pub fn scale(&self, ctx: &RopeContext, seq_len: Option<usize>) -> f64 {
        let l = self.yarn.original(ctx) as f64;
        seq_len.map_or(self.yarn.factor, |n| self.yarn.factor.max(n as f64 / l))
    }

    /// YaRN at scale `s(n)`.
    pub fn frequencies(&self, ctx: &RopeContext, seq_len: Option<usize>) -> RopeFrequencies {
        let at = Yarn { factor: self.scale(ctx, seq_len), ..self.yarn };
        at.frequencies(ctx)
    }
}
