//! # rope-ext-model
//!
//! LLaMA-family decoders over burn 0.22 that load HF checkpoints and run every RoPE scaling
//! method of `rope-ext-core`: point it at a model directory, pick a backend, get the logits
//! transformers would give.
//!
//! - [`Llama::load`] / [`Llama::save`]: HF directories (config.json in the 4.x or v5 form,
//!   single or sharded safetensors in F32/F16/BF16), typed errors for anything missing, extra or
//!   mis-shaped; [`Llama::load`] also reads llama.cpp GGUF files ([`gguf`]), dequantised;
//! - [`Llama::forward`]: logits with the scaled rotary encoding, grouped-query attention and
//!   entropy-aware ABF's logit scalar; [`AttentionImpl`] picks the materialised reference or the
//!   chunked online-softmax attention, whose backward pass recomputes the scores
//!   ([`recompute`]) so training memory grows linearly with length; [`EntropyHook`] collects
//!   attention entropies;
//! - [`Llama::token_nlls`] / [`Llama::next_token_loss`]: the output head and its
//!   cross-entropy over blocks of positions ([`head`]), so no `[tokens × vocab]` logits are
//!   held in evaluation or training;
//! - [`BackendKind`]: flex (default), libtorch (`tch`) or wgpu, by feature.

#![deny(missing_docs)]

pub use burn;

pub mod attention;
pub mod backend;
pub mod bench;
pub mod config;
pub mod error;
pub mod files;
#[cfg(feature = "flex")]
mod flex_attention;
pub mod generate;
pub mod gguf;
pub mod head;
pub mod host;
pub mod model;
pub mod recompute;
pub mod rotary;
pub mod tiling;
pub mod tokenizer;
pub mod weights;

pub use attention::{AttentionImpl, EntropyHook};
pub use backend::BackendKind;
pub use config::LlamaConfig;
pub use error::ModelError;
pub use generate::{Generation, Sampling};
pub use model::{ForwardOptions, KvCache, Llama};
pub use rotary::Positions;
pub use tokenizer::Tokenizer;
