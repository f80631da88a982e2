//! KV-cache decoding equals a full recompute at every step, across a dynamic-NTK base change
//! and a LongRoPE short→long switch (spec §14.1 and §14.5: transformers#25104, HF PR #33129,
//! llama.cpp#8995), with re-prefills exactly where the frequencies change.

use std::path::PathBuf;

use rope_ext_model::host::to_host;
use rope_ext_model::{AttentionImpl, BackendKind, ForwardOptions, Generation, Llama, Sampling};

fn load(variant: &str) -> Llama {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama").join(variant);
    Llama::load(&dir, &BackendKind::for_tests().device().unwrap()).unwrap()
}

fn tokens(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| 3 + (i * 37 + i * i * 11) % 93).collect()
}

fn last_row_full(model: &Llama, ids: &[u32]) -> Vec<f32> {
    let logits = to_host(model.forward(model.tokens(&[ids.to_vec()]).unwrap(), ForwardOptions::default()));
    let v = model.config.vocab_size;
    logits[logits.len() - v..].to_vec()
}

#[test]
fn cached_decoding_equals_full_recompute_across_frequency_changes() {
    // prompt 250 tokens (inside the 256-token original window), then 14 steps to 264
    let ids = tokens(264);
    for (variant, expected_reprefills) in [("default", 0), ("yarn", 0), ("llama3", 0), ("longrope", 1), ("dynamic", 8)]
    {
        let model = load(variant);
        for imp in [AttentionImpl::Fused, AttentionImpl::Chunked { query_block: 32, key_chunk: 64 }] {
            let mut g = Generation::new(&model, imp);
            let mut logits = g.extend(&ids[..250]).unwrap();
            for t in 250..=264 {
                let full = last_row_full(&model, &ids[..t]);
                let worst = logits.iter().zip(&full).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-4, "{variant} {imp:?}: step {t}: cached vs full differ by {worst:e}");
                if t < 264 {
                    logits = g.extend(&ids[t..t + 1]).unwrap();
                }
            }
            assert_eq!(g.reprefills(), expected_reprefills, "{variant} {imp:?}");
        }
    }
}

#[test]
fn a_prompt_longer_than_the_window_uses_long_factors_from_token_zero() {
    let model = load("longrope");
    let ids = tokens(300);
    let mut g = Generation::new(&model, AttentionImpl::Reference);
    let logits = g.extend(&ids).unwrap();
    assert_eq!(g.reprefills(), 0, "a fresh long prompt needs no re-prefill");
    let full = last_row_full(&model, &ids);
    assert!(logits.iter().zip(&full).all(|(a, b)| (a - b).abs() <= 1e-4));
}

#[test]
fn greedy_and_seeded_sampling_are_deterministic() {
    let model = load("default");
    let prompt = tokens(12);
    let greedy = |_| Generation::new(&model, AttentionImpl::default()).generate(&prompt, 8, Sampling::Greedy).unwrap();
    assert_eq!(greedy(0), greedy(1));
    let sampled = |seed| {
        Generation::new(&model, AttentionImpl::default())
            .generate(&prompt, 8, Sampling::Temperature { temperature: 1.5, top_k: Some(20), seed })
            .unwrap()
    };
    assert_eq!(sampled(7), sampled(7));
    assert!(sampled(7).iter().all(|&t| (t as usize) < model.config.vocab_size));
    assert!(
        Generation::new(&model, AttentionImpl::default())
            .generate(&prompt, 4, Sampling::Temperature { temperature: 0.0, top_k: None, seed: 1 })
            .is_err()
    );
}
