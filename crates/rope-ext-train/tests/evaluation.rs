//! Perplexity against a hand computation, passkey prompts, run configs.

mod common;

use rope_ext_model::{AttentionImpl, Llama, Tokenizer};
use rope_ext_train::TrainError;
use rope_ext_train::eval::passkey::{self, FINAL_QUESTION, GARBAGE, TASK_DESCRIPTION};
use rope_ext_train::eval::{PerplexityConfig, perplexity};
use rope_ext_train::run::RunConfig;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama").join(name)
}

fn plain_model() -> Llama {
    Llama::init(common::tiny_config(), 11, &common::train_device().inner()).unwrap()
}

/// By hand: every window's scored NLLs from a full forward of that window, as the script does.
#[test]
fn sliding_window_perplexity_equals_a_hand_computation() {
    let model = plain_model();
    let doc: Vec<u32> = (0..40u32).map(|i| (i * 13 + 5) % 64).collect();
    let cfg = PerplexityConfig { len: 16, stride: 8, bos: Some(1), truncate: false, max_windows: None };
    let got = perplexity::sliding_window(&model, std::slice::from_ref(&doc), &cfg, AttentionImpl::Reference).unwrap();
    // max_tok = 15: windows [0,15) 15 scored, [8,23) 8, [16,31) 8, [24,39) 8, [32,40) 1.
    let windows = [(0, 15, 15), (8, 23, 8), (16, 31, 8), (24, 39, 8), (32, 40, 1)];
    let (mut means, mut sum, mut count) = (Vec::new(), 0.0, 0);
    for (b, e, k) in windows {
        let ids: Vec<u32> = std::iter::once(1).chain(doc[b..e].iter().copied()).collect();
        let nll = model.token_nlls(&ids, AttentionImpl::Reference).unwrap();
        let last: Vec<f64> = nll[nll.len() - k..].to_vec();
        means.push(last.iter().sum::<f64>() / k as f64);
        sum += last.iter().sum::<f64>();
        count += k;
    }
    let expect = (means.iter().sum::<f64>() / means.len() as f64).exp();
    assert_eq!(got.windows, 5);
    assert_eq!(got.tokens, count);
    assert!((got.window_mean - expect).abs() < 1e-9 * expect, "{} vs {expect}", got.window_mean);
    assert!((got.token_weighted - (sum / count as f64).exp()).abs() < 1e-9 * expect);
    assert!(got.window_mean > 1.0 && got.window_mean < 1e4);
}

#[test]
fn perplexity_rejects_bad_settings() {
    let model = plain_model();
    let doc = vec![vec![1u32, 2, 3]];
    let zero = PerplexityConfig { stride: 0, ..PerplexityConfig::default() };
    assert!(matches!(
        perplexity::sliding_window(&model, &doc, &zero, AttentionImpl::Reference),
        Err(TrainError::Config { field, .. }) if field == "stride"
    ));
}

#[test]
fn passkey_prompts_are_deterministic_and_put_the_needle_at_the_depth() {
    let tok = Tokenizer::from_file(&fixture("default/tokenizer.json")).unwrap();
    for depth in [0.0, 0.25, 0.5, 0.9, 1.0] {
        let a = passkey::build_prompt(&tok, 200, depth, 31337).unwrap();
        let b = passkey::build_prompt(&tok, 200, depth, 31337).unwrap();
        assert_eq!(a, b);
        assert!(a.tokens.len() <= 200);
        let n = a.prefix_chars + a.suffix_chars;
        assert!(n > 100, "garbage fills the room: {n}");
        assert_eq!(a.prefix_chars, (depth * n as f64).round() as usize);
        let needle = a.text.find("The pass key is 31337.").unwrap();
        let start = TASK_DESCRIPTION.len() + 1;
        assert_eq!(needle - start, a.prefix_chars + 1, "needle follows prefix garbage and a newline");
        assert!(a.text.starts_with(TASK_DESCRIPTION) && a.text.ends_with(FINAL_QUESTION));
        assert!(a.text[start..].starts_with(&GARBAGE[..a.prefix_chars.min(GARBAGE.len())]));
        // one more character of garbage would not fit
        let longer = passkey::prompt_text(a.prefix_chars, a.suffix_chars + 8, 31337);
        assert!(tok.encode(&longer).unwrap().len() > 200 || n > 1500);
    }
    assert!(matches!(passkey::build_prompt(&tok, 10, 0.5, 1), Err(TrainError::Config { .. })));
    assert!(matches!(passkey::build_prompt(&tok, 200, 1.5, 1), Err(TrainError::Config { .. })));
}

