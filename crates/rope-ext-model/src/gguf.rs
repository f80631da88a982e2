//! llama.cpp GGUF files (versions 2 and 3) of the `llama` architecture: the metadata becomes an
//! HF config, the tensors are dequantised to f32 under their HF names, and llama.cpp's q/k row
//! permutation is undone.
//!
//! The reader is as strict as the safetensors path: a wrong magic or version, a string, array
//! or tensor that runs past the end of the file, tensors that overlap or are misaligned, a
//! dimension product that overflows, a duplicated key or tensor name, and any metadata key of
//! the architecture this loader does not read are [`ModelError::Gguf`] errors naming what is
//! wrong; tensor types other than F32, F16, BF16, Q8_0, Q4_0 and Q4_1 are an error naming the
//! tensor and its type.
//!
//! Metadata → config (`{a}` is `general.architecture`, which must be `llama`):
//!
//! | GGUF key | HF key |
//! |---|---|
//! | `{a}.embedding_length`, `{a}.feed_forward_length`, `{a}.block_count` | `hidden_size`, `intermediate_size`, `num_hidden_layers` |
//! | `{a}.attention.head_count`, `{a}.attention.head_count_kv` | `num_attention_heads`, `num_key_value_heads` |
//! | `{a}.attention.key_length` (= `value_length`) | `head_dim` |
//! | `{a}.attention.layer_norm_rms_epsilon` | `rms_norm_eps` |
//! | `{a}.context_length` | `max_position_embeddings` |
//! | `{a}.vocab_size` (else the token list's length) | `vocab_size` |
//! | `{a}.rope.freq_base` | `rope_theta` |
//! | `{a}.rope.dimension_count` | `partial_rotary_factor` = count / `head_dim` |
//! | `{a}.rope.scaling.type` `linear` / `yarn`, `.factor`, `.original_context_length`; legacy `{a}.rope.scale_linear` | `rope_scaling` |
//! | `tokenizer.ggml.bos_token_id`, `eos_token_id` | `bos_token_id`, `eos_token_id` |
//! | no `output.weight` tensor | `tie_word_embeddings` |
//!
//! Tensors: `token_embd` → `model.embed_tokens`, `output_norm` → `model.norm`, `output` →
//! `lm_head`, `blk.{i}.attn_norm` / `ffn_norm` → `input_layernorm` / `post_attention_layernorm`,
//! `attn_q/k/v/output` → `self_attn.q/k/v/o_proj`, `ffn_gate/up/down` → `mlp.gate/up/down_proj`.
//! llama.cpp's converter stores each head of q (and k, per KV head) with its rows reordered from
//! HF's half-split pairs `(i, i + d/2)` to adjacent rows `(2i, 2i + 1)`, so its kernels can rotate
//! adjacent pairs; loading puts them back, so the model computes with HF's layout.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use rope_ext_core::hf::{self, HfForm};
use rope_ext_core::methods::linear::Linear;
use rope_ext_core::methods::yarn::Yarn;
use rope_ext_core::{DEFAULT_THETA, RopeConfig, RopeScaling};

use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::host::HostTensor;

/// The architectures this loader reads.
pub const SUPPORTED_ARCHITECTURES: [&str; 1] = ["llama"];

/// The tensor types this loader dequantises.
pub const SUPPORTED_TYPES: [&str; 6] = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"];

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Any integer type.
    Int(i128),
    /// F32 or F64.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string.
    Str(String),
    /// An array of values.
    Array(Vec<MetaValue>),
}

/// One tensor's entry in the file.
#[derive(Debug, Clone)]
struct TensorInfo {
    name: String,
    /// `ne`: the fastest-varying dimension first (GGML's order; HF's shape reversed).
    dims: Vec<u64>,
    kind: u32,
    /// Absolute byte range in the file.
    start: usize,
    end: usize,
}

