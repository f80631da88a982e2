//! The methods that extend a pre-trained window `L` by a factor `s` to `s·L`, by name: the one
//! registry the comparison, run configurations, the entropy probe and command lines share.
//!
//! | name | scaling | `max_position_embeddings` |
//! |---|---|---|
//! | `base` | none ([`RopeScaling::Default`]) | unchanged |
//! | `pi` | Position Interpolation, `factor = s` | unchanged |
//! | `ntk` | NTK-aware, `factor = s` | unchanged |
//! | `dynamic_ntk` | dynamic NTK, `factor = s` (HF takes `L` from `max_position_embeddings`) | unchanged |
//! | `yarn` | YaRN, `factor = s`, `original_max_position_embeddings = L` | `s·L` |
//! | `abf` | ABF at the 100-samples paper's base 500,000 | `s·L` |
//! | `eabf` | entropy-aware ABF at 500,000 with `c = L` | `s·L` |
//! | `e2llm` | E²-LLM over `L`, inference scale `⌈n/L⌉` | `s·L` |
//!
//! LongRoPE is not here: its factors come from a search, not from `L` and `s`.

use crate::RopeScaling;
use crate::error::RopeError;
use crate::methods::{
    abf::Abf, dynamic_ntk::DynamicNtk, e2llm::E2Llm, eabf::EntropyAwareAbf, linear::Linear, ntk_aware::NtkAware,
    yarn::Yarn,
};

/// The names [`extension`] knows.
pub const METHODS: &[&str] = &["base", "pi", "ntk", "dynamic_ntk", "yarn", "abf", "eabf", "e2llm"];

/// A method's settings for extending a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// The scaling.
    pub scaling: RopeScaling,
    /// The `max_position_embeddings` the extended model's config should carry (`None`:
    /// unchanged; dynamic NTK reads its `L` from it, so it must stay).
    pub max_position_embeddings: Option<usize>,
}

/// The method `name` (one of [`METHODS`]) extending a window of `original` tokens by `factor`;
/// see the module documentation.
///
/// # Errors
/// [`RopeError::UnknownMethod`] for a name not in [`METHODS`]. The scaling itself is checked when
/// it is built into a [`crate::Rope`].
pub fn extension(name: &str, original: usize, factor: f64) -> Result<Extension, RopeError> {
    let target = Some((original as f64 * factor).round() as usize);
    let (scaling, max_position_embeddings) = match name {
        "base" => (RopeScaling::Default, None),
        "pi" => (RopeScaling::Linear(Linear { factor }), None),
        "ntk" => (RopeScaling::NtkAware(NtkAware { factor }), None),
        "dynamic_ntk" => (RopeScaling::DynamicNtk(DynamicNtk { factor }), None),
        "yarn" => (
            RopeScaling::Yarn(Yarn { original_max_position_embeddings: Some(original), ..Yarn::with_factor(factor) }),
            target,
        ),
        "abf" => (RopeScaling::Abf(Abf::default()), target),
        "eabf" => {
            (RopeScaling::EntropyAwareAbf(EntropyAwareAbf { context: Some(original), ..Default::default() }), target)
        }
        "e2llm" => {
            (RopeScaling::E2Llm(E2Llm { original_max_position_embeddings: Some(original), scale: None }), target)
        }
        other => return Err(RopeError::UnknownMethod { name: other.to_string(), known: METHODS.join(", ") }),
    };
    Ok(Extension { scaling, max_position_embeddings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_builds_and_others_are_errors() {
        for name in METHODS {
            let e = extension(name, 256, 4.0).unwrap();
            let fixed_window = matches!(name, &"base" | &"pi" | &"ntk" | &"dynamic_ntk");
            assert_eq!(e.max_position_embeddings, (!fixed_window).then_some(1024), "{name}");
        }
        let err = extension("longrope", 256, 4.0).unwrap_err().to_string();
        assert!(err.contains("`longrope`") && err.contains("eabf"), "{err}");
    }
}
