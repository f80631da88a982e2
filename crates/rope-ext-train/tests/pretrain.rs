//! Pretraining as a configuration: the committed phases parse, a phase writes a model, its
//! log and its evaluation, the next phase continues from it, and bad values name their field.

use std::io::Write;
use std::path::{Path, PathBuf};

use rope_ext_model::{AttentionImpl, BackendKind, Llama};
use rope_ext_train::checkpoint::read_json;
use rope_ext_train::data;
use rope_ext_train::pretrain::{self, PasskeySamples, PretrainConfig, PretrainReport};
use rope_ext_train::run::RunEvent;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A corpus directory with a few documents of the committed validation split.
fn small_corpus(dir: &Path) -> PathBuf {
    let docs = data::read_corpus(&root().join("data/corpus/valid.jsonl.gz")).unwrap();
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for (name, range) in [("train.jsonl.gz", 0..3), ("valid.jsonl.gz", 3..4)] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for d in &docs[range] {
            let doc = data::Document { text: d.text[..d.text.len().min(12_000)].to_string(), ..d.clone() };
            writeln!(gz, "{}", serde_json::to_string(&doc).unwrap()).unwrap();
        }
        std::fs::write(corpus.join(name), gz.finish().unwrap()).unwrap();
    }
    corpus
}

#[test]
fn the_committed_phases_parse() {
    for phase in ["pretrain", "numbers", "passkey"] {
        let cfg: PretrainConfig = read_json(&root().join(format!("data/pretrain/{phase}.json"))).unwrap();
        assert_eq!(cfg.phase, phase);
        cfg.validate().unwrap();
    }
    let passkey: PretrainConfig = read_json(&root().join("data/pretrain/passkey.json")).unwrap();
    let expected = PasskeySamples { samples: Some(6000), answer_only: true, min_len: Some(110), ..Default::default() };
    assert_eq!(passkey.passkey, expected);
}

#[test]
fn a_phase_writes_its_model_and_evaluation_and_the_next_continues_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = small_corpus(tmp.path());
    let out = tmp.path().join("base");
    let device = BackendKind::for_tests().device().unwrap();
    let first = PretrainConfig {
        corpus: corpus.clone(),
        vocab: 400,
        window: 256,
        batch: 4,
        warmup_steps: 0,
        text_windows: Some(6),
        passkey: PasskeySamples { samples: Some(2), ..Default::default() },
        ..PretrainConfig::default()
    };
    let mut events = Vec::new();
    let report = pretrain::execute(&first, &out, &device, AttentionImpl::CHUNKED, &mut |e| {
        events.push(match e {
            RunEvent::Tokenizing { .. } => "tokenizing",
            RunEvent::Samples { samples, .. } => {
                assert_eq!(samples, 8);
                "samples"
            }
            RunEvent::Training { step: 0, total_steps } => {
                assert_eq!(total_steps, 2);
                "training"
            }
            RunEvent::Step(m) => {
                assert!(m.loss.is_finite());
                "step"
            }
            RunEvent::Exporting { .. } => "exporting",
            other => panic!("unexpected {other:?}"),
        })
    })
    .unwrap();
    let expected = ["tokenizing", "samples", "training", "step", "step", "exporting", "tokenizing"];
    assert_eq!(events, expected);
    assert_eq!(report.validation_perplexity.len, 256);
    assert!(report.validation_perplexity.window_mean.is_finite() && report.passkey.len() == 3);
    let written: PretrainReport = read_json(&out.join("eval-pretrain.json")).unwrap();
    assert_eq!(written.config, first);
    assert_eq!(std::fs::read_to_string(out.join("train_log-pretrain.jsonl")).unwrap().lines().count(), 2);
    let model = Llama::load(&out, &device).unwrap();
    assert_eq!((model.config.vocab_size, model.config.rope.context().max_position_embeddings), (400, 256));

    // a second phase continues from the first: same tokenizer, the first's weights as a start
    let tokenizer = std::fs::read(out.join("tokenizer.json")).unwrap();
    let second = PretrainConfig {
        phase: "copy".into(),
        init: Some(out.clone()),
        text_windows: Some(0),
        passkey: PasskeySamples { samples: Some(0), ..Default::default() },
        copy_samples: 4,
        copy_len: Some(64),
        ..first.clone()
    };
    pretrain::execute(&second, &out, &device, AttentionImpl::CHUNKED, &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(out.join("tokenizer.json")).unwrap(), tokenizer);
    assert!(out.join("eval-copy.json").exists() && out.join("eval-pretrain.json").exists());
}

#[test]
fn bad_values_name_their_field() {
    let cases = [
        (PretrainConfig { batch: 0, ..Default::default() }, "batch"),
        (PretrainConfig { lr: f64::NAN, ..Default::default() }, "lr"),
        (PretrainConfig { window: 0, ..Default::default() }, "window"),
        (
            PretrainConfig { passkey: PasskeySamples { fraction: -1.0, ..Default::default() }, ..Default::default() },
            "passkey.fraction",
        ),
        (PretrainConfig { copy_samples: 1, copy_len: Some(8), ..Default::default() }, "copy_len"),
    ];
    for (cfg, field) in cases {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(&format!("`{field}`")), "{field}: {err}");
    }
    let unknown = serde_json::from_str::<PretrainConfig>(r#"{"phase": "x", "epoch": 2}"#).unwrap_err().to_string();
    assert!(unknown.contains("unknown field `epoch`"), "{unknown}");
}
