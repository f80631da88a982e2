//! Writing a [`Rope`] as an HF config fragment and reading it back gives the same [`Rope`], in
//! both forms; the fragments are snapshotted in `tests/goldens/written_configs.json`, which
//! `tests/goldens/check_written.py` loads into transformers 5.23 to prove it accepts them and
//! computes the same frequencies. Set `ROPE_EXT_BLESS=1` to rewrite the snapshot.

use std::path::PathBuf;

use rope_ext_core::hf::{HfForm, read_config, write_config};
use rope_ext_core::methods::abf::Abf;
use rope_ext_core::methods::dynamic_ntk::DynamicNtk;
use rope_ext_core::methods::e2llm::E2Llm;
use rope_ext_core::methods::eabf::{EabfLayerRule, EntropyAwareAbf};
use rope_ext_core::methods::linear::Linear;
use rope_ext_core::methods::llama3::Llama3;
use rope_ext_core::methods::longrope::{LongRope, LongRopeAttention};
use rope_ext_core::methods::ntk_aware::NtkAware;
use rope_ext_core::methods::proportional::Proportional;
use rope_ext_core::methods::yarn::{DynamicYarn, Yarn};
use rope_ext_core::{Rope, RopeConfig, RopeScaling};
use serde_json::{Map, Value, json};

fn ramp(n: usize, top: f64) -> Vec<f64> {
    (0..n).map(|i| 1.0 + (top - 1.0) * i as f64 / (n - 1) as f64).collect()
}

fn ropes() -> Vec<(&'static str, Rope)> {
    let base = |scaling| RopeConfig::new(64, 10_000.0, 4096).with_scaling(scaling).build().unwrap();
    let yarn = Yarn {
        factor: 16.0,
        original_max_position_embeddings: Some(4096),
        beta_fast: Some(64.0),
        beta_slow: Some(2.0),
        mscale: Some(0.707),
        mscale_all_dim: Some(0.707),
        attention_factor: None,
        truncate: Some(false),
    };
    let search = LongRope {
        short_factor: vec![1.0; 32],
        long_factor: ramp(32, 12.0),
        factor: Some(8.0),
        original_max_position_embeddings: Some(4096),
        attention: LongRopeAttention::Su,
        start_tokens: 4,
        dynamic_rescale: false,
        monotonic: true,
    };
    let phi3 = LongRope {
        short_factor: ramp(32, 1.05),
        long_factor: ramp(32, 30.0),
        attention: LongRopeAttention::Explicit(1.2),
        ..LongRope::default()
    };
    let mut partial = RopeConfig::new(128, 1e6, 8192);
    partial.partial_rotary_factor = 0.5;
    vec![
        ("default", base(RopeScaling::Default)),
        ("linear", base(RopeScaling::Linear(Linear { factor: 4.0 }))),
        ("ntk_aware", base(RopeScaling::NtkAware(NtkAware { factor: 4.0 }))),
        ("dynamic", base(RopeScaling::DynamicNtk(DynamicNtk { factor: 2.0 }))),
        ("yarn", base(RopeScaling::Yarn(yarn))),
        ("yarn_defaults", base(RopeScaling::Yarn(Yarn::with_factor(4.0)))),
        ("dynamic_yarn", base(RopeScaling::DynamicYarn(DynamicYarn { yarn: Yarn::with_factor(2.0) }))),
        ("abf", base(RopeScaling::Abf(Abf::default()))),
        ("eabf", base(RopeScaling::EntropyAwareAbf(EntropyAwareAbf::default()))),
        (
            "eabf_released_code",
            base(RopeScaling::EntropyAwareAbf(EntropyAwareAbf {
                layer_rule: EabfLayerRule::ReleasedCode,
                context: Some(2048),
                ..EntropyAwareAbf::default()
            })),
        ),
        ("longrope_search_result", base(RopeScaling::LongRope(search))),
        (
            "longrope_phi3",
            RopeConfig { max_position_embeddings: 131072, ..RopeConfig::new(64, 1e4, 4096) }
                .with_scaling(RopeScaling::LongRope(phi3))
                .build()
                .unwrap(),
        ),
        (
            "llama3",
            RopeConfig::new(128, 5e5, 131072)
                .with_scaling(RopeScaling::Llama3(Llama3 {
                    factor: 8.0,
                    low_freq_factor: 1.0,
                    high_freq_factor: 4.0,
                    original_max_position_embeddings: 8192,
                }))
                .build()
                .unwrap(),
        ),
        (
            "proportional",
            partial.clone().with_scaling(RopeScaling::Proportional(Proportional { factor: 2.0 })).build().unwrap(),
        ),
        ("partial_linear", partial.with_scaling(RopeScaling::Linear(Linear { factor: 2.0 })).build().unwrap()),
        ("e2llm_fixed", base(RopeScaling::E2Llm(E2Llm { scale: Some(4.0), ..E2Llm::default() }))),
        ("e2llm_auto", base(RopeScaling::E2Llm(E2Llm::default()))),
    ]
}

/// A full config.json: model keys plus the written fragment.
fn full_config(rope: &Rope, form: HfForm) -> Value {
    let mut cfg: Map<String, Value> = json!({
        "model_type": "llama", "hidden_size": rope.config().head_dim * 4, "num_attention_heads": 4,
    })
    .as_object()
    .unwrap()
    .clone();
    cfg.extend(write_config(rope, form).as_object().unwrap().clone());
    Value::Object(cfg)
}

