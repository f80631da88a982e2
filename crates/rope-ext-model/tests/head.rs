//! The output head and its loss over blocks of positions (`rope_ext_model::head`) against the
//! unblocked path (the whole `[tokens × vocab]` logit matrix through burn's `log_softmax`):
//! the same loss and gradients (1e-5 relative) and the same per-token NLLs (1e-6), untied,
//! tied and soft-capped (Gemma 3), with a head bias, for one row per block up to all rows.

use std::path::PathBuf;

use burn::module::Param;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use rope_ext_model::host::to_host;
use rope_ext_model::{AttentionImpl, BackendKind, ForwardOptions, Llama};

const N: usize = 41;

fn load(fixture: &str, autodiff: bool) -> Llama {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(fixture);
    let device = BackendKind::for_tests().device().unwrap();
    let device = if autodiff { device.autodiff() } else { device };
    Llama::load(&dir, &device).unwrap_or_else(|e| panic!("{fixture}: {e}"))
}

fn ids(vocab: usize) -> Vec<u32> {
    (0..N).map(|i| ((i * 37 + 11) % vocab) as u32).collect()
}

/// Row weights of the `N − 1` targets: a mask with holes (as the trainer's answer-only
/// samples), over the number kept.
fn row_weights() -> Vec<f32> {
    let mask: Vec<bool> = (1..N).map(|i| i % 5 != 2).collect();
    let kept = mask.iter().filter(|&&m| m).count() as f32;
    mask.into_iter().map(|m| if m { 1.0 / kept } else { 0.0 }).collect()
}

/// `Σ a·(−log p(target))` over positions `0..N−1`: the blocked head with `rows` rows per block,
/// or (`None`) the whole logit matrix through `log_softmax`.
fn loss(model: &Llama, ids: &[u32], rows: Option<usize>) -> Tensor<1> {
    let device = model.device();
    let tokens = model.tokens(&[ids.to_vec()]).unwrap();
    let hidden = model.hidden(tokens, ForwardOptions { attention: AttentionImpl::Reference, entropy: None });
    let hidden = hidden.slice([0..1, 0..N - 1, 0..model.config.hidden_size]);
    let next: Vec<i64> = ids[1..].iter().map(|&t| i64::from(t)).collect();
    let next = Tensor::<2, Int>::from_data(TensorData::new(next, [1, N - 1]), &device);
    let weights = Tensor::<2>::from_data(TensorData::new(row_weights(), [1, N - 1]), &device);
    match rows {
        Some(rows) => model.next_token_loss_in_blocks(hidden, next, weights, rows),
        None => {
            let logp = log_softmax(model.head(hidden), 2);
            -(logp.gather(2, next.unsqueeze_dim(2)) * weights.unsqueeze_dim(2)).sum()
        }
    }
}

/// The loss and the gradients of the head-side parameters and one inner projection.
fn loss_and_grads(model: &Llama, ids: &[u32], rows: Option<usize>) -> (f32, Vec<(&'static str, Vec<f32>)>) {
    let l = loss(model, ids, rows);
    let value = to_host(l.clone())[0];
    let g = l.backward();
    let w = &model.weights;
    let mut out = vec![
        ("embed_tokens", to_host(w.embed_tokens.weight.val().grad(&g).unwrap())),
        ("norm", to_host(w.norm.gamma.val().grad(&g).unwrap())),
        ("layers.1.q_proj", to_host(w.layers[1].self_attn.q_proj.weight.val().grad(&g).unwrap())),
    ];
    if let Some(head) = &w.lm_head {
        out.push(("lm_head", to_host(head.weight.val().grad(&g).unwrap())));
        if let Some(bias) = &head.bias {
            out.push(("lm_head.bias", to_host(bias.val().grad(&g).unwrap())));
        }
    }
    (value, out)
}

/// `max |a − b| / max |b|`.
fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) / scale
}

fn check_blocked_loss(what: &str, model: &Llama) {
    let ids = ids(model.config.vocab_size);
    let (expect, expect_grads) = loss_and_grads(model, &ids, None);
    for rows in [1, 7, N - 1, 1000] {
        let (got, grads) = loss_and_grads(model, &ids, Some(rows));
        let d = ((got - expect) / expect).abs();
        assert!(d <= 1e-5, "{what}, {rows} rows per block: loss {got} vs {expect} (relative {d:e})");
        for ((name, g), (_, e)) in grads.iter().zip(&expect_grads) {
            let d = rel_diff(g, e);
            assert!(d <= 1e-5, "{what}, {rows} rows per block: gradient of {name} differs by {d:e} (relative)");
        }
    }
}

#[test]
fn blocked_loss_and_gradients_equal_the_whole_logit_matrix() {
    check_blocked_loss("tiny LLaMA (untied head)", &load("tiny-llama/default", true));
    check_blocked_loss("Phi-3 (tied head)", &load("model-level/phi3_longrope", true));
    check_blocked_loss("Gemma 3 (tied, soft-capped logits)", &load("model-level/gemma3", true));
}

/// A head with a bias (no family ships one; a hand-built model may) takes it through the blocks
/// as a last row of the head against a column of ones.
#[test]
fn a_head_bias_goes_through_the_blocks() {
    let mut model = load("tiny-llama/default", true);
    let vocab = model.config.vocab_size;
    let bias: Vec<f32> = (0..vocab).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.1).collect();
    let bias = Param::from_tensor(Tensor::from_data(TensorData::new(bias, [vocab]), &model.device()));
    model.weights.lm_head.as_mut().unwrap().bias = Some(bias);
    check_blocked_loss("tiny LLaMA with a head bias", &model);
}

/// Per-token NLLs in blocks of 1, 7 and all rows agree within 1e-6, and with the log-softmax of
/// the whole logit matrix computed on the host in f64 within 1e-5.
#[test]
fn blocked_nlls_equal_the_whole_logit_matrix() {
    for fixture in ["tiny-llama/default", "model-level/gemma3"] {
        let model = load(fixture, false);
        let vocab = model.config.vocab_size;
        let ids = ids(vocab);
        let all = model.token_nlls_in_blocks(&ids, AttentionImpl::Reference, N).unwrap();
        for rows in [1, 7] {
            let got = model.token_nlls_in_blocks(&ids, AttentionImpl::Reference, rows).unwrap();
            let d = got.iter().zip(&all).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(d <= 1e-6, "{fixture}, {rows} rows per block: max |ΔNLL| = {d:e}");
        }
        assert_eq!(model.token_nlls(&ids, AttentionImpl::Reference).unwrap(), all, "{fixture}: default blocks");
        let tokens = model.tokens(std::slice::from_ref(&ids)).unwrap();
        let logits =
            to_host(model.forward(tokens, ForwardOptions { attention: AttentionImpl::Reference, entropy: None }));
        for (t, row) in logits.chunks(vocab).take(N - 1).enumerate() {
            let max = row.iter().copied().fold(f32::MIN, f32::max) as f64;
            let lse = max + row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln();
            let nll = lse - row[ids[t + 1] as usize] as f64;
            assert!((nll - all[t]).abs() <= 1e-5, "{fixture}: NLL of token {t}: {} vs {nll} (host f64)", all[t]);
        }
    }
}
