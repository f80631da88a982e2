//! The output head and the next-token loss computed over blocks of rows, so that no
//! `[tokens × vocab]` matrix ever exists: a fused linear + cross-entropy in the manner of
//! Liger-Kernel's and Apple's Cut Cross-Entropy, as a burn backend extension.
//!
//! For hidden rows `h_i` (`[N, H]`), the head weight `W` (`[H, V]`) and targets `t_i`, per block
//! of `R` rows:
//!
//! - logits `y = h W`, soft-capped `z = c·tanh(y/c)` when the model caps them (Gemma);
//! - `m_i = max_j z_ij`, `s_i = Σ_j e^(z_ij − m_i)` summed in two levels (blocks of
//!   [`SUM_BLOCK`] logits, then the block sums: a one-pass f32 sum over a 49,152-token
//!   vocabulary came out about 1e-4 relative low on SmolLM2), `lse_i = m_i + ln s_i`;
//! - `NLL_i = lse_i − z_{i,t_i}`.
//!
//! The loss is `Σ_i a_i·NLL_i` with per-row weights `a_i` (the trainer's target mask over the
//! number of targets). Its gradient, with `p_ij = e^(z_ij − lse_i)`:
//! `∂/∂z_ij = a_i (p_ij − [j = t_i])`, through the cap `∂z/∂y = 1 − (z/c)²`, then
//! `∂/∂h = (∂/∂y) Wᵀ` and `∂/∂W = hᵀ (∂/∂y)`. Under autodiff both are computed block by block
//! in the forward pass (three matrix products over the head in all, as the unfused head's
//! forward and backward) and the backward scales them by the incoming gradient. Working memory
//! is a few `[R, V]` blocks plus gradients the size of `h` and `W`, whatever the length.
//!
//! [`token_nlls`] is the forward alone, per row, for evaluation (not differentiable).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Slice, TensorMetadata, backend_extension};
use burn::tensor::{IndexingUpdateOp, Int, Shape, Tensor};

/// Logits per block of the normaliser's first-level sums.
pub const SUM_BLOCK: usize = 256;

/// Logits held at once: a block of rows is `HEAD_BLOCK_ELEMENTS / vocab` rows (16 MiB of f32).
pub const HEAD_BLOCK_ELEMENTS: usize = 1 << 22;

/// Rows per block for a vocabulary of `vocab` tokens: `HEAD_BLOCK_ELEMENTS / vocab`, at least 1.
pub fn rows_per_block(vocab: usize) -> usize {
    (HEAD_BLOCK_ELEMENTS / vocab.max(1)).max(1)
}

/// The backend operations; see the module documentation.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    LibTorch: cfg(feature = "tch"),
    Cube: cfg(feature = "wgpu"),
    Autodiff
)]
pub trait BlockedHead: Backend {
    /// `[N]` negative log-likelihoods of `targets` (`[N]`) under the head; not differentiable.
    fn head_nlls(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: IntTensor<Self>,
        softcap: Option<f64>,
        rows: usize,
    ) -> FloatTensor<Self> {
        let n = hidden.shape()[0];
        let nlls = blocks(n, rows)
            .map(|r| {
                let stats = block_stats::<Self>(&hidden, &weight, &targets, softcap, r);
                Self::float_sub(stats.lse, stats.picked)
            })
            .collect();
        Self::float_reshape(Self::float_cat(nlls, 0), Shape::new([n]))
    }

    /// `[1]`: `Σ_i a_i·NLL_i` with `row_weights` `a` (`[N]`), differentiable in `hidden` and
    /// `weight`.
    fn head_loss(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: IntTensor<Self>,
        row_weights: FloatTensor<Self>,
        softcap: Option<f64>,
        rows: usize,
    ) -> FloatTensor<Self> {
        loss_and_grads::<Self>(&hidden, &weight, &targets, &row_weights, softcap, rows, [false, false]).loss
    }
}

#[cfg(feature = "flex")]
impl BlockedHead for burn::backend::Flex {}

#[cfg(feature = "tch")]
#[allow(deprecated)]
impl BlockedHead for burn::backend::LibTorch {}

#[cfg(feature = "wgpu")]
impl BlockedHead for burn::backend::Cube {}

