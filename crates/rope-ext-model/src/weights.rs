//! Loading HF model directories and saving them back.
//!
//! A directory holds `config.json` and either `model.safetensors` or a sharded
//! `model.safetensors.index.json` with its shards. Tensors are converted from F32, F16 or BF16
//! to f32. Every tensor the config implies must be present with the right shape; any other
//! tensor is an error (a checkpoint of another model), except rotary caches
//! (`*.rotary_emb.inv_freq`), which older checkpoints store and which RoPE recomputes, and a
//! tied model's `lm_head.weight` equal to its embedding. Linear weights are stored `[out, in]`
//! in the file and `[in, out]` in burn.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};
use rope_ext_core::hf::{HfForm, LayerTypeRopes, merge_config, merge_layer_type_config};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

use crate::config::{LayerRope, LlamaConfig};
use crate::error::ModelError;
use crate::host::{HostTensor, to_host};
use crate::model::{Attention, DecoderLayer, Llama, LlamaWeights, Mlp, param};

/// transformers' default `initializer_range`.
pub const DEFAULT_INITIALIZER_RANGE: f64 = 0.02;

/// Every tensor of a checkpoint, by HF name.
struct Checkpoint {
    tensors: BTreeMap<String, HostTensor>,
}

impl Checkpoint {
    /// Reads `model.safetensors`, or the shards `model.safetensors.index.json` names. A shard
    /// must be named by a plain file name (no directory part, so the index cannot point
    /// outside `dir`), must be a regular file (after symlinks, which the HF cache layout
    /// uses; a device or FIFO could be endless), and must hold exactly the tensors the index
    /// maps to it, so no tensor is read twice.
    fn read(dir: &Path) -> Result<Self, ModelError> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        // Per file, the tensors the index maps to it (`None`: a single file, whatever it holds).
        let files: Vec<(PathBuf, Option<BTreeSet<&str>>)>;
        let index_value: Value;
        if single.exists() {
            files = vec![(single, None)];
        } else if index.exists() {
            let text = read(&index)?;
            index_value =
                serde_json::from_str(&text).map_err(|source| ModelError::Json { path: index.clone(), source })?;
            let map = index_value.get("weight_map").and_then(Value::as_object).ok_or_else(|| {
                ModelError::Safetensors { path: index.clone(), message: "no `weight_map` object".into() }
            })?;
            let mut shards: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (tensor, file) in map {
                let plain = file.as_str().filter(|f| {
                    let mut parts = Path::new(f).components();
                    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None))
                });
                let Some(file) = plain else {
                    return Err(ModelError::Safetensors {
                        path: index,
                        message: format!(
                            "`weight_map` maps `{tensor}` to {file}, not a file name in the model directory"
                        ),
                    });
                };
                shards.entry(file).or_default().insert(tensor.as_str());
            }
            files = shards.into_iter().map(|(f, names)| (dir.join(f), Some(names))).collect();
        } else {
            return Err(ModelError::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "neither model.safetensors nor model.safetensors.index.json",
                ),
            });
        };
        let mut tensors = BTreeMap::new();
        for (path, expected) in files {
            let bytes = read_regular_file(&path)?;
            let st = SafeTensors::deserialize(&bytes)
                .map_err(|e| ModelError::Safetensors { path: path.clone(), message: e.to_string() })?;
            if let Some(expected) = expected {
                let found: BTreeSet<&str> = st.names().into_iter().collect();
                if let Some(name) = found.symmetric_difference(&expected).next() {
                    let problem = if found.contains(name) { "holds" } else { "lacks" };
                    return Err(ModelError::Safetensors {
                        path: path.clone(),
                        message: format!("{problem} `{name}`, against model.safetensors.index.json's weight_map"),
                    });
                }
            }
            for (name, view) in st.tensors() {
                let data = to_f32(&name, view.dtype(), view.data())?;
                tensors.insert(name, HostTensor { shape: view.shape().to_vec(), data });
            }
        }
        Ok(Checkpoint { tensors })
    }

    /// Splits Phi-3's fused projections of every layer into the parts the model computes
    /// with: `qkv_proj` into `q_proj`, `k_proj`, `v_proj` and `gate_up_proj` into `gate_proj`,
    /// `up_proj` (consecutive row blocks of the `[out, in]` weight, and of the bias if any).
    fn unfuse(&mut self, c: &LlamaConfig) -> Result<(), ModelError> {
        let (h, hd, i) = (c.hidden_size, c.head_dim, c.intermediate_size);
        let (q, kv) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
        for l in 0..c.num_hidden_layers {
            let a = format!("model.layers.{l}.self_attn");
            self.split_rows(&format!("{a}.qkv_proj"), &[("q_proj", q), ("k_proj", kv), ("v_proj", kv)], h, c.qkv_bias)?;
            let m = format!("model.layers.{l}.mlp");
            self.split_rows(&format!("{m}.gate_up_proj"), &[("gate_proj", i), ("up_proj", i)], h, c.mlp_bias)?;
        }
        Ok(())
    }

    /// Splits the linear layer `fused` (`[Σ rows, d_in]`) into `parts` (sibling names, rows).
    fn split_rows(&mut self, fused: &str, parts: &[(&str, usize)], d_in: usize, bias: bool) -> Result<(), ModelError> {
        let rows: usize = parts.iter().map(|p| p.1).sum();
        let parent = &fused[..fused.rfind('.').map_or(0, |d| d + 1)];
        for (suffix, width) in [("weight", d_in)].into_iter().chain(bias.then_some(("bias", 1))) {
            let shape = if suffix == "weight" { vec![rows, d_in] } else { vec![rows] };
            let t = self.take(&format!("{fused}.{suffix}"), &shape)?;
            let mut start = 0;
            for &(part, r) in parts {
                let name = format!("{parent}{part}.{suffix}");
                if self.tensors.contains_key(&name) {
                    return Err(ModelError::UnexpectedTensor { name: format!("{name} (beside the fused {fused})") });
                }
                let shape = if suffix == "weight" { vec![r, d_in] } else { vec![r] };
                let data = t.data[start * width..(start + r) * width].to_vec();
                self.tensors.insert(name, HostTensor { shape, data });
                start += r;
            }
        }
        Ok(())
    }

    fn take(&mut self, name: &str, expected: &[usize]) -> Result<HostTensor, ModelError> {
        let t = self.tensors.remove(name).ok_or_else(|| ModelError::MissingTensor { name: name.into() })?;
        if t.shape != expected {
            return Err(ModelError::TensorShape { name: name.into(), found: t.shape, expected: expected.to_vec() });
        }
        Ok(t)
    }
}

