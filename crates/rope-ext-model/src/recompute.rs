//! Causal attention whose memory stays bounded under autodiff: a burn backend extension with a
//! hand-written backward pass that recomputes the scores block by block (FlashAttention-2's
//! backward, Dao 2023, Algorithm 2), instead of keeping every block's probabilities as burn's
//! recorded graph does.
//!
//! Forward, per query block `i` and key chunk `j` (causal chunks only), with `S = s·Q_i K_jᵀ`
//! (future keys set to −∞):
//! `m ← max(m, rowmax S)`, `l ← l·e^(m_old−m) + rowsum e^(S−m)`,
//! `A ← A·e^(m_old−m) + e^(S−m) V_j`; then `O_i = A/l` and the log-sum-exp `L_i = m + ln l`.
//! Only `O` and `L` (`n` floats per head) are kept for the backward.
//!
//! Backward, with `dO` the output gradient and `D = rowsum(dO ∘ O)`, for every causal pair
//! `(i, j)`: `P = e^(S − L_i)`, `dV_j += Pᵀ dO_i`, `dP = dO_i V_jᵀ`, `dS = P ∘ (dP − D_i)`,
//! `dQ_i += s·dS K_j`, `dK_j += s·dSᵀ Q_i`. Working memory is a few `[b, h, query_block,
//! key_chunk]` blocks, whatever the sequence length.
//!
//! Without autodiff the backend runs the forward alone: on flex the same kernel as in
//! training; on libtorch the tensor-operation forward (its flash kernels serve training).
//!
//! Queries must be the last `n_q` of the `n_k` positions (`offset = n_k − n_q`), as with a
//! KV cache.
//!
//! Sliding window (Mistral, Qwen2's sliding layers): with a window `W`, the query at key
//! position `p` sees keys `j` with `p − W < j ≤ p` (transformers' `sliding_window_overlay`: the
//! window counts the query itself). The forward skips key chunks wholly older than a query
//! block's window, the backward the query blocks that have left a key chunk's window; a row can
//! then see no key of a chunk, so the running maximum is kept finite (`m ≥ −f32::MAX`), which
//! makes such a chunk add `e^(−∞) = 0`.

// burn 0.22 marks burn-tch deprecated; its backend is kept because users asked for it.
#![cfg_attr(feature = "tch", allow(deprecated))]

use std::ops::Range;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Slice, TensorData, TensorMetadata, backend_extension};
use burn::tensor::Tensor;

use crate::tiling::Tiling;

/// The backend operation: causal `softmax(s·QKᵀ)V` over `[b, h, n, d]` tensors, tiled by
/// [`Tiling`], differentiable through [`Autodiff`] with the recomputing backward above.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    LibTorch: cfg(feature = "tch"),
    Cube: cfg(feature = "wgpu"),
    Autodiff
)]
pub trait RecomputingAttention: Backend {
    /// `[b, h, n_q, d]` attention output; see the module documentation.
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> FloatTensor<Self> {
        forward::<Self>(q, k, v, scale, tiling).0
    }
}

/// The two passes of the recomputing attention on a backend: the forward that also returns
/// the row log-sum-exps the backward needs, and the backward. The backend-generic `forward`
/// and `backward` by default; on flex, kernels over host memory (the `flex_attention` module).
pub trait AttentionKernel: Backend {
    /// `(O, L)`: `[b, h, n_q, d]` output and `[b, h, n_q, 1]` log-sum-exps.
    fn forward_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        forward::<Self>(q, k, v, scale, tiling)
    }

    /// `(dQ, dK, dV)` from the saved forward and the output gradient `dO`: the backend-generic
    /// `backward` by default, one kernel over host memory on flex.
    fn recompute_grads(saved: Saved<Self>, d_out: FloatTensor<Self>) -> Grads<Self> {
        backward::<Self>(saved, d_out)
    }
}

#[cfg(feature = "flex")]
impl AttentionKernel for burn::backend::Flex {
    fn forward_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        crate::flex_attention::forward(&q, &k, &v, scale, tiling)
            .unwrap_or_else(|| forward::<Self>(q, k, v, scale, tiling))
    }

    fn recompute_grads(saved: Saved<Self>, d_out: FloatTensor<Self>) -> Grads<Self> {
        let Saved { q, k, v, out, lse, scale, tiling } = &saved;
        crate::flex_attention::backward(q, k, v, out, lse, &d_out, *scale, *tiling)
            .unwrap_or_else(|| backward::<Self>(saved, d_out))
    }
}

