//! The acceptance that matters: for every RoPE variant of the tiny LLaMA in
//! `tests/fixtures/tiny-llama` (made by `tests/goldens/make_tiny_llama.py` with transformers
//! 5.23, eager attention, float32), our logits match within 1e-4 absolute with the same argmax,
//! for an input longer than the original context and for a short prefix, with both attention
//! implementations, on the backend under test (`ROPE_EXT_BACKEND`, default: the first compiled).

use std::path::PathBuf;

use rope_ext_model::model::to_host;
use rope_ext_model::{AttentionImpl, Backend, ForwardOptions, Llama};
use safetensors::SafeTensors;

const VARIANTS: [&str; 10] = [
    "default",
    "linear",
    "dynamic",
    "yarn",
    "yarn_overrides",
    "yarn_attention_factor",
    "longrope",
    "llama3",
    "abf",
    "bf16",
];

fn fixture(variant: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama").join(variant)
}

struct Reference {
    ids: Vec<u32>,
    long: Vec<f32>,
    short: Vec<f32>,
}

fn reference(variant: &str) -> Reference {
    let bytes = std::fs::read(fixture(variant).join("reference.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let f32s = |name: &str| -> Vec<f32> {
        st.tensor(name).unwrap().data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    let ids = st
        .tensor("input_ids")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32)
        .collect();
    Reference { ids, long: f32s("logits_long"), short: f32s("logits_short") }
}

fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold((0, f32::MIN), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) }).0
}

fn compare(what: &str, ours: &[f32], theirs: &[f32], vocab: usize) {
    assert_eq!(ours.len(), theirs.len(), "{what}: logits size");
    let worst = ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "{what}: max |Δlogit| = {worst:e} > 1e-4");
    for (i, (a, b)) in ours.chunks(vocab).zip(theirs.chunks(vocab)).enumerate() {
        assert_eq!(argmax(a), argmax(b), "{what}: argmax differs at token {i}");
    }
}

#[test]
fn logits_match_transformers_for_every_rope_variant() {
    let device = Backend::for_tests().device().unwrap();
    for variant in VARIANTS {
        let model = Llama::load(&fixture(variant), &device).unwrap_or_else(|e| panic!("{variant}: {e}"));
        let r = reference(variant);
        let vocab = model.config.vocab_size;
        for (imp, name) in [
            (AttentionImpl::Fused, "fused"),
            (AttentionImpl::Reference, "reference"),
            (AttentionImpl::Chunked { query_block: 64, key_chunk: 48 }, "chunked"),
        ] {
            for (len, expect, label) in [(r.ids.len(), &r.long, "long"), (24, &r.short, "short")] {
                let tokens = model.tokens(&[r.ids[..len].to_vec()]).unwrap();
                let logits = model.forward(tokens, ForwardOptions { attention: imp, entropy: None });
                compare(&format!("{variant} {label} {name}"), &to_host(logits), expect, vocab);
            }
        }
    }
}
