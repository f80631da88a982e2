//! Per-layer-type RoPE against transformers 5.23 (`tests/goldens/make_layer_type_ropes.py`,
//! `tests/goldens/layer_type_ropes.json`): Gemma 3 and Olmo 3 configs in both forms and a
//! Gemma-4-style `proportional` full-attention entry, each type's inverse frequencies within
//! 2e-6 relative of transformers' float32 values (zeros exactly) and its attention scaling
//! within 1e-9.

use std::path::PathBuf;

use rope_ext_core::hf::read_layer_type_ropes;
use serde_json::Value;

#[test]
fn per_layer_type_ropes_match_transformers() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/goldens/layer_type_ropes.json");
    let goldens: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = goldens["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ropes = read_layer_type_ropes(&case["config"])
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: not read as per-layer-type RoPE"));
        let types = case["types"].as_object().unwrap();
        assert_eq!(ropes.keys().collect::<Vec<_>>(), types.keys().collect::<Vec<_>>(), "{name}");
        for (layer_type, want) in types {
            let rope = ropes[layer_type].as_ref().unwrap_or_else(|| panic!("{name} {layer_type}: no RoPE"));
            let freqs = rope.frequencies(None);
            let expect: Vec<f64> = want["inv_freq"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(freqs.inv_freq.len(), expect.len(), "{name} {layer_type}: pairs");
            for (i, (&ours, &theirs)) in freqs.inv_freq.iter().zip(&expect).enumerate() {
                let ok = if theirs == 0.0 { ours == 0.0 } else { ((ours - theirs) / theirs).abs() <= 2e-6 };
                assert!(ok, "{name} {layer_type}: inv_freq[{i}] {ours} vs {theirs}");
            }
            let scaling = want["attention_scaling"].as_f64().unwrap();
            assert!(
                (freqs.attention_factor - scaling).abs() <= 1e-9,
                "{name} {layer_type}: attention factor {} vs {scaling}",
                freqs.attention_factor
            );
        }
    }
}