#[cfg(feature = "flex")]
impl RecomputingAttention for burn::backend::Flex {
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> FloatTensor<Self> {
        Self::forward_with_lse(q, k, v, scale, tiling).0
    }
}

/// On a CPU libtorch device without cached keys, libtorch's own flash-attention kernels for
/// the CPU (`_scaled_dot_product_flash_attention_for_cpu` and its backward: the algorithm above,
/// fused, what PyTorch's SDPA runs); elsewhere the backend-generic passes.
#[cfg(feature = "tch")]
impl AttentionKernel for burn::backend::LibTorch {
    fn forward_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        use burn::backend::libtorch::TchTensor;
        if !libtorch_flash(&q.tensor, tiling) {
            return forward::<Self>(q, k, v, scale, tiling);
        }
        let (out, lse) = tch::Tensor::internal_scaled_dot_product_flash_attention_for_cpu(
            &q.tensor,
            &k.tensor,
            &v.tensor,
            0.0,
            true,
            None::<tch::Tensor>,
            scale,
        );
        (TchTensor::new(out), TchTensor::new(lse.unsqueeze(-1)))
    }

    fn recompute_grads(saved: Saved<Self>, d_out: FloatTensor<Self>) -> Grads<Self> {
        use burn::backend::libtorch::TchTensor;
        if !libtorch_flash(&saved.q.tensor, saved.tiling) {
            return backward::<Self>(saved, d_out);
        }
        let Saved { q, k, v, out, lse, scale, .. } = saved;
        let (dq, dk, dv) = tch::Tensor::internal_scaled_dot_product_flash_attention_for_cpu_backward(
            &d_out.tensor.contiguous(),
            &q.tensor,
            &k.tensor,
            &v.tensor,
            &out.tensor,
            &lse.tensor.squeeze_dim(-1),
            0.0,
            true,
            None::<tch::Tensor>,
            scale,
        );
        (TchTensor::new(dq), TchTensor::new(dk), TchTensor::new(dv))
    }
}

/// Whether libtorch's CPU flash kernels apply: a CPU tensor, no cached keys (their causal
/// mask is aligned top-left, ours bottom-right; the two agree only when `n_q = n_k`) and no
/// sliding window (they have none).
#[cfg(feature = "tch")]
fn libtorch_flash(q: &tch::Tensor, tiling: Tiling) -> bool {
    tiling.offset == 0 && tiling.window.is_none() && q.device() == tch::Device::Cpu
}

#[cfg(feature = "tch")]
impl RecomputingAttention for burn::backend::LibTorch {}

#[cfg(feature = "wgpu")]
impl AttentionKernel for burn::backend::Cube {}

#[cfg(feature = "wgpu")]
impl RecomputingAttention for burn::backend::Cube {}

/// Runs [`RecomputingAttention::causal_attention`] on the tensors' backend.
///
/// # Panics
/// If `tiling.offset + n_q != n_k` (the queries are not the last positions), or the shapes of
/// `q`, `k` and `v` disagree: programming errors of the caller.
pub fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, scale: f64, tiling: Tiling) -> Tensor<4> {
    let Tiling { query_block, key_chunk, offset, window } = tiling;
    let ([b, h, nq, d], [kb, kh, nk, kd]) = (q.dims(), k.dims());
    assert!(
        [b, h, d] == [kb, kh, kd] && v.dims() == k.dims() && offset + nq == nk,
        "causal_attention: q {:?}, k {:?}, v {:?}, offset {offset}",
        q.dims(),
        k.dims(),
        v.dims()
    );
    let out = <Dispatch as RecomputingAttention>::causal_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        scale,
        Tiling {
            query_block: query_block.max(1),
            key_chunk: key_chunk.max(1),
            offset,
            window: window.map(|w| w.max(1)),
        },
    );
    Tensor::from_dispatch(out)
}

/// What the backward pass needs: the inputs, the output and the row log-sum-exps.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `[b, h, n_q, d]` queries.
    pub q: FloatTensor<B>,
    /// `[b, h, n_k, d]` keys.
    pub k: FloatTensor<B>,
    /// `[b, h, n_k, d]` values.
    pub v: FloatTensor<B>,
    /// `[b, h, n_q, d]` the forward's output.
    pub out: FloatTensor<B>,
    /// `[b, h, n_q, 1]` its row log-sum-exps.
    pub lse: FloatTensor<B>,
    /// The score scale.
    pub scale: f64,
    /// The tiling (and causal offset, window) of the forward.
    pub tiling: Tiling,
}

