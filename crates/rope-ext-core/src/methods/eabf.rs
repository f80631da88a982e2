//! Entropy-aware ABF (Zhang et al., "Extending LLMs' Context Window with 100 Samples", arXiv
//! 2401.07004, §3.2–3.3, Eq. 3): ABF with `b' = 500,000` plus a per-layer, per-position
//! attention-logit scalar
//!
//! `t(layer, i) = 1` for `layer ∈ E` (paper: `E = {0, 1}`), else `max(1, log_c(i))`,
//!
//! where `i` is the 1-based query position and `c` the pre-trained window (4096 for LLaMA-2).
//! The logits `q·k/√d` are multiplied by `t` (the paper writes `√t` on both q and k; the code
//! multiplies q alone by `t`, which is the same). Inside the window `t = 1`, so short inputs
//! behave as plain ABF.
//!
//! Paper vs. released code: `apply_eabf(model, count=2)` sets a per-instance attribute on layers
//! 0–1 that the attention forward never reads, so as released the scalar appears to apply to
//! every layer (spec §6.2, found by reading, not run). [`EabfLayerRule::Paper`] (the default)
//! excludes the layers; [`EabfLayerRule::ReleasedCode`] scales all of them. The released code
//! also hard-codes `c = 4096` and casts `t` to the model dtype (bf16 in its `main.py`); here `c`
//! is a parameter and `t` stays in f64.
//!
//! Parity: the spec's §13 values (`t` = 1, 1, 1.0000293, 1.0833333, 1.1666667, 1.25 at 0-based
//! positions 0, 4095, 4096, 8191, 16383, 32767 for c = 4096), unit tests below.

use crate::error::{RopeError, positive};
use crate::frequencies::{RopeContext, RopeFrequencies};
use crate::methods::abf::PAPER_THETA;
use crate::methods::logn::log_scale;

/// The layers the paper leaves unscaled.
pub const PAPER_EXCLUDED_LAYERS: [usize; 2] = [0, 1];

/// Which layers the logit scalar applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EabfLayerRule {
    /// Every layer except `excluded_layers` (the paper).
    #[default]
    Paper,
    /// Every layer, `excluded_layers` ignored (GAIR-NLP/Entropy-ABF as released).
    ReleasedCode,
}

/// Parameters of entropy-aware ABF.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EntropyAwareAbf {
    /// `b'`, the new base (paper: 500,000).
    pub theta: f64,
    /// `c`, the pre-trained window; `None` means the model's `max_position_embeddings`.
    pub context: Option<usize>,
    /// `E`, the layers left unscaled under [`EabfLayerRule::Paper`].
    pub excluded_layers: Vec<usize>,
    /// Paper or released-code behaviour.
    pub layer_rule: EabfLayerRule,
}

impl Default for EntropyAwareAbf {
    fn default() -> Self {
        EntropyAwareAbf {
            theta: PAPER_THETA,
            context: None,
            excluded_layers: PAPER_EXCLUDED_LAYERS.to_vec(),
            layer_rule: EabfLayerRule::Paper,
        }
    }
}

impl EntropyAwareAbf {
    /// The `rope_type` used by the reference code's patched config, and by us.
    pub const NAME: &'static str = "eabf";

    /// Rejects a non-positive base and a window `c` below 2 (`ln c` must be positive),
    /// whether given or taken from the model.
    pub fn validate(&self, ctx: &RopeContext) -> Result<(), RopeError> {
        positive(Self::NAME, "rope_theta", self.theta)?;
        let c = self.context(ctx);
        if c < 2 {
            return Err(RopeError::BadInteger {
                method: Self::NAME,
                field: "original_max_position_embeddings",
                value: c as u64,
                expected: ">= 2",
            });
        }
        Ok(())
    }

    /// `c`.
    pub fn context(&self, ctx: &RopeContext) -> usize {
        self.context.unwrap_or(ctx.max_position_embeddings)
    }

    /// Whether `layer` is scaled.
    pub fn scales_layer(&self, layer: usize) -> bool {
        match self.layer_rule {
            EabfLayerRule::Paper => !self.excluded_layers.contains(&layer),
            EabfLayerRule::ReleasedCode => true,
        }
    }

    /// `t(layer, m + 1)` for the 0-based query position `m`, window `c`.
    pub fn logit_scale(&self, layer: usize, position: u64, context: usize) -> f64 {
        if self.scales_layer(layer) { log_scale(position, context as u64) } else { 1.0 }
    }

    /// `b'^(-2i/d)`; attention factor 1 (the scalar acts on logits, per layer).
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.inv_freq_with_base(self.theta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_values() {
        let e = EntropyAwareAbf::default();
        let expect =
            [(0, 1.0), (4095, 1.0), (4096, 1.000_029_3), (8191, 1.083_333_3), (16383, 1.166_666_7), (32767, 1.25)];
        for (pos, t) in expect {
            approx::assert_abs_diff_eq!(e.logit_scale(5, pos, 4096), t, epsilon = 1e-7);
        }
    }

    #[test]
    fn excluded_layers_follow_the_rule() {
        let paper = EntropyAwareAbf::default();
        assert_eq!(paper.logit_scale(1, 32767, 4096), 1.0);
        let code = EntropyAwareAbf { layer_rule: EabfLayerRule::ReleasedCode, ..paper };
        assert_eq!(code.logit_scale(1, 32767, 4096), 1.25);
    }
}
