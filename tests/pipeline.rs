//! The main job at toy size: a tokenizer trained on the committed corpus, a tiny base model
//! pretrained for a few steps at a 256-token window, and the comparison extending it to 512
//! with every method the main job runs, fine-tuned and training-free. Besides finite numbers
//! and a complete table, each method must do what it says where that is checkable at this size:
//! dynamic NTK leaves the base model alone inside the window and acts past it, the other
//! training-free methods change it everywhere, and PI's fine-tuning lowers its loss and its
//! held-out perplexity at the target (298 against 350 untrained, when written).

use std::path::{Path, PathBuf};

use rope_ext::model::{BackendKind, Llama, LlamaConfig};
use rope_ext::train::compare::{self, CompareConfig, Kind};
use rope_ext::train::data::{self, END_OF_TEXT};
use rope_ext::train::eval::PasskeyConfig;
use rope_ext::train::schedule::{Decay, Schedule};
use rope_ext::train::{TrainConfig, Trainer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).into()
}

/// A tiny base model directory: tokenizer, config, weights after a few training steps.
fn toy_base(dir: &Path, device: &rope_ext::model::burn::tensor::Device) -> PathBuf {
    let docs = data::read_corpus(&root().join("data/corpus/valid.jsonl.gz")).unwrap();
    let texts: Vec<&str> = docs.iter().map(|d| &d.text[..d.text.len().min(20_000)]).collect();
    let model_dir = dir.join("base");
    let tok = data::train_bpe(&texts, 400, &model_dir.join("tokenizer.json")).unwrap();
    let config = LlamaConfig::from_json(&serde_json::json!({
        "model_type": "llama", "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "tie_word_embeddings": true,
        "bos_token_id": 0, "eos_token_id": 0, "rope_theta": 10000.0
    }))
    .unwrap();
    let ids = data::tokenize(&tok, &docs[..1]).unwrap();
    let eot = tok.inner().token_to_id(END_OF_TEXT);
    let samples = data::select(&data::pack(&ids, 256, eot).unwrap(), 8, 0).unwrap();
    let model = Llama::init(config, 0, &device.clone().autodiff()).unwrap();
    let train = TrainConfig {
        epochs: 1,
        batch_size: 4,
        schedule: Schedule { lr: 3e-3, warmup_steps: 0, decay: Decay::Constant },
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(model, samples, train).unwrap();
    let m = t.run(None, None, None, &mut |_| {}).unwrap();
    assert!(m.iter().all(|s| s.loss.is_finite()));
    t.into_model().valid().save(&model_dir).unwrap();
    model_dir
}

#[test]
fn the_whole_pipeline_runs_at_toy_size() {
    let dir_guard = tempfile::tempdir().unwrap();
    let dir = dir_guard.path().to_path_buf();
    let device = BackendKind::for_tests().device().unwrap();
    let model = toy_base(&dir, &device);
    let mut cfg = CompareConfig {
        model,
        train_corpus: root().join("data/corpus/valid.jsonl.gz"),
        valid_corpus: root().join("data/corpus/valid.jsonl.gz"),
        target: 512,
        lengths: vec![256, 512],
        samples: 4,
        train: TrainConfig { epochs: 2, batch_size: 2, micro_batch_size: 2, ..TrainConfig::default() },
        e2llm_max_scale: 2,
        perplexity_chunks: 2,
        passkey: PasskeyConfig { lengths: vec![], depths: vec![0.5], trials: 1, seed: 1 },
        ..CompareConfig::default()
    };
    cfg.train.schedule.lr = 3e-3;
    // The main job's method lists, whatever they are.
    let main_job = CompareConfig::default();
    assert_eq!(main_job.fine_tuned.len(), 7);
    assert_eq!(main_job.training_free.len(), 5);
    let c = compare::run(&cfg, &device, &mut |_| {}).unwrap();
    let kinds: Vec<(String, Kind)> = c.results.iter().map(|r| (r.method.clone(), r.kind)).collect();
    let expected: Vec<(String, Kind)> = std::iter::once(("base".to_string(), Kind::Base))
        .chain(main_job.training_free.iter().map(|m| (m.clone(), Kind::TrainingFree)))
        .chain(main_job.fine_tuned.iter().map(|m| (m.clone(), Kind::FineTuned)))
        .collect();
    assert_eq!(kinds, expected);
    let find = |method: &str, kind: Kind| c.results.iter().find(|r| r.method == method && r.kind == kind).unwrap();
    let base = find("base", Kind::Base);
    let (inside, past) = (base.perplexity_at(256).unwrap(), base.perplexity_at(512).unwrap());
    let dynamic = find("dynamic_ntk", Kind::TrainingFree);
    assert_eq!(dynamic.perplexity_at(256), Some(inside), "dynamic NTK must not act inside the window");
    assert_ne!(dynamic.perplexity_at(512), Some(past), "dynamic NTK must act past the window");
    for method in ["pi", "ntk", "yarn"] {
        let r = find(method, Kind::TrainingFree);
        assert_ne!(r.perplexity_at(256), Some(inside), "{method} rescales every position");
    }
    let pi_tuned = find("pi", Kind::FineTuned);
    let (first, last) = pi_tuned.train_loss.unwrap();
    assert!(last < first, "PI fine-tuning must lower the loss: {first} -> {last}");
    // And on held-out text at the target, against the same method without training.
    let (tuned, untuned) =
        (pi_tuned.perplexity_at(512).unwrap(), find("pi", Kind::TrainingFree).perplexity_at(512).unwrap());
    assert!(tuned < untuned, "PI fine-tuning must lower the held-out perplexity at 512: {untuned} -> {tuned}");
    for r in &c.results {
        for &l in &cfg.lengths {
            let p = r.perplexity_at(l).unwrap();
            assert!(p.is_finite() && p > 1.0, "{}: ppl@{l} = {p}", r.label());
            assert!(r.passkey_accuracy(l).is_some(), "{}: passkey@{l}", r.label());
        }
        if r.kind == Kind::FineTuned {
            let (a, b) = r.train_loss.unwrap();
            assert!(a.is_finite() && b.is_finite());
        }
    }
    let table = compare::markdown(&c);
    assert_eq!(table.lines().count(), 2 + c.results.len());
    assert!(table.lines().all(|l| l.matches('|').count() == 2 + 2 * cfg.lengths.len()));
    let out = dir.join("results");
    compare::write_results(&c, &out).unwrap();
    for f in ["results.json", "results.md", "perplexity.svg", "passkey.svg"] {
        assert!(out.join(f).exists(), "{f}");
    }
}

/// Progressive extension as a sequence of run configurations carried out by `run::execute`:
/// 256 → 512 with PI on text (interrupted after one step and continued, which must give the
/// weights of an uninterrupted run; continuing with a changed configuration is refused), then 512 → 1,024 with YaRN on chat-style samples starting
/// from the first run's exported model.
#[test]
fn progressive_extension_is_a_sequence_of_runs() {
    use rope_ext::core::RopeScaling;
    use rope_ext::core::methods::{linear::Linear, yarn::Yarn};
    use rope_ext::model::host::to_host;
    use rope_ext::train::run::{self, DataConfig, DataFormat, RunConfig, RunEvent};

    let dir_guard = tempfile::tempdir().unwrap();
    let dir = dir_guard.path().to_path_buf();
    let device = BackendKind::for_tests().device().unwrap();
    let base = toy_base(&dir, &device);
    let first = RunConfig {
        name: "pi-512".into(),
        model: base,
        tokenizer: None,
        rope: RopeScaling::Linear(Linear { factor: 2.0 }),
        max_position_embeddings: Some(512),
        data: DataConfig {
            corpus: root().join("data/corpus/valid.jsonl.gz"),
            format: DataFormat::Text,
            samples: 4,
            seq_len: 512,
            seed: 3,
        },
        train: TrainConfig { epochs: 1, batch_size: 2, micro_batch_size: 1, ..TrainConfig::default() },
    };
    let stopped = run::execute(&first, &dir.join("pi-a"), &device, Some(1), &mut |_| {}).unwrap();
    assert_eq!((stopped.step, stopped.total_steps, stopped.model.is_none()), (1, 2, true));
    let changed = RunConfig { rope: RopeScaling::Linear(Linear { factor: 4.0 }), ..first.clone() };
    let refused = run::execute(&changed, &dir.join("pi-a"), &device, None, &mut |_| {}).unwrap_err();
    assert!(refused.to_string().contains("another run configuration"), "{refused}");
    let mut events = Vec::new();
    let continued = run::execute(&first, &dir.join("pi-a"), &device, None, &mut |e| {
        events.push(match e {
            RunEvent::Resuming { step, .. } => format!("resuming {step}"),
            RunEvent::Training { step, total_steps } => format!("training {step}/{total_steps}"),
            RunEvent::Step(m) => format!("step {}", m.step),
            other => format!("{other:?}").split_whitespace().next().unwrap().to_string(),
        })
    })
    .unwrap();
    assert_eq!(
        events,
        ["Loading", "Tokenizing", "Samples", "resuming 1", "training 1/2", "step 2", "Exporting"],
        "what a resumed run says it does"
    );
    let whole = run::execute(&first, &dir.join("pi-b"), &device, None, &mut |_| {}).unwrap();
    let (a, b) = (continued.model.unwrap(), whole.model.unwrap());
    let (a, b) = (Llama::load(&a, &device).unwrap(), Llama::load(&b, &device).unwrap());
    assert_eq!(to_host(a.weights.norm.gamma.val()), to_host(b.weights.norm.gamma.val()));
    assert_eq!(
        to_host(a.weights.layers[1].self_attn.q_proj.weight.val()),
        to_host(b.weights.layers[1].self_attn.q_proj.weight.val())
    );
    assert!(matches!(a.config.rope.scaling(), RopeScaling::Linear(_)));
    let metrics = std::fs::read_to_string(dir.join("pi-a/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "one metrics line per step across the interruption");

    let chat = dir.join("chat.jsonl");
    let pairs: String = (0..6)
        .map(|i| {
            format!("{{\"prompt\": \"What is the word number {i}?\", \"response\": \"The word is {}.\"}}\n", i * 7)
        })
        .collect();
    std::fs::write(&chat, pairs).unwrap();
    let second = RunConfig {
        name: "yarn-1024".into(),
        model: dir.join("pi-a/model"),
        rope: RopeScaling::Yarn(Yarn { factor: 2.0, original_max_position_embeddings: Some(512), ..Yarn::default() }),
        max_position_embeddings: Some(1024),
        data: DataConfig { corpus: chat, format: DataFormat::Chat, samples: 4, seq_len: 1024, seed: 0 },
        ..first
    };
    let done = run::execute(&second, &dir.join("yarn"), &device, None, &mut |e| {
        if let RunEvent::Step(m) = e {
            assert!(m.loss.is_finite());
        }
    })
    .unwrap();
    let extended = Llama::load(&done.model.unwrap(), &device).unwrap();
    assert!(matches!(extended.config.rope.scaling(), RopeScaling::Yarn(_)));
    assert_eq!(extended.config.rope.context().max_position_embeddings, 1024);
    assert!(dir.join("yarn/model/tokenizer.json").exists() && dir.join("yarn/run.json").exists());
}