/// `(dQ, dK, dV)`.
pub type Grads<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

#[derive(Debug)]
struct CausalAttentionBackward;

impl<B: AttentionKernel> Backward<B, 3> for CausalAttentionBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [node_q, node_k, node_v] = ops.parents;
        let (dq, dk, dv) = B::recompute_grads(ops.state, grad);
        for (node, g) in [(node_q, dq), (node_k, dk), (node_v, dv)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: RecomputingAttention + AttentionKernel, C: CheckpointStrategy> RecomputingAttention for Autodiff<B, C> {
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        tiling: Tiling,
    ) -> FloatTensor<Self> {
        let (q, q_node) = q.into_parts();
        let (k, k_node) = k.into_parts();
        let (v, v_node) = v.into_parts();
        match CausalAttentionBackward.prepare::<C>([q_node, k_node, v_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (out, lse) = B::forward_with_lse(q.clone(), k.clone(), v.clone(), scale, tiling);
                let saved = Saved { q, k, v, out: out.clone(), lse, scale, tiling };
                prep.finish(saved, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::causal_attention(q, k, v, scale, tiling)),
        }
    }
}

/// `[b, h, n, d]` dimensions.
fn dims<B: Backend>(t: &FloatTensor<B>) -> [usize; 4] {
    let shape = t.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// Rows `range` of dimension 2.
fn rows<B: Backend>(t: &FloatTensor<B>, range: Range<usize>) -> FloatTensor<B> {
    let [b, h, _, d] = dims::<B>(t);
    B::float_slice(t.clone(), &[Slice::from(0..b), Slice::from(0..h), Slice::from(range), Slice::from(0..d)])
}

/// `[b, h, n, d]` → `[b, h, d, n]`.
fn transpose<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    B::float_swap_dims(t, 2, 3)
}

/// `s·Q_i K_jᵀ` for queries `qs` (absolute rows of `q_rows`) and keys `ks`, with keys in a
/// query's future or behind its window at −∞ (an additive `[1, 1, n_q, n_k]` mask, built only
/// where the chunk reaches past the block's first query or behind its last query's window).
fn scores<B: Backend>(
    q_rows: &FloatTensor<B>,
    k: &FloatTensor<B>,
    qs: Range<usize>,
    ks: Range<usize>,
    scale: f64,
    tiling: Tiling,
) -> FloatTensor<B> {
    let s =
        B::float_mul_scalar(B::float_matmul(q_rows.clone(), transpose::<B>(rows::<B>(k, ks.clone()))), scale.into());
    if !tiling.needs_mask(qs.clone(), ks.clone()) {
        return s;
    }
    let offset = tiling.offset;
    let (nq, nk) = (qs.len(), ks.len());
    let mut mask = vec![0.0f32; nq * nk];
    for (i, row) in mask.chunks_mut(nk).enumerate() {
        // key j is visible iff first_key(i) ≤ j ≤ offset + i
        let visible = tiling.first_key(qs.start + i)..offset + qs.start + i + 1;
        for (j, m) in row.iter_mut().enumerate() {
            if !visible.contains(&(ks.start + j)) {
                *m = f32::NEG_INFINITY;
            }
        }
    }
    // Built in f32, added in the scores' dtype (flex does not mix dtypes in one operation).
    let mask = B::float_cast(B::float_from_data(TensorData::new(mask, [1, 1, nq, nk]), &s.device()), s.dtype().into());
    B::float_add(s, mask)
}

/// Elementwise maximum of two `[b, h, n, 1]` tensors.
fn max_pair<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::float_max_dim(B::float_cat(vec![a, b], 3), 3)
}

