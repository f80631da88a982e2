//! The entropy hook: off by default; on, the chunked attention (which never builds the score
//! matrix) reports the same per-row entropies as the materialised reference path, and both equal
//! `rope_ext_entropy` applied to the attention logits computed on the host.

use std::path::PathBuf;

use rope_ext_model::{AttentionImpl, BackendKind, EntropyHook, ForwardOptions, Llama};

fn model(variant: &str) -> Llama {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama").join(variant);
    Llama::load(&dir, &BackendKind::for_tests().device().unwrap()).unwrap()
}

fn collect(m: &Llama, ids: &[u32], attention: AttentionImpl) -> rope_ext_entropy::EntropyReport {
    let mut hook = EntropyHook::default();
    m.forward(m.tokens(&[ids.to_vec()]).unwrap(), ForwardOptions { attention, entropy: Some(&mut hook) });
    hook.collector.report()
}

#[test]
fn chunked_and_reference_report_the_same_entropies() {
    let m = model("yarn");
    let ids: Vec<u32> = (0..300u32).map(|i| 3 + (i * 31) % 90).collect();
    let a = collect(&m, &ids, AttentionImpl::Reference);
    let b = collect(&m, &ids, AttentionImpl::Chunked { query_block: 64, key_chunk: 40 });
    assert_eq!(a.layers.len(), 2);
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        assert_eq!(la.heads.len(), 4);
        assert_eq!(la.positions.len(), 300);
        assert_eq!(la.overall.count, 4 * 300);
        for (pa, pb) in la.positions.iter().zip(&lb.positions) {
            assert!((pa.mean - pb.mean).abs() < 1e-4, "{} vs {}", pa.mean, pb.mean);
        }
        // position 0 attends to itself only
        assert!(la.positions[0].max.abs() < 1e-6);
        // entropy never exceeds ln(keys visible)
        for (p, s) in la.positions.iter().enumerate() {
            assert!(s.max <= ((p + 1) as f64).ln() + 1e-4);
        }
    }
}

/// A zeroed query projection makes every score equal, so every row is uniform over its
/// `p + 1` visible keys: the hook must report what `rope_ext_entropy` gives for such a row.
/// With a sliding window (Mistral fixture, `W = 48`) the hook path (a tensor-level chunked
/// loop, unaligned to the window) reports the reference path's entropies, never more than
/// `ln W` for any row, and its logits equal transformers'.
#[test]
fn with_a_sliding_window_chunked_and_reference_agree() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/model-level/mistral_sliding");
    let m = Llama::load(&dir, &BackendKind::for_tests().device().unwrap()).unwrap();
    let ids: Vec<u32> = (0..300u32).map(|i| 3 + (i * 31) % 90).collect();
    let a = collect(&m, &ids, AttentionImpl::Reference);
    let b = collect(&m, &ids, AttentionImpl::Chunked { query_block: 37, key_chunk: 29 });
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        for (p, (pa, pb)) in la.positions.iter().zip(&lb.positions).enumerate() {
            assert!((pa.mean - pb.mean).abs() < 1e-4, "position {p}: {} vs {}", pa.mean, pb.mean);
            assert!(pa.max <= 48f64.ln() + 1e-4, "position {p} sees more than the window");
        }
    }
}

#[test]
fn uniform_attention_reports_the_entropy_crates_value() {
    let mut m = model("default");
    for layer in &mut m.weights.layers {
        let w = layer.self_attn.q_proj.weight.val();
        layer.self_attn.q_proj.weight = burn::module::Param::from_tensor(w.zeros_like());
    }
    let ids: Vec<u32> = (0..50u32).map(|i| 3 + i).collect();
    for imp in [AttentionImpl::Reference, AttentionImpl::Chunked { query_block: 16, key_chunk: 7 }] {
        let r = collect(&m, &ids, imp);
        for layer in &r.layers {
            for (p, s) in layer.positions.iter().enumerate() {
                let expect = rope_ext_entropy::entropy(&vec![0.0f32; p + 1]).unwrap();
                assert!((s.mean - expect).abs() < 1e-5 && s.std() < 1e-5, "{imp:?} p={p}: {} vs {expect}", s.mean);
            }
        }
    }
}

/// Layer 0's attention logits rebuilt outside the attention module (embedding → RMSNorm →
/// q/k projections → rotary → `q·kᵀ/√d`), read back to the host and scored row by row with
/// `rope_ext_entropy::masked_entropy` under the causal mask: both paths of the hook must report
/// those values, per head and per position, on rows that are far from uniform.
#[test]
fn hook_equals_the_entropy_crate_on_host_logits() {
    use burn::tensor::Tensor;
    use rope_ext_entropy::{RowMask, masked_entropy};
    use rope_ext_model::host::to_host;
    use rope_ext_model::rotary::{self, Positions, RotaryTables};

    let m = model("default");
    let c = &m.config;
    let n = 45;
    let ids: Vec<u32> = (0..n as u32).map(|i| 3 + (i * 17) % 80).collect();
    let tokens = m.tokens(std::slice::from_ref(&ids)).unwrap();
    let layer = &m.weights.layers[0];
    let h = layer.input_layernorm.forward(m.weights.embed_tokens.forward(tokens));
    let (heads, kv, d) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
    let q = layer.self_attn.q_proj.forward(h.clone()).reshape([1, n, heads, d]).swap_dims(1, 2);
    let k = layer.self_attn.k_proj.forward(h).reshape([1, n, kv, d]).swap_dims(1, 2);
    let freqs = c.rope.frequencies(Some(n));
    let tables = RotaryTables::new(&c.rope, &freqs, &Positions::Range { start: 0 }, n, &m.device());
    let q = rotary::apply(q, &tables, c.rope.rotary_dim(), c.rope.layout());
    let k = rotary::apply(k, &tables, c.rope.rotary_dim(), c.rope.layout());
    let k: Tensor<4> = k.unsqueeze_dim::<5>(2).repeat_dim(2, heads / kv).reshape([1, heads, n, d]);
    let logits = to_host(q.matmul(k.swap_dims(2, 3)) / (d as f64).sqrt());

    let mut per_head = vec![0.0f64; heads];
    let mut per_position = vec![0.0f64; n];
    let mut spread = 0.0f64;
    for hi in 0..heads {
        for i in 0..n {
            let row = &logits[(hi * n + i) * n..(hi * n + i + 1) * n];
            let e = masked_entropy(row, RowMask::causal(i)).unwrap();
            per_head[hi] += e / n as f64;
            per_position[i] += e / heads as f64;
            spread = spread.max((e - (i as f64 + 1.0).ln()).abs());
        }
    }
    assert!(spread > 0.1, "rows too close to uniform to test the weighted-sum term ({spread})");
    for imp in [AttentionImpl::Reference, AttentionImpl::Chunked { query_block: 8, key_chunk: 5 }] {
        let r = collect(&m, &ids, imp);
        let l0 = &r.layers[0];
        for (hi, s) in l0.heads.iter().enumerate() {
            assert!((s.mean - per_head[hi]).abs() < 1e-4, "{imp:?} head {hi}: {} vs {}", s.mean, per_head[hi]);
        }
        for (i, s) in l0.positions.iter().enumerate() {
            assert!((s.mean - per_position[i]).abs() < 1e-4, "{imp:?} position {i}: {} vs {}", s.mean, per_position[i]);
        }
    }
}
