//! # rope-ext-train
//!
//! Turns the RoPE methods of `rope-ext-core` into extended models and measures the result:
//!
//! - [`data`]: corpora, a byte-level BPE tokenizer trained on them, packed and chat samples
//!   with loss masks, the seeded choice of N samples;
//! - [`train`]: the training loop ([`Trainer`]) with gradient accumulation, global-norm
//!   clipping, PyTorch-exact [`optim::AdamW`], HF-exact [`schedule`]s, E²-LLM augmentation,
//!   and [`checkpoint`]s that survive `kill -9` and resume exactly;
//! - [`eval`]: sliding-window perplexity and passkey retrieval;
//! - [`search`]: LongRoPE's evolutionary search of rescale factors;
//! - [`report`]: markdown tables and SVG plots of the results;
//! - [`run`]: one serde run configuration that names model, method, data and schedule.
//!
//! This is the only library crate of the workspace that touches the filesystem.

#![deny(missing_docs)]

pub mod checkpoint;
pub mod compare;
pub mod data;
pub mod error;
pub mod eval;
pub mod optim;
pub mod report;
pub mod run;
pub mod schedule;
pub mod search;
pub mod train;

pub use error::TrainError;
pub use train::{StepMetrics, TrainConfig, Trainer};
