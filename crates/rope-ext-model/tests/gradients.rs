//! Training depends on the backward pass, which the logit parity tests never touch: the
//! gradients of a next-token loss must agree between the attention implementations and with
//! central finite differences.

use std::path::PathBuf;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use rope_ext_model::host::to_host;
use rope_ext_model::{AttentionImpl, BackendKind, ForwardOptions, Llama};

fn model() -> Llama {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama/default");
    let device = BackendKind::for_tests().device().unwrap().autodiff();
    Llama::load(&dir, &device).unwrap()
}

fn ids(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 37 + 11) % vocab) as u32).collect()
}

/// Mean next-token negative log-likelihood of `ids`.
fn loss(model: &Llama, ids: &[u32], attention: AttentionImpl) -> Tensor<1> {
    let n = ids.len();
    let vocab = model.config.vocab_size;
    let tokens = model.tokens(&[ids.to_vec()]).unwrap();
    let logits = model.forward(tokens, ForwardOptions { attention, entropy: None });
    let logp = log_softmax(logits.slice([0..1, 0..n - 1, 0..vocab]), 2);
    let next: Vec<i64> = ids[1..].iter().map(|&t| i64::from(t)).collect();
    let next = Tensor::<3, Int>::from_data(TensorData::new(next, [1, n - 1, 1]), &model.device());
    -logp.gather(2, next).mean()
}

/// The gradients of the query projection of layer 1 and of the embedding.
fn grads(model: &Llama, ids: &[u32], attention: AttentionImpl) -> (Vec<f32>, Vec<f32>) {
    let g = loss(model, ids, attention).backward();
    let q = model.weights.layers[1].self_attn.q_proj.weight.val().grad(&g).unwrap();
    let e = model.weights.embed_tokens.weight.val().grad(&g).unwrap();
    (to_host(q), to_host(e))
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) / scale
}

#[test]
fn attention_implementations_give_the_same_gradients() {
    let model = model();
    let ids = ids(40, model.config.vocab_size);
    let (q_ref, e_ref) = grads(&model, &ids, AttentionImpl::Reference);
    for (imp, name) in [
        (AttentionImpl::Fused, "fused"),
        (AttentionImpl::Chunked { query_block: 7, key_chunk: 5 }, "chunked 7/5"),
        (AttentionImpl::CHUNKED, "chunked default"),
    ] {
        let (q, e) = grads(&model, &ids, imp);
        assert!(max_rel_diff(&q, &q_ref) < 1e-4, "{name}: q_proj gradient differs by {}", max_rel_diff(&q, &q_ref));
        assert!(max_rel_diff(&e, &e_ref) < 1e-4, "{name}: embedding gradient differs by {}", max_rel_diff(&e, &e_ref));
    }
}

#[test]
fn gradients_match_finite_differences() {
    let model = model();
    let ids = ids(24, model.config.vocab_size);
    let imp = AttentionImpl::CHUNKED;
    let (q_grad, _) = grads(&model, &ids, imp);
    let weight = model.weights.layers[1].self_attn.q_proj.weight.val();
    let dims = weight.dims();
    let values = to_host(weight.clone());
    // The largest gradient entries, where f32 finite differences are meaningful.
    let mut order: Vec<usize> = (0..q_grad.len()).collect();
    order.sort_by(|&a, &b| q_grad[b].abs().total_cmp(&q_grad[a].abs()));
    let eps = 1e-2f32;
    for &i in &order[..4] {
        let at = |delta: f32| {
            let mut v = values.clone();
            v[i] += delta;
            let mut m = model.valid();
            m.weights.layers[1].self_attn.q_proj.weight =
                burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(v, dims), &m.device()));
            f64::from(to_host(loss(&m, &ids, imp))[0])
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
        let g = f64::from(q_grad[i]);
        assert!((fd - g).abs() <= 0.02 * g.abs() + 1e-4, "entry {i}: autodiff {g:e}, finite difference {fd:e}");
    }
}
