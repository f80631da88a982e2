//! Missing, extra or mis-shaped tensors, truncated or corrupt files, a config that does not
//! match the weights, another model's checkpoint: each a typed error naming the tensor or field,
//! never a panic. Saving writes a directory transformers-shaped and loadable again.

use std::path::{Path, PathBuf};
use tempfile::TempDir;

use rope_ext_model::host::to_host;
use rope_ext_model::{BackendKind, ForwardOptions, Llama, ModelError};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;
use serde_json::Value;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama/default")
}

/// A temporary copy of the default fixture, to transform.
fn scratch() -> TempDir {
    scratch_of(&fixture())
}

/// A temporary copy of the fixture directory `src`.
fn scratch_of(src: &Path) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn edit_config(dir: &Path, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    f(v.as_object_mut().unwrap());
    std::fs::write(dir.join("config.json"), v.to_string()).unwrap();
}

/// Rewrites model.safetensors through `f(name, shape, bytes)`; `None` drops the tensor.
fn edit_tensors(
    dir: &Path,
    extra: Option<(&str, Vec<usize>)>,
    f: impl Fn(&str, Vec<usize>, Vec<u8>) -> Option<(Vec<usize>, Vec<u8>)>,
) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter_map(|(n, v)| f(&n, v.shape().to_vec(), v.data().to_vec()).map(|(s, b)| (n, s, b)))
        .collect();
    if let Some((name, shape)) = extra {
        let n: usize = shape.iter().product();
        owned.push((name.into(), shape, vec![0u8; 4 * n]));
    }
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
}

fn load(dir: &Path) -> Result<Llama, ModelError> {
    Llama::load(dir, &BackendKind::for_tests().device().unwrap())
}

#[test]
fn missing_tensor_is_named() {
    let tmp = scratch();
    let dir = tmp.path();
    edit_tensors(dir, None, |n, s, b| (n != "model.layers.1.mlp.up_proj.weight").then_some((s, b)));
    assert!(
        matches!(load(dir), Err(ModelError::MissingTensor { name }) if name == "model.layers.1.mlp.up_proj.weight")
    );
}

#[test]
fn extra_tensor_is_named() {
    let tmp = scratch();
    let dir = tmp.path();
    edit_tensors(dir, Some(("model.layers.2.self_attn.q_proj.weight", vec![64, 64])), |_, s, b| Some((s, b)));
    assert!(
        matches!(load(dir), Err(ModelError::UnexpectedTensor { name }) if name == "model.layers.2.self_attn.q_proj.weight")
    );
}

