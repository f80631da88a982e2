//! [`Rope`]: a validated RoPE specification for one model — dimensions, base, context and
//! scaling method — and everything derived from it.

use crate::error::{RopeError, finite, nonzero};
use crate::frequencies::{RopeContext, RopeFrequencies};
use crate::layout::PairLayout;
use crate::scaling::RopeScaling;
use crate::table::CosSinTable;

/// The base RoPE default, `rope_theta = 10000`.
pub const DEFAULT_THETA: f64 = 10_000.0;
/// The largest accepted `head_dim` (real models use ≤ 512; this bounds every table row).
pub const MAX_HEAD_DIM: usize = 1 << 16;

/// The inputs of a [`Rope`], as a model config states them.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeConfig {
    /// The attention head dimension.
    pub head_dim: usize,
    /// Fraction of the head's channels that are rotated, in `(0, 1]`.
    pub partial_rotary_factor: f64,
    /// `rope_theta`, the base `b > 1`.
    pub rope_theta: f64,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// The scaling method.
    pub scaling: RopeScaling,
    /// How channels pair up; HF checkpoints are half-split.
    pub layout: PairLayout,
}

impl RopeConfig {
    /// Unscaled, fully rotary, half-split RoPE.
    pub fn new(head_dim: usize, rope_theta: f64, max_position_embeddings: usize) -> Self {
        RopeConfig {
            head_dim,
            partial_rotary_factor: 1.0,
            rope_theta,
            max_position_embeddings,
            scaling: RopeScaling::Default,
            layout: PairLayout::HalfSplit,
        }
    }

    /// The same config with another scaling method.
    pub fn with_scaling(self, scaling: RopeScaling) -> Self {
        RopeConfig { scaling, ..self }
    }

    /// Validates and builds the [`Rope`].
    pub fn build(self) -> Result<Rope, RopeError> {
        Rope::new(self)
    }
}

/// A validated RoPE specification.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    config: RopeConfig,
    ctx: RopeContext,
}

impl Rope {
    /// Validates `config`: `head_dim ≥ 1`, `partial_rotary_factor ∈ (0, 1]`, an even non-zero
    /// rotary dimension, `rope_theta > 1` and finite, `max_position_embeddings ≥ 1`, and the
    /// scaling method's own parameters.
    pub fn new(config: RopeConfig) -> Result<Self, RopeError> {
        nonzero("rope", "head_dim", config.head_dim)?;
        nonzero("rope", "max_position_embeddings", config.max_position_embeddings)?;
        if config.head_dim > MAX_HEAD_DIM {
            return Err(RopeError::BadInteger {
                method: "rope",
                field: "head_dim",
                value: config.head_dim as u64,
                expected: "<= 65536",
            });
        }
        let prf = finite("rope", "partial_rotary_factor", config.partial_rotary_factor)?;
        // proportional RoPE documents 0 (every pair NoPE); elsewhere 0 rotates nothing
        let proportional = matches!(config.scaling, RopeScaling::Proportional(_));
        if !((prf > 0.0 || proportional && prf == 0.0) && prf <= 1.0) {
            return Err(RopeError::OutOfRange {
                method: "rope",
                field: "partial_rotary_factor",
                value: prf,
                expected: "in (0, 1] ([0, 1] for proportional)",
            });
        }
        let theta = finite("rope", "rope_theta", config.rope_theta)?;
        if theta <= 1.0 {
            return Err(RopeError::OutOfRange { method: "rope", field: "rope_theta", value: theta, expected: "> 1" });
        }
        let rotary_dim = match config.scaling {
            RopeScaling::Proportional(_) => config.head_dim,
            _ => (config.head_dim as f64 * prf) as usize,
        };
        if rotary_dim == 0 || rotary_dim % 2 == 1 {
            return Err(RopeError::BadRotaryDim { rotary_dim, head_dim: config.head_dim, partial_rotary_factor: prf });
        }
        let ctx = RopeContext {
            head_dim: config.head_dim,
            partial_rotary_factor: prf,
            rotary_dim,
            theta,
            max_position_embeddings: config.max_position_embeddings,
        };
        config.scaling.validate(&ctx)?;
        Ok(Rope { config, ctx })
    }

