//! The model half of an HF `config.json` for the LLaMA family (LLaMA 2/3, Mistral, Qwen2,
//! Qwen3, Phi-3/3.5/Phi-4-mini, Gemma 3 text, SmolLM2, TinyLlama), with the RoPE half read by
//! `rope-ext-core`.
//!
//! Every key of transformers 5.23's `LlamaConfig`, `MistralConfig`, `Qwen2Config`, `Qwen3Config`, `Phi3Config` and `Gemma3TextConfig` (the keys
//! their config classes declare, and those their modeling files read) is accounted for here:
//!
//! | key | families | here | proven by |
//! |---|---|---|---|
//! | `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`, `num_key_value_heads`, `head_dim` | all | shapes; `1..=MAX_WIDTH` (layers `..=MAX_LAYERS`), KV heads dividing heads | parity fixtures, malformed corpus |
//! | `hidden_act` | all but gemma3_text | `silu` / `swish`; anything else an error | malformed corpus |
//! | `rms_norm_eps` | all | finite and `> 0`, else an error | every fixture; malformed corpus |
//! | `tie_word_embeddings` | all | tied or separate head | `model-level/llama_biases` (tied), tiny-llama (untied) |
//! | `attention_bias` | llama, qwen3 (Mistral and Qwen2 ignore it, as transformers does) | q/k/v/o biases | `model-level/llama_biases`, `qwen3` |
//! | `mlp_bias` | llama (likewise) | gate/up/down biases | `model-level/llama_biases` |
//! | (q/k/v biases) | qwen2, always | q/k/v biases | `model-level/qwen2_sliding` |
//! | (q/k norms) | qwen3, always | RMSNorm per head over `head_dim` before RoPE | `model-level/qwen3` |
//! | (fused `qkv_proj`, `gate_up_proj`) | phi3, always | split at load, fused again on save | `model-level/phi3_longrope`, `phi3_sliding` |
//! | `sliding_window`, `use_sliding_window`, `max_window_layers`, `layer_types` | mistral, qwen2, qwen3, phi3 | per-layer window ([`sliding_windows`]; LLaMA ignores these keys, as transformers does) | `model-level/mistral_sliding`, `qwen2_sliding`, `qwen3`, `phi3_sliding` |
//! | `rope_parameters` / `rope_scaling` / `rope_theta` / `partial_rotary_factor` / `max_position_embeddings` | all | `rope-ext-core`'s `hf::read_config` | core goldens, tiny-llama and model-level fixtures |
//! | `rope_interleave` | ours (DeepSeek-V3's name) | interleaved pairs | `model-level/interleaved` |
//! | `rope_parameters` keyed by layer type, `rope_local_base_freq` | gemma3_text (and any config whose `layer_types` key it) | a RoPE per layer type ([`LayerRope`]): `full_attention` is [`LlamaConfig::rope`], `sliding_attention` [`LlamaConfig::local_rope`] | `model-level/gemma3`, core `layer_type_ropes` goldens |
//! | `sliding_window_pattern` | gemma3_text | layer types when `layer_types` is absent (default 6) | `model-level/gemma3` |
//! | `hidden_activation` | gemma3_text | `gelu_pytorch_tanh`; anything else an error | `model-level/gemma3`, malformed corpus |
//! | `query_pre_attn_scalar` | gemma3_text | logits scaled by `1/√q` (default 256) | `model-level/gemma3` |
//! | `final_logit_softcapping` | gemma3_text | `c·tanh(z/c)` on the logits | `model-level/gemma3` |
//! | `attn_logit_softcapping`, `use_bidirectional_attention` | gemma3_text | only `null` / `false` (anything else an error) | malformed corpus |
//! | (`(1 + w)` norms, output norms, embedding scale, q/k norms) | gemma3_text, always | folded at load ([`LlamaConfig::gemma_norms`]) | `model-level/gemma3` |
//! | `attention_dropout`, `resid_pdrop`, `embd_pdrop` | all (the last two phi3) | read (`0 ≤ p ≤ 1`); the trainer refuses `p > 0` (it has no dropout); inference ignores them, as transformers does in eval | malformed corpus |
//! | `dtype` / `torch_dtype` | all | weights are read in their stored dtype and computed in f32 | `tiny-llama/bf16` |
//! | `bos_token_id`, `eos_token_id` | all | inside the vocabulary | malformed corpus |
//! | `pad_token_id` | all | not read: it only sets the embedding's `padding_idx` (no effect on logits) | — |
//! | `pretraining_tp`, `initializer_range`, `use_cache` | — | not read: transformers 5.23's models do not use them (`initializer_range` seeds [`crate::Llama::init`]) | — |