/// Negative log-likelihoods `[N]` of `targets` `[N]` for hidden rows `[N, H]` under the head
/// `weight` `[H, V]` (logits soft-capped at `softcap` if given), `rows` rows at a time.
///
/// # Panics
/// If the shapes disagree: a programming error of the caller.
pub fn token_nlls(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: Tensor<1, Int>,
    softcap: Option<f64>,
    rows: usize,
) -> Tensor<1> {
    check_shapes(&hidden, &weight, &targets, None);
    let out = <Dispatch as BlockedHead>::head_nlls(
        hidden.into_dispatch(),
        weight.into_dispatch(),
        targets.into_dispatch(),
        softcap,
        rows.max(1),
    );
    Tensor::from_dispatch(out)
}

/// `Σ_i row_weights_i · NLL_i` as a `[1]` tensor, differentiable in `hidden` and `weight`; the
/// arguments as in [`token_nlls`].
///
/// # Panics
/// If the shapes disagree: a programming error of the caller.
pub fn cross_entropy(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: Tensor<1, Int>,
    row_weights: Tensor<1>,
    softcap: Option<f64>,
    rows: usize,
) -> Tensor<1> {
    check_shapes(&hidden, &weight, &targets, Some(&row_weights));
    let out = <Dispatch as BlockedHead>::head_loss(
        hidden.into_dispatch(),
        weight.into_dispatch(),
        targets.into_dispatch(),
        row_weights.into_dispatch(),
        softcap,
        rows.max(1),
    );
    Tensor::from_dispatch(out)
}

fn check_shapes(hidden: &Tensor<2>, weight: &Tensor<2>, targets: &Tensor<1, Int>, row_weights: Option<&Tensor<1>>) {
    let ([n, h], [wh, _], [t]) = (hidden.dims(), weight.dims(), targets.dims());
    let a = row_weights.map_or(n, |a| a.dims()[0]);
    assert!(
        h == wh && t == n && a == n,
        "blocked head: hidden {:?}, weight {:?}, targets {:?}, row weights {a}",
        hidden.dims(),
        weight.dims(),
        targets.dims()
    );
}

/// The row ranges of `n` rows in blocks of `rows`.
fn blocks(n: usize, rows: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..n).step_by(rows).map(move |r0| r0..(r0 + rows).min(n))
}

/// One block's logits and their statistics.
struct BlockStats<B: Backend> {
    /// `[R, H]` the block's hidden rows.
    rows: FloatTensor<B>,
    /// `[R, V]` logits after the cap.
    z: FloatTensor<B>,
    /// `[R, V]` `e^(z − m)`.
    exp: FloatTensor<B>,
    /// `[R, 1]` `Σ e^(z − m)`.
    sum: FloatTensor<B>,
    /// `[R, 1]` log-sum-exp.
    lse: FloatTensor<B>,
    /// `[R, 1]` the targets' logits.
    picked: FloatTensor<B>,
    /// `[R, 1]` the targets.
    targets: IntTensor<B>,
}

/// Logits and normaliser of rows `r` (see the module documentation).
fn block_stats<B: Backend>(
    hidden: &FloatTensor<B>,
    weight: &FloatTensor<B>,
    targets: &IntTensor<B>,
    softcap: Option<f64>,
    r: std::ops::Range<usize>,
) -> BlockStats<B> {
    let (h, v) = (hidden.shape()[1], weight.shape()[1]);
    let rows = r.len();
    let hb = B::float_slice(hidden.clone(), &[Slice::from(r.clone()), Slice::from(0..h)]);
    let y = B::float_matmul(hb.clone(), weight.clone());
    let z = match softcap {
        Some(c) => B::float_mul_scalar(B::float_tanh(B::float_div_scalar(y, c.into())), c.into()),
        None => y,
    };
    let m = B::float_max_dim(z.clone(), 1);
    let exp = B::float_exp(B::float_sub(z.clone(), m.clone()));
    let n_blocks = v.div_ceil(SUM_BLOCK);
    let padded = if n_blocks * SUM_BLOCK == v {
        exp.clone()
    } else {
        // Zeros appended after exp add nothing to the sum.
        let pad = B::float_zeros(Shape::new([rows, n_blocks * SUM_BLOCK - v]), &exp.device(), exp.dtype().into());
        B::float_cat(vec![exp.clone(), pad], 1)
    };
    let block_sums = B::float_sum_dim(B::float_reshape(padded, Shape::new([rows, n_blocks, SUM_BLOCK])), 2);
    let sum = B::float_reshape(B::float_sum_dim(block_sums, 1), Shape::new([rows, 1]));
    let lse = B::float_add(m, B::float_log(sum.clone()));
    let targets = B::int_reshape(B::int_slice(targets.clone(), &[Slice::from(r)]), Shape::new([rows, 1]));
    let picked = B::float_gather(1, z.clone(), targets.clone());
    BlockStats { rows: hb, z, exp, sum, lse, picked, targets }
}

