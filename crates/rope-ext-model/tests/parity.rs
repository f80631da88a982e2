//! The acceptance that matters: for every RoPE variant of the tiny LLaMA in
//! `tests/fixtures/tiny-llama` (made by `tests/goldens/make_tiny_llama.py` with transformers
//! 5.23, eager attention, float32), our logits match within 1e-4 absolute with the same argmax,
//! for an input longer than the original context and for a short prefix, with both attention
//! implementations, on the backend under test (`ROPE_EXT_BACKEND`, default: the first compiled).

mod common;

use std::path::PathBuf;

use common::{compare, reference};

use rope_ext_model::host::to_host;
use rope_ext_model::{AttentionImpl, BackendKind, ForwardOptions, Llama};

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

#[test]
fn logits_match_transformers_for_every_rope_variant() {
    let device = BackendKind::for_tests().device().unwrap();
    for variant in VARIANTS {
        let model = Llama::load(&fixture(variant), &device).unwrap_or_else(|e| panic!("{variant}: {e}"));
        let (ids, logits) = reference(&fixture(variant), &["logits_long", "logits_short"]);
        let vocab = model.config.vocab_size;
        for (imp, name) in [
            (AttentionImpl::Fused, "fused"),
            (AttentionImpl::Reference, "reference"),
            (AttentionImpl::Chunked { query_block: 64, key_chunk: 48 }, "chunked"),
        ] {
            for (len, expect, label) in [(ids.len(), &logits[0], "long"), (24, &logits[1], "short")] {
                let tokens = model.tokens(&[ids[..len].to_vec()]).unwrap();
                let logits = model.forward(tokens, ForwardOptions { attention: imp, entropy: None });
                compare(&format!("{variant} {label} {name}"), &to_host(logits), expect, vocab);
            }
        }
    }
}
