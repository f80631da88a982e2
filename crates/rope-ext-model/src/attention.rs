//! Causal scaled dot-product attention, two ways:
//!
//! - [`AttentionImpl::Reference`]: `softmax(QKᵀ·s + mask)·V` with the `[b, h, n_q, n_k]` matrix
//!   materialised, the plain path the tests compare against;
//! - [`AttentionImpl::Chunked`]: queries in blocks, keys in chunks, online softmax (running
//!   max `m`, normaliser `l`, accumulator), so no more than `[b, h, q_block, k_chunk]` scores
//!   exist at once; key chunks entirely in a query block's future are skipped. Without an
//!   entropy hook it runs as the backend operation of [`crate::recompute`], whose backward pass
//!   recomputes the scores, so training memory stays bounded too; with a hook it runs as the
//!   tensor-level loop below, which also carries the entropy sums.
//!
//! Both can report each query row's attention entropy through an [`EntropyHook`], computed from
//! the same running quantities as `rope_ext_entropy::StreamingEntropy` (`H = ln l − w/l` with
//! `w = Σ e^(s−m)(s−m)`, rescaled when `m` grows), so the chunked path still never builds the
//! full matrix. The hook is off by default and costs nothing when off.
//!
//! Every path honours a sliding window (`AttentionCall::window`, see [`crate::recompute`] for
//! the rule); the fused kernel has none, so a call whose window masks a key runs chunked.

use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor};
use rope_ext_entropy::EntropyCollector;

use crate::recompute::causal_attention;
use crate::tiling::Tiling;

/// Which attention implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionImpl {
    /// The backend's fused causal attention (`burn::tensor::module::attention` with
    /// `is_causal`; flex tiles it with an online softmax for long inputs). It cannot report
    /// entropies, has no sliding window, and backends disagree on causal masks with cached
    /// keys: with an [`EntropyHook`], a window that masks a key, or a KV cache the chunked path
    /// runs instead. Under autodiff burn's
    /// kernel falls back to the materialised form on every backend, so on an autodiff device
    /// the chunked path (with its recomputing backward) runs instead too.
    Fused,
    /// Materialised scores (tests, short inputs).
    Reference,
    /// Online softmax over query blocks and key chunks; under autodiff its backward pass
    /// recomputes the scores block by block ([`crate::recompute`]), so neither inference nor
    /// training holds an `[n, n]` matrix. (With an [`EntropyHook`] under autodiff, the
    /// tensor-level loop that feeds the hook keeps every block for burn's backward.)
    Chunked {
        /// Queries per block.
        query_block: usize,
        /// Keys per chunk.
        key_chunk: usize,
    },
}

impl AttentionImpl {
    /// The chunked path with the default block sizes.
    pub const CHUNKED: AttentionImpl = AttentionImpl::Chunked { query_block: 256, key_chunk: 512 };

    /// The faster path on `backend`, as measured on the 30M benchmark model at 2,048 tokens:
    /// chunked on flex (623 tokens/s vs 508 fused), fused on libtorch (1,810 vs 1,579, SDPA's
    /// flash kernel) and wgpu.
    pub fn for_backend(backend: crate::BackendKind) -> Self {
        match backend {
            crate::BackendKind::Cpu => AttentionImpl::CHUNKED,
            crate::BackendKind::Tch | crate::BackendKind::TchCuda(_) | crate::BackendKind::Wgpu => AttentionImpl::Fused,
        }
    }
}

impl std::str::FromStr for AttentionImpl {
    type Err = String;

    /// `fused`, `reference`, `chunked` (the default blocks) or `chunked:Q:K`.
    fn from_str(v: &str) -> Result<Self, Self::Err> {
        let block = |s: &str| s.parse().map_err(|_| format!("`{s}` is not a block size"));
        match v.split(':').collect::<Vec<_>>().as_slice() {
            ["fused"] => Ok(AttentionImpl::Fused),
            ["reference"] => Ok(AttentionImpl::Reference),
            ["chunked"] => Ok(AttentionImpl::CHUNKED),
            ["chunked", q, k] => Ok(AttentionImpl::Chunked { query_block: block(q)?, key_chunk: block(k)? }),
            _ => Err(format!("`{v}` is none of fused, reference, chunked[:Q:K]")),
        }
    }
}

impl Default for AttentionImpl {
    /// [`AttentionImpl::CHUNKED`]: on flex it measured faster than burn's fused kernel (623 vs
    /// 508 tokens/s for a 2,048-token forward of the 30M benchmark model).
    fn default() -> Self {
        AttentionImpl::CHUNKED
    }
}