#[test]
fn malformed_run_configs_name_the_field() {
    let dir_guard = tempfile::tempdir().unwrap();
    let dir = dir_guard.path().to_path_buf();
    let good = r#"{"name": "pi", "model": "m", "rope": {"method": "linear", "factor": 4.0},
        "data": {"corpus": "c.jsonl.gz"}, "train": {"epochs": 2}}"#;
    let cases = [
        (good.replace("\"factor\": 4.0", "\"factor\": 0.5"), "rope"),
        (good.replace("\"epochs\": 2", "\"epochs\": 0"), "train.epochs"),
        (good.replace("\"epochs\": 2", "\"epochz\": 2"), "epochz"),
        (good.replace("\"linear\"", "\"lineer\""), "lineer"),
        (good.replace("{\"corpus\": \"c.jsonl.gz\"}", "{\"corpus\": \"c\", \"samples\": 0}"), "data.samples"),
        (good.replace("\"epochs\": 2", "\"schedule\": {\"lr\": -1.0}"), "train.schedule.lr"),
        (good.replace("\"epochs\": 2", "\"epochs\": \"two\""), "train.epochs"),
        (good.replace("\"factor\": 4.0", "\"factor\": \"4\""), "rope"),
        (good.replace("{\"corpus\": \"c.jsonl.gz\"}", "{\"corpus\": \"c\", \"format\": \"csv\"}"), "data.format"),
    ];
    let path = dir.join("run.json");
    std::fs::write(&path, good).unwrap();
    let cfg = RunConfig::from_file(&path).unwrap();
    assert_eq!(cfg.train.epochs, 2);
    assert_eq!(cfg.data.samples, 100);
    for (text, field) in cases {
        std::fs::write(&path, &text).unwrap();
        let err = RunConfig::from_file(&path).unwrap_err();
        match &err {
            TrainError::Config { field: f, problem } => {
                assert!(f == field || problem.contains(field), "{f}: {problem}")
            }
            other => panic!("{field}: {other}"),
        }
    }
    std::fs::write(&path, "{ not json").unwrap();
    assert!(matches!(RunConfig::from_file(&path), Err(TrainError::Json { .. })));
}

#[test]
fn number_copy_samples_repeat_digit_strings_deterministically() {
    // The project's byte-level BPE (the fixture's word-level vocabulary has no digits).
    let tok = Tokenizer::from_file(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/base-model/tokenizer.json"),
    )
    .unwrap();
    let all = rope_ext_train::data::repeated_numbers(&tok, 12, 48, 50_000, 8..=20, 5).unwrap();
    assert_eq!(all, rope_ext_train::data::repeated_numbers(&tok, 12, 48, 50_000, 8..=20, 5).unwrap());
    assert_ne!(all, rope_ext_train::data::repeated_numbers(&tok, 12, 48, 50_000, 8..=20, 6).unwrap());
    for s in &all {
        let k = s.targets.iter().position(|&t| t).unwrap();
        assert!((8..=20).contains(&k) && s.tokens.len() == 48);
        assert!((k..48).all(|i| s.tokens[i] == s.tokens[i - k]), "the segment repeats");
        let text = tok.decode(&s.tokens[..k]).unwrap();
        assert!(text.starts_with(' ') && text.chars().all(|c| c == ' ' || c.is_ascii_digit()), "{text:?}");
    }
    let err = rope_ext_train::data::repeated_numbers(&tok, 1, 16, 50_000, 8..=16, 5).unwrap_err();
    assert!(matches!(err, TrainError::Config { field, .. } if field == "segment"));
}