/// A parsed GGUF file: metadata and tensor entries over the file's bytes.
#[derive(Debug)]
pub struct Gguf {
    /// The file it was read from.
    path: std::path::PathBuf,
    /// The metadata, by key.
    pub metadata: BTreeMap<String, MetaValue>,
    tensors: Vec<TensorInfo>,
    bytes: Vec<u8>,
}

/// A GGML tensor type: name, elements per block, bytes per block.
fn ggml_type(kind: u32) -> Option<(&'static str, usize, usize)> {
    Some(match kind {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        8 => ("Q8_0", 32, 34),
        30 => ("BF16", 1, 2),
        _ => return None,
    })
}

/// Names of GGML types this loader does not dequantise, for the error message.
fn ggml_type_name(kind: u32) -> String {
    let known = [
        (6, "Q5_0"),
        (7, "Q5_1"),
        (9, "Q8_1"),
        (10, "Q2_K"),
        (11, "Q3_K"),
        (12, "Q4_K"),
        (13, "Q5_K"),
        (14, "Q6_K"),
        (15, "Q8_K"),
        (16, "IQ2_XXS"),
        (17, "IQ2_XS"),
        (18, "IQ3_XXS"),
        (19, "IQ1_S"),
        (20, "IQ4_NL"),
        (21, "IQ3_S"),
        (22, "IQ2_S"),
        (23, "IQ4_XS"),
        (24, "I8"),
        (25, "I16"),
        (26, "I32"),
        (27, "I64"),
        (28, "F64"),
        (29, "IQ1_M"),
        (34, "TQ1_0"),
        (35, "TQ2_0"),
        (39, "MXFP4"),
    ];
    known.iter().find(|(k, _)| *k == kind).map_or_else(|| format!("unknown type {kind}"), |(_, n)| (*n).to_string())
}