/// The loss `[1]`, and the gradients asked for by `want` (`[hidden, weight]`) at unit incoming
/// gradient.
struct LossAndGrads<B: Backend> {
    loss: FloatTensor<B>,
    hidden: Option<FloatTensor<B>>,
    weight: Option<FloatTensor<B>>,
}

fn loss_and_grads<B: Backend>(
    hidden: &FloatTensor<B>,
    weight: &FloatTensor<B>,
    targets: &IntTensor<B>,
    row_weights: &FloatTensor<B>,
    softcap: Option<f64>,
    rows: usize,
    want: [bool; 2],
) -> LossAndGrads<B> {
    let n = hidden.shape()[0];
    let (mut loss, mut d_hidden, mut d_weight) = (None, Vec::new(), None);
    for r in blocks(n, rows) {
        let s = block_stats::<B>(hidden, weight, targets, softcap, r.clone());
        let a =
            B::float_reshape(B::float_slice(row_weights.clone(), &[Slice::from(r.clone())]), Shape::new([r.len(), 1]));
        let block_loss = B::float_sum(B::float_mul(B::float_sub(s.lse, s.picked), a.clone()));
        loss = Some(match loss {
            None => block_loss,
            Some(l) => B::float_add(l, block_loss),
        });
        if want == [false, false] {
            continue;
        }
        // ∂/∂z = a (p − onehot(t)), p = e^(z − m) / Σ.
        let dz = B::float_mul(B::float_div(s.exp, s.sum), a.clone());
        let dz = B::float_scatter(1, dz, s.targets, B::float_neg(a), IndexingUpdateOp::Add);
        let dy = match softcap {
            Some(c) => {
                let t = B::float_div_scalar(s.z, c.into());
                B::float_mul(dz, B::float_neg(B::float_sub_scalar(B::float_mul(t.clone(), t), 1.0.into())))
            }
            None => dz,
        };
        if want[0] {
            d_hidden.push(B::float_matmul(dy.clone(), B::float_transpose(weight.clone())));
        }
        if want[1] {
            let g = B::float_matmul(B::float_transpose(s.rows), dy);
            d_weight = Some(match d_weight {
                None => g,
                Some(acc) => B::float_add(acc, g),
            });
        }
    }
    LossAndGrads {
        loss: loss.expect("at least one row"),
        hidden: want[0].then(|| B::float_cat(d_hidden, 0)),
        weight: d_weight,
    }
}

#[derive(Debug)]
struct HeadLossBackward;

impl<B: Backend> Backward<B, 2> for HeadLossBackward {
    /// The gradients of `hidden` and `weight` at unit incoming gradient.
    type State = (Option<FloatTensor<B>>, Option<FloatTensor<B>>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = B::float_reshape(grads.consume::<B>(&ops.node), Shape::new([1, 1]));
        let [node_hidden, node_weight] = ops.parents;
        let (d_hidden, d_weight) = ops.state;
        for (node, d) in [(node_hidden, d_hidden), (node_weight, d_weight)] {
            if let (Some(node), Some(d)) = (node, d) {
                grads.register::<B>(node.id, B::float_mul(d, grad.clone()));
            }
        }
    }
}

impl<B: BlockedHead, C: CheckpointStrategy> BlockedHead for Autodiff<B, C> {
    fn head_nlls(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: IntTensor<Self>,
        softcap: Option<f64>,
        rows: usize,
    ) -> FloatTensor<Self> {
        Self::from_inner(B::head_nlls(hidden.into_primitive(), weight.into_primitive(), targets, softcap, rows))
    }

    fn head_loss(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: IntTensor<Self>,
        row_weights: FloatTensor<Self>,
        softcap: Option<f64>,
        rows: usize,
    ) -> FloatTensor<Self> {
        let want = [hidden.is_tracked(), weight.is_tracked()];
        let (hidden, hidden_node) = hidden.into_parts();
        let (weight, weight_node) = weight.into_parts();
        let row_weights = row_weights.into_primitive();
        match HeadLossBackward.prepare::<C>([hidden_node, weight_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = loss_and_grads::<B>(&hidden, &weight, &targets, &row_weights, softcap, rows, want);
                prep.finish((out.hidden, out.weight), out.loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::head_loss(hidden, weight, targets, row_weights, softcap, rows)),
        }
    }
}
