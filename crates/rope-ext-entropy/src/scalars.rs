//! The logit scalars that act on attention entropy, each a multiplier of the attention logits
//! `q·k/√d` (so a cos/sin factor `a` appears here squared). The formulas live in
//! `rope-ext-core`; this module names them from the entropy side.
//!
//! | scalar | multiplier of the logits | source |
//! |---|---|---|
//! | entropy-aware ABF | `max(1, log_c(i))`, 1 in the excluded layers (paper: 0, 1) | arXiv 2401.07004 Eq. 3 |
//! | Qwen logN | `max(1, log_L(i))` in every layer | Qwen-7B `use_logn_attn` |
//! | YaRN | `(0.1 ln s + 1)²` | arXiv 2309.00071 Eq. 22 (`1/t`) |
//! | LongRoPE | `1 + ln s / ln L` (the `su` factor squared) | arXiv 2402.13753, Phi-3 |
//!
//! `i` is the 1-based query position. The 100-samples paper explains YaRN's temperature and its
//! own scalar alike: both keep the entropy of attention from growing with the context.

use rope_ext_core::methods::eabf::EntropyAwareAbf;
use rope_ext_core::methods::logn::qwen_logn;
use rope_ext_core::methods::longrope::su_attention_factor;
use rope_ext_core::methods::yarn::get_mscale;

/// A logit multiplier that depends on layer and query position.
#[derive(Debug, Clone, PartialEq)]
pub enum LogitScalar {
    /// No scaling.
    None,
    /// Entropy-aware ABF's scalar with window `context` (`c`).
    EntropyAwareAbf {
        /// The method's parameters (exclusion set, paper or released-code rule).
        method: EntropyAwareAbf,
        /// `c`, the pre-trained window.
        context: usize,
    },
    /// Qwen's logN attention for training length `seq_length`.
    QwenLogN {
        /// The training length `L`.
        seq_length: usize,
    },
    /// YaRN's temperature for scale `s`.
    Yarn {
        /// `s`.
        scale: f64,
    },
    /// LongRoPE's `su` factor for scale `s` and original window `L`, squared.
    LongRopeSu {
        /// `s`.
        scale: f64,
        /// `L`.
        original: usize,
    },
}

impl LogitScalar {
    /// The multiplier of the logits of `layer` at 0-based query position `position`.
    pub fn multiplier(&self, layer: usize, position: usize) -> f64 {
        match self {
            LogitScalar::None => 1.0,
            LogitScalar::EntropyAwareAbf { method, context } => method.logit_scale(layer, position as u64, *context),
            LogitScalar::QwenLogN { seq_length } => qwen_logn(position as u64, *seq_length as u64),
            LogitScalar::Yarn { scale } => get_mscale(*scale, 1.0).powi(2),
            LogitScalar::LongRopeSu { scale, original } => su_attention_factor(*scale, *original).powi(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_values() {
        approx::assert_relative_eq!(
            LogitScalar::Yarn { scale: 8.0 }.multiplier(0, 0),
            1.207_944_154_f64.powi(2),
            epsilon = 1e-9
        );
        approx::assert_relative_eq!(
            LogitScalar::LongRopeSu { scale: 32.0, original: 4096 }.multiplier(3, 7),
            1.190_238_07_f64.powi(2),
            epsilon = 1e-8
        );
        let eabf = LogitScalar::EntropyAwareAbf { method: EntropyAwareAbf::default(), context: 4096 };
        assert_eq!(eabf.multiplier(0, 32767), 1.0);
        approx::assert_relative_eq!(eabf.multiplier(2, 32767), 1.25, epsilon = 1e-12);
        approx::assert_relative_eq!(
            LogitScalar::QwenLogN { seq_length: 4096 }.multiplier(0, 32767),
            1.25,
            epsilon = 1e-12
        );
        assert_eq!(LogitScalar::None.multiplier(5, 1 << 20), 1.0);
    }
}
