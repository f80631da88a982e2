//! The one error type of `rope-ext-model`.

use std::path::PathBuf;

use rope_ext_core::RopeError;

/// What can go wrong loading, saving or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A JSON file is malformed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A `config.json` field is missing, of the wrong type, or inconsistent.
    #[error("config.json: `{field}` {problem}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong with it, with its value.
        problem: String,
    },
    /// The RoPE settings of the config are invalid.
    #[error("config.json: {0}")]
    Rope(#[from] RopeError),
    /// A safetensors file is corrupt or truncated.
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A GGUF file is corrupt, truncated, or describes a model this loader does not read.
    #[error("{path}: GGUF: {message}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key, tensor or offset.
        message: String,
    },
    /// A tensor the model needs is absent from the checkpoint.
    #[error("checkpoint lacks tensor `{name}`")]
    MissingTensor {
        /// The HF name.
        name: String,
    },
    /// The checkpoint has a tensor the model does not use (another model's checkpoint?).
    #[error("checkpoint has unexpected tensor `{name}`")]
    UnexpectedTensor {
        /// The HF name.
        name: String,
    },
    /// A tensor's shape does not match the config.
    #[error("tensor `{name}` has shape {found:?}, the config implies {expected:?}")]
    TensorShape {
        /// The HF name.
        name: String,
        /// Its shape in the file.
        found: Vec<usize>,
        /// The shape the config implies.
        expected: Vec<usize>,
    },
    /// A tensor's dtype is not a float type we convert.
    #[error("tensor `{name}` has dtype {dtype}; expected F32, F16 or BF16")]
    TensorDtype {
        /// The HF name.
        name: String,
        /// Its dtype.
        dtype: String,
    },
    /// A `tokenizer.json` is malformed, or encoding failed.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
    /// A token id is outside the vocabulary.
    #[error("token id {id} at index {index} is outside the vocabulary of {vocab_size}")]
    TokenOutOfRange {
        /// The id.
        id: i64,
        /// Where it is in the input.
        index: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// An input is empty or its shapes disagree.
    #[error("bad input: {0}")]
    Input(&'static str),
    /// The requested backend was not compiled in.
    #[error("backend `{0}` is not compiled in; rebuild with `--features {0}`")]
    BackendNotCompiled(&'static str),
    /// The backend failed while running.
    #[error("backend error: {0}")]
    Backend(String),
}
