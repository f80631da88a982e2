//! # rope-ext
//!
//! RoPE context-window extension for large language models. This facade re-exports the
//! workspace's library crates; the programs in `examples/` compose them.

#![deny(missing_docs)]

pub use rope_ext_core;
pub use rope_ext_entropy;
pub use rope_ext_model;
pub use rope_ext_train;