/// The bytes of a regular file (not a device, FIFO or directory, which could be endless).
fn read_regular_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    let meta = std::fs::metadata(path).map_err(|source| ModelError::Io { path: path.into(), source })?;
    if !meta.is_file() {
        return Err(ModelError::Safetensors { path: path.into(), message: "is not a regular file".into() });
    }
    std::fs::read(path).map_err(|source| ModelError::Io { path: path.into(), source })
}

fn read(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io { path: path.into(), source })
}

fn to_f32(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, ModelError> {
    let words = |n: usize| bytes.chunks_exact(n);
    Ok(match dtype {
        Dtype::F32 => words(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => words(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::BF16 => words(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        other => {
            return Err(ModelError::TensorDtype { name: name.into(), dtype: format!("{other:?}") });
        }
    })
}

fn upload<const D: usize>(t: HostTensor, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(t.data, shape), device)
}

/// `[out, in]` in the file → burn `Linear` with weight `[in, out]`, transposed on the host so
/// the weight is contiguous: a transposed view made every flex matmul copy it first.
fn linear(
    ck: &mut Checkpoint,
    name: &str,
    d_in: usize,
    d_out: usize,
    bias: bool,
    device: &Device,
) -> Result<Linear, ModelError> {
    let w = ck.take(&format!("{name}.weight"), &[d_out, d_in])?;
    let mut transposed = vec![0.0f32; w.data.len()];
    for (o, row) in w.data.chunks_exact(d_in.max(1)).enumerate() {
        for (i, &x) in row.iter().enumerate() {
            transposed[i * d_out + o] = x;
        }
    }
    let weight = upload(HostTensor { shape: vec![d_in, d_out], data: transposed }, [d_in, d_out], device);
    let bias = if bias {
        let b = ck.take(&format!("{name}.bias"), &[d_out])?;
        Some(param(upload(b, [d_out], device)))
    } else {
        None
    };
    Ok(Linear { weight: param(weight), bias })
}

/// An RMSNorm; with `unit_offset` (Gemma), the stored `w` is applied as `1 + w`, folded in here.
fn rms_norm(
    ck: &mut Checkpoint,
    name: &str,
    d: usize,
    eps: f64,
    unit_offset: bool,
    device: &Device,
) -> Result<RmsNorm, ModelError> {
    let mut g = ck.take(&format!("{name}.weight"), &[d])?;
    if unit_offset {
        g.data.iter_mut().for_each(|w| *w += 1.0);
    }
    Ok(RmsNorm { gamma: param(upload(g, [d], device)), epsilon: eps })
}

/// `Llama`'s weights in and out of files and initialisers; what it computes is in
/// [`crate::model`] (the crate's rule for its two `impl Llama` blocks).
impl Llama {
    /// Loads an HF model directory (`config.json` + safetensors), or a llama.cpp `.gguf` file
    /// (dequantised; see [`crate::gguf`]), onto `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ModelError> {
        if crate::gguf::is_gguf(path) {
            let file = crate::gguf::Gguf::read(path)?;
            let config = file.config(path)?;
            let tensors = file.hf_tensors(&config)?;
            drop(file);
            return Self::assemble(config, Checkpoint { tensors }, device);
        }
        let config = LlamaConfig::from_file(&path.join("config.json"))?;
        Self::load_with_config(config, path, device)
    }

    /// Loads the safetensors of an HF model directory with `config` instead of its
    /// `config.json` (another form of the same config, or an edited one); the tensors must be
    /// exactly those `config` implies.
    pub fn load_with_config(config: LlamaConfig, dir: &Path, device: &Device) -> Result<Self, ModelError> {
        Self::assemble(config, Checkpoint::read(dir)?, device)
    }

    /// A freshly initialised model as transformers' `LlamaPreTrainedModel._init_weights` makes
    /// one: linear and embedding weights `~ N(0, initializer_range²)` (the config's
    /// `initializer_range`, default 0.02), biases 0, norm weights 1; drawn on the host from
    /// `seed`, so the same seed gives the same weights on every backend.
    pub fn init(config: LlamaConfig, seed: u64, device: &Device) -> Result<Self, ModelError> {
        use rand::SeedableRng;
        use rand_distr::Distribution;
        let std = match config.raw.get("initializer_range") {
            None => DEFAULT_INITIALIZER_RANGE,
            Some(v) => v.as_f64().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| ModelError::Config {
                field: "initializer_range",
                problem: format!("must be a finite number >= 0, got {v}"),
            })?,
        };
        let normal = rand_distr::Normal::new(0.0f32, std as f32)
            .map_err(|e| ModelError::Config { field: "initializer_range", problem: format!("{std}: {e}") })?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut tensors = BTreeMap::new();
        for (name, shape) in config.tensor_shapes() {
            let n = shape.iter().product();
            let data = if name.ends_with("norm.weight") {
                // Gemma stores norm weights as offsets from 1.
                vec![if config.gemma_norms { 0.0 } else { 1.0 }; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                (0..n).map(|_| normal.sample(&mut rng)).collect()
            };
            tensors.insert(name, HostTensor { shape, data });
        }
        Self::assemble(config, Checkpoint { tensors }, device)
    }

    /// The model built from `config` and the tensors of `ck`, which must be exactly those the
    /// config implies.
    fn assemble(config: LlamaConfig, mut ck: Checkpoint, device: &Device) -> Result<Self, ModelError> {
        let c = &config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        if c.fused_projections {
            ck.unfuse(c)?;
        }
        let g = c.gemma_norms;
        let emb = ck.take("model.embed_tokens.weight", &[c.vocab_size, h])?;
        let tied_copy = emb.data.clone();
        let embed_tokens = Embedding { weight: param(upload(emb, [c.vocab_size, h], device)) };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let self_attn = Attention {
                q_proj: linear(
                    &mut ck,
                    &format!("{p}.self_attn.q_proj"),
                    h,
                    c.num_attention_heads * hd,
                    c.qkv_bias,
                    device,
                )?,
                k_proj: linear(
                    &mut ck,
                    &format!("{p}.self_attn.k_proj"),
                    h,
                    c.num_key_value_heads * hd,
                    c.qkv_bias,
                    device,
                )?,
                v_proj: linear(
                    &mut ck,
                    &format!("{p}.self_attn.v_proj"),
                    h,
                    c.num_key_value_heads * hd,
                    c.qkv_bias,
                    device,
                )?,
                o_proj: linear(
                    &mut ck,
                    &format!("{p}.self_attn.o_proj"),
                    c.num_attention_heads * hd,
                    h,
                    c.o_bias,
                    device,
                )?,
                q_norm: c
                    .qk_norm
                    .then(|| rms_norm(&mut ck, &format!("{p}.self_attn.q_norm"), hd, c.rms_norm_eps, g, device))
                    .transpose()?,
                k_norm: c
                    .qk_norm
                    .then(|| rms_norm(&mut ck, &format!("{p}.self_attn.k_norm"), hd, c.rms_norm_eps, g, device))
                    .transpose()?,
            };
            let mlp = Mlp {
                gate_proj: linear(&mut ck, &format!("{p}.mlp.gate_proj"), h, c.intermediate_size, c.mlp_bias, device)?,
                up_proj: linear(&mut ck, &format!("{p}.mlp.up_proj"), h, c.intermediate_size, c.mlp_bias, device)?,
                down_proj: linear(&mut ck, &format!("{p}.mlp.down_proj"), c.intermediate_size, h, c.mlp_bias, device)?,
            };
            let mut norm = |suffix: &str| rms_norm(&mut ck, &format!("{p}.{suffix}"), h, c.rms_norm_eps, g, device);
            let (pre_mlp, attn_out, mlp_out) = layer_norm_names(g);
            layers.push(DecoderLayer {
                self_attn,
                mlp,
                input_layernorm: norm("input_layernorm")?,
                post_attention_layernorm: norm(pre_mlp)?,
                attn_output_norm: attn_out.map(&mut norm).transpose()?,
                mlp_output_norm: mlp_out.map(&mut norm).transpose()?,
            });
        }
        let norm = rms_norm(&mut ck, "model.norm", h, c.rms_norm_eps, g, device)?;
        let lm_head = if c.tie_word_embeddings {
            if let Some(head) = ck.tensors.remove("lm_head.weight")
                && head.data != tied_copy
            {
                return Err(ModelError::UnexpectedTensor {
                    name: "lm_head.weight (differs from the tied embedding)".into(),
                });
            }
            None
        } else {
            Some(linear(&mut ck, "lm_head", h, c.vocab_size, false, device)?)
        };
        ck.tensors.retain(|name, _| !name.ends_with("rotary_emb.inv_freq"));
        if let Some(name) = ck.tensors.keys().next() {
            return Err(ModelError::UnexpectedTensor { name: name.clone() });
        }
        Ok(Llama { config, weights: LlamaWeights { embed_tokens, layers, norm, lm_head } })
    }

    /// Every weight by HF name, `[out, in]` for linears, as f32 host tensors, in the
    /// family's layout (Phi-3's projections fused).
    pub fn named_tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        let host = |t: Tensor<2>| -> (Vec<usize>, Vec<f32>) { (t.dims().to_vec(), to_host(t)) };
        // One linear layer, or the parts of a fused one stacked by rows.
        let lin = |name: String, parts: &[&Linear], out: &mut Vec<_>| {
            let (mut rows, mut cols, mut weight, mut bias) = (0, 0, Vec::new(), Vec::new());
            for l in parts {
                let (shape, data) = host(l.weight.val().transpose());
                (rows, cols) = (rows + shape[0], shape[1]);
                weight.extend(data);
                if let Some(b) = &l.bias {
                    bias.extend(to_host(b.val()));
                }
            }
            out.push((format!("{name}.weight"), vec![rows, cols], weight));
            if !bias.is_empty() {
                out.push((format!("{name}.bias"), vec![rows], bias));
            }
        };
        let fused = self.config.fused_projections;
        let w = &self.weights;
        let (shape, data) = host(w.embed_tokens.weight.val());
        out.push(("model.embed_tokens.weight".into(), shape, data));
        let offset = self.config.gemma_norms;
        let norm = |name: String, n: &RmsNorm, out: &mut Vec<_>| {
            let g = n.gamma.val();
            let mut w = to_host(g.clone());
            if offset {
                w.iter_mut().for_each(|x| *x -= 1.0);
            }
            out.push((format!("{name}.weight"), g.dims().to_vec(), w));
        };
        for (i, l) in w.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            let a = &l.self_attn;
            if fused {
                lin(format!("{p}.self_attn.qkv_proj"), &[&a.q_proj, &a.k_proj, &a.v_proj], &mut out);
            } else {
                lin(format!("{p}.self_attn.q_proj"), &[&a.q_proj], &mut out);
                lin(format!("{p}.self_attn.k_proj"), &[&a.k_proj], &mut out);
                lin(format!("{p}.self_attn.v_proj"), &[&a.v_proj], &mut out);
            }
            lin(format!("{p}.self_attn.o_proj"), &[&a.o_proj], &mut out);
            for (name, n) in [("q_norm", &l.self_attn.q_norm), ("k_norm", &l.self_attn.k_norm)] {
                if let Some(n) = n {
                    norm(format!("{p}.self_attn.{name}"), n, &mut out);
                }
            }
            if fused {
                lin(format!("{p}.mlp.gate_up_proj"), &[&l.mlp.gate_proj, &l.mlp.up_proj], &mut out);
            } else {
                lin(format!("{p}.mlp.gate_proj"), &[&l.mlp.gate_proj], &mut out);
                lin(format!("{p}.mlp.up_proj"), &[&l.mlp.up_proj], &mut out);
            }
            lin(format!("{p}.mlp.down_proj"), &[&l.mlp.down_proj], &mut out);
            let (pre_mlp, attn_out, mlp_out) = layer_norm_names(offset);
            norm(format!("{p}.input_layernorm"), &l.input_layernorm, &mut out);
            norm(format!("{p}.{pre_mlp}"), &l.post_attention_layernorm, &mut out);
            for (name, n) in [(attn_out, &l.attn_output_norm), (mlp_out, &l.mlp_output_norm)] {
                if let (Some(name), Some(n)) = (name, n) {
                    norm(format!("{p}.{name}"), n, &mut out);
                }
            }
        }
        norm("model.norm".into(), &w.norm, &mut out);
        if let Some(head) = &w.lm_head {
            lin("lm_head".into(), &[head], &mut out);
        }
        out
    }

    /// Saves an HF model directory: `model.safetensors` (f32) and `config.json` (the config as
    /// read, with the RoPE keys rewritten from `config.rope` in the v5 form). Each file is
    /// written to a temporary name, synced and renamed, so an interrupted save never leaves a
    /// half-written file under the real name.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io { path: dir.into(), source })?;
        write_tensors(&dir.join("model.safetensors"), &self.named_tensors())?;
        let mut cfg = self.config.raw.clone();
        let c = &self.config;
        let per_type = rope_ext_core::hf::PER_LAYER_TYPE_FAMILIES.iter().any(|f| f.0 == c.model_type);
        if !per_type && c.layer_ropes.iter().all(|&r| r == LayerRope::Main) {
            merge_config(&mut cfg, &c.rope, HfForm::V5);
        } else {
            // RoPE per layer type: `full_attention` is the main RoPE; `sliding_attention` the
            // local one, or `null` where those layers have none.
            let mut by_type = LayerTypeRopes::new();
            by_type.insert("full_attention".into(), Some(c.rope.clone()));
            if c.local_rope.is_some() || c.layer_ropes.contains(&LayerRope::Absent) {
                by_type.insert("sliding_attention".into(), c.local_rope.clone());
            }
            merge_layer_type_config(&mut cfg, &by_type)?;
        }
        let text = serde_json::to_string_pretty(&Value::Object(cfg)).expect("a JSON map serialises") + "\n";
        atomic_write(&dir.join("config.json"), text.as_bytes())
    }
}

