//! Llama 3.1 frequency scaling (meta-llama/llama-models `apply_scaling`), HF `"llama3"`.
//!
//! With `L` = `original_max_position_embeddings`, `λ_low = L / low_freq_factor`,
//! `λ_high = L / high_freq_factor` and `λ_i = 2π/θ_i`:
//! - `λ_i < λ_high`: `θ'_i = θ_i` (high frequency, kept);
//! - `λ_i > λ_low`: `θ'_i = θ_i / s` (low frequency, interpolated);
//! - otherwise (bounds inclusive): `θ'_i = (1 − σ) θ_i/s + σ θ_i` with
//!   `σ = (L/λ_i − low_freq_factor) / (high_freq_factor − low_freq_factor)`.
//!
//! Attention factor 1. When `low_freq_factor == high_freq_factor` (Llama 4 style) the medium band
//! is the single wavelength `λ_low = λ_high`, where `σ` is 0/0: we take `σ = 0` (as vLLM does, and
//! continuous with the low band) instead of HF's NaN-then-discard.
//!
//! Parity: HF transformers 5.23 `_compute_llama3_parameters` — `tests/goldens`, and the spec's
//! §13 values for Llama 3.1 (29 high / 6 medium / 29 low pairs).

use std::f64::consts::PI;

use crate::error::{RopeError, at_least, nonzero, positive};
use crate::frequencies::{RopeContext, RopeFrequencies};

/// Parameters of Llama 3 scaling.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Llama3 {
    /// `s ≥ 1` (8 for Llama 3.1).
    pub factor: f64,
    /// Wavelengths above `L / low_freq_factor` are interpolated (1 for Llama 3.1).
    pub low_freq_factor: f64,
    /// Wavelengths below `L / high_freq_factor` are kept (4 for Llama 3.1).
    pub high_freq_factor: f64,
    /// `L` (8192 for Llama 3.1).
    pub original_max_position_embeddings: usize,
}

/// The band a pair falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Llama3Band {
    /// Kept as is.
    High,
    /// Blended.
    Medium,
    /// Divided by the factor.
    Low,
}

impl Llama3 {
    /// The HF `rope_type`.
    pub const NAME: &'static str = "llama3";

    /// Rejects `factor < 1`, non-positive band factors and `high_freq_factor < low_freq_factor`.
    pub fn validate(&self) -> Result<(), RopeError> {
        at_least(Self::NAME, "factor", self.factor, 1.0, ">= 1")?;
        positive(Self::NAME, "low_freq_factor", self.low_freq_factor)?;
        positive(Self::NAME, "high_freq_factor", self.high_freq_factor)?;
        if self.high_freq_factor < self.low_freq_factor {
            return Err(RopeError::Misordered {
                method: Self::NAME,
                high_field: "high_freq_factor",
                high: self.high_freq_factor,
                low_field: "low_freq_factor",
                low: self.low_freq_factor,
            });
        }
        nonzero(Self::NAME, "original_max_position_embeddings", self.original_max_position_embeddings).map(drop)
    }

    /// Which band the frequency `theta` falls in.
    pub fn band(&self, theta: f64) -> Llama3Band {
        let l = self.original_max_position_embeddings as f64;
        let wavelen = 2.0 * PI / theta;
        if wavelen < l / self.high_freq_factor {
            Llama3Band::High
        } else if wavelen > l / self.low_freq_factor {
            Llama3Band::Low
        } else {
            Llama3Band::Medium
        }
    }

    /// The scaled frequency of one pair.
    pub fn scale(&self, theta: f64) -> f64 {
        match self.band(theta) {
            Llama3Band::High => theta,
            Llama3Band::Low => theta / self.factor,
            Llama3Band::Medium => {
                let width = self.high_freq_factor - self.low_freq_factor;
                let smooth = if width > 0.0 {
                    let l = self.original_max_position_embeddings as f64;
                    (l * theta / (2.0 * PI) - self.low_freq_factor) / width
                } else {
                    0.0
                };
                (1.0 - smooth) * theta / self.factor + smooth * theta
            }
        }
    }

    /// Every pair scaled; attention factor 1.
    pub fn frequencies(&self, ctx: &RopeContext) -> RopeFrequencies {
        RopeFrequencies::unscaled(ctx.default_inv_freq().into_iter().map(|t| self.scale(t)).collect())
    }
}
