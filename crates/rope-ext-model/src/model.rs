//! The LLaMA-family decoder: token embedding, `L` × (RMSNorm → grouped-query attention with the
//! scaled rotary encoding → residual, RMSNorm → SwiGLU → residual), final RMSNorm, output head
//! (tied or untied). Qwen3 normalises each query and key head (RMSNorm over `head_dim`) before
//! the rotary encoding. Layers with a sliding window (Mistral, Qwen2's upper layers) mask keys
//! `W` or more positions behind each query; the KV cache keeps every key and masks the same way.
//! Gemma 3 adds: embeddings times `√hidden`, q/k norms, a RoPE per layer type (a local base on
//! sliding layers), logits scaled by `1/√query_pre_attn_scalar`, norms on the attention and MLP
//! outputs before each residual add, a GELU-tanh gate, and optionally soft-capped final logits.

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rope_ext_core::RopeFrequencies;

use crate::attention::{AttentionCall, AttentionImpl, EntropyHook, attend};
use crate::config::{Activation, LayerRope, LlamaConfig};
use crate::error::ModelError;
use crate::head;
use crate::host::to_host;
use crate::rotary::{self, Positions, RotaryTables};

/// One decoder layer's attention.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection.
    pub o_proj: Linear,
    /// Per-head query RMSNorm before RoPE (Qwen3, Gemma 3), if any.
    pub q_norm: Option<RmsNorm>,
    /// Per-head key RMSNorm before RoPE (Qwen3, Gemma 3), if any.
    pub k_norm: Option<RmsNorm>,
}

/// One decoder layer's gated MLP: `down(act(gate(x)) ⊙ up(x))`, `act` SiLU (SwiGLU) or, for
/// Gemma 3, GELU-tanh.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
}

/// One decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Attention.
    pub self_attn: Attention,
    /// MLP.
    pub mlp: Mlp,
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Norm before the MLP (LLaMA's `post_attention_layernorm`, Gemma's
    /// `pre_feedforward_layernorm`).
    pub post_attention_layernorm: RmsNorm,
    /// Norm of the attention output before its residual add (Gemma's
    /// `post_attention_layernorm`), if any.
    pub attn_output_norm: Option<RmsNorm>,
    /// Norm of the MLP output before its residual add (Gemma's `post_feedforward_layernorm`),
    /// if any.
    pub mlp_output_norm: Option<RmsNorm>,
}

/// The weights of a LLaMA-family model.
#[derive(Module, Debug)]
pub struct LlamaWeights {
    /// Token embedding `[vocab, hidden]`.
    pub embed_tokens: Embedding,
    /// The decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final norm.
    pub norm: RmsNorm,
    /// Output head; `None` when tied to the embedding.
    pub lm_head: Option<Linear>,
}

/// Per-layer key/value cache: keys after RoPE, `[b, kv_heads, n, head_dim]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub(crate) layers: Vec<(Tensor<4>, Tensor<4>)>,
}

impl KvCache {
    /// Cached positions.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |(k, _)| k.dims()[2])
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Options of one forward call.
#[derive(Debug, Default)]
pub struct ForwardOptions<'a> {
    /// Attention implementation.
    pub attention: AttentionImpl,
    /// Entropy statistics, when collecting.
    pub entropy: Option<&'a mut EntropyHook>,
}

/// A LLaMA-family model: config and weights.
#[derive(Debug)]
pub struct Llama {
    /// The architecture and RoPE settings.
    pub config: LlamaConfig,
    /// The weights.
    pub weights: LlamaWeights,
}