/// The online-softmax forward: `(O, L)` with `O` `[b, h, n_q, d]` and `L = m + ln l`
/// `[b, h, n_q, 1]`.
fn forward<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    v: FloatTensor<B>,
    scale: f64,
    tiling: Tiling,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let [_, _, nq, _] = dims::<B>(&q);
    let nk = dims::<B>(&k)[2];
    let Tiling { query_block, key_chunk, offset, window } = tiling;
    let mut outs = Vec::with_capacity(nq.div_ceil(query_block));
    let mut lses = Vec::with_capacity(outs.capacity());
    for q0 in (0..nq).step_by(query_block) {
        let q1 = (q0 + query_block).min(nq);
        let qi = rows::<B>(&q, q0..q1);
        let last_key = (offset + q1).min(nk);
        let mut state: Option<(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>)> = None; // (m, l, A)
        for k0 in (tiling.first_key(q0)..last_key).step_by(key_chunk) {
            let k1 = (k0 + key_chunk).min(last_key);
            let s = scores::<B>(&qi, &k, q0..q1, k0..k1, scale, tiling);
            let chunk_max = B::float_max_dim(s.clone(), 3);
            let m_new = match &state {
                None => chunk_max,
                Some((m, _, _)) => max_pair::<B>(m.clone(), chunk_max),
            };
            // With a window a row may see no key of this chunk: keep its maximum finite.
            let m_new = if window.is_some() { B::float_clamp_min(m_new, (-f32::MAX).into()) } else { m_new };
            let p = B::float_exp(B::float_sub(s, m_new.clone()));
            let p_sum = B::float_sum_dim(p.clone(), 3);
            let pv = B::float_matmul(p, rows::<B>(&v, k0..k1));
            state = Some(match state {
                None => (m_new, p_sum, pv),
                Some((m, l, acc)) => {
                    let correction = B::float_exp(B::float_sub(m, m_new.clone()));
                    let l = B::float_add(B::float_mul(l, correction.clone()), p_sum);
                    let acc = B::float_add(B::float_mul(acc, correction), pv);
                    (m_new, l, acc)
                }
            });
        }
        let (m, l, acc) = state.expect("every query sees its own key");
        outs.push(B::float_div(acc, l.clone()));
        lses.push(B::float_add(m, B::float_log(l)));
    }
    (B::float_cat(outs, 2), B::float_cat(lses, 2))
}

/// Adds `x` to an optional running sum.
fn accumulate<B: Backend>(sum: Option<FloatTensor<B>>, x: FloatTensor<B>) -> FloatTensor<B> {
    match sum {
        None => x,
        Some(s) => B::float_add(s, x),
    }
}

/// The recomputing backward: `(dQ, dK, dV)`.
fn backward<B: Backend>(saved: Saved<B>, d_out: FloatTensor<B>) -> Grads<B> {
    let Saved { q, k, v, out, lse, scale, tiling } = saved;
    let Tiling { query_block, key_chunk, offset, .. } = tiling;
    let [_, _, nq, _] = dims::<B>(&q);
    let nk = dims::<B>(&k)[2];
    let delta = B::float_sum_dim(B::float_mul(d_out.clone(), out), 3);
    let mut dq: Vec<Option<FloatTensor<B>>> = vec![None; nq.div_ceil(query_block)];
    let (mut dks, mut dvs) = (Vec::new(), Vec::new());
    for k0 in (0..nk).step_by(key_chunk) {
        let k1 = (k0 + key_chunk).min(nk);
        let (kj, vj) = (rows::<B>(&k, k0..k1), rows::<B>(&v, k0..k1));
        let (mut dk, mut dv) = (None, None);
        // Query i sees key k0 once offset + i ≥ k0, and key k1 − 1 until it leaves the window.
        let first_block = k0.saturating_sub(offset) / query_block;
        let q_end = tiling.query_end(k1 - 1, nq);
        for (bi, q0) in (0..q_end).step_by(query_block).enumerate().skip(first_block) {
            let q1 = (q0 + query_block).min(nq);
            let qi = rows::<B>(&q, q0..q1);
            let d_oi = rows::<B>(&d_out, q0..q1);
            let s = scores::<B>(&qi, &k, q0..q1, k0..k1, scale, tiling);
            let p = B::float_exp(B::float_sub(s, rows::<B>(&lse, q0..q1)));
            dv = Some(accumulate::<B>(dv, B::float_matmul(transpose::<B>(p.clone()), d_oi.clone())));
            let dp = B::float_matmul(d_oi, transpose::<B>(vj.clone()));
            let ds = B::float_mul_scalar(B::float_mul(p, B::float_sub(dp, rows::<B>(&delta, q0..q1))), scale.into());
            dq[bi] = Some(accumulate::<B>(dq[bi].take(), B::float_matmul(ds.clone(), kj.clone())));
            dk = Some(accumulate::<B>(dk, B::float_matmul(transpose::<B>(ds), qi)));
        }
        // Without a window the last query sees every key; with one, cached keys older than
        // every query's window get no gradient.
        let zeros = || B::float_zeros(kj.shape(), &kj.device(), kj.dtype().into());
        dks.push(dk.unwrap_or_else(zeros));
        dvs.push(dv.unwrap_or_else(zeros));
    }
    let dq = dq.into_iter().map(|g| g.expect("every query sees its own key")).collect();
    (B::float_cat(dq, 2), B::float_cat(dks, 2), B::float_cat(dvs, 2))
}