    /// The inputs this was built from.
    pub fn config(&self) -> &RopeConfig {
        &self.config
    }

    /// The derived model quantities.
    pub fn context(&self) -> &RopeContext {
        &self.ctx
    }

    /// The scaling method.
    pub fn scaling(&self) -> &RopeScaling {
        &self.config.scaling
    }

    /// The pair layout.
    pub fn layout(&self) -> PairLayout {
        self.config.layout
    }

    /// `d`, the number of rotated channels.
    pub fn rotary_dim(&self) -> usize {
        self.ctx.rotary_dim
    }

    /// Frequencies and attention factor at current sequence length `seq_len` (`None`: as at
    /// model initialisation). Use [`crate::RopeRuntime`] to follow a growing sequence with
    /// HF's caching rules.
    pub fn frequencies(&self, seq_len: Option<usize>) -> RopeFrequencies {
        self.config.scaling.frequencies(&self.ctx, seq_len)
    }

    /// cos/sin rows for `positions` with the frequencies in force at `seq_len`.
    ///
    /// LongRoPE's start tokens: positions below `n̂` use the unscaled frequencies (paper Eq. 3)
    /// and no attention factor (the reference code's `MixedLongRoPEScaledRotaryEmbedding`).
    pub fn table(&self, positions: impl IntoIterator<Item = f64>, seq_len: Option<usize>) -> CosSinTable {
        self.table_with(&self.frequencies(seq_len), positions)
    }

    /// cos/sin rows for `positions` with given frequencies (e.g. from a [`crate::RopeRuntime`]),
    /// applying LongRoPE's start-token window if the method has one.
    pub fn table_with(&self, freqs: &RopeFrequencies, positions: impl IntoIterator<Item = f64>) -> CosSinTable {
        let start_tokens = match &self.config.scaling {
            RopeScaling::LongRope(m) => m.start_tokens,
            _ => 0,
        };
        if start_tokens == 0 {
            return CosSinTable::new(freqs, positions);
        }
        let unscaled = self.ctx.default_inv_freq();
        let mut table = CosSinTable::with_capacity(freqs.inv_freq.len(), 0);
        for m in positions {
            if m < start_tokens as f64 {
                table.push_row(&unscaled, 1.0, m);
            } else {
                table.push_row(&freqs.inv_freq, freqs.attention_factor, m);
            }
        }
        table
    }

    /// cos/sin rows for the positions `range` with the frequencies in force at `seq_len`: the
    /// same values as [`Rope::table`], built by the fast [`CosSinTable::for_range`].
    ///
    /// # Errors
    /// [`RopeError::TableTooLarge`] for a range of more than 2³² entries.
    pub fn table_range(&self, range: std::ops::Range<u64>, seq_len: Option<usize>) -> Result<CosSinTable, RopeError> {
        let freqs = self.frequencies(seq_len);
        let start_tokens = match &self.config.scaling {
            RopeScaling::LongRope(m) => m.start_tokens as u64,
            _ => 0,
        };
        if range.start >= start_tokens {
            return CosSinTable::for_range(&freqs, range);
        }
        let split = start_tokens.min(range.end);
        let mut table = self.table_with(&freqs, (range.start..split).map(|m| m as f64));
        table.append(CosSinTable::for_range(&freqs, split..range.end)?);
        Ok(table)
    }

    /// The attention-logit multiplier of `layer` at 0-based query position `position`:
    /// entropy-aware ABF's `t(layer, i)`, 1 for every other method. (YaRN's and LongRoPE's
    /// factors act through cos/sin instead.)
    pub fn logit_scale(&self, layer: usize, position: u64) -> f64 {
        match &self.config.scaling {
            RopeScaling::EntropyAwareAbf(m) => m.logit_scale(layer, position, m.context(&self.ctx)),
            _ => 1.0,
        }
    }
}