/// What `Llama` computes; loading, saving and initialising its weights are in
/// [`crate::weights`] (the crate's rule for its two `impl Llama` blocks).
impl Llama {
    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.weights.norm.gamma.val().device()
    }

    /// A copy for inference: the same weights on the device without autodiff, so evaluation
    /// in the middle of training records no graph.
    pub fn valid(&self) -> Llama {
        use burn::module::Module;
        Llama { config: self.config.clone(), weights: self.weights.valid() }
    }

    /// Token ids `[b][n]` as an Int tensor, checked against the vocabulary.
    pub fn tokens(&self, ids: &[Vec<u32>]) -> Result<Tensor<2, Int>, ModelError> {
        let n = ids.first().map_or(0, Vec::len);
        if n == 0 || ids.iter().any(|r| r.len() != n) {
            return Err(ModelError::Input("token batches must be non-empty and of equal length"));
        }
        let mut flat = Vec::with_capacity(ids.len() * n);
        for (i, &id) in ids.iter().flatten().enumerate() {
            if id as usize >= self.config.vocab_size {
                return Err(ModelError::TokenOutOfRange {
                    id: i64::from(id),
                    index: i,
                    vocab_size: self.config.vocab_size,
                });
            }
            flat.push(i64::from(id));
        }
        Ok(Tensor::from_data(TensorData::new(flat, [ids.len(), n]), &self.device()))
    }

    /// Logits `[b, n, vocab]` for tokens at `positions` with frequencies `freqs`, extending
    /// `cache` if given (its length must equal the first position for [`Positions::Range`]):
    /// [`Llama::head`] of [`Llama::hidden_with`]. This holds `[b, n, vocab]` floats; to score
    /// long sequences use [`Llama::token_nlls`] or [`Llama::next_token_loss`], which never do.
    pub fn forward_with(
        &self,
        tokens: Tensor<2, Int>,
        positions: &Positions,
        freqs: &RopeFrequencies,
        cache: Option<&mut KvCache>,
        options: ForwardOptions<'_>,
    ) -> Tensor<3> {
        self.head(self.hidden_with(tokens, positions, freqs, cache, options))
    }

    /// The final hidden states `[b, n, hidden]` (after the last norm) for tokens at `positions`
    /// with frequencies `freqs`, extending `cache` as [`Llama::forward_with`] does.
    pub fn hidden_with(
        &self,
        tokens: Tensor<2, Int>,
        positions: &Positions,
        freqs: &RopeFrequencies,
        mut cache: Option<&mut KvCache>,
        options: ForwardOptions<'_>,
    ) -> Tensor<3> {
        let c = &self.config;
        let [b, n] = tokens.dims();
        let device = tokens.device();
        let rope = &c.rope;
        let tables = RotaryTables::new(rope, freqs, positions, n, &device);
        // The sliding layers' own RoPE (Gemma 3's local base), at the current length.
        let local = c.local_rope.as_ref().filter(|_| c.layer_ropes.contains(&LayerRope::Local)).map(|local| {
            let f = local.frequencies(Some(positions.seq_len(n)));
            (local, RotaryTables::new(local, &f, positions, n, &device))
        });
        let logit_scales = self.logit_scales(positions, n, &device);
        let mut hook = options.entropy;
        let mut x = self.weights.embed_tokens.forward(tokens);
        if let Some(scale) = c.embedding_scale {
            x = x * scale;
        }
        for (li, layer) in self.weights.layers.iter().enumerate() {
            let h = layer.input_layernorm.forward(x.clone());
            let a = &layer.self_attn;
            let q = a.q_proj.forward(h.clone()).reshape([b, n, c.num_attention_heads, c.head_dim]).swap_dims(1, 2);
            let k = a.k_proj.forward(h.clone()).reshape([b, n, c.num_key_value_heads, c.head_dim]).swap_dims(1, 2);
            let v = a.v_proj.forward(h).reshape([b, n, c.num_key_value_heads, c.head_dim]).swap_dims(1, 2);
            let (q, k) = (norm_heads(&a.q_norm, q), norm_heads(&a.k_norm, k));
            let (mut q, mut k) = match (c.layer_ropes[li], &local) {
                (LayerRope::Absent, _) => (q, k),
                (LayerRope::Local, Some((r, t))) => {
                    (rotary::apply(q, t, r.rotary_dim(), r.layout()), rotary::apply(k, t, r.rotary_dim(), r.layout()))
                }
                _ => (
                    rotary::apply(q, &tables, rope.rotary_dim(), rope.layout()),
                    rotary::apply(k, &tables, rope.rotary_dim(), rope.layout()),
                ),
            };
            let mut v = v;
            if let Some(scales) = logit_scales.as_ref().and_then(|s| s.get(li).cloned().flatten()) {
                q = q * scales;
            }
            if let Some(cache) = cache.as_deref_mut() {
                if let Some((ck, cv)) = cache.layers.get(li) {
                    k = Tensor::cat(vec![ck.clone(), k], 2);
                    v = Tensor::cat(vec![cv.clone(), v], 2);
                }
                if cache.layers.len() > li {
                    cache.layers[li] = (k.clone(), v.clone());
                } else {
                    cache.layers.push((k.clone(), v.clone()));
                }
            }
            let [_, _, nk, _] = k.dims();
            // A window of at least n_k keys masks nothing.
            let window = c.sliding_windows[li].filter(|&w| w < nk);
            let call = AttentionCall {
                q,
                k: repeat_kv(k, c.group_size()),
                v: repeat_kv(v, c.group_size()),
                offset: nk - n,
                scale: c.attention_scale,
                window,
                layer: li,
                hook: hook.as_deref_mut(),
            };
            let o = attend(call, options.attention).swap_dims(1, 2).reshape([b, n, c.num_attention_heads * c.head_dim]);
            let x1 = x + norm_output(&layer.attn_output_norm, a.o_proj.forward(o));
            let h2 = layer.post_attention_layernorm.forward(x1.clone());
            let m = &layer.mlp;
            let gate = m.gate_proj.forward(h2.clone());
            let gate = match c.activation {
                Activation::Silu => silu(gate),
                Activation::GeluTanh => gelu_tanh(gate),
            };
            let mlp = m.down_proj.forward(gate * m.up_proj.forward(h2));
            x = x1 + norm_output(&layer.mlp_output_norm, mlp);
        }
        self.weights.norm.forward(x)
    }

    /// Logits `[b, n, vocab]` of final hidden states `[b, n, hidden]`: the output head (tied or
    /// not), soft-capped `c·tanh(y/c)` when the model caps them.
    pub fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        let [b, n, h] = hidden.dims();
        let (x, w) = self.head_operands(hidden.reshape([b * n, h]));
        let logits = x.matmul(w).reshape([b, n, self.config.vocab_size]);
        match self.config.final_logit_softcapping {
            Some(cap) => (logits / cap).tanh() * cap,
            None => logits,
        }
    }

    /// Rows `[N, hidden]` and the head as one matrix `x W`: `W` `[hidden, vocab]` is the head's
    /// weight or the tied embedding's transpose; a head bias `b` becomes a last row of `W`
    /// against a column of ones in `x`.
    fn head_operands(&self, rows: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        match &self.weights.lm_head {
            Some(Linear { weight, bias: Some(bias) }) => {
                let ones = Tensor::ones([rows.dims()[0], 1], &rows.device());
                (Tensor::cat(vec![rows, ones], 1), Tensor::cat(vec![weight.val(), bias.val().unsqueeze()], 0))
            }
            Some(head) => (rows, head.weight.val()),
            None => (rows, self.weights.embed_tokens.weight.val().transpose()),
        }
    }

    /// `Σ row_weights · (−log p(target))` over hidden states `[b, n, hidden]` against `targets`
    /// `[b, n]`, as a `[1]` tensor differentiable in the hidden states and the head: the
    /// output head and its cross-entropy in blocks of rows ([`crate::head`]), never holding
    /// `[b·n, vocab]` logits. With `row_weights` `1/(b·n)` everywhere it is the mean causal
    /// language-modelling loss.
    ///
    /// # Panics
    /// If the shapes disagree: a programming error of the caller.
    pub fn next_token_loss(&self, hidden: Tensor<3>, targets: Tensor<2, Int>, row_weights: Tensor<2>) -> Tensor<1> {
        self.next_token_loss_in_blocks(hidden, targets, row_weights, head::rows_per_block(self.config.vocab_size))
    }

    /// [`Llama::next_token_loss`] with the head run `rows` positions at a time.
    ///
    /// # Panics
    /// If the shapes disagree: a programming error of the caller.
    pub fn next_token_loss_in_blocks(
        &self,
        hidden: Tensor<3>,
        targets: Tensor<2, Int>,
        row_weights: Tensor<2>,
        rows: usize,
    ) -> Tensor<1> {
        let [b, n, h] = hidden.dims();
        let (x, w) = self.head_operands(hidden.reshape([b * n, h]));
        let softcap = self.config.final_logit_softcapping;
        head::cross_entropy(x, w, targets.reshape([b * n]), row_weights.reshape([b * n]), softcap, rows)
    }

    /// Final hidden states `[b, n, hidden]` for a fresh sequence at positions `0..n`, with the
    /// frequencies a freshly loaded transformers model would use at that length.
    pub fn hidden(&self, tokens: Tensor<2, Int>, options: ForwardOptions<'_>) -> Tensor<3> {
        let [_, n] = tokens.dims();
        let freqs = self.config.rope.frequencies(Some(n));
        self.hidden_with(tokens, &Positions::Range { start: 0 }, &freqs, None, options)
    }

    /// Logits `[b, n, vocab]` for a fresh sequence at positions `0..n`, with the frequencies a
    /// freshly loaded transformers model would use at that length.
    pub fn forward(&self, tokens: Tensor<2, Int>, options: ForwardOptions<'_>) -> Tensor<3> {
        self.head(self.hidden(tokens, options))
    }

    /// Per-token negative log-likelihoods (nats) of `ids[1..]` given their prefixes, one
    /// forward pass over the whole sequence; the head and its log-softmax run over blocks of
    /// positions ([`crate::head`]), so memory beyond the weights grows as `tokens × hidden`.
    pub fn token_nlls(&self, ids: &[u32], attention: AttentionImpl) -> Result<Vec<f64>, ModelError> {
        self.token_nlls_in_blocks(ids, attention, head::rows_per_block(self.config.vocab_size))
    }

    /// [`Llama::token_nlls`] with the head run `rows` positions at a time.
    pub fn token_nlls_in_blocks(
        &self,
        ids: &[u32],
        attention: AttentionImpl,
        rows: usize,
    ) -> Result<Vec<f64>, ModelError> {
        if ids.len() < 2 {
            return Err(ModelError::Input("need at least two tokens to score"));
        }
        let n = ids.len();
        let hidden = self.hidden(self.tokens(&[ids.to_vec()])?, ForwardOptions { attention, entropy: None });
        let h = self.config.hidden_size;
        let hidden = hidden.slice([0..1, 0..n - 1, 0..h]);
        let (x, w) = self.head_operands(hidden.reshape([n - 1, h]));
        let targets: Vec<i64> = ids[1..].iter().map(|&t| i64::from(t)).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [n - 1]), &self.device());
        let nlls = head::token_nlls(x, w, targets, self.config.final_logit_softcapping, rows);
        Ok(to_host(nlls).into_iter().map(f64::from).collect())
    }

    /// Entropy-aware ABF's per-layer logit multipliers as `[1, 1, n, 1]` tensors (`None` per
    /// layer where all are 1), or `None` for other methods.
    fn logit_scales(&self, positions: &Positions, n: usize, device: &Device) -> Option<Vec<Option<Tensor<4>>>> {
        let rope = &self.config.rope;
        if !matches!(rope.scaling(), rope_ext_core::RopeScaling::EntropyAwareAbf(_)) {
            return None;
        }
        let start = match positions {
            Positions::Range { start } => *start,
            Positions::PerSample(_) => 0,
        };
        Some(
            (0..self.config.num_hidden_layers)
                .map(|layer| {
                    let s: Vec<f32> = (start..start + n).map(|p| rope.logit_scale(layer, p as u64) as f32).collect();
                    s.iter().any(|&v| v != 1.0).then(|| Tensor::from_data(TensorData::new(s, [1, 1, n, 1]), device))
                })
                .collect(),
        )
    }
}