/// Collects per-row attention entropies of every layer during a forward pass.
#[derive(Debug, Default)]
pub struct EntropyHook {
    /// The statistics so far.
    pub collector: EntropyCollector,
}

/// The inputs of one attention call.
pub(crate) struct AttentionCall<'a> {
    /// `[b, h, n_q, d]`, RoPE and logit scale applied.
    pub q: Tensor<4>,
    /// `[b, h, n_k, d]` (kv heads already repeated).
    pub k: Tensor<4>,
    /// `[b, h, n_k, d]`.
    pub v: Tensor<4>,
    /// Position of query 0 among the keys (`n_k − n_q` with a cache).
    pub offset: usize,
    /// `1/√d` (times any softmax multiplier).
    pub scale: f64,
    /// Sliding window `W` (keys `j` with `p − W < j ≤ p` visible to the query at key position
    /// `p`); `None` when it masks nothing in this call.
    pub window: Option<usize>,
    /// Layer index, for the hook.
    pub layer: usize,
    /// The hook, when collecting.
    pub hook: Option<&'a mut EntropyHook>,
}

/// `true` where key `j` is hidden from query `i`, for queries `q0..q0+nq` and keys
/// `k0..k0+nk` (positions among the keys): in its future (`j > i`) or, with a window `W`,
/// behind it (`i − j ≥ W`).
fn causal_mask(q0: usize, nq: usize, k0: usize, nk: usize, window: Option<usize>, device: &Device) -> Tensor<4, Bool> {
    let shift = q0 as i64 - k0 as i64;
    // tril_mask marks elements above the `shift`-th diagonal: exactly j - i > shift.
    let future = Tensor::<2, Bool>::tril_mask([nq, nk], shift, device);
    let mask = match window {
        // triu_mask marks elements below the `shift − W + 1`-th diagonal: j - i ≤ shift − W.
        Some(w) => future.bool_or(Tensor::<2, Bool>::triu_mask([nq, nk], shift - w as i64 + 1, device)),
        None => future,
    };
    mask.unsqueeze::<4>()
}

/// Runs attention; returns `[b, h, n_q, d]`.
pub(crate) fn attend(call: AttentionCall<'_>, imp: AttentionImpl) -> Tensor<4> {
    match imp {
        // Backends disagree on the causal alignment when n_q < n_k (flex: bottom-right;
        // libtorch's SDPA: top-left), and burn-tch 0.22 gave wrong results with an explicit
        // mask too (cached decoding diverged from a full recompute); so the fused kernel runs
        // only without cached keys and without the entropy hook.
        // Under autodiff burn's kernel falls back to the materialised matrix on every backend
        // (libtorch: 207 tokens/s and 5.0 GB for forward + backward at 2,048 tokens of the
        // 30M benchmark model, against 630 tokens/s and 1.7 GB for the recomputing path).
        AttentionImpl::Fused
            if call.hook.is_none() && call.offset == 0 && call.window.is_none() && !call.q.device().is_autodiff() =>
        {
            fused(call)
        }
        AttentionImpl::Fused => attend(call, AttentionImpl::CHUNKED),
        AttentionImpl::Reference => reference(call),
        AttentionImpl::Chunked { query_block, key_chunk } if call.hook.is_none() => {
            let tiling = Tiling { query_block, key_chunk, offset: call.offset, window: call.window };
            causal_attention(call.q, call.k, call.v, call.scale, tiling)
        }
        AttentionImpl::Chunked { query_block, key_chunk } => chunked(call, query_block.max(1), key_chunk.max(1)),
    }
}

fn fused(call: AttentionCall<'_>) -> Tensor<4> {
    debug_assert_eq!(call.offset, 0, "fused attention runs only without cached keys");
    let options = AttentionModuleOptions { scale: Some(call.scale), softcap: None, is_causal: true };
    burn::tensor::module::attention(call.q, call.k, call.v, None, None, options)
}

fn reference(call: AttentionCall<'_>) -> Tensor<4> {
    let [_, _, nq, _] = call.q.dims();
    let [_, _, nk, _] = call.k.dims();
    let device = call.q.device();
    let mask = causal_mask(call.offset, nq, 0, nk, call.window, &device);
    let scores = call.q.matmul(call.k.swap_dims(2, 3)) * call.scale;
    let scores = scores.mask_fill(mask.clone(), f32::NEG_INFINITY);
    if let Some(hook) = call.hook {
        let m = scores.clone().max_dim(3);
        let shifted = scores.clone() - m;
        let p = shifted.clone().exp();
        let l = p.clone().sum_dim(3);
        let w = (p * shifted.mask_fill(mask, 0.0)).sum_dim(3);
        record(hook, call.layer, call.offset, l, w);
    }
    burn::tensor::activation::softmax(scores, 3).matmul(call.v)
}

