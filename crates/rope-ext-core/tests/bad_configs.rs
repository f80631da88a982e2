//! Malformed configs: each gives a typed error naming the field, never a panic or a silent
//! fallback. transformers only warns about most of these.

use rope_ext_core::RopeError;
use rope_ext_core::hf::{read_config, read_config_str};
use serde_json::{Value, json};

/// A 4.x Llama config with head_dim 128 (64 pairs) and the given `rope_scaling`.
fn with_scaling(scaling: Value) -> Value {
    json!({
        "hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 4096,
        "rope_theta": 10000.0, "rope_scaling": scaling
    })
}

fn ramp(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.0 + i as f64).collect()
}

type Check = fn(&RopeError) -> bool;

#[test]
fn each_malformed_config_gives_its_error() {
    let mut not_monotone = ramp(64);
    not_monotone.swap(10, 11);
    let cases: Vec<(&str, Value, Check)> = vec![
        (
            "factor below 1",
            with_scaling(json!({"rope_type": "linear", "factor": 0.5})),
            |e| matches!(e, RopeError::OutOfRange { method: "linear", field: "factor", value, .. } if *value == 0.5),
        ),
        ("negative yarn factor", with_scaling(json!({"rope_type": "yarn", "factor": -2})), |e| {
            matches!(e, RopeError::OutOfRange { method: "yarn", field: "factor", .. })
        }),
        (
            "string factor",
            with_scaling(json!({"rope_type": "linear", "factor": "4"})),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "factor"),
        ),
        (
            "missing factor",
            with_scaling(json!({"rope_type": "dynamic"})),
            |e| matches!(e, RopeError::MissingKey { key: "factor", rope_type } if rope_type == "dynamic"),
        ),
        (
            "unknown rope_type",
            with_scaling(json!({"rope_type": "super-rope", "factor": 2.0})),
            |e| matches!(e, RopeError::UnknownRopeType { rope_type } if rope_type == "super-rope"),
        ),
        (
            "unknown key",
            with_scaling(json!({"rope_type": "linear", "factor": 2.0, "fator": 3.0})),
            |e| matches!(e, RopeError::UnknownKey { key, .. } if key == "fator"),
        ),
        (
            "mrope section is not silently ignored",
            with_scaling(json!({"type": "default", "mrope_section": [16, 24, 24]})),
            |e| matches!(e, RopeError::UnknownKey { key, .. } if key == "mrope_section"),
        ),
        (
            "beta_fast < beta_slow",
            with_scaling(json!({"rope_type": "yarn", "factor": 4.0, "beta_fast": 1, "beta_slow": 32})),
            |e| matches!(e, RopeError::Misordered { high_field: "beta_fast", low_field: "beta_slow", .. }),
        ),
        (
            "negative mscale",
            with_scaling(json!({"rope_type": "yarn", "factor": 4.0, "mscale": -1.0, "mscale_all_dim": 1.0})),
            |e| matches!(e, RopeError::OutOfRange { field: "mscale", .. }),
        ),
        (
            "zero attention factor",
            with_scaling(json!({"rope_type": "yarn", "factor": 4.0, "attention_factor": 0.0})),
            |e| matches!(e, RopeError::OutOfRange { field: "attention_factor", .. }),
        ),
        (
            "truncate not a bool",
            with_scaling(json!({"rope_type": "yarn", "factor": 4.0, "truncate": "yes"})),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "truncate"),
        ),
        (
            "high_freq_factor < low_freq_factor",
            with_scaling(
                json!({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 2048}),
            ),
            |e| matches!(e, RopeError::Misordered { high_field: "high_freq_factor", .. }),
        ),
        (
            "llama3 without original",
            with_scaling(
                json!({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}),
            ),
            |e| matches!(e, RopeError::MissingKey { key: "original_max_position_embeddings", .. }),
        ),
        (
            "short factor list too short",
            with_scaling(json!({"rope_type": "longrope", "short_factor": ramp(63), "long_factor": ramp(64)})),
            |e| matches!(e, RopeError::WrongLength { field: "short_factor", len: 63, expected: 64, .. }),
        ),
        (
            "long factor list too long",
            with_scaling(json!({"rope_type": "longrope", "short_factor": ramp(64), "long_factor": ramp(65)})),
            |e| matches!(e, RopeError::WrongLength { field: "long_factor", len: 65, .. }),
        ),
        (
            "zero rescale factor",
            with_scaling(json!({"rope_type": "longrope", "short_factor": vec![0.0; 64], "long_factor": ramp(64)})),
            |e| matches!(e, RopeError::OutOfRange { field: "short_factor", .. }),
        ),
        (
            "factor list with a string",
            with_scaling(json!({"rope_type": "longrope", "short_factor": ["1.0"], "long_factor": ramp(64)})),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "short_factor"),
        ),
        (
            "non-monotone search result",
            json!({
                "hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 4096,
                "rope_ext": {"rope_theta": 10000.0, "method": "longrope", "short_factor": ramp(64), "long_factor": not_monotone, "factor": 8.0,
                             "original_max_position_embeddings": null, "attention": "su", "start_tokens": 0,
                             "dynamic_rescale": false, "monotonic": true}
            }),
            |e| matches!(e, RopeError::NotMonotonic { field: "long_factor", index: 11, .. }),
        ),
        ("odd rotary dimension", json!({"head_dim": 63, "max_position_embeddings": 4096}), |e| {
            matches!(e, RopeError::BadRotaryDim { rotary_dim: 63, .. })
        }),
        (
            "odd partial rotary dimension",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "partial_rotary_factor": 0.4}),
            |e| matches!(e, RopeError::BadRotaryDim { rotary_dim: 25, .. }),
        ),
        (
            "partial rotary factor above 1",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "partial_rotary_factor": 1.5}),
            |e| matches!(e, RopeError::OutOfRange { field: "partial_rotary_factor", .. }),
        ),
        ("rope_theta of 1", json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_theta": 1.0}), |e| {
            matches!(e, RopeError::OutOfRange { field: "rope_theta", .. })
        }),
        ("missing max_position_embeddings", json!({"head_dim": 64}), |e| {
            matches!(e, RopeError::MissingKey { key: "max_position_embeddings", .. })
        }),
        ("no head_dim and no heads", json!({"hidden_size": 64, "max_position_embeddings": 4096}), |e| {
            matches!(e, RopeError::MissingKey { key: "num_attention_heads", .. })
        }),
        ("zero heads", json!({"hidden_size": 64, "num_attention_heads": 0, "max_position_embeddings": 4096}), |e| {
            matches!(e, RopeError::BadInteger { field: "num_attention_heads", .. })
        }),
        (
            "negative head_dim",
            json!({"head_dim": -64, "max_position_embeddings": 4096}),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "head_dim"),
        ),
        (
            "rope_scaling not an object",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling": [1, 2]}),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "rope_scaling"),
        ),
        (
            "both config forms",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 2.0}, "rope_parameters": {"rope_type": "default"}}),
            |e| matches!(e, RopeError::Unsupported { field: "rope_scaling", .. }),
        ),
        (
            "type and rope_type disagree",
            with_scaling(json!({"type": "linear", "rope_type": "dynamic", "factor": 2.0})),
            |e| matches!(e, RopeError::Unsupported { field: "type", .. }),
        ),
        (
            "NTK with a 2-dim rotary block",
            json!({"head_dim": 2, "max_position_embeddings": 4096, "rope_scaling": {"type": "dynamic", "factor": 2.0}}),
            |e| matches!(e, RopeError::BadInteger { field: "rotary_dim", .. }),
        ),
        (
            "malformed rope_ext",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_ext": {"rope_theta": 1e4, "method": "warp-drive"}}),
            |e| matches!(e, RopeError::WrongType { field, .. } if field.starts_with("rope_ext")),
        ),
        (
            "rope_ext without the base theta",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_ext": {"method": "abf", "theta": 5e5}}),
            |e| matches!(e, RopeError::MissingKey { key: "rope_theta", .. }),
        ),
        (
            "per-layer rope parameters",
            json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_parameters": {"full_attention": {"rope_type": "default"}}}),
            |e| matches!(e, RopeError::Unsupported { field: "rope_parameters", .. }),
        ),
        (
            "config not an object",
            json!([1, 2, 3]),
            |e| matches!(e, RopeError::WrongType { field, .. } if field == "config"),
        ),
    ];
    for (name, config, check) in cases {
        match read_config(&config) {
            Ok(rope) => panic!("{name}: accepted as {:?}", rope.scaling()),
            Err(e) => {
                assert!(check(&e), "{name}: wrong error {e:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn nan_and_infinity_are_named() {
    // JSON has no NaN: they reach the core through the typed API.
    use rope_ext_core::methods::linear::Linear;
    use rope_ext_core::{RopeConfig, RopeScaling};
    for bad in [f64::NAN, f64::INFINITY] {
        let e = RopeConfig::new(64, 1e4, 4096)
            .with_scaling(RopeScaling::Linear(Linear { factor: bad }))
            .build()
            .unwrap_err();
        assert!(matches!(e, RopeError::NotFinite { field: "factor", .. }), "{e:?}");
        let e = RopeConfig { rope_theta: bad, ..RopeConfig::new(64, 1e4, 4096) }.build().unwrap_err();
        assert!(matches!(e, RopeError::NotFinite { field: "rope_theta", .. }), "{e:?}");
    }
}

#[test]
fn python_nan_and_infinity_literals_name_their_key() {
    let cases = [
        (
            r#"{"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": NaN}}"#,
            "factor",
            "NaN",
        ),
        (r#"{"head_dim": 64, "max_position_embeddings": 4096, "rope_theta": Infinity}"#, "rope_theta", "Infinity"),
        (
            r#"{"head_dim": 4, "max_position_embeddings": 4096, "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.0], "long_factor": [1.0, -Infinity]}}"#,
            "long_factor",
            "-Infinity",
        ),
    ];
    for (text, key, lit) in cases {
        match read_config_str(text) {
            Err(RopeError::NonFiniteLiteral { field, literal }) => {
                assert_eq!((field.as_str(), literal.as_str()), (key, lit))
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // inside strings they are just text
    assert!(matches!(read_config_str(r#"{"note": "NaN", "head_dim": 64}"#), Err(RopeError::MissingKey { .. })));
}

#[test]
fn a_rope_ext_object_that_disagrees_with_the_hf_settings_is_an_error() {
    let cfg = json!({"head_dim": 64, "max_position_embeddings": 4096, "rope_theta": 10000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0},
        "rope_ext": {"rope_theta": 10000.0, "method": "e2llm", "original_max_position_embeddings": null, "scale": 2.0}});
    assert!(matches!(read_config(&cfg), Err(RopeError::Unsupported { field: "rope_ext", .. })));
    let mut agreeing = cfg.clone();
    agreeing["rope_scaling"]["factor"] = json!(2.0);
    assert!(read_config(&agreeing).is_ok());
}

#[test]
fn limits_that_would_otherwise_overflow_or_divide_by_zero() {
    let e =
        read_config(&json!({"head_dim": 4_611_686_018_427_387_904u64, "max_position_embeddings": 4096})).unwrap_err();
    assert!(matches!(e, RopeError::BadInteger { field: "head_dim", .. }), "{e:?}");
    let e = read_config(&with_scaling(json!({"rope_type": "longrope", "short_factor": ramp(64), "long_factor": ramp(64), "factor": 4.0, "original_max_position_embeddings": 1}))).unwrap_err();
    assert!(matches!(e, RopeError::BadInteger { field: "original_max_position_embeddings", .. }), "{e:?}");
    let e = read_config(
        &json!({"head_dim": 64, "max_position_embeddings": 1, "rope_scaling": {"type": "eabf", "factor": 4.0}}),
    )
    .unwrap_err();
    assert!(matches!(e, RopeError::BadInteger { field: "original_max_position_embeddings", .. }), "{e:?}");
    for factor in [json!(0.5), json!("x")] {
        assert!(read_config(&with_scaling(json!({"type": "eabf", "factor": factor}))).is_err());
    }
    let rope = read_config(&with_scaling(json!({"type": "eabf", "factor": 4.0}))).unwrap();
    assert!(rope.logit_scale(5, u64::MAX).is_finite());
    assert!(matches!(rope.table_range(0..u64::MAX, None), Err(RopeError::TableTooLarge { .. })));
    let table = rope.table_range(0..3, None).unwrap();
    assert_eq!((table.cos_row(usize::MAX), table.sin_row(3)), (None, None));
    let empty = rope_ext_core::RopeFrequencies::unscaled(vec![]);
    assert!(rope_ext_core::CosSinTable::for_range(&empty, 0..10).unwrap().is_empty());
    let aug = rope_ext_core::methods::e2llm::E2LlmAugmentation { scale: 2.0, offset: u64::MAX };
    assert!(aug.position(u64::MAX).is_finite());
}

#[test]
fn invalid_json_and_truncated_files_are_errors() {
    for text in ["", "{", "{\"head_dim\": 64,", "not json", "{\"head_dim\": 1e999}"] {
        assert!(read_config_str(text).is_err(), "{text:?} accepted");
    }
}

#[test]
fn error_messages_name_the_field_and_value() {
    let e = read_config(&with_scaling(json!({"rope_type": "linear", "factor": 0.5}))).unwrap_err();
    assert_eq!(e.to_string(), "linear: `factor` must be >= 1, got 0.5");
    let e =
        read_config(&with_scaling(json!({"rope_type": "longrope", "short_factor": ramp(3), "long_factor": ramp(64)})))
            .unwrap_err();
    assert_eq!(e.to_string(), "longrope: `short_factor` has 3 entries, expected 64 (rotary_dim / 2)");
}
