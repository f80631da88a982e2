//! Model-level paths that the 2-layer LLaMA fixtures cannot reach, each against transformers
//! 5.23 (`tests/goldens/make_model_fixtures.py`, float32, eager attention, fixtures in
//! `tests/fixtures/model-level`), within 1e-4 with identical argmax, on the backend under test,
//! with every attention implementation, and through the KV cache (prefill past every window,
//! then single tokens and a multi-token chunk):
//!
//! - sliding-window attention: Mistral (`sliding_window` on every layer) and Qwen2
//!   (`use_sliding_window` from `max_window_layers` on), 320 tokens against a 48-token window;
//! - entropy-aware ABF on a 4-layer model, `c = 64`, 320 tokens: the paper's layer rule (layers
//!   0–1 unscaled) and the released code's (every layer), against transformers with the scalar
//!   patched in, and a check that the scalar changes the logits at all;
//! - LLaMA's `attention_bias` and `mlp_bias` with a tied output head;
//! - Qwen3: q/k RMSNorm, biases, YaRN past its original window, a sliding layer;
//! - Phi-3: fused `qkv_proj` and `gate_up_proj`, LongRoPE's short and long factors with partial
//!   rotary and a tied head (Phi-4-mini's shape), a sliding window on every layer (Phi-3-mini-4k's),
//!   each from the v5 and the 4.x config form; saved fused again;
//! - partial rotary (`partial_rotary_factor` 0.5) and interleaved pairs (`rope_interleave`),
//!   alone and together, against transformers with its rotation swapped.

mod common;

use std::path::PathBuf;

use common::{compare, max_diff};

use rope_ext_core::methods::eabf::EabfLayerRule;
use rope_ext_core::{PairLayout, Rope, RopeConfig, RopeScaling};
use rope_ext_model::host::to_host;
use rope_ext_model::{AttentionImpl, BackendKind, ForwardOptions, Generation, Llama, LlamaConfig};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/model-level").join(name)
}

