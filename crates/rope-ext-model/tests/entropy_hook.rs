//! The entropy hook: off by default; on, the chunked attention (which never builds the score
//! matrix) reports the same per-row entropies as the materialised reference path, and both equal
//! `rope_ext_entropy` applied to the attention logits computed on the host.

use std::path::PathBuf;

use rope_ext_model::{AttentionImpl, Backend, EntropyHook, ForwardOptions, Llama};

fn model(variant: &str) -> Llama {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama").join(variant);
    Llama::load(&dir, &Backend::for_tests().device().unwrap()).unwrap()
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
