//! The model's tokenizer, through the `tokenizers` crate: a model directory's `tokenizer.json`,
//! or for a GGUF file the `tokenizer.json` beside it, else one built from the file's own
//! vocabulary ([`Tokenizer::from_gguf`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::error::ModelError;
use crate::gguf::{Gguf, MetaValue, is_gguf};

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

    /// The tokenizer of the model at `path` ([`crate::Llama::load`]'s argument): `tokenizer.json`
    /// in a model directory; for a `.gguf` file the `tokenizer.json` beside it if there is one,
    /// else the one its vocabulary describes.
    pub fn for_model(path: &Path) -> Result<Self, ModelError> {
        if !is_gguf(path) {
            return Self::from_dir(path);
        }
        let beside = path.parent().unwrap_or(Path::new(".")).join("tokenizer.json");
        if beside.is_file() {
            return Self::from_file(&beside);
        }
        Self::from_gguf(&Gguf::read(path)?, path)
    }

    /// The byte-level BPE tokenizer a GGUF file's `tokenizer.ggml.*` metadata describes
    /// (`tokenizer.ggml.model` `gpt2`), as llama.cpp runs it:
    ///
    /// - the vocabulary `tokenizer.ggml.tokens` (ids in order) and `tokenizer.ggml.merges`
    ///   (`"a b"`, in priority order);
    /// - tokens of `tokenizer.ggml.token_type` 3 (control) are special added tokens, 4
    ///   (user-defined) added tokens;
    /// - the pre-tokenizer of `tokenizer.ggml.pre`: `gpt2` / `default` GPT-2's byte-level
    ///   split, `smollm` digits one by one first (llama.cpp's `\p{N}` rule, as SmolLM2's own
    ///   `tokenizer.json` does; transformers' GGUF converter ignores `pre` and keeps digits
    ///   together); any other value is an error asking for the model's `tokenizer.json`;
    /// - a BOS token prepended when `tokenizer.ggml.add_bos_token` is true.
    pub fn from_gguf(file: &Gguf, path: &Path) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Tokenizer { path: path.into(), message };
        let meta = |k: &str| file.metadata.get(k);
        let strings = |k: &str| -> Result<Vec<&str>, ModelError> {
            match meta(k) {
                Some(MetaValue::Array(items)) => items
                    .iter()
                    .map(|v| match v {
                        MetaValue::Str(s) => Ok(s.as_str()),
                        other => Err(err(format!("`{k}` holds {other:?}, not strings"))),
                    })
                    .collect(),
                Some(v) => Err(err(format!("`{k}` is {v:?}, not a list of strings"))),
                None => Err(err(format!("the GGUF file has no `{k}`; put the model's tokenizer.json beside it"))),
            }
        };
        match meta("tokenizer.ggml.model") {
            Some(MetaValue::Str(m)) if m == "gpt2" => {}
            other => {
                let found = match other {
                    None => "missing".to_string(),
                    Some(v) => format!("{v:?}"),
                };
                return Err(err(format!(
                    "`tokenizer.ggml.model` is {found}; only byte-level BPE (`gpt2`) vocabularies are built here, \
                     put the model's tokenizer.json beside the file"
                )));
            }
        }
        let digits_first = match meta("tokenizer.ggml.pre") {
            None => false,
            Some(MetaValue::Str(p)) if p == "gpt2" || p == "default" => false,
            Some(MetaValue::Str(p)) if p == "smollm" => true,
            Some(v) => {
                return Err(err(format!(
                    "`tokenizer.ggml.pre` is {v:?}; the pre-tokenizers built here are gpt2, default and smollm, \
                     put the model's tokenizer.json beside the file"
                )));
            }
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let types: Vec<i128> = match meta("tokenizer.ggml.token_type") {
            None => vec![1; tokens.len()],
            Some(MetaValue::Array(t)) if t.len() == tokens.len() => t
                .iter()
                .map(|v| match v {
                    MetaValue::Int(i) => Ok(*i),
                    other => Err(err(format!("`tokenizer.ggml.token_type` holds {other:?}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(v) => return Err(err(format!("`tokenizer.ggml.token_type` is {v:?}, not one type per token"))),
        };
        let mut vocab = Map::new();
        let mut added = Vec::new();
        for (id, (&token, &kind)) in tokens.iter().zip(&types).enumerate() {
            if vocab.insert(token.to_string(), json!(id)).is_some() {
                return Err(err(format!("token {token:?} appears twice in `tokenizer.ggml.tokens`")));
            }
            if kind == 3 || kind == 4 {
                added.push(json!({"id": id, "content": token, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": kind == 3}));
            }
        }
        let merges: Vec<Value> = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| json!([a, b]))
                    .ok_or_else(|| err(format!("merge {m:?} in `tokenizer.ggml.merges` is not two tokens")))
            })
            .collect::<Result<_, _>>()?;
        let byte_level =
            json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
        let pre = if digits_first {
            json!({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]})
        } else {
            byte_level.clone()
        };
        let bos = match (meta("tokenizer.ggml.add_bos_token"), meta("tokenizer.ggml.bos_token_id")) {
            (Some(MetaValue::Bool(true)), Some(MetaValue::Int(id))) => {
                let token = usize::try_from(*id)
                    .ok()
                    .and_then(|i| tokens.get(i))
                    .ok_or_else(|| err(format!("`tokenizer.ggml.bos_token_id` {id} is outside the vocabulary")))?;
                Some((*token, *id))
            }
            (Some(MetaValue::Bool(true)), _) => {
                return Err(err("`tokenizer.ggml.add_bos_token` is set without a `bos_token_id`".into()));
            }
            _ => None,
        };
        let post = match bos {
            Some((token, id)) => json!({"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {token: {"id": token, "ids": [id], "tokens": [token]}}}),
            None => Value::Null,
        };
        let spec = json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
            "pre_tokenizer": pre, "post_processor": post,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges},
        });
        let inner = std::panic::catch_unwind(|| spec.to_string().parse::<tokenizers::Tokenizer>())
            .map_err(|_| err("the tokenizers crate panicked building the GGUF vocabulary".into()))?
            .map_err(|e| err(format!("the GGUF vocabulary does not make a tokenizer: {e}")))?;
        Ok(Tokenizer { inner, path: path.into() })
    }

    /// Writes the tokenizer as a `tokenizer.json` at `path`: the file it was read from, byte
    /// for byte, or for one built from a GGUF vocabulary its `tokenizers` serialisation.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let text = if is_gguf(&self.path) {
            self.inner
                .to_string(true)
                .map_err(|e| ModelError::Tokenizer { path: path.into(), message: e.to_string() })?
        } else {
            std::fs::read_to_string(&self.path).map_err(|source| ModelError::Io { path: self.path.clone(), source })?
        };
        crate::files::atomic_write(path, text.as_bytes()).map_err(|source| ModelError::Io { path: path.into(), source })
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