#[test]
fn written_configs_read_back_identically() {
    for (name, rope) in ropes() {
        for form in [HfForm::V5, HfForm::V4] {
            let back = read_config(&full_config(&rope, form)).unwrap_or_else(|e| panic!("{name} {form:?}: {e}"));
            assert_eq!(back, rope, "{name} {form:?}");
        }
    }
}

#[test]
fn written_configs_match_the_snapshot_checked_by_transformers() {
    let entries: Vec<Value> = ropes()
        .into_iter()
        .flat_map(|(name, rope)| {
            [HfForm::V5, HfForm::V4].map(|form| {
                let f = rope.frequencies(None);
                json!({
                    "name": format!("{name}_{form:?}").to_lowercase(),
                    "config": full_config(&rope, form),
                    "inv_freq": f.inv_freq,
                    "attention_factor": f.attention_factor,
                })
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&entries).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/goldens/written_configs.json");
    if std::env::var_os("ROPE_EXT_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("tests/goldens/written_configs.json is committed");
    let first_difference = committed.lines().zip(text.lines()).position(|(a, b)| a != b);
    assert!(
        committed == text,
        "written configs changed (first at line {first_difference:?}); rerun with ROPE_EXT_BLESS=1 and tests/goldens/check_written.py"
    );
}

/// `rope_interleave` selects interleaved pairs and is written back in both forms; without it
/// (or `false`) the layout is half-split and nothing is written.
#[test]
fn the_pair_layout_round_trips_through_rope_interleave() {
    use rope_ext_core::PairLayout;
    let config = |interleave: Value| {
        let mut c = json!({"hidden_size": 256, "num_attention_heads": 4, "max_position_embeddings": 4096,
            "rope_theta": 10000.0, "partial_rotary_factor": 0.5});
        if !interleave.is_null() {
            c["rope_interleave"] = interleave;
        }
        c
    };
    for (flag, layout) in [
        (json!(true), PairLayout::Interleaved),
        (json!(false), PairLayout::HalfSplit),
        (Value::Null, PairLayout::HalfSplit),
    ] {
        let rope = read_config(&config(flag.clone())).unwrap();
        assert_eq!(rope.layout(), layout, "rope_interleave = {flag}");
        for form in [HfForm::V4, HfForm::V5] {
            let written = write_config(&rope, form);
            assert_eq!(
                written.get("rope_interleave").cloned(),
                (layout == PairLayout::Interleaved).then_some(json!(true))
            );
            let mut merged: Map<String, Value> = config(Value::Null).as_object().unwrap().clone();
            merged.extend(written.as_object().unwrap().clone());
            assert_eq!(read_config(&Value::Object(merged)).unwrap(), rope, "{form:?}");
        }
    }
}

/// Per-layer-type RoPE (Gemma 3's config, as transformers 5.23 wrote it for the model-level
/// fixture): read, written back keyed by layer type, read again to the same RoPEs; a method
/// transformers cannot express goes to `rope_ext` on the full-attention layers, and is refused
/// on the sliding ones.
#[test]
fn per_layer_type_rope_round_trips() {
    use rope_ext_core::hf::{read_layer_type_ropes, write_layer_type_config};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/model-level/gemma3/config.json");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ropes = read_layer_type_ropes(&config).unwrap().expect("keyed by layer type");
    assert_eq!(ropes.keys().collect::<Vec<_>>(), ["full_attention", "sliding_attention"]);
    let full = ropes["full_attention"].as_ref().unwrap();
    let local = ropes["sliding_attention"].as_ref().unwrap();
    assert!(matches!(full.scaling(), RopeScaling::Yarn(_)));
    assert_eq!((full.config().rope_theta, local.config().rope_theta), (1e6, 1e4));
    assert!(read_config(&config).is_err(), "one RoPE cannot describe this config");

    let merged = |ropes: &rope_ext_core::hf::LayerTypeRopes| {
        let mut c = config.as_object().unwrap().clone();
        c.remove("rope_parameters");
        c.extend(write_layer_type_config(ropes).unwrap().as_object().unwrap().clone());
        Value::Object(c)
    };
    assert_eq!(read_layer_type_ropes(&merged(&ropes)).unwrap().unwrap(), ropes);

    let mut eabf = ropes.clone();
    let cfg = RopeConfig { scaling: RopeScaling::EntropyAwareAbf(EntropyAwareAbf::default()), ..full.config().clone() };
    eabf.insert("full_attention".into(), Some(Rope::new(cfg.clone()).unwrap()));
    let written = merged(&eabf);
    assert!(written.get("rope_ext").is_some());
    assert_eq!(read_layer_type_ropes(&written).unwrap().unwrap(), eabf);
    let mut wrong = ropes.clone();
    wrong.insert("sliding_attention".into(), Some(Rope::new(cfg).unwrap()));
    assert!(write_layer_type_config(&wrong).is_err());
    // A null entry is written as null; Gemma 3's config class reads it as the default RoPE
    // (here the local one already is), where other configs keyed by `layer_types` mean no RoPE.
    let mut none = ropes.clone();
    none.insert("sliding_attention".into(), None);
    let written = merged(&none);
    assert!(written["rope_parameters"]["sliding_attention"].is_null());
    assert_eq!(read_layer_type_ropes(&written).unwrap().unwrap(), ropes);
    let mut generic = written.as_object().unwrap().clone();
    generic.insert("model_type".into(), json!("llama"));
    let generic = read_layer_type_ropes(&Value::Object(generic)).unwrap().unwrap();
    assert_eq!(generic["sliding_attention"], None);
}