/// The checkpoint names of a layer's pre-MLP norm and, for Gemma, its attention-output and
/// MLP-output norms (Gemma's `post_attention_layernorm` is the attention-output norm, its
/// `pre_feedforward_layernorm` LLaMA's `post_attention_layernorm`).
fn layer_norm_names(gemma: bool) -> (&'static str, Option<&'static str>, Option<&'static str>) {
    if gemma {
        ("pre_feedforward_layernorm", Some("post_attention_layernorm"), Some("post_feedforward_layernorm"))
    } else {
        ("post_attention_layernorm", None, None)
    }
}

/// Writes f32 tensors `(name, shape, values)` to a safetensors file, atomically.
pub fn write_tensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Result<(), ModelError> {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, d)| d.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let bad = |e: safetensors::SafeTensorError| ModelError::Safetensors { path: path.into(), message: e.to_string() };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| {
            Ok((n.clone(), safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b).map_err(bad)?))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    atomic_write(path, &safetensors::serialize(views, Some(meta)).map_err(bad)?)
}

/// [`crate::files::atomic_write`] with its error as a [`ModelError::Io`] naming `path`.
fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    crate::files::atomic_write(path, bytes).map_err(|source| ModelError::Io { path: path.into(), source })
}

impl LlamaConfig {
    /// The config of the model at `path` ([`Llama::load`]'s argument): a directory's
    /// `config.json`, or a `.gguf` file's metadata.
    pub fn for_model(path: &Path) -> Result<Self, ModelError> {
        if crate::gguf::is_gguf(path) {
            crate::gguf::Gguf::read(path)?.config(path)
        } else {
            Self::from_file(&path.join("config.json"))
        }
    }
}
