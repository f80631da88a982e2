//! The one error type of `rope-ext-train`.

use std::path::PathBuf;

use rope_ext_core::RopeError;
use rope_ext_model::ModelError;

/// What can go wrong preparing data, training, checkpointing, evaluating or searching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A JSON file is malformed or does not match the expected structure.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (it names the field and line).
        source: serde_json::Error,
    },
    /// A setting of a run, evaluation or search is out of range or inconsistent.
    #[error("`{field}` {problem}")]
    Config {
        /// The field, as a dotted path (`schedule.warmup_steps`).
        field: String,
        /// What is wrong, with the value.
        problem: String,
    },
    /// The data cannot produce what was asked (too few tokens, an empty corpus, ...).
    #[error("data: {0}")]
    Data(String),
    /// Training a tokenizer, or encoding with one, failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A checkpoint directory is incomplete, corrupt, or from another run.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A loss or a gradient norm became NaN or infinite.
    #[error("step {step}: {what} is not finite ({value})")]
    NonFinite {
        /// The optimizer step.
        step: u64,
        /// `loss` or `gradient norm`.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// The RoPE settings are invalid.
    #[error(transparent)]
    Rope(#[from] RopeError),
    /// The model could not be loaded, saved or run.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl TrainError {
    /// A [`TrainError::Config`] for `field`.
    pub fn config(field: impl Into<String>, problem: impl Into<String>) -> Self {
        TrainError::Config { field: field.into(), problem: problem.into() }
    }

    /// A [`TrainError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io { path: path.into(), source }
    }
}
