//! # rope-ext
//!
//! RoPE context-window extension for large language models. This facade re-exports the
//! workspace's library crates under short names; the programs in `examples/` use only it.
//!
//! - [`core`]: the method math (`rope-ext-core`), light, no tensors;
//! - [`entropy`]: attention entropy (`rope-ext-entropy`);
//! - [`model`]: LLaMA-family models on burn (`rope-ext-model`);
//! - [`train`]: training, evaluation, search and the comparison (`rope-ext-train`).

#![deny(missing_docs)]

pub use rope_ext_core as core;
pub use rope_ext_entropy as entropy;
pub use rope_ext_model as model;
pub use rope_ext_train as train;