#[test]
fn misshaped_tensor_is_named_with_both_shapes() {
    let tmp = scratch();
    let dir = tmp.path();
    edit_tensors(
        dir,
        None,
        |n, s, b| {
            if n == "model.norm.weight" { Some((vec![32], b[..128].to_vec())) } else { Some((s, b)) }
        },
    );
    match load(dir) {
        Err(ModelError::TensorShape { name, found, expected }) => {
            assert_eq!((name.as_str(), found, expected), ("model.norm.weight", vec![32], vec![64]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_and_corrupt_files_are_errors() {
    let tmp = scratch();
    let dir = tmp.path();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(dir.join("model.safetensors"), &bytes[..cut]).unwrap();
        assert!(matches!(load(dir), Err(ModelError::Safetensors { .. })), "cut at {cut}");
    }
    let mut garbage = bytes.clone();
    garbage[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(dir.join("model.safetensors"), &garbage).unwrap();
    assert!(matches!(load(dir), Err(ModelError::Safetensors { .. })));
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    assert!(matches!(load(dir), Err(ModelError::Io { .. })));
}

#[test]
fn config_that_does_not_match_the_weights() {
    let tmp = scratch();
    let dir = tmp.path();
    edit_config(dir, |c| {
        c.insert("intermediate_size".into(), 256.into());
    });
    assert!(
        matches!(load(dir), Err(ModelError::TensorShape { name, .. }) if name == "model.layers.0.mlp.gate_proj.weight")
    );
    let tmp = scratch();
    let dir = tmp.path();
    edit_config(dir, |c| {
        c.insert("num_hidden_layers".into(), 1.into());
    });
    assert!(matches!(load(dir), Err(ModelError::UnexpectedTensor { name }) if name.starts_with("model.layers.1.")));
}

#[test]
fn malformed_configs_name_the_field() {
    let cases: [(&str, Value, &str); 5] = [
        ("heads", Value::from(3), "num_key_value_heads"),
        ("vocab", Value::from("many"), "vocab_size"),
        ("type", Value::from("gpt2"), "model_type"),
        ("eps", Value::from(true), "rms_norm_eps"),
        ("zero_layers", Value::from(0), "num_hidden_layers"),
    ];
    for (name, value, field) in cases {
        let tmp = scratch();
        let dir = tmp.path();
        edit_config(dir, |c| {
            let key = if field == "num_key_value_heads" { "num_key_value_heads" } else { field };
            c.insert(key.into(), value.clone());
        });
        match load(dir) {
            Err(ModelError::Config { field: f, .. }) => assert_eq!(f, field, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    let tmp = scratch();
    let dir = tmp.path();
    edit_config(dir, |c| {
        c.insert("rope_scaling".into(), serde_json::json!({"rope_type": "linear", "factor": 0.25}));
    });
    assert!(matches!(load(dir), Err(ModelError::Rope(_))));
    std::fs::write(dir.join("config.json"), "{\"vocab_size\": 96,").unwrap();
    assert!(matches!(load(dir), Err(ModelError::Json { .. })));
}

#[test]
fn out_of_vocabulary_tokens_are_errors() {
    let model = load(&fixture()).unwrap();
    assert!(matches!(model.tokens(&[vec![1, 96]]), Err(ModelError::TokenOutOfRange { id: 96, index: 1, .. })));
    assert!(matches!(model.tokens(&[vec![]]), Err(ModelError::Input(_))));
    assert!(matches!(model.tokens(&[vec![1, 2], vec![3]]), Err(ModelError::Input(_))));
}

#[test]
fn saved_directories_load_back_with_identical_logits() {
    let model = load(&fixture()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    model.save(dir).unwrap();
    let back = load(dir).unwrap();
    let ids = vec![(3..40).collect::<Vec<u32>>()];
    let a = to_host(model.forward(model.tokens(&ids).unwrap(), ForwardOptions::default()));
    let b = to_host(back.forward(back.tokens(&ids).unwrap(), ForwardOptions::default()));
    assert_eq!(a, b);
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["rope_parameters"]["rope_type"], "default");
    assert_eq!(cfg["num_key_value_heads"], 2);
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Phi-3's fused projections: a LLaMA checkpoint read as Phi-3 lacks `qkv_proj`; a fused
/// tensor of the wrong height, or the parts beside the fused tensor, are errors naming it.
#[test]
fn phi3_fused_projections_are_checked() {
    let tmp = scratch();
    let dir = tmp.path();
    edit_config(dir, |c| {
        c.insert("model_type".into(), "phi3".into());
    });
    match load(dir) {
        Err(ModelError::MissingTensor { name }) => assert_eq!(name, "model.layers.0.self_attn.qkv_proj.weight"),
        other => panic!("{other:?}"),
    }
    let phi3 = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/model-level/phi3_sliding");
    let tmp = scratch_of(&phi3);
    let dir = tmp.path();
    edit_tensors(dir, None, |n, s, b| {
        if n == "model.layers.1.mlp.gate_up_proj.weight" {
            Some((vec![s[0] - 1, s[1]], b[..b.len() - 4 * s[1]].to_vec()))
        } else {
            Some((s, b))
        }
    });
    match load(dir) {
        Err(ModelError::TensorShape { name, found, expected }) => {
            assert_eq!(name, "model.layers.1.mlp.gate_up_proj.weight");
            assert_eq!((found, expected), (vec![255, 64], vec![256, 64]));
        }
        other => panic!("{other:?}"),
    }
    let tmp = scratch_of(&phi3);
    let dir = tmp.path();
    edit_tensors(dir, Some(("model.layers.0.self_attn.k_proj.weight", vec![32, 64])), |_, s, b| Some((s, b)));
    match load(dir) {
        Err(ModelError::UnexpectedTensor { name }) => assert!(name.contains("self_attn.k_proj.weight"), "{name}"),
        other => panic!("{other:?}"),
    }
}
