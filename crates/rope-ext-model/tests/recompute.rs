//! The recomputing attention op against a materialised `softmax(s·QKᵀ + causal mask)·V` built
//! from plain tensor operations: outputs and the gradients of q, k and v, with and without
//! cached keys (`n_q < n_k`), for tilings that split rows and keys unevenly and for one that
//! covers everything in a single block, and with sliding windows (one key, a few keys, and
//! windows wider than the input; with cached keys some keys then fall behind every query's
//! window and must get zero gradients).

use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Distribution, Tensor};
use rope_ext_model::BackendKind;
use rope_ext_model::host::to_host;
use rope_ext_model::recompute::causal_attention;
use rope_ext_model::tiling::Tiling;

/// Query `i` (key position `offset + i`) sees keys `j` with `offset + i − W < j ≤ offset + i`,
/// the mask written out element by element.
fn reference(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, scale: f64, offset: usize, window: Option<usize>) -> Tensor<4> {
    let [_, _, nq, _] = q.dims();
    let [_, _, nk, _] = k.dims();
    let hidden: Vec<bool> = (0..nq * nk)
        .map(|ij| {
            let (p, j) = (offset + ij / nk, ij % nk);
            j > p || window.is_some_and(|w| p - j >= w)
        })
        .collect();
    let mask =
        Tensor::<2, Bool>::from_data(burn::tensor::TensorData::new(hidden, [nq, nk]), &q.device()).unsqueeze::<4>();
    let scores = (q.matmul(k.swap_dims(2, 3)) * scale).mask_fill(mask, f32::NEG_INFINITY);
    softmax(scores, 3).matmul(v)
}

fn close(a: Tensor<4>, b: Tensor<4>, what: &str) {
    let (a, b) = (to_host(a), to_host(b));
    // Relative to the largest value, with an absolute floor for tensors that are zero in exact
    // arithmetic (dQ and dK with a one-key window: each row attends to itself alone), where both
    // sides carry only rounding (a few 1e-6 for these inputs).
    let scale = b.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if scale < 1e-3 { 0.5 } else { scale };
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(diff <= 2e-5 * scale, "{what}: max difference {diff:e} (scale {scale:e})");
}

fn inputs(device: &Device, nq: usize, nk: usize) -> [Tensor<4>; 3] {
    let d = 8;
    let q = Tensor::random([2, 3, nq, d], Distribution::Normal(0.0, 1.5), device);
    let k = Tensor::random([2, 3, nk, d], Distribution::Normal(0.0, 1.5), device);
    let v = Tensor::random([2, 3, nk, d], Distribution::Normal(0.0, 1.0), device);
    [q, k, v]
}

#[test]
fn output_and_gradients_equal_the_materialised_attention() {
    let device = BackendKind::for_tests().device().unwrap().autodiff();
    device.seed(20261202);
    let scale = 0.35;
    for (nq, nk) in [(37, 37), (13, 37)] {
        let offset = nk - nq;
        let windowed = |query_block, key_chunk, window| Tiling { query_block, key_chunk, offset, window: Some(window) };
        for tiling in [
            Tiling { query_block: 5, key_chunk: 7, offset, window: None },
            Tiling { query_block: 1, key_chunk: 3, offset, window: None },
            Tiling { query_block: 64, key_chunk: 64, offset, window: None },
            windowed(5, 7, 1),
            windowed(5, 7, 4),
            windowed(4, 3, 11),
            windowed(64, 64, 9),
            windowed(5, 7, 100),
        ] {
            let what = format!("n_q {nq}, n_k {nk}, {tiling:?}");
            let [q, k, v] = inputs(&device, nq, nk);
            let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
            // A weight on the output makes every output element matter differently.
            let weight = Tensor::<4>::random([2, 3, nq, 8], Distribution::Normal(0.0, 1.0), &device);
            let ours = causal_attention(q.clone(), k.clone(), v.clone(), scale, tiling);
            let theirs = reference(q.clone(), k.clone(), v.clone(), scale, offset, tiling.window);
            close(ours.clone(), theirs.clone(), &format!("output, {what}"));
            let g_ours = (ours * weight.clone()).sum().backward();
            let g_theirs = (theirs * weight).sum().backward();
            for (name, t) in [("q", &q), ("k", &k), ("v", &v)] {
                let a = t.grad(&g_ours).unwrap();
                let b = t.grad(&g_theirs).unwrap();
                close(a, b, &format!("d{name}, {what}"));
            }
        }
    }
}

/// The backend-generic passes (tensor operations), with windows and cached keys: in f64 on
/// flex, whose kernels take only f32 (the other backends run the generic passes on f32 in the
/// test above; lavapipe's f64 is not usable).
#[test]
fn the_generic_passes_equal_the_materialised_attention() {
    let backend = BackendKind::for_tests();
    let device = backend.device().unwrap().autodiff();
    let dtype = if backend == BackendKind::Cpu { burn::tensor::DType::F64 } else { burn::tensor::DType::F32 };
    device.seed(7);
    for (nq, nk, window) in [(23, 23, None), (23, 23, Some(4)), (9, 23, Some(6))] {
        let offset = nk - nq;
        let tiling = Tiling { query_block: 4, key_chunk: 5, offset, window };
        let [q, k, v] = inputs(&device, nq, nk).map(|t| t.cast(dtype).require_grad());
        let ours = causal_attention(q.clone(), k.clone(), v.clone(), 0.4, tiling);
        let theirs = reference(q.clone(), k.clone(), v.clone(), 0.4, offset, window);
        let what = format!("{dtype:?}, {tiling:?}");
        close(ours.clone().cast(burn::tensor::DType::F32), theirs.clone().cast(burn::tensor::DType::F32), &what);
        let (g_ours, g_theirs) = (ours.sum().backward(), theirs.sum().backward());
        for (name, t) in [("q", &q), ("k", &k), ("v", &v)] {
            let (a, b) = (t.grad(&g_ours).unwrap(), t.grad(&g_theirs).unwrap());
            close(a.cast(burn::tensor::DType::F32), b.cast(burn::tensor::DType::F32), &format!("d{name}, {what}"));
        }
    }
}

#[test]
fn without_autodiff_the_backend_runs_the_same_forward() {
    let device = BackendKind::for_tests().device().unwrap();
    device.seed(11);
    let [q, k, v] = inputs(&device, 29, 29);
    for window in [None, Some(1), Some(5)] {
        let tiling = Tiling { query_block: 4, key_chunk: 6, offset: 0, window };
        let ours = causal_attention(q.clone(), k.clone(), v.clone(), 0.5, tiling);
        close(
            ours,
            reference(q.clone(), k.clone(), v.clone(), 0.5, 0, window),
            &format!("inference output, {window:?}"),
        );
    }
}
