//! NTK-aware scaling, static (bloc97, 2023; YaRN paper arXiv 2309.00071, Definition 1, Eq. 16).
//!
//! `b' = b · s^(d/(d−2))`, `θ_i = b'^(-2i/d)`; attention factor 1. The exponent is chosen so that
//! the lowest-frequency pair (exponent `(d−2)/d`) is stretched by exactly `s`. Needs `d > 2`.
//!
//! HF has no static NTK type (models set `rope_theta` instead, which is how this method is
//! written back to a config). vLLM's `"ntk"` is a different formula ("fixed NTK") and is not
//! this method.
//!
//! Parity: HF transformers 5.23 default rope with `rope_theta = b'` — `tests/goldens`, and the
//! spec's §13 value `b' = 40889.9424` for d = 128, s = 4.

use crate::error::{RopeError, at_least};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Parameters of static NTK-aware scaling.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NtkAware {
    /// `s ≥ 1`.
    pub factor: f64,
}

/// `b · α^(d/(d−2))`: the NTK base change shared by static and dynamic NTK.
pub fn scaled_base(base: f64, alpha: f64, rotary_dim: usize) -> f64 {
    let d = rotary_dim as f64;
    base * alpha.powf(d / (d - 2.0))
}

/// Rejects a rotary dimension of 2, for which the NTK exponent `d/(d−2)` is undefined.
pub(crate) fn validate_rotary_dim(method: &'static str, ctx: &RopeContext) -> Result<(), RopeError> {
    if ctx.rotary_dim > 2 {
        Ok(())
    } else {
        Err(RopeError::BadInteger {
            method,
            field: "rotary_dim",
            value: ctx.rotary_dim as u64,
            expected: "> 2 (the NTK exponent d/(d-2) is undefined otherwise)",
        })
    }
}

impl NtkAware {
    /// The name used in our `rope_ext` config extension.
    pub const NAME: &'static str = "ntk_aware";

    /// Rejects `factor < 1` and a rotary dimension of 2.
    pub fn validate(&self, ctx: &RopeContext) -> Result<(), RopeError> {
        at_least(Self::NAME, "factor", self.factor, 1.0, ">= 1")?;
        validate_rotary_dim(Self::NAME, ctx)
    }

    /// The scaled base `b'`.
    pub fn base(&self, ctx: &RopeContext) -> f64 {
        scaled_base(ctx.theta, self.factor, ctx.rotary_dim)
    }

    /// `b'^(-2i/d)`.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.inv_freq_with_base(self.base(ctx)))
    }
}