fn chunked(call: AttentionCall<'_>, query_block: usize, key_chunk: usize) -> Tensor<4> {
    let [b, h, nq, d] = call.q.dims();
    let [_, _, nk, _] = call.k.dims();
    let device = call.q.device();
    let mut outputs = Vec::with_capacity(nq.div_ceil(query_block));
    let mut hook = call.hook;
    let tiling = Tiling { query_block, key_chunk, offset: call.offset, window: call.window };
    for q0 in (0..nq).step_by(query_block) {
        let q1 = (q0 + query_block).min(nq);
        let q = call.q.clone().slice([0..b, 0..h, q0..q1, 0..d]);
        let last_key = (call.offset + q1).min(nk); // keys first_key..last_key are visible to some query
        let mut m: Option<Tensor<4>> = None;
        let (mut l, mut acc, mut w) = (None::<Tensor<4>>, None::<Tensor<4>>, None::<Tensor<4>>);
        for k0 in (tiling.first_key(q0)..last_key).step_by(key_chunk) {
            let k1 = (k0 + key_chunk).min(last_key);
            let k = call.k.clone().slice([0..b, 0..h, k0..k1, 0..d]);
            let v = call.v.clone().slice([0..b, 0..h, k0..k1, 0..d]);
            let mut s = q.clone().matmul(k.swap_dims(2, 3)) * call.scale;
            let mask = tiling
                .needs_mask(q0..q1, k0..k1)
                .then(|| causal_mask(call.offset + q0, q1 - q0, k0, k1 - k0, call.window, &device));
            if let Some(mask) = &mask {
                s = s.mask_fill(mask.clone(), f32::NEG_INFINITY);
            }
            let chunk_max = s.clone().max_dim(3);
            let m_new = match &m {
                None => chunk_max,
                Some(m) => m.clone().max_pair(chunk_max),
            };
            // With a window a row may see no key of this chunk: keep its maximum finite.
            let m_new = if call.window.is_some() { m_new.clamp_min(-f32::MAX) } else { m_new };
            let shifted = s - m_new.clone();
            let p = shifted.clone().exp();
            let p_sum = p.clone().sum_dim(3);
            let pv = p.clone().matmul(v);
            let chunk_w = hook.is_some().then(|| {
                let safe = match &mask {
                    Some(mask) => shifted.mask_fill(mask.clone(), 0.0),
                    None => shifted,
                };
                (p * safe).sum_dim(3)
            });
            match (m.take(), l.take(), acc.take()) {
                (Some(m_old), Some(l_old), Some(acc_old)) => {
                    let delta = m_old - m_new.clone();
                    let corr = delta.clone().exp();
                    if let (Some(w_old), Some(cw)) = (w.take(), chunk_w) {
                        w = Some(corr.clone() * (w_old + delta * l_old.clone()) + cw);
                    }
                    l = Some(l_old * corr.clone() + p_sum);
                    acc = Some(acc_old * corr + pv);
                }
                _ => {
                    w = chunk_w;
                    l = Some(p_sum);
                    acc = Some(pv);
                }
            }
            m = Some(m_new);
        }
        let (l, acc) = (l.expect("every query sees its own key"), acc.expect("every query sees its own key"));
        if let (Some(hook), Some(w)) = (hook.as_deref_mut(), w) {
            record(hook, call.layer, call.offset + q0, l.clone(), w);
        }
        outputs.push(acc / l);
    }
    Tensor::cat(outputs, 2)
}

/// Records `H = ln l − w/l` for every row of a `[b, h, n, 1]` block starting at `position0`.
fn record(hook: &mut EntropyHook, layer: usize, position0: usize, l: Tensor<4>, w: Tensor<4>) {
    let [b, h, n, _] = l.dims();
    let entropy = l.clone().log() - w / l;
    let values = crate::host::to_host(entropy);
    for bi in 0..b {
        for hi in 0..h {
            for i in 0..n {
                let v = values[(bi * h + hi) * n + i];
                hook.collector.record(layer, hi, position0 + i, f64::from(v).max(0.0));
            }
        }
    }
}
