//! Pretrains the project's small base model: trains a byte-level BPE tokenizer on the corpus,
//! initialises a LLaMA of a few million parameters, and trains it at a 256-token window on
//! packed corpus text mixed with synthetic passkey samples (spec §12.1's template scaled to
//! fit the window), then reports validation perplexity and passkey accuracy at 256 tokens.
//!
//! ```text
//! cargo run --release --example pretrain_base -- [--corpus data/corpus] [--out data/base-model]
//!     [--epochs 1] [--batch 16] [--lr 2e-3] [--vocab 2048] [--passkey-fraction 0.25]
//!     [--seed 0] [--backend cpu|tch|wgpu]
//! ```
//! `--init DIR` continues from a trained model (and its tokenizer) instead of a fresh one;
//! `--text-windows N` uses N seeded corpus windows instead of all; `--phase NAME` names the
//! checkpoint directory, the training log and the evaluation file of this run;
//! `--passkey-min-len N` draws passkey sample lengths from `[N, 256]` (default: all 256);
//! `--passkey-answer-only true` puts the loss of passkey samples on the answer only;
//! `--passkey-samples N` sets their number (default: `--passkey-fraction` of the windows);
//! `--copy-samples N` adds N induction samples (a corpus segment of 16–64 tokens repeated to
//! fill `--copy-len` tokens, default 256, loss on the repeats; see `data::repeated_segments`);
//! `--number-samples N` adds N more made of random numbers (`data::repeated_numbers`).
//! Writes `OUT/{config.json, model.safetensors, tokenizer.json, train_log-PHASE.jsonl,
//! eval-PHASE.json}`; `data/make_base_model.sh` runs the three phases that made the committed one.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rope_ext::model::{AttentionImpl, BackendKind, Llama, LlamaConfig, Tokenizer};
use rope_ext::train::checkpoint::CheckpointDir;
use rope_ext::train::data::{self, END_OF_TEXT};
use rope_ext::train::eval::{PasskeyConfig, PerplexityConfig, passkey, perplexity};
use rope_ext::train::schedule::{Decay, Schedule};
use rope_ext::train::train::clock;
use rope_ext::train::{TrainConfig, Trainer};

/// The base model's window.
const WINDOW: usize = 256;