use std::path::Path;

use rope_ext_core::hf::field;
use rope_ext_core::{Rope, RopeError, hf};
use serde_json::{Map, Value};

use crate::error::ModelError;

/// The `model_type`s this decoder reads.
pub const SUPPORTED_MODEL_TYPES: [&str; 7] = ["gemma3_text", "llama", "mistral", "phi3", "qwen2", "qwen3", "smollm2"];

/// The MLP gate's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// SiLU (`silu`, `swish`): LLaMA, Mistral, Qwen, Phi-3.
    Silu,
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`): Gemma 3.
    GeluTanh,
}

/// Which RoPE a layer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerRope {
    /// [`LlamaConfig::rope`]: every layer of a model with one RoPE; the `full_attention`
    /// layers of one with RoPE per layer type. The methods extend this one.
    Main,
    /// [`LlamaConfig::local_rope`]: the `sliding_attention` layers of a model with RoPE per
    /// layer type (Gemma 3's local base).
    Local,
    /// No rotary encoding (a `null` entry of a per-layer-type `rope_parameters`).
    Absent,
}

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
    /// RMSNorm of each query and key head over `head_dim`, before RoPE (Qwen3's `q_norm` and
    /// `k_norm`).
    pub qk_norm: bool,
    /// Biases on q/k/v (Qwen2; `attention_bias` for LLaMA and Qwen3 also puts one on o).
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    /// Biases in the MLP.
    pub mlp_bias: bool,
    /// Whether checkpoints hold q/k/v as one `qkv_proj` (rows q, then k, then v) and gate/up as
    /// one `gate_up_proj` (rows gate, then up), as Phi-3 stores them. The model computes with
    /// the parts; loading splits the fused tensors and saving fuses them again.
    pub fused_projections: bool,
    /// `attention_dropout`: the dropout probability transformers applies to attention weights
    /// in training (never in inference).
    pub attention_dropout: f64,
    /// Phi-3's `resid_pdrop` (dropout on each residual branch), training only; 0 for other
    /// families.
    pub residual_dropout: f64,
    /// Phi-3's `embd_pdrop` (dropout on the embeddings), training only; 0 for other families.
    pub embedding_dropout: f64,
    /// The RoPE specification (method, base, dimensions, pair layout); with RoPE per layer
    /// type, the `full_attention` layers' (see [`LayerRope`]).
    pub rope: Rope,
    /// With RoPE per layer type, the `sliding_attention` layers' (Gemma 3: base 10,000).
    pub local_rope: Option<Rope>,
    /// Per layer, which RoPE it applies.
    pub layer_ropes: Vec<LayerRope>,
    /// The MLP gate's activation.
    pub activation: Activation,
    /// The attention logits' scale (`1/√head_dim`; Gemma: `1/√query_pre_attn_scalar`).
    pub attention_scale: f64,
    /// Embeddings multiplied by this (Gemma: `√hidden_size`, rounded to f32 as transformers does).
    pub embedding_scale: Option<f64>,
    /// Gemma's norms: weights stored as `w` and applied as `1 + w` (folded in at load, so the
    /// model's norm weights are `1 + w`, and unfolded on save); the attention and MLP outputs
    /// normalised before their residual adds (`post_attention_layernorm`,
    /// `post_feedforward_layernorm`), the MLP input by `pre_feedforward_layernorm`.
    pub gemma_norms: bool,
    /// `final_logit_softcapping`: logits `c·tanh(z/c)`.
    pub final_logit_softcapping: Option<f64>,
    /// Per layer, the sliding window `W` of its attention (`None`: full causal attention).
    /// See [`sliding_windows`] for the keys it is read from.
    pub sliding_windows: Vec<Option<usize>>,
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
        if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
            return Err(ModelError::Config {
                field: "model_type",
                problem: format!("is `{model_type}`; supported: {}", SUPPORTED_MODEL_TYPES.join(", ")),
            });
        }
        let gemma = model_type == "gemma3_text";
        let activation = activation(&raw, gemma)?;
        let hidden_size = req_size(&raw, "hidden_size", MAX_WIDTH)?;
        let num_attention_heads = req_size(&raw, "num_attention_heads", MAX_WIDTH)?;
        let num_key_value_heads = opt_usize(&raw, "num_key_value_heads")?.unwrap_or(num_attention_heads);
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            return Err(ModelError::Config {
                field: "num_key_value_heads",
                problem: format!(
                    "is {num_key_value_heads}, which must divide num_attention_heads {num_attention_heads}"
                ),
            });
        }
        let num_hidden_layers = req_size(&raw, "num_hidden_layers", MAX_LAYERS)?;
        let layer_types = layer_types(&raw, &model_type, num_hidden_layers)?;
        let (rope, local_rope, layer_ropes) = match hf::read_layer_type_ropes(value)? {
            None => (hf::read_config(value)?, None, vec![LayerRope::Main; num_hidden_layers]),
            Some(mut by_type) => {
                if let Some(other) =
                    by_type.keys().find(|t| !["full_attention", "sliding_attention"].contains(&t.as_str()))
                {
                    return Err(ModelError::Config {
                        field: "rope_parameters",
                        problem: format!(
                            "has RoPE for layer type `{other}`; this decoder has full_attention and sliding_attention layers"
                        ),
                    });
                }
                let Some(Some(main)) = by_type.remove("full_attention") else {
                    return Err(ModelError::Config {
                        field: "rope_parameters",
                        problem: "has no RoPE for full_attention layers".into(),
                    });
                };
                let local = by_type.remove("sliding_attention");
                let layers = layer_types
                    .iter()
                    .map(|t| match (t, &local) {
                        (LayerType::Full, _) => LayerRope::Main,
                        (LayerType::Sliding, Some(Some(_))) => LayerRope::Local,
                        (LayerType::Sliding, Some(None)) => LayerRope::Absent,
                        (LayerType::Sliding, None) => LayerRope::Main,
                    })
                    .collect();
                (main, local.flatten(), layers)
            }
        };
        let head_dim = rope.config().head_dim;
        let qwen = model_type == "qwen2";
        // transformers' LLaMA reads `attention_bias` and `mlp_bias`, Qwen3 `attention_bias`;
        // Qwen2 always has q/k/v biases, Mistral none.
        let llama = model_type == "llama" || model_type == "smollm2";
        let qwen3 = model_type == "qwen3";
        let phi3 = model_type == "phi3";
        let attention_bias = (llama || qwen3 || gemma) && opt_bool(&raw, "attention_bias")?.unwrap_or(false);
        let mlp_bias = llama && opt_bool(&raw, "mlp_bias")?.unwrap_or(false);
        let eos_token_ids = match raw.get("eos_token_id") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().map(|v| token(v, "eos_token_id")).collect::<Result<_, _>>()?,
            Some(v) => vec![token(v, "eos_token_id")?],
        };
        let bos_token_id = match raw.get("bos_token_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(token(v, "bos_token_id")?),
        };
        if gemma {
            for field in ["attn_logit_softcapping", "use_bidirectional_attention"] {
                if let Some(v) = raw.get(field).filter(|v| !v.is_null() && **v != Value::Bool(false)) {
                    return Err(bad(field, "is not implemented (only null / false are)", v));
                }
            }
        }
        let attention_scale = if gemma {
            1.0 / positive(&raw, "query_pre_attn_scalar")?.unwrap_or(GEMMA3_QUERY_PRE_ATTN_SCALAR).sqrt()
        } else {
            1.0 / (head_dim as f64).sqrt()
        };
        let final_logit_softcapping = match raw.get("final_logit_softcapping") {
            Some(v) if !gemma && !v.is_null() => {
                return Err(bad("final_logit_softcapping", "is read for gemma3_text only", v));
            }
            _ => positive(&raw, "final_logit_softcapping")?,
        };
        let config = LlamaConfig {
            vocab_size: req_size(&raw, "vocab_size", MAX_WIDTH)?,
            hidden_size,
            intermediate_size: req_size(&raw, "intermediate_size", MAX_WIDTH)?,
            num_hidden_layers,
            sliding_windows: sliding_windows(&raw, &model_type, &layer_types)?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: rms_norm_eps(&raw, &model_type)?,
            // Gemma3TextConfig ties by default; the others do not.
            tie_word_embeddings: opt_bool(&raw, "tie_word_embeddings")?.unwrap_or(gemma),
            qk_norm: qwen3 || gemma,
            qkv_bias: qwen || attention_bias,
            o_bias: attention_bias && !qwen,
            mlp_bias,
            fused_projections: phi3,
            attention_dropout: probability(&raw, "attention_dropout")?,
            residual_dropout: if phi3 { probability(&raw, "resid_pdrop")? } else { 0.0 },
            embedding_dropout: if phi3 { probability(&raw, "embd_pdrop")? } else { 0.0 },
            rope,
            local_rope,
            layer_ropes,
            activation,
            attention_scale,
            embedding_scale: gemma.then(|| f64::from((hidden_size as f64).sqrt() as f32)),
            gemma_norms: gemma,
            final_logit_softcapping,
            bos_token_id,
            eos_token_ids,
            model_type,
            raw,
        };
        for (field, id) in config
            .bos_token_id
            .iter()
            .map(|&t| ("bos_token_id", t))
            .chain(config.eos_token_ids.iter().map(|&t| ("eos_token_id", t)))
        {
            if id as usize >= config.vocab_size {
                return Err(ModelError::Config {
                    field,
                    problem: format!("is {id}, outside the vocabulary of {}", config.vocab_size),
                });
            }
        }
        Ok(config)
    }

    /// The dropout probabilities the config sets, by key: transformers applies them in
    /// training only.
    pub fn dropouts(&self) -> [(&'static str, f64); 3] {
        [
            ("attention_dropout", self.attention_dropout),
            ("resid_pdrop", self.residual_dropout),
            ("embd_pdrop", self.embedding_dropout),
        ]
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
            if self.fused_projections {
                linear(&mut out, format!("{p}.self_attn.qkv_proj"), h, q + 2 * kv, self.qkv_bias);
            } else {
                linear(&mut out, format!("{p}.self_attn.q_proj"), h, q, self.qkv_bias);
                linear(&mut out, format!("{p}.self_attn.k_proj"), h, kv, self.qkv_bias);
                linear(&mut out, format!("{p}.self_attn.v_proj"), h, kv, self.qkv_bias);
            }
            linear(&mut out, format!("{p}.self_attn.o_proj"), q, h, self.o_bias);
            if self.qk_norm {
                out.push((format!("{p}.self_attn.q_norm.weight"), vec![hd]));
                out.push((format!("{p}.self_attn.k_norm.weight"), vec![hd]));
            }
            if self.fused_projections {
                linear(&mut out, format!("{p}.mlp.gate_up_proj"), h, 2 * i, self.mlp_bias);
            } else {
                linear(&mut out, format!("{p}.mlp.gate_proj"), h, i, self.mlp_bias);
                linear(&mut out, format!("{p}.mlp.up_proj"), h, i, self.mlp_bias);
            }
            linear(&mut out, format!("{p}.mlp.down_proj"), i, h, self.mlp_bias);
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            if self.gemma_norms {
                out.push((format!("{p}.pre_feedforward_layernorm.weight"), vec![h]));
                out.push((format!("{p}.post_feedforward_layernorm.weight"), vec![h]));
            }
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

/// The activations of the MLP gate this decoder implements: SiLU, under both of transformers'
/// names (`ACT2FN["silu"]` and `ACT2FN["swish"]` are both `nn.SiLU`).
pub const SUPPORTED_HIDDEN_ACTS: [&str; 2] = ["silu", "swish"];

/// `hidden_act` (default `silu`, as in `LlamaConfig`), or for Gemma 3 `hidden_activation`
/// (default and only value implemented `gelu_pytorch_tanh`): anything else is an error, never
/// a silent substitute.
fn activation(raw: &Map<String, Value>, gemma: bool) -> Result<Activation, ModelError> {
    if gemma {
        return match raw.get("hidden_activation") {
            None | Some(Value::Null) => Ok(Activation::GeluTanh),
            Some(Value::String(a)) if a == "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            Some(v) => Err(bad("hidden_activation", "is not implemented (supported: gelu_pytorch_tanh)", v)),
        };
    }
    match raw.get("hidden_act") {
        None | Some(Value::Null) => Ok(Activation::Silu),
        Some(Value::String(a)) if SUPPORTED_HIDDEN_ACTS.contains(&a.as_str()) => Ok(Activation::Silu),
        Some(v) => Err(bad("hidden_act", "is not implemented (supported: silu, swish)", v)),
    }
}

/// Gemma3TextConfig's default `query_pre_attn_scalar`.
const GEMMA3_QUERY_PRE_ATTN_SCALAR: f64 = 256.0;

/// A dropout key (default 0): a probability in `[0, 1]`.
fn probability(raw: &Map<String, Value>, field: &'static str) -> Result<f64, ModelError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => match v.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(bad(field, "must be a probability in [0, 1]", v)),
        },
    }
}

/// `rms_norm_eps` (default 1e-6 as in `LlamaConfig`, `Gemma3TextConfig` and the Qwen and
/// Mistral configs; 1e-5 in `Phi3Config`): finite and positive.
fn rms_norm_eps(raw: &Map<String, Value>, model_type: &str) -> Result<f64, ModelError> {
    Ok(positive(raw, "rms_norm_eps")?.unwrap_or(if model_type == "phi3" { 1e-5 } else { 1e-6 }))
}

/// A layer's attention type, as `layer_types` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerType {
    /// `full_attention` (or the legacy `attention`).
    Full,
    /// `sliding_attention`.
    Sliding,
}

/// Per layer, its attention type: from `layer_types` when given in a family that reads it
/// (Qwen2, Qwen3, Gemma 3; one entry per layer), else for Gemma 3 from
/// `sliding_window_pattern` (default 6: layers `5, 11, …` full, the rest sliding, as
/// `Gemma3TextConfig` builds it), else all full. Which of these layers
/// then get a window is [`sliding_windows`]' business (Qwen2 ignores `sliding_attention`
/// without `use_sliding_window`).
pub fn layer_types(raw: &Map<String, Value>, model_type: &str, layers: usize) -> Result<Vec<LayerType>, ModelError> {
    // LLaMA, Mistral and Phi-3 do not read `layer_types` in transformers 5.23.
    let reads = ["qwen2", "qwen3", "gemma3_text"].contains(&model_type);
    match raw.get("layer_types").filter(|v| reads && !v.is_null()) {
        Some(types) => {
            let types = types.as_array().ok_or_else(|| bad("layer_types", "must be a list", types))?;
            if types.len() != layers {
                return Err(ModelError::Config {
                    field: "layer_types",
                    problem: format!("has {} entries for num_hidden_layers {layers}", types.len()),
                });
            }
            types
                .iter()
                .map(|t| match t.as_str() {
                    Some("full_attention" | "attention") => Ok(LayerType::Full),
                    Some("sliding_attention") => Ok(LayerType::Sliding),
                    _ => Err(bad("layer_types", "entries must be full_attention or sliding_attention", t)),
                })
                .collect()
        }
        None if model_type == "gemma3_text" => {
            let pattern = opt_usize(raw, "sliding_window_pattern")?.unwrap_or(6);
            if pattern == 0 {
                return Err(ModelError::Config {
                    field: "sliding_window_pattern",
                    problem: "must be at least 1".into(),
                });
            }
            Ok((0..layers).map(|i| if (i + 1) % pattern != 0 { LayerType::Sliding } else { LayerType::Full }).collect())
        }
        None => Ok(vec![LayerType::Full; layers]),
    }
}

/// Per layer, the sliding window of its attention, as transformers 5.23 decides it:
///
/// - Gemma 3: `sliding_window` (absent: 4096) on the sliding layers of [`layer_types`];
/// - Mistral: `sliding_window` on every layer (absent: `MistralConfig`'s 4096; `null`: none);
///   `layer_types` is not read (`MistralConfig` only warns about it);
/// - Phi-3: `sliding_window` on every layer (absent or `null`: none, `Phi3Config`'s default);
/// - Qwen2 and Qwen3: without `use_sliding_window`, no window (`Qwen2Config` drops `sliding_window`);
///   with it, `sliding_window` (absent: 4096) on the layers `layer_types` marks
///   `"sliding_attention"` (`"full_attention"`, or the legacy `"attention"`, have none), or,
///   without `layer_types`, on layers `≥ max_window_layers` (default 28); a sliding layer with
///   no window is an error (transformers raises when it builds the mask);
/// - LLaMA: none (`LlamaConfig` has no sliding window; the keys are not read).
///
/// `types` must be [`layer_types`]' result for the same config. A window that is used must be a
/// positive integer.
pub fn sliding_windows(
    raw: &Map<String, Value>,
    model_type: &str,
    types: &[LayerType],
) -> Result<Vec<Option<usize>>, ModelError> {
    let layers = types.len();
    // `window` on the sliding layers of `types`; a sliding layer without one is an error.
    let on_sliding = |window: Option<usize>, problem: &str| -> Result<Vec<Option<usize>>, ModelError> {
        types
            .iter()
            .map(|t| match t {
                LayerType::Full => Ok(None),
                LayerType::Sliding => window
                    .map(Some)
                    .ok_or_else(|| ModelError::Config { field: "sliding_window", problem: problem.into() }),
            })
            .collect()
    };
    match model_type {
        "gemma3_text" => on_sliding(
            sliding_window(raw, Some(DEFAULT_SLIDING_WINDOW))?,
            "is null, but the model has sliding_attention layers",
        ),
        "mistral" => Ok(vec![sliding_window(raw, Some(DEFAULT_SLIDING_WINDOW))?; layers]),
        "phi3" => Ok(vec![sliding_window(raw, None)?; layers]),
        "qwen2" | "qwen3" => {
            let window = if opt_bool(raw, "use_sliding_window")?.unwrap_or(false) {
                sliding_window(raw, Some(DEFAULT_SLIDING_WINDOW))?
            } else {
                None
            };
            if raw.get("layer_types").is_some_and(|v| !v.is_null()) {
                // `types` is `layer_types`, parsed and checked by [`layer_types`].
                return on_sliding(
                    window,
                    "is missing or disabled by use_sliding_window, but layer_types has sliding_attention layers",
                );
            }
            let first = opt_usize(raw, "max_window_layers")?.unwrap_or(QWEN2_MAX_WINDOW_LAYERS);
            Ok((0..layers).map(|l| window.filter(|_| l >= first)).collect())
        }
        _ => Ok(vec![None; layers]),
    }
}

/// `sliding_window` where a family uses it: absent means the family's default, `null` means
/// none, anything else must be a positive integer.
fn sliding_window(raw: &Map<String, Value>, default: Option<usize>) -> Result<Option<usize>, ModelError> {
    match raw.get("sliding_window") {
        None => Ok(default),
        Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|w| usize::try_from(w).ok()) {
            Some(w) if w >= 1 => Ok(Some(w)),
            _ => Err(bad("sliding_window", "must be a positive integer or null", v)),
        },
    }
}

/// `MistralConfig.sliding_window`'s and `Qwen2Config.sliding_window`'s default.
pub const DEFAULT_SLIDING_WINDOW: usize = 4096;

/// `Qwen2Config.max_window_layers`'s default.
const QWEN2_MAX_WINDOW_LAYERS: usize = 28;

fn bad(field: &'static str, problem: &str, v: &Value) -> ModelError {
    ModelError::Config { field, problem: format!("{problem}, got {v}") }
}

/// `raw[field]` as a non-negative integer, if present (core's typed read, [`field::opt_usize`]).
fn opt_usize(raw: &Map<String, Value>, field: &'static str) -> Result<Option<usize>, ModelError> {
    field::opt_usize(raw, field).map_err(|e| field_error(field, e))
}

/// `raw[field]` as a boolean, if present ([`field::opt_bool`]).
fn opt_bool(raw: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ModelError> {
    field::opt_bool(raw, field).map_err(|e| field_error(field, e))
}

/// A wrong type read by core's [`field`] helpers, as the model's [`ModelError::Config`] for
/// the architecture key `field`.
fn field_error(field: &'static str, e: RopeError) -> ModelError {
    match e {
        RopeError::WrongType { expected, found, .. } => {
            ModelError::Config { field, problem: format!("must be {expected}, got {found}") }
        }
        other => ModelError::Rope(other),
    }
}

/// `raw[field]`, if present: a finite number > 0.
fn positive(raw: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, ModelError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(bad(field, "must be a finite number > 0", v)),
        },
    }
}

fn token(v: &Value, field: &'static str) -> Result<u32, ModelError> {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| bad(field, "must be a token id", v))
}

/// The largest width (vocabulary, hidden, MLP, heads) a config may give (`head_dim` is bounded
/// by `rope-ext-core`): a
/// tensor dimension stays below 2³¹, as libtorch and wgpu index with `i32`, and products of
/// two widths fit in `usize`, so no size read from a file can overflow or drive an allocation
/// beyond what its tensors' bytes then have to match.
pub const MAX_WIDTH: usize = (1 << 31) - 1;

/// The most decoder layers a config may give (the largest published models have under 200).
pub const MAX_LAYERS: usize = 1 << 16;

/// A required size: an integer in `1..=max`.
fn req_size(raw: &Map<String, Value>, field: &'static str, max: usize) -> Result<usize, ModelError> {
    match opt_usize(raw, field)? {
        None => Err(ModelError::Config { field, problem: "is missing".into() }),
        Some(0) => Err(ModelError::Config { field, problem: "must be at least 1, got 0".into() }),
        Some(v) if v > max => {
            Err(ModelError::Config { field, problem: format!("is {v}, more than the {max} this loader accepts") })
        }
        Some(v) => Ok(v),
    }
}
