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
//! - [`run`]: one serde run configuration that names model, method, data and schedule, and
//!   [`run::execute`], which carries it out (train, checkpoint, resume, export);
//! - [`compare`]: the main job's side-by-side comparison of methods, training-free and
//!   fine-tuned on the same samples, evaluated at several lengths (used by
//!   `examples/extend_100_samples.rs`).
//!
//! Files: this crate reads corpora, run configurations and checkpoints, and writes
//! checkpoints ([`checkpoint`], [`Trainer::save_checkpoint`], [`optim::AdamW::save`]), the
//! metrics log ([`Trainer::run`]), a trained tokenizer ([`data::train_bpe`]), a search state
//! ([`search::SearchState::save`]), a run's `run.json` and exported model ([`run::execute`],
//! [`run::export`]) and the comparison's results ([`compare::write_results`]); [`eval`],
//! [`report`] and [`schedule`] only compute. It is not the workspace's only library crate
//! with IO: `rope-ext-model` reads HF model directories and writes them (`Llama::save`);
//! `rope-ext-core` and `rope-ext-entropy` do no IO.

#![deny(missing_docs)]

pub mod checkpoint;
pub mod compare;
pub mod data;
pub mod error;
pub mod eval;
pub mod optim;
pub mod pretrain;
pub mod report;
pub mod run;
pub mod schedule;
pub mod search;
pub mod train;

pub use error::TrainError;
pub use train::{StepInputs, StepMetrics, TrainConfig, Trainer};
