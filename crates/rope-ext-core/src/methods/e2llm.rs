//! E²-LLM (Liu et al., arXiv 2401.06951, §3.2–3.3, Eq. 5–7): train once at a short length with
//! the RoPE scale `g` and position offset `t` augmented per sample; at inference pick `g` from
//! the input length.
//!
//! - Position transform (Eq. 5): `f'(x, m) = f(x, (m + t)/g)`, with `t = 0` for the first
//!   four positions `m ∈ [0, 3]` (attention sinks, Eq. 7). Default RoPE is `g = 1, t = 0`; PI is
//!   `g = L'/L, t = 0`.
//! - Training (Eq. 6–7): per sample, `g ~ U{1, …, g_max}` (paper default `g_max = 20`) and
//!   `t ~ U{0, …, t_max}` with `t_max = g·L − R` (`L` the pre-trained window, `R` the training
//!   length), so shifted positions stay inside the scaled window. The paper states `t_max` only
//!   in words; this reading is documented as ours.
//! - Inference: `g = ⌈n / L⌉` (at least 1) for an input of length `n`, `t = 0`. The paper uses
//!   exact multiples (`g = 4` for 16k from 4k); rounding up keeps every position inside the
//!   window for other lengths. A fixed `g` can be given instead.
//!
//! The paper released no code.
//!
//! Parity: at inference identical to HF `"linear"` with `factor = g` (tested in
//! `tests/goldens`); the position transform is checked against default RoPE at `(m + t)/g` by
//! property tests.

use crate::error::{RopeError, at_least, nonzero};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Positions `m < SINK_TOKENS` are never offset.
pub const SINK_TOKENS: usize = 4;
/// The paper's `g_max`.
pub const PAPER_MAX_SCALE: u32 = 20;

/// One sample's augmentation: the scale `g` and offset `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct E2LlmAugmentation {
    /// `g ≥ 1`.
    pub scale: f64,
    /// `t`.
    pub offset: u64,
}

impl E2LlmAugmentation {
    /// `(m + t)/g`, with `t = 0` for `m < 4` (in f64, so no integer overflow).
    pub fn position(&self, m: u64) -> f64 {
        let t = if m < SINK_TOKENS as u64 { 0 } else { self.offset };
        (m as f64 + t as f64) / self.scale
    }

    /// The transformed positions `0..len`.
    pub fn positions(&self, len: usize) -> Vec<f64> {
        (0..len as u64).map(|m| self.position(m)).collect()
    }
}

/// Parameters of E²-LLM at inference.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct E2Llm {
    /// `L`; `None` means the model's `max_position_embeddings`.
    pub original_max_position_embeddings: Option<usize>,
    /// A fixed `g`; `None` chooses `g = ⌈n/L⌉` from the sequence length.
    pub scale: Option<f64>,
}

/// `g = max(1, ⌈n / L⌉)`.
pub fn inference_scale(seq_len: usize, original: usize) -> u64 {
    (seq_len.div_ceil(original.max(1)) as u64).max(1)
}

impl E2Llm {
    /// The name used in our `rope_ext` config extension.
    pub const NAME: &'static str = "e2llm";

    /// `L`.
    pub fn original(&self, ctx: &RopeContext) -> usize {
        self.original_max_position_embeddings.unwrap_or(ctx.max_position_embeddings)
    }

    /// Rejects a fixed `g < 1` and `L = 0`.
    pub fn validate(&self) -> Result<(), RopeError> {
        if let Some(g) = self.scale {
            at_least(Self::NAME, "factor", g, 1.0, ">= 1")?;
        }
        if let Some(l) = self.original_max_position_embeddings {
            nonzero(Self::NAME, "original_max_position_embeddings", l)?;
        }
        Ok(())
    }

