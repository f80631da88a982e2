//! What every method starts from ([`RopeContext`]) and what every method returns
//! ([`RopeFrequencies`]).
//!
//! Notation used throughout the crate: `d` = rotary dimension (even), `i` = pair index
//! `0..d/2`, `b` = base (`rope_theta`), `θ_i = b^(-2i/d)` the per-pair angular frequency
//! (`inv_freq`), `λ_i = 2π/θ_i` its wavelength, `L` the original (pre-training) context length,
//! `s` the scale factor.

/// The model-level quantities a scaling method needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeContext {
    /// The attention head dimension.
    pub head_dim: usize,
    /// Fraction of the head's channels that are rotated.
    pub partial_rotary_factor: f64,
    /// `d`: the number of rotated channels, `int(head_dim · partial_rotary_factor)` (the whole
    /// head for `proportional`).
    pub rotary_dim: usize,
    /// `b`: the RoPE base (`rope_theta`).
    pub theta: f64,
    /// The model's `max_position_embeddings`.
    pub max_position_embeddings: usize,
}

impl RopeContext {
    /// Number of rotary pairs, `d/2`.
    pub fn pairs(&self) -> usize {
        self.rotary_dim / 2
    }

    /// The exponent `2i/d` of pair `i`.
    pub fn exponent(&self, i: usize) -> f64 {
        (2 * i) as f64 / self.rotary_dim as f64
    }

    /// Vanilla RoPE frequencies `θ_i = b^(-2i/d)` for base `b`.
    pub fn inv_freq_with_base(&self, base: f64) -> Vec<f64> {
        (0..self.pairs()).map(|i| base.powf(-self.exponent(i))).collect()
    }

    /// Vanilla RoPE frequencies with the context's own base.
    pub fn default_inv_freq(&self) -> Vec<f64> {
        self.inv_freq_with_base(self.theta)
    }
}

/// The output of every method: per-pair frequencies and the factor applied to cos and sin.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeFrequencies {
    /// `θ'_i`, one per rotary pair, in f64.
    pub inv_freq: Vec<f64>,
    /// Multiplies cos and sin (so the attention logits by its square). 1 for most methods.
    pub attention_factor: f64,
}

impl RopeFrequencies {
    /// Frequencies with attention factor 1.
    pub fn unscaled(inv_freq: Vec<f64>) -> Self {
        RopeFrequencies { inv_freq, attention_factor: 1.0 }
    }

    /// The frequencies rounded to f32, as a tensor backend uploads them.
    pub fn inv_freq_f32(&self) -> Vec<f32> {
        self.inv_freq.iter().map(|&f| f as f32).collect()
    }
}