/// A bounds-checked little-endian cursor over the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn err(&self, message: String) -> ModelError {
        ModelError::Gguf { path: self.path.into(), message }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            self.err(format!(
                "truncated: {what} needs {n} bytes at offset {}, the file has {}",
                self.pos,
                self.bytes.len()
            ))
        })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }

    /// A count that must fit in what is left of the file at `min_size` bytes per item.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize, ModelError> {
        let n = self.u64(what)?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_size as u64) > left {
            return Err(self.err(format!(
                "truncated or corrupt: {what} is {n}, more than the {left} bytes left in the file can hold"
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String, ModelError> {
        let n = self.count(what, 1)?;
        let raw = self.take(n, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.err(format!("{what} is not UTF-8")))
    }

    fn value(&mut self, kind: u32, what: &str, depth: usize) -> Result<MetaValue, ModelError> {
        let int = |b: &[u8], signed: bool| -> i128 {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            if signed && b[b.len() - 1] & 0x80 != 0 {
                w[b.len()..].fill(0xff);
                i128::from(i64::from_le_bytes(w))
            } else {
                i128::from(u64::from_le_bytes(w))
            }
        };
        Ok(match kind {
            0 | 1 => MetaValue::Int(int(self.take(1, what)?, kind == 1)),
            2 | 3 => MetaValue::Int(int(self.take(2, what)?, kind == 3)),
            4 | 5 => MetaValue::Int(int(self.take(4, what)?, kind == 5)),
            10 | 11 => MetaValue::Int(int(self.take(8, what)?, kind == 11)),
            6 => MetaValue::Float(f64::from(f32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))),
            12 => MetaValue::Float(f64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes"))),
            7 => match self.take(1, what)?[0] {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                b => return Err(self.err(format!("{what}: boolean byte {b}"))),
            },
            8 => MetaValue::Str(self.string(what)?),
            9 if depth == 0 => {
                let inner = self.u32(what)?;
                let n = self.count(what, 1)?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(inner, what, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            9 => return Err(self.err(format!("{what}: nested arrays are not read"))),
            k => return Err(self.err(format!("{what}: unknown metadata value type {k}"))),
        })
    }
}

impl Gguf {
    /// Reads and checks the file's structure (not yet its tensors' values).
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let meta = std::fs::metadata(path).map_err(|source| ModelError::Io { path: path.into(), source })?;
        if !meta.is_file() {
            return Err(ModelError::Gguf { path: path.into(), message: "is not a regular file".into() });
        }
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io { path: path.into(), source })?;
        let mut c = Cursor { bytes: &bytes, pos: 0, path };
        if c.take(4, "the magic")? != b"GGUF" {
            return Err(c.err("does not start with the GGUF magic".into()));
        }
        let version = c.u32("the version")?;
        if !(2..=3).contains(&version) {
            return Err(c.err(format!("is GGUF version {version}; this reader reads versions 2 and 3")));
        }
        let n_tensors = c.count("the tensor count", 24)?;
        let n_meta = c.count("the metadata count", 12)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_meta {
            let key = c.string("a metadata key")?;
            let kind = c.u32(&key)?;
            let value = c.value(kind, &key, 0)?;
            if metadata.insert(key.clone(), value).is_some() {
                return Err(c.err(format!("metadata key `{key}` appears twice")));
            }
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(MetaValue::Int(a)) if *a > 0 && (*a as u64).is_power_of_two() && *a <= 1 << 20 => *a as usize,
            Some(v) => return Err(c.err(format!("`general.alignment` is {v:?}, not a power of two"))),
        };
        let mut infos = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = c.string("a tensor name")?;
            let n_dims = c.u32(&name)? as usize;
            if !(1..=4).contains(&n_dims) {
                return Err(c.err(format!("tensor `{name}` has {n_dims} dimensions (1 to 4 allowed)")));
            }
            let dims = (0..n_dims).map(|_| c.u64(&name)).collect::<Result<Vec<_>, _>>()?;
            let kind = c.u32(&name)?;
            let offset = c.u64(&name)?;
            infos.push((name, dims, kind, offset));
        }
        let data_start = c.pos.div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(n_tensors);
        for (name, dims, kind, offset) in infos {
            let Some((_, block, block_bytes)) = ggml_type(kind) else {
                return Err(ModelError::Gguf {
                    path: path.into(),
                    message: format!(
                        "tensor `{name}` has type {}, which this loader does not dequantise (supported: {})",
                        ggml_type_name(kind),
                        SUPPORTED_TYPES.join(", ")
                    ),
                });
            };
            let numel = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
            let bad = |m: String| ModelError::Gguf { path: path.into(), message: format!("tensor `{name}` {m}") };
            let numel = numel.filter(|&n| n > 0).ok_or_else(|| bad(format!("has dimensions {dims:?}")))?;
            if dims[0] % block as u64 != 0 {
                return Err(bad(format!("has rows of {} values, not a multiple of its type's {block}", dims[0])));
            }
            if offset % alignment as u64 != 0 {
                return Err(bad(format!("starts at offset {offset}, not a multiple of the alignment {alignment}")));
            }
            let size = (numel / block as u64).checked_mul(block_bytes as u64);
            let range = size.and_then(|s| {
                let start = (data_start as u64).checked_add(offset)?;
                Some((start, start.checked_add(s)?))
            });
            let Some((start, end)) = range.filter(|&(_, e)| e <= bytes.len() as u64) else {
                return Err(bad(format!(
                    "({dims:?} of {}) runs past the end of the file ({} bytes)",
                    ggml_type(kind).map_or("?", |t| t.0),
                    bytes.len()
                )));
            };
            tensors.push(TensorInfo { name, dims, kind, start: start as usize, end: end as usize });
        }
        let mut by_start: Vec<&TensorInfo> = tensors.iter().collect();
        by_start.sort_by_key(|t| t.start);
        for w in by_start.windows(2) {
            if w[0].end > w[1].start {
                return Err(ModelError::Gguf {
                    path: path.into(),
                    message: format!("tensors `{}` and `{}` overlap", w[0].name, w[1].name),
                });
            }
        }
        let mut names = std::collections::BTreeSet::new();
        if let Some(t) = tensors.iter().find(|t| !names.insert(t.name.as_str())) {
            return Err(ModelError::Gguf { path: path.into(), message: format!("tensor `{}` appears twice", t.name) });
        }
        Ok(Gguf { path: path.into(), metadata, tensors, bytes })
    }

    /// The HF config the metadata describes (see the module documentation).
    pub fn config(&self, path: &Path) -> Result<LlamaConfig, ModelError> {
        let err = |message: String| ModelError::Gguf { path: path.into(), message };
        let arch = match self.metadata.get("general.architecture") {
            Some(MetaValue::Str(a)) => a.as_str(),
            Some(v) => return Err(err(format!("`general.architecture` is {v:?}, not a string"))),
            None => return Err(err("has no `general.architecture`".into())),
        };
        if !SUPPORTED_ARCHITECTURES.contains(&arch) {
            return Err(err(format!(
                "`general.architecture` is `{arch}`; this loader reads {}",
                SUPPORTED_ARCHITECTURES.join(", ")
            )));
        }
        const READ: [&str; 15] = [
            "context_length",
            "embedding_length",
            "block_count",
            "feed_forward_length",
            "vocab_size",
            "attention.head_count",
            "attention.head_count_kv",
            "attention.key_length",
            "attention.value_length",
            "attention.layer_norm_rms_epsilon",
            "rope.freq_base",
            "rope.dimension_count",
            "rope.scaling.type",
            "rope.scaling.factor",
            "rope.scaling.original_context_length",
        ];
        let prefix = format!("{arch}.");
        if let Some(key) = self
            .metadata
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .find(|k| !READ.contains(k) && *k != "rope.scale_linear")
        {
            return Err(err(format!(
                "metadata `{prefix}{key}` is not read by this loader, so the model would not be the one the file describes"
            )));
        }
        let int = |key: &str| -> Result<Option<u64>, ModelError> {
            match self.metadata.get(key) {
                None => Ok(None),
                Some(MetaValue::Int(v)) if *v >= 0 && *v <= i128::from(u64::MAX) => Ok(Some(*v as u64)),
                Some(v) => Err(err(format!("`{key}` is {v:?}, not a non-negative integer"))),
            }
        };
        let float = |key: &str| -> Result<Option<f64>, ModelError> {
            match self.metadata.get(key) {
                None => Ok(None),
                Some(MetaValue::Float(v)) => Ok(Some(*v)),
                Some(MetaValue::Int(v)) => Ok(Some(*v as f64)),
                Some(v) => Err(err(format!("`{key}` is {v:?}, not a number"))),
            }
        };
        let a = |k: &str| format!("{arch}.{k}");
        let required = |k: &str| int(&a(k))?.ok_or_else(|| err(format!("has no `{}`", a(k))));
        let hidden = required("embedding_length")?;
        let heads = required("attention.head_count")?;
        let mut cfg = Map::new();
        cfg.insert("model_type".into(), json!("llama"));
        cfg.insert("architectures".into(), json!(["LlamaForCausalLM"]));
        cfg.insert("hidden_size".into(), json!(hidden));
        cfg.insert("intermediate_size".into(), json!(required("feed_forward_length")?));
        cfg.insert("num_hidden_layers".into(), json!(required("block_count")?));
        cfg.insert("num_attention_heads".into(), json!(heads));
        let context = required("context_length")?;
        cfg.insert("max_position_embeddings".into(), json!(context));
        if let Some(kv) = int(&a("attention.head_count_kv"))? {
            cfg.insert("num_key_value_heads".into(), json!(kv));
        }
        let key_length = int(&a("attention.key_length"))?;
        if let (Some(k), Some(v)) = (key_length, int(&a("attention.value_length"))?)
            && k != v
        {
            return Err(err(format!(
                "`{}` {k} differs from `{}` {v}",
                a("attention.key_length"),
                a("attention.value_length")
            )));
        }
        let head_dim = match key_length {
            Some(d) => d,
            None if heads > 0 => hidden / heads,
            None => 0,
        };
        if let Some(eps) = float(&a("attention.layer_norm_rms_epsilon"))? {
            cfg.insert("rms_norm_eps".into(), json!(eps));
        }
        let scaling_type = match self.metadata.get(&a("rope.scaling.type")) {
            None => None,
            Some(MetaValue::Str(s)) => Some(s.as_str()),
            Some(v) => return Err(err(format!("`{}` is {v:?}, not a string", a("rope.scaling.type")))),
        };
        let factor =
            || float(&a("rope.scaling.factor"))?.ok_or_else(|| err(format!("has no `{}`", a("rope.scaling.factor"))));
        let scaling = match (scaling_type, float(&a("rope.scale_linear"))?) {
            (None | Some("none"), None) => RopeScaling::Default,
            (None, Some(factor)) => RopeScaling::Linear(Linear { factor }),
            (Some("linear"), None) => RopeScaling::Linear(Linear { factor: factor()? }),
            (Some("yarn"), None) => RopeScaling::Yarn(Yarn {
                factor: factor()?,
                original_max_position_embeddings: int(&a("rope.scaling.original_context_length"))?.map(|n| n as usize),
                ..Yarn::default()
            }),
            (Some(t), None) => {
                return Err(err(format!(
                    "`{}` is `{t}`; this loader reads none, linear and yarn",
                    a("rope.scaling.type")
                )));
            }
            (Some(_), Some(_)) => {
                return Err(err(format!("both `{}` and `{}` are set", a("rope.scaling.type"), a("rope.scale_linear"))));
            }
        };
        let rotary = int(&a("rope.dimension_count"))?.unwrap_or(head_dim);
        let rope = RopeConfig {
            partial_rotary_factor: rotary as f64 / head_dim.max(1) as f64,
            scaling,
            ..RopeConfig::new(
                head_dim as usize,
                float(&a("rope.freq_base"))?.unwrap_or(DEFAULT_THETA),
                context as usize,
            )
        };
        let rope = rope.build().map_err(|e| err(format!("the metadata gives invalid RoPE settings: {e}")))?;
        hf::merge_config(&mut cfg, &rope, HfForm::V5);
        let vocab = match int(&a("vocab_size"))? {
            Some(v) => Some(v),
            None => match self.metadata.get("tokenizer.ggml.tokens") {
                Some(MetaValue::Array(t)) => Some(t.len() as u64),
                _ => self.tensors.iter().find(|t| t.name == "token_embd.weight").and_then(|t| t.dims.get(1).copied()),
            },
        };
        if let Some(v) = vocab {
            cfg.insert("vocab_size".into(), json!(v));
        }
        for (gguf, hf) in
            [("tokenizer.ggml.bos_token_id", "bos_token_id"), ("tokenizer.ggml.eos_token_id", "eos_token_id")]
        {
            if let Some(id) = int(gguf)? {
                cfg.insert(hf.into(), json!(id));
            }
        }
        cfg.insert("tie_word_embeddings".into(), json!(!self.tensors.iter().any(|t| t.name == "output.weight")));
        LlamaConfig::from_json(&Value::Object(cfg))
            .map_err(|e| err(format!("the metadata gives an invalid config: {e}")))
    }

    /// Every tensor dequantised to f32, by HF name, with q and k rows back in HF's order.
    pub(crate) fn hf_tensors(&self, c: &LlamaConfig) -> Result<BTreeMap<String, HostTensor>, ModelError> {
        let mut out = BTreeMap::new();
        for t in &self.tensors {
            if t.name == "rope_freqs.weight" {
                return Err(ModelError::Gguf {
                    path: self.path.clone(),
                    message: "has `rope_freqs.weight` (llama.cpp's per-frequency factors for Llama 3.1 scaling), \
                              which this loader does not map to a RoPE method"
                        .into(),
                });
            }
            let Some(name) = hf_name(&t.name) else {
                return Err(ModelError::UnexpectedTensor { name: format!("{} (in the GGUF file)", t.name) });
            };
            let mut data = dequantise(t.kind, &self.bytes[t.start..t.end]);
            let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
            let heads = if name.ends_with("self_attn.q_proj.weight") || name.ends_with("self_attn.q_proj.bias") {
                Some(c.num_attention_heads)
            } else if name.ends_with("self_attn.k_proj.weight") || name.ends_with("self_attn.k_proj.bias") {
                Some(c.num_key_value_heads)
            } else {
                None
            };
            if let Some(heads) = heads {
                let rows = shape[0];
                let cols = if shape.len() > 1 { shape[1..].iter().product() } else { 1 };
                if rows != heads * c.head_dim {
                    return Err(ModelError::TensorShape {
                        name,
                        found: shape,
                        expected: vec![heads * c.head_dim, c.hidden_size],
                    });
                }
                data = unpermute_rows(&data, heads, c.head_dim, cols);
            }
            out.insert(name, HostTensor { shape, data });
        }
        Ok(out)
    }
}

/// The HF name of a llama.cpp tensor name, if it is one of the `llama` architecture's.
fn hf_name(gguf: &str) -> Option<String> {
    let fixed = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.into());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?;
    if suffix != "weight" && suffix != "bias" {
        return None;
    }
    let hf = match module {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{suffix}"))
}

/// Undoes llama.cpp's `permute`: within each head of `d` rows, file row `2i + t` is HF row
/// `t·d/2 + i` (`t` ∈ {0, 1}, `i < d/2`); each row has `cols` values.
fn unpermute_rows(data: &[f32], heads: usize, d: usize, cols: usize) -> Vec<f32> {
    let half = d / 2;
    let mut out = vec![0.0; data.len()];
    for h in 0..heads {
        for i in 0..half {
            for t in 0..2 {
                let src = (h * d + 2 * i + t) * cols;
                let dst = (h * d + t * half + i) * cols;
                out[dst..dst + cols].copy_from_slice(&data[src..src + cols]);
            }
        }
    }
    out
}

/// f32 values of a tensor's bytes, whose length the reader has checked against its type.
///
/// - Q8_0, blocks of 32: an f16 scale `d`, then 32 `i8` `q`: `x = d·q`;
/// - Q4_0, blocks of 32: `d` (f16), 16 bytes; value `j < 16` is the low nibble of byte `j`,
///   value `j + 16` its high nibble: `x = d·(q − 8)`;
/// - Q4_1: `d`, `m` (f16), then nibbles as Q4_0: `x = d·q + m`.
fn dequantise(kind: u32, bytes: &[u8]) -> Vec<f32> {
    let f16 = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
    match kind {
        0 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        1 => bytes.chunks_exact(2).map(f16).collect(),
        30 => bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        8 => bytes
            .chunks_exact(34)
            .flat_map(|b| {
                let d = f16(&b[..2]);
                b[2..].iter().map(move |&q| d * f32::from(q as i8))
            })
            .collect(),
        2 | 3 => {
            let (head, with_min) = if kind == 2 { (2, false) } else { (4, true) };
            let mut out = Vec::with_capacity(bytes.len() / (head + 16) * 32);
            for b in bytes.chunks_exact(head + 16) {
                let d = f16(&b[..2]);
                let m = if with_min { f16(&b[2..4]) } else { 0.0 };
                let qs = &b[head..];
                let value = |q: u8| if with_min { d * f32::from(q) + m } else { d * (f32::from(q) - 8.0) };
                out.extend(qs.iter().map(|&q| value(q & 0x0f)));
                out.extend(qs.iter().map(|&q| value(q >> 4)));
            }
            out
        }
        _ => unreachable!("the reader admits only the types above"),
    }
}

/// Whether `path` names a GGUF file (by its extension).
pub fn is_gguf(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}
