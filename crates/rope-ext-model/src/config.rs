//! The model half of an HF `config.json` for the LLaMA family (LLaMA 2/3, Mistral, Qwen2,
//! SmolLM2, TinyLlama), with the RoPE half read by `rope-ext-core`.

use std::path::Path;

use rope_ext_core::{Rope, hf};
use serde_json::{Map, Value};

use crate::error::ModelError;

/// Architecture settings of a LLaMA-family decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than query heads).
    pub num_key_value_heads: usize,
    /// Per-head width (`head_dim`, or `hidden_size / num_attention_heads`).
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Whether the output head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Biases on q/k/v (Qwen2; `attention_bias` for LLaMA also puts one on o).
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    /// Biases in the MLP.
    pub mlp_bias: bool,
    /// The RoPE specification (method, base, dimensions).
    pub rope: Rope,
    /// Beginning-of-sequence token, if any.
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token(s).
    pub eos_token_ids: Vec<u32>,
    /// The `model_type` field.
    pub model_type: String,
    /// The config as read, written back on save with the RoPE keys replaced.
    pub raw: Map<String, Value>,
}

impl LlamaConfig {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io { path: path.into(), source })?;
        let value = hf::parse_json(&text).map_err(|e| match e {
            rope_ext_core::RopeError::Json(source) => ModelError::Json { path: path.into(), source },
            other => ModelError::Rope(other),
        })?;
        Self::from_json(&value)
    }

    /// Reads a parsed `config.json`.
    pub fn from_json(value: &Value) -> Result<Self, ModelError> {
        let raw = value
            .as_object()
            .ok_or_else(|| ModelError::Config { field: "config", problem: "must be a JSON object".into() })?
            .clone();
        let model_type = match raw.get("model_type") {
            Some(Value::String(s)) => s.clone(),
            None => "llama".into(),
            Some(v) => return Err(bad("model_type", "must be a string", v)),
        };
        if !["llama", "mistral", "qwen2", "smollm2"].contains(&model_type.as_str()) {
            return Err(ModelError::Config {
                field: "model_type",
                problem: format!("is `{model_type}`; supported: llama, mistral, qwen2"),
            });
        }
        let hidden_size = req_usize(&raw, "hidden_size")?;
        let num_attention_heads = req_usize(&raw, "num_attention_heads")?;
        let num_key_value_heads = opt_usize(&raw, "num_key_value_heads")?.unwrap_or(num_attention_heads);
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            return Err(ModelError::Config {
                field: "num_key_value_heads",
                problem: format!(
                    "is {num_key_value_heads}, which must divide num_attention_heads {num_attention_heads}"
                ),
            });
        }
        let rope = hf::read_config(value)?;
        let head_dim = rope.config().head_dim;
        let qwen = model_type == "qwen2";
        let attention_bias = opt_bool(&raw, "attention_bias")?.unwrap_or(false);
        let eos_token_ids = match raw.get("eos_token_id") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().map(|v| token(v, "eos_token_id")).collect::<Result<_, _>>()?,
            Some(v) => vec![token(v, "eos_token_id")?],
        };
        let bos_token_id = match raw.get("bos_token_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(token(v, "bos_token_id")?),
        };
        let config = LlamaConfig {
            vocab_size: req_usize(&raw, "vocab_size")?,
            hidden_size,
            intermediate_size: req_usize(&raw, "intermediate_size")?,
            num_hidden_layers: req_usize(&raw, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: opt_f64(&raw, "rms_norm_eps")?.unwrap_or(1e-6),
            tie_word_embeddings: opt_bool(&raw, "tie_word_embeddings")?.unwrap_or(false),
            qkv_bias: qwen || attention_bias,
            o_bias: attention_bias && !qwen,
            mlp_bias: opt_bool(&raw, "mlp_bias")?.unwrap_or(false),
            rope,
            bos_token_id,
            eos_token_ids,
            model_type,
            raw,
        };
        for (field, v) in [
            ("vocab_size", config.vocab_size),
            ("intermediate_size", config.intermediate_size),
            ("num_hidden_layers", config.num_hidden_layers),
        ] {
            if v == 0 {
                return Err(ModelError::Config { field, problem: "must be at least 1, got 0".into() });
            }
        }
        Ok(config)
    }

    /// Query heads per key/value head.
    pub fn group_size(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// Every weight the config implies, by HF name, with its shape as stored in a checkpoint
    /// (`[out, in]` for linear layers), in checkpoint order.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, hd, i) = (self.hidden_size, self.head_dim, self.intermediate_size);
        let (q, kv) = (self.num_attention_heads * hd, self.num_key_value_heads * hd);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![self.vocab_size, h])];
        let linear = |out: &mut Vec<_>, name: String, d_in: usize, d_out: usize, bias: bool| {
            out.push((format!("{name}.weight"), vec![d_out, d_in]));
            if bias {
                out.push((format!("{name}.bias"), vec![d_out]));
            }
        };
        for l in 0..self.num_hidden_layers {
            let p = format!("model.layers.{l}");
            linear(&mut out, format!("{p}.self_attn.q_proj"), h, q, self.qkv_bias);
            linear(&mut out, format!("{p}.self_attn.k_proj"), h, kv, self.qkv_bias);
            linear(&mut out, format!("{p}.self_attn.v_proj"), h, kv, self.qkv_bias);
            linear(&mut out, format!("{p}.self_attn.o_proj"), q, h, self.o_bias);
            linear(&mut out, format!("{p}.mlp.gate_proj"), h, i, self.mlp_bias);
            linear(&mut out, format!("{p}.mlp.up_proj"), h, i, self.mlp_bias);
            linear(&mut out, format!("{p}.mlp.down_proj"), i, h, self.mlp_bias);
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        }
        out.push(("model.norm.weight".to_string(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![self.vocab_size, h]));
        }
        out
    }

    /// The number of parameters.
    pub fn num_parameters(&self) -> usize {
        self.tensor_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

fn bad(field: &'static str, problem: &str, v: &Value) -> ModelError {
    ModelError::Config { field, problem: format!("{problem}, got {v}") }
}

fn token(v: &Value, field: &'static str) -> Result<u32, ModelError> {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| bad(field, "must be a token id", v))
}

fn opt_usize(raw: &Map<String, Value>, field: &'static str) -> Result<Option<usize>, ModelError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| bad(field, "must be a non-negative integer", v)),
    }
}

fn req_usize(raw: &Map<String, Value>, field: &'static str) -> Result<usize, ModelError> {
    opt_usize(raw, field)?.ok_or(ModelError::Config { field, problem: "is missing".into() })
}

fn opt_f64(raw: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, ModelError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| bad(field, "must be a number", v)),
    }
}

fn opt_bool(raw: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ModelError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| bad(field, "must be a boolean", v)),
    }
}
