//! [`RopeScaling`]: every method in one enum, dispatched by one exhaustive `match`.

use crate::error::RopeError;
use crate::frequencies::{RopeContext, RopeFrequencies};
use crate::methods::abf::Abf;
use crate::methods::dynamic_ntk::DynamicNtk;
use crate::methods::e2llm::E2Llm;
use crate::methods::eabf::EntropyAwareAbf;
use crate::methods::linear::Linear;
use crate::methods::llama3::Llama3;
use crate::methods::longrope::LongRope;
use crate::methods::ntk_aware::NtkAware;
use crate::methods::proportional::Proportional;
use crate::methods::yarn::{DynamicYarn, Yarn};

/// A RoPE scaling method and its parameters.
///
/// With the `serde` feature this serialises as an internally tagged object
/// (`{"method": "yarn", "factor": 4.0, ...}`), the `rope_ext` extension of a `config.json`;
/// the HF `rope_scaling`/`rope_parameters` forms are read and written by [`crate::hf`].
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "method", rename_all = "snake_case"))]
pub enum RopeScaling {
    /// Unscaled RoPE.
    #[default]
    Default,
    /// Position Interpolation (HF `linear`).
    Linear(Linear),
    /// Static NTK-aware base scaling.
    NtkAware(NtkAware),
    /// Dynamic NTK (HF `dynamic`).
    DynamicNtk(DynamicNtk),
    /// YaRN / NTK-by-parts (HF `yarn`), DeepSeek variants included.
    Yarn(Yarn),
    /// YaRN with a scale that follows the sequence length.
    DynamicYarn(DynamicYarn),
    /// Adjusted base frequency.
    Abf(Abf),
    /// Entropy-aware ABF (the 100-samples paper).
    #[cfg_attr(feature = "serde", serde(rename = "eabf"))]
    EntropyAwareAbf(EntropyAwareAbf),
    /// LongRoPE / Phi-3 `longrope`.
    #[cfg_attr(feature = "serde", serde(rename = "longrope"))]
    LongRope(LongRope),
    /// Llama 3.1 scaling.
    Llama3(Llama3),
    /// HF v5 proportional RoPE.
    Proportional(Proportional),
    /// E²-LLM at inference.
    #[cfg_attr(feature = "serde", serde(rename = "e2llm"))]
    E2Llm(E2Llm),
}

/// When a method's frequencies change with the current sequence length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPolicy {
    /// Never.
    Static,
    /// Recomputed when the sequence grows past the cached length; restored when it shrinks
    /// back inside the original window (HF `dynamic_frequency_update`).
    GrowAndReset,
    /// Short factors inside the original window, long factors beyond it (HF
    /// `longrope_frequency_update`).
    ShortLong,
}

impl RopeScaling {
    /// The method's name: the HF `rope_type` where HF has one, else our extension's name.
    pub fn name(&self) -> &'static str {
        match self {
            RopeScaling::Default => "default",
            RopeScaling::Linear(_) => Linear::NAME,
            RopeScaling::NtkAware(_) => NtkAware::NAME,
            RopeScaling::DynamicNtk(_) => DynamicNtk::NAME,
            RopeScaling::Yarn(_) => Yarn::NAME,
            RopeScaling::DynamicYarn(_) => DynamicYarn::NAME,
            RopeScaling::Abf(_) => Abf::NAME,
            RopeScaling::EntropyAwareAbf(_) => EntropyAwareAbf::NAME,
            RopeScaling::LongRope(_) => LongRope::NAME,
            RopeScaling::Llama3(_) => Llama3::NAME,
            RopeScaling::Proportional(_) => Proportional::NAME,
            RopeScaling::E2Llm(_) => E2Llm::NAME,
        }
    }

    /// Checks the parameters against the model.
    pub fn validate(&self, ctx: &RopeContext) -> Result<(), RopeError> {
        match self {
            RopeScaling::Default => Ok(()),
            RopeScaling::Linear(m) => m.validate(),
            RopeScaling::NtkAware(m) => m.validate(ctx),
            RopeScaling::DynamicNtk(m) => m.validate(ctx),
            RopeScaling::Yarn(m) => m.validate(Yarn::NAME),
            RopeScaling::DynamicYarn(m) => m.validate(),
            RopeScaling::Abf(m) => m.validate(),
            RopeScaling::EntropyAwareAbf(m) => m.validate(ctx),
            RopeScaling::LongRope(m) => m.validate(ctx),
            RopeScaling::Llama3(m) => m.validate(),
            RopeScaling::Proportional(m) => m.validate(),
            RopeScaling::E2Llm(m) => m.validate(),
        }
    }

    /// The frequencies and attention factor at the current sequence length `seq_len`
    /// (`None`: the length used at model initialisation, as HF's `seq_len=None`).
    pub fn frequencies(&self, ctx: &RopeContext, seq_len: Option<usize>) -> RopeFrequencies {
        match self {
            RopeScaling::Default => crate::methods::default::frequencies(ctx),
            RopeScaling::Linear(m) => m.frequencies(ctx),
            RopeScaling::NtkAware(m) => m.frequencies(ctx),
            RopeScaling::DynamicNtk(m) => m.frequencies(ctx, seq_len),
            RopeScaling::Yarn(m) => m.frequencies(ctx),
            RopeScaling::DynamicYarn(m) => m.frequencies(ctx, seq_len),
            RopeScaling::Abf(m) => m.frequencies(ctx),
            RopeScaling::EntropyAwareAbf(m) => m.frequencies(ctx),
            RopeScaling::LongRope(m) => m.frequencies(ctx, seq_len),
            RopeScaling::Llama3(m) => m.frequencies(ctx),
            RopeScaling::Proportional(m) => m.frequencies(ctx),
            RopeScaling::E2Llm(m) => m.frequencies(ctx, seq_len),
        }
    }

    /// How the frequencies follow the sequence length.
    pub fn length_policy(&self) -> LengthPolicy {
        match self {
            RopeScaling::DynamicNtk(_) | RopeScaling::DynamicYarn(_) => LengthPolicy::GrowAndReset,
            RopeScaling::E2Llm(m) if m.scale.is_none() => LengthPolicy::GrowAndReset,
            RopeScaling::LongRope(_) => LengthPolicy::ShortLong,
            RopeScaling::Default
            | RopeScaling::Linear(_)
            | RopeScaling::NtkAware(_)
            | RopeScaling::Yarn(_)
            | RopeScaling::Abf(_)
            | RopeScaling::EntropyAwareAbf(_)
            | RopeScaling::Llama3(_)
            | RopeScaling::Proportional(_)
            | RopeScaling::E2Llm(_) => LengthPolicy::Static,
        }
    }

    /// The window inside which a length-dependent method restores its original frequencies.
    pub fn original_window(&self, ctx: &RopeContext) -> usize {
        match self {
            RopeScaling::LongRope(m) => m.original(ctx),
            RopeScaling::E2Llm(m) => m.original(ctx),
            _ => ctx.max_position_embeddings,
        }
    }
}