struct Args {
    corpus: PathBuf,
    out: PathBuf,
    epochs: u32,
    batch: usize,
    lr: f64,
    vocab: usize,
    passkey_fraction: f64,
    seed: u64,
    backend: BackendKind,
    init: Option<PathBuf>,
    text_windows: Option<usize>,
    phase: String,
    passkey_min_len: usize,
    passkey_answer_only: bool,
    passkey_samples: Option<usize>,
    copy_samples: usize,
    copy_len: usize,
    number_samples: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        corpus: "data/corpus".into(),
        out: "data/base-model".into(),
        epochs: 1,
        batch: 16,
        lr: 2e-3,
        vocab: 2048,
        passkey_fraction: 0.25,
        seed: 0,
        backend: BackendKind::Cpu,
        init: None,
        text_windows: None,
        phase: "pretrain".into(),
        passkey_min_len: WINDOW,
        passkey_answer_only: false,
        passkey_samples: None,
        copy_samples: 0,
        copy_len: WINDOW,
        number_samples: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |what: &str| format!("{what}: `{v}` is not a number");
        match flag.as_str() {
            "--corpus" => a.corpus = v.into(),
            "--out" => a.out = v.into(),
            "--epochs" => a.epochs = v.parse().map_err(|_| num("--epochs"))?,
            "--batch" => a.batch = v.parse().map_err(|_| num("--batch"))?,
            "--lr" => a.lr = v.parse().map_err(|_| num("--lr"))?,
            "--vocab" => a.vocab = v.parse().map_err(|_| num("--vocab"))?,
            "--passkey-fraction" => a.passkey_fraction = v.parse().map_err(|_| num("--passkey-fraction"))?,
            "--seed" => a.seed = v.parse().map_err(|_| num("--seed"))?,
            "--backend" => a.backend = v.parse().map_err(|e| format!("--backend: {e}"))?,
            "--init" => a.init = Some(v.into()),
            "--text-windows" => a.text_windows = Some(v.parse().map_err(|_| num("--text-windows"))?),
            "--phase" => a.phase = v,
            "--passkey-answer-only" => {
                a.passkey_answer_only =
                    v.parse().map_err(|_| format!("--passkey-answer-only: `{v}` is not true or false"))?
            }
            "--passkey-samples" => a.passkey_samples = Some(v.parse().map_err(|_| num("--passkey-samples"))?),
            "--copy-samples" => a.copy_samples = v.parse().map_err(|_| num("--copy-samples"))?,
            "--copy-len" => a.copy_len = v.parse().map_err(|_| num("--copy-len"))?,
            "--number-samples" => a.number_samples = v.parse().map_err(|_| num("--number-samples"))?,
            "--passkey-min-len" => a.passkey_min_len = v.parse().map_err(|_| num("--passkey-min-len"))?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(a)
}

/// The architecture: 4 layers, width 128, 4 query / 2 key-value heads of 32, SwiGLU 384,
/// tied embeddings, RoPE base 10,000 over a 256-token window.
fn model_config(vocab: usize) -> Result<LlamaConfig, String> {
    LlamaConfig::from_json(&serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "max_position_embeddings": WINDOW,
        "rms_norm_eps": 1e-5,
        "initializer_range": 0.02,
        "tie_word_embeddings": true,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "rope_theta": 10000.0,
        "torch_dtype": "float32"
    }))
    .map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    let a = parse()?;
    let err = |e: rope_ext::train::TrainError| e.to_string();
    eprintln!("reading {}", a.corpus.display());
    let train_docs = data::read_corpus(&a.corpus.join("train.jsonl.gz")).map_err(err)?;
    let valid_docs = data::read_corpus(&a.corpus.join("valid.jsonl.gz")).map_err(err)?;
    std::fs::create_dir_all(&a.out).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let texts: Vec<&str> = train_docs.iter().map(|d| d.text.as_str()).collect();
    let tokenizer = match &a.init {
        Some(dir) => {
            if dir != &a.out {
                std::fs::copy(dir.join("tokenizer.json"), a.out.join("tokenizer.json")).map_err(|e| e.to_string())?;
            }
            Tokenizer::from_dir(&a.out).map_err(|e| e.to_string())?
        }
        None => data::train_bpe(&texts, a.vocab, &a.out.join("tokenizer.json")).map_err(err)?,
    };
    let eot = tokenizer.inner().token_to_id(END_OF_TEXT).ok_or("the tokenizer lacks <|endoftext|>")?;
    eprintln!("tokenizing {} training documents", train_docs.len());
    let train_ids = data::tokenize(&tokenizer, &train_docs).map_err(err)?;
    let n_tokens: usize = train_ids.iter().map(Vec::len).sum();
    let bytes: usize = train_docs.iter().map(|d| d.text.len()).sum();
    eprintln!(
        "tokenizer: vocab {} trained in {}; {n_tokens} train tokens ({:.2} bytes/token)",
        a.vocab,
        clock(started.elapsed().as_secs_f64()),
        bytes as f64 / n_tokens as f64
    );

    // Every window of the training split, plus passkey samples as a fraction of them.
    let mut samples = data::pack(&train_ids, WINDOW, Some(eot)).map_err(err)?;
    match a.text_windows {
        Some(0) => samples.clear(),
        Some(n) => samples = data::select(&samples, n.min(samples.len()), a.seed).map_err(err)?,
        None => {}
    }
    let n_passkey = a.passkey_samples.unwrap_or((samples.len() as f64 * a.passkey_fraction).round() as usize);
    samples.extend(
        passkey::training_samples(&tokenizer, n_passkey, a.passkey_min_len, WINDOW, a.passkey_answer_only, a.seed)
            .map_err(err)?,
    );
    let segment = 16..=64usize.min(a.copy_len / 2);
    samples
        .extend(data::repeated_segments(&train_ids, a.copy_samples, a.copy_len, segment.clone(), a.seed).map_err(err)?);
    samples.extend(
        data::repeated_numbers(&tokenizer, a.number_samples, a.copy_len, passkey::MAX_KEY, segment, a.seed)
            .map_err(err)?,
    );

    let samples_len = samples.len();
    let config = model_config(a.vocab)?;
    eprintln!(
        "model: {} parameters; {} samples ({n_passkey} passkey, {} text copy, {} number copy)",
        config.num_parameters(),
        samples.len(),
        a.copy_samples,
        a.number_samples
    );
    let device = a.backend.device().map_err(|e| e.to_string())?.autodiff();
    let model = match &a.init {
        Some(dir) => Llama::load(dir, &device),
        None => Llama::init(config, a.seed, &device),
    }
    .map_err(|e| e.to_string())?;
    let train = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch,
        micro_batch_size: a.batch,
        schedule: Schedule { lr: a.lr, warmup_steps: 50, decay: Decay::Cosine },
        seed: a.seed,
        checkpoint_every: Some(250),
        ..TrainConfig::default()
    };
    let attention = AttentionImpl::for_backend(a.backend);
    let ckpt = CheckpointDir::new(a.out.join("checkpoints").join(&a.phase), 1);
    let log = a.out.join(format!("train_log-{}.jsonl", a.phase));
    let mut trainer = match ckpt.latest().map_err(err)? {
        Some((step, dir)) => {
            eprintln!("resuming from step {step}");
            Trainer::resume(&dir, samples, train, &device).map_err(err)?
        }
        None => Trainer::new(model, samples, train).map_err(err)?,
    }
    .with_attention(attention);
    let t0 = Instant::now();
    let from = trainer.step();
    trainer
        .run(None, Some(&ckpt), Some(&log), &mut |m| {
            eprint!("\r{}", m.progress_line(t0.elapsed().as_secs_f64(), from));
        })
        .map_err(err)?;
    eprintln!();
    let trainer_samples = samples_len;
    let model = trainer.into_model().valid();
    model.save(&a.out).map_err(|e| e.to_string())?;

    let valid_ids = data::tokenize(&tokenizer, &valid_docs).map_err(err)?;
    let ppl = perplexity::sliding_window(
        &model,
        &valid_ids,
        &PerplexityConfig { len: WINDOW, stride: WINDOW, max_windows: Some(20), ..Default::default() },
        attention,
    )
    .map_err(err)?;
    let pk = PasskeyConfig { lengths: vec![WINDOW], depths: vec![0.1, 0.5, 0.9], trials: 10, seed: 1 };
    let cells = passkey::evaluate(&model, &tokenizer, &pk, attention, &mut |_, _| {}).map_err(err)?;
    let accuracy =
        cells.iter().map(|c| c.correct).sum::<usize>() as f64 / cells.iter().map(|c| c.trials).sum::<usize>() as f64;
    let report = serde_json::json!({
        "validation_perplexity_256": ppl,
        "passkey_256": cells,
        "passkey_accuracy_256": accuracy,
        "epochs": a.epochs,
        "train_samples": trainer_samples,
        "batch": a.batch,
        "lr": a.lr,
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        a.out.join(format!("eval-{}.json", a.phase)),
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n",
    )
    .map_err(|e| e.to_string())?;
    println!(
        "validation perplexity at {WINDOW}: {:.2} (per-window mean; token-weighted {:.2}); passkey at {WINDOW}: {:.0}%; total {}",
        ppl.window_mean,
        ppl.token_weighted,
        accuracy * 100.0,
        clock(started.elapsed().as_secs_f64())
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