/// `x` (`[b, heads, n, head_dim]`) through the per-head norm, if the model has one.
fn norm_heads(norm: &Option<RmsNorm>, x: Tensor<4>) -> Tensor<4> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}

/// GELU with the tanh approximation (PyTorch's `gelu(approximate="tanh")`):
/// `½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, with `x³` as products (a power of a negative
/// base is undefined in WGSL's `pow`).
fn gelu_tanh(x: Tensor<3>) -> Tensor<3> {
    const SQRT_2_OVER_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube * 0.044715) * SQRT_2_OVER_PI;
    x * (inner.tanh() + 1.0) * 0.5
}

/// `x` (`[b, n, hidden]`) through an output norm, if the layer has one.
fn norm_output(norm: &Option<RmsNorm>, x: Tensor<3>) -> Tensor<3> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}

/// `[b, kv, n, d]` → `[b, kv·g, n, d]`, head `kv·g + r` taking kv head `kv` (HF `repeat_kv`).
fn repeat_kv(x: Tensor<4>, g: usize) -> Tensor<4> {
    if g == 1 {
        return x;
    }
    let [b, kv, n, d] = x.dims();
    x.unsqueeze_dim::<5>(2).repeat_dim(2, g).reshape([b, kv * g, n, d])
}

/// Wraps a tensor as a parameter.
pub(crate) fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(t)
}