    /// The `g` used at sequence length `n` (`None`: the fixed `g`, or the rule at the model's
    /// `max_position_embeddings`).
    pub fn scale(&self, ctx: &RopeContext, seq_len: Option<usize>) -> f64 {
        match self.scale {
            Some(g) => g,
            None => inference_scale(seq_len.unwrap_or(ctx.max_position_embeddings), self.original(ctx)) as f64,
        }
    }

    /// `θ_i / g`: positions `m/g`, written as frequencies.
    pub fn frequencies(&self, ctx: &RopeContext, seq_len: Option<usize>) -> RopeFrequencies {
        let g = self.scale(ctx, seq_len);
        RopeFrequencies::unscaled(ctx.default_inv_freq().into_iter().map(|t| t / g).collect())
    }
}

/// The seeded training-time sampler of `(g, t)` (Eq. 6–7).
#[cfg(feature = "sampler")]
#[derive(Debug)]
pub struct E2LlmSampler {
    scales: rand_distr::Uniform<u32>,
    original: usize,
    train_len: usize,
    rng: rand::rngs::StdRng,
}

#[cfg(feature = "sampler")]
impl E2LlmSampler {
    /// A sampler for `g ~ U{1..=max_scale}`, pre-trained window `original` (`L`) and training
    /// length `train_len` (`R`), seeded for reproducibility.
    ///
    /// # Errors
    /// [`RopeError::BadInteger`] for a zero `max_scale`, `original` or `train_len`.
    pub fn new(max_scale: u32, original: usize, train_len: usize, seed: u64) -> Result<Self, RopeError> {
        use rand::SeedableRng;
        nonzero(E2Llm::NAME, "g_max", max_scale as usize)?;
        nonzero(E2Llm::NAME, "original_max_position_embeddings", original)?;
        nonzero(E2Llm::NAME, "train_len", train_len)?;
        let scales = rand_distr::Uniform::new_inclusive(1, max_scale).map_err(|_| RopeError::BadInteger {
            method: E2Llm::NAME,
            field: "g_max",
            value: u64::from(max_scale),
            expected: ">= 1",
        })?;
        Ok(E2LlmSampler { scales, original, train_len, rng: rand::rngs::StdRng::seed_from_u64(seed) })
    }

    /// `t_max = max(0, g·L − R)`.
    pub fn max_offset(&self, scale: u32) -> u64 {
        u64::from(scale).saturating_mul(self.original as u64).saturating_sub(self.train_len as u64)
    }

    /// Draws one sample's `(g, t)`.
    pub fn sample(&mut self) -> E2LlmAugmentation {
        use rand::RngExt;
        use rand_distr::Distribution;
        let g = self.scales.sample(&mut self.rng);
        let offset = self.rng.random_range(0..=self.max_offset(g));
        E2LlmAugmentation { scale: f64::from(g), offset }
    }
}

#[cfg(all(test, feature = "sampler"))]
mod tests {
    use super::*;

    #[test]
    fn sampler_is_seeded_and_keeps_sinks_unshifted() {
        let mut a = E2LlmSampler::new(20, 256, 256, 7).unwrap();
        let mut b = E2LlmSampler::new(20, 256, 256, 7).unwrap();
        for _ in 0..100 {
            let (x, y) = (a.sample(), b.sample());
            assert_eq!(x, y);
            assert!((1.0..=20.0).contains(&x.scale));
            assert!(x.offset <= a.max_offset(x.scale as u32));
            let pos = x.positions(8);
            for (m, p) in pos.iter().enumerate().take(SINK_TOKENS) {
                assert_eq!(*p, m as f64 / x.scale);
            }
            // shifted positions stay inside the pre-trained window
            assert!(x.position(255) < 256.0);
        }
    }

    #[test]
    fn inference_rule_rounds_up() {
        assert_eq!(inference_scale(100, 256), 1);
        assert_eq!(inference_scale(256, 256), 1);
        assert_eq!(inference_scale(257, 256), 2);
        assert_eq!(inference_scale(1024, 256), 4);
    }
}