fn load(name: &str) -> Llama {
    Llama::load(&fixture(name), &BackendKind::for_tests().device().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `input_ids` and the named float32 logits of a fixture's `reference.safetensors`.
fn reference(name: &str, logits: &str) -> (Vec<u32>, Vec<f32>) {
    let (ids, mut tensors) = common::reference(&fixture(name), &[logits]);
    (ids, tensors.remove(0))
}

const IMPLS: [(AttentionImpl, &str); 3] = [
    (AttentionImpl::Fused, "fused"),
    (AttentionImpl::Reference, "reference"),
    (AttentionImpl::Chunked { query_block: 64, key_chunk: 48 }, "chunked"),
];

/// Full forwards with every implementation, then cached decoding: a prefill of 290 tokens,
/// single tokens to 296, a chunk of 6, and single tokens to the end, each step's last row
/// against the reference row.
fn check_model(name: &str, model: &Llama, logits: &str) {
    let (ids, expect) = reference(name, logits);
    let vocab = model.config.vocab_size;
    let n = ids.len();
    for (imp, label) in IMPLS {
        let out = model.forward(
            model.tokens(std::slice::from_ref(&ids)).unwrap(),
            ForwardOptions { attention: imp, entropy: None },
        );
        compare(&format!("{name} {logits} {label}"), &to_host(out), &expect, vocab);
    }
    let row = |t: usize| &expect[t * vocab..(t + 1) * vocab];
    for (imp, label) in [IMPLS[0], IMPLS[2]] {
        let mut g = Generation::new(model, imp);
        let mut last = g.extend(&ids[..290]).unwrap();
        let mut t = 290;
        while t < n {
            compare(&format!("{name} {logits} {label} cached, position {}", t - 1), &last, row(t - 1), vocab);
            let step = if t == 296 { 6 } else { 1 };
            let end = (t + step).min(n);
            last = g.extend(&ids[t..end]).unwrap();
            t = end;
        }
        compare(&format!("{name} {logits} {label} cached, position {}", n - 1), &last, row(n - 1), vocab);
    }
}

/// The first 24 tokens against `logits_short`; returns the fixture's input ids.
fn check_short(name: &str, model: &Llama) -> Vec<u32> {
    let (ids, short) = reference(name, "logits_short");
    let out = model.forward(model.tokens(&[ids[..24].to_vec()]).unwrap(), ForwardOptions::default());
    compare(&format!("{name} short"), &to_host(out), &short, model.config.vocab_size);
    ids
}

#[test]
fn sliding_window_models_match_transformers() {
    for (name, windows) in [("mistral_sliding", vec![Some(48), Some(48)]), ("qwen2_sliding", vec![None, Some(48)])] {
        let model = load(name);
        assert_eq!(model.config.sliding_windows, windows, "{name}: windows read from the config");
        check_model(name, &model, "logits_long");
        check_short(name, &model);
    }
}

#[test]
fn the_window_changes_the_logits() {
    // The same weights without the window must differ, or the fixture proves nothing.
    let mut model = load("mistral_sliding");
    model.config.sliding_windows = vec![None; model.config.num_hidden_layers];
    let (ids, expect) = reference("mistral_sliding", "logits_long");
    let out = to_host(model.forward(model.tokens(&[ids]).unwrap(), ForwardOptions::default()));
    assert!(max_diff(&out, &expect) > 1e-2, "ignoring the window should change the logits");
}

/// The fixture's model with the EABF layer rule replaced.
fn with_layer_rule(mut model: Llama, rule: EabfLayerRule) -> Llama {
    let config = model.config.rope.config().clone();
    let RopeScaling::EntropyAwareAbf(mut method) = config.scaling.clone() else { panic!("eabf fixture") };
    method.layer_rule = rule;
    model.config.rope = Rope::new(RopeConfig { scaling: RopeScaling::EntropyAwareAbf(method), ..config }).unwrap();
    model
}

#[test]
fn entropy_aware_abf_matches_transformers_with_the_scalar_patched_in() {
    let model = load("eabf");
    assert_eq!(model.config.num_hidden_layers, 4);
    assert!(matches!(model.config.rope.scaling(), RopeScaling::EntropyAwareAbf(_)));
    check_model("eabf", &model, "logits_paper");
    let released = with_layer_rule(model, EabfLayerRule::ReleasedCode);
    check_model("eabf", &released, "logits_released");
}

#[test]
fn the_eabf_scalar_acts_past_the_window_and_not_inside_it() {
    let (ids, paper) = reference("eabf", "logits_paper");
    let (_, unscaled) = reference("eabf", "logits_unscaled");
    let model = load("eabf");
    let vocab = model.config.vocab_size;
    // Inside c = 64 the scalar is 1: identical to plain ABF.
    compare("eabf inside c", &paper[..64 * vocab], &unscaled[..64 * vocab], vocab);
    // Past c it is not, and our model follows transformers-with-the-scalar, not plain ABF.
    assert!(max_diff(&paper[64 * vocab..], &unscaled[64 * vocab..]) > 1e-2, "the scalar must change the logits");
    let out = to_host(model.forward(model.tokens(std::slice::from_ref(&ids)).unwrap(), ForwardOptions::default()));
    assert!(max_diff(&out, &unscaled) > 1e-2);
    // Our EABF and our plain ABF at the same base agree exactly inside c.
    let mut abf = load("eabf");
    let config = abf.config.rope.config().clone();
    let scaling = RopeScaling::Abf(rope_ext_core::methods::abf::Abf { theta: config.rope_theta });
    abf.config.rope = Rope::new(RopeConfig { scaling, ..config }).unwrap();
    let inside = |m: &Llama| to_host(m.forward(m.tokens(&[ids[..64].to_vec()]).unwrap(), ForwardOptions::default()));
    assert_eq!(inside(&model), inside(&abf), "EABF and ABF inside c");
}

#[test]
fn partial_and_interleaved_rotary_match_transformers_with_the_rotation_swapped() {
    for (name, rotary_dim, layout) in [
        ("partial", 8, PairLayout::HalfSplit),
        ("interleaved", 16, PairLayout::Interleaved),
        ("partial_interleaved", 8, PairLayout::Interleaved),
    ] {
        let model = load(name);
        assert_eq!((model.config.rope.rotary_dim(), model.config.rope.layout()), (rotary_dim, layout), "{name}");
        check_model(name, &model, "logits_long");
    }
}

#[test]
fn biases_and_a_tied_head_match_transformers() {
    let model = load("llama_biases");
    let c = &model.config;
    assert_eq!((c.qkv_bias, c.o_bias, c.mlp_bias, c.tie_word_embeddings), (true, true, true, true));
    check_model("llama_biases", &model, "logits_long");
}

/// Qwen3: per-head q/k RMSNorm before RoPE, q/k/v/o biases, YaRN (factor 4 over 128 tokens, so
/// the 320-token input is past the original window) and a sliding upper layer.
#[test]
fn qwen3_matches_transformers() {
    let model = load("qwen3");
    let c = &model.config;
    assert_eq!((c.qk_norm, c.qkv_bias, c.o_bias), (true, true, true));
    assert_eq!(c.sliding_windows, vec![None, Some(48)]);
    assert!(matches!(c.rope.scaling(), RopeScaling::Yarn(_)));
    check_model("qwen3", &model, "logits_long");
    let ids = check_short("qwen3", &model);
    // Saved and loaded again, the norms included: the same logits.
    save_and_reload("qwen3", &model, &ids);
}

/// Saves `model`, loads it back and checks the first 24 tokens' logits are identical. The
/// directory is temporary unless `ROPE_EXT_SAVED_MODELS` names a root to keep it under (for
/// `tests/goldens/check_saved_models.sh`, which loads it into transformers).
fn save_and_reload(name: &str, model: &Llama, ids: &[u32]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("ROPE_EXT_SAVED_MODELS") {
        Some(root) => PathBuf::from(root).join(name),
        None => tmp.path().to_path_buf(),
    };
    model.save(&dir).unwrap();
    let again = Llama::load(&dir, &model.device()).unwrap();
    let logits = |m: &Llama| to_host(m.forward(m.tokens(&[ids[..24].to_vec()]).unwrap(), ForwardOptions::default()));
    assert_eq!(logits(&again), logits(model), "{name} after save and load");
}

/// Phi-3: fused projections split at load, LongRoPE short/long factors with partial rotary 0.75
/// and a tied head (`phi3_longrope`), a sliding window on every layer (`phi3_sliding`); the 4.x
/// config form (`config_v4.json`) reads to the same model; saving fuses the projections again
/// and the saved directory loads back to the same logits.
#[test]
fn phi3_matches_transformers_in_both_config_forms_and_saves_fused() {
    for (name, windows, rotary_dim) in [("phi3_longrope", [None, None], 12), ("phi3_sliding", [Some(48), Some(48)], 16)]
    {
        let model = load(name);
        let c = &model.config;
        assert!(c.fused_projections && !c.qkv_bias && !c.mlp_bias);
        assert_eq!((c.sliding_windows.as_slice(), c.rope.rotary_dim()), (windows.as_slice(), rotary_dim), "{name}");
        assert_eq!(c.tie_word_embeddings, name == "phi3_longrope");
        assert_eq!(matches!(c.rope.scaling(), RopeScaling::LongRope(_)), name == "phi3_longrope");
        check_model(name, &model, "logits_long");
        let ids = check_short(name, &model);

        let v4 = LlamaConfig::from_file(&fixture(name).join("config_v4.json")).unwrap();
        assert_eq!(v4.rope, model.config.rope, "{name}: the 4.x form reads to the same RoPE");
        assert_eq!(v4.sliding_windows, model.config.sliding_windows);
        let from_v4 = Llama::load_with_config(v4, &fixture(name), &model.device()).unwrap();
        let (_, expect) = reference(name, "logits_long");
        let out = from_v4.forward(from_v4.tokens(std::slice::from_ref(&ids)).unwrap(), ForwardOptions::default());
        compare(&format!("{name} from config_v4.json"), &to_host(out), &expect, c.vocab_size);

        let names: Vec<String> = model.named_tensors().into_iter().map(|(n, _, _)| n).collect();
        assert!(
            names.iter().any(|n| n.ends_with("qkv_proj.weight"))
                && names.iter().any(|n| n.ends_with("gate_up_proj.weight"))
        );
        assert!(!names.iter().any(|n| n.contains(".q_proj") || n.contains(".up_proj")), "{name}: {names:?}");
        assert_eq!(names.iter().any(|n| n == "lm_head.weight"), !c.tie_word_embeddings);
        save_and_reload(name, &model, &ids);
    }
}

/// Gemma 3 (text): RoPE per layer type (YaRN on the full-attention layer, the local base on the
/// sliding ones, which must not take YaRN's attention factor), `(1 + w)` norms on q/k, inputs and
/// both outputs, embeddings times √hidden, `query_pre_attn_scalar`, GELU-tanh, a tied head and
/// soft-capped logits; the 4.x config form reads to the same model, the `sliding_window_pattern`
/// default to the same layer types; saved in Gemma's layout, loaded back identically.
#[test]
fn gemma3_matches_transformers_with_rope_per_layer_type() {
    use rope_ext_model::config::LayerRope;
    let name = "gemma3";
    let model = load(name);
    let c = &model.config;
    assert_eq!(c.layer_ropes, vec![LayerRope::Local, LayerRope::Local, LayerRope::Main]);
    assert_eq!(c.sliding_windows, vec![Some(48), Some(48), None]);
    assert!(matches!(c.rope.scaling(), RopeScaling::Yarn(_)));
    let local = c.local_rope.as_ref().unwrap();
    assert!(matches!(local.scaling(), RopeScaling::Default));
    assert_eq!((c.rope.config().rope_theta, local.config().rope_theta), (1e6, 1e4));
    assert_eq!(c.attention_scale, 1.0 / 32f64.sqrt());
    check_model(name, &model, "logits_long");
    let ids = check_short(name, &model);

    let read = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture(name).join("config.json")).unwrap()).unwrap();
        edit(&mut v);
        LlamaConfig::from_json(&v).unwrap()
    };
    let v4 = LlamaConfig::from_file(&fixture(name).join("config_v4.json")).unwrap();
    assert_eq!((&v4.rope, &v4.local_rope, &v4.layer_ropes), (&c.rope, &c.local_rope, &c.layer_ropes), "4.x form");
    let pattern = read(&|v| {
        v.as_object_mut().unwrap().remove("layer_types");
    });
    assert_eq!((pattern.layer_ropes, pattern.sliding_windows), (c.layer_ropes.clone(), c.sliding_windows.clone()));

    // Extending only the full-attention layers (as Google scales its global layers): the local
    // RoPE stays, and the logits change.
    let mut linear = load(name);
    let cfg = RopeConfig {
        scaling: RopeScaling::Linear(rope_ext_core::methods::linear::Linear { factor: 8.0 }),
        ..linear.config.rope.config().clone()
    };
    linear.config.rope = Rope::new(cfg).unwrap();
    assert_eq!(linear.config.local_rope, model.config.local_rope);
    let (_, expect) = reference(name, "logits_long");
    let out = to_host(linear.forward(linear.tokens(std::slice::from_ref(&ids)).unwrap(), ForwardOptions::default()));
    assert!(max_diff(&out, &expect) > 1e-3, "the full-attention layers' RoPE must matter");
    save_and_reload(name, &model, &ids);
}
