//! The model directory's `tokenizer.json`, through the `tokenizers` crate.

use std::path::{Path, PathBuf};

use crate::error::ModelError;

/// A tokenizer loaded from an HF `tokenizer.json`.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("path", &self.path).field("vocab", &self.inner.get_vocab_size(true)).finish()
    }
}

impl Tokenizer {
    /// Loads `tokenizer.json` from a file.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        if !path.exists() {
            return Err(ModelError::Io {
                path: path.into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        // tokenizers 0.23 panics on some malformed files (a BPE merge longer than every
        // vocabulary entry indexes past a buffer): that is bad input, so a typed error here.
        // The process's panic hook still reports the panic (on stderr, by default).
        let read = std::panic::catch_unwind(|| tokenizers::Tokenizer::from_file(path));
        let inner = match read {
            Ok(result) => result.map_err(|e| ModelError::Tokenizer { path: path.into(), message: e.to_string() })?,
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message");
                return Err(ModelError::Tokenizer {
                    path: path.into(),
                    message: format!("malformed (the tokenizers crate panicked reading it: {reason})"),
                });
            }
        };
        Ok(Tokenizer { inner, path: path.into() })
    }

    /// Loads `DIR/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        Self::from_file(&dir.join("tokenizer.json"))
    }

    /// Token ids of `text`, with the tokenizer's special tokens (e.g. BOS) if it adds any.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| ModelError::Tokenizer { path: self.path.clone(), message: e.to_string() })?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| ModelError::Tokenizer { path: self.path.clone(), message: e.to_string() })
    }

    /// The underlying `tokenizers::Tokenizer`.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}
