//! Pretraining a small base model, as one serde configuration ([`PretrainConfig`]) carried out
//! by [`execute`]: a byte-level BPE tokenizer trained on the corpus (or the one of `init`), a
//! fresh LLaMA (or the model of `init`), trained at its window on packed corpus windows mixed
//! with synthetic passkey samples (spec §12.1's template scaled to the window) and copy
//! samples, then scored by validation perplexity and passkey accuracy at the window.
//!
//! `data/make_base_model.sh` runs the three phases (`data/pretrain/*.json`) that made the
//! committed `data/base-model`. A phase writes `OUT/{config.json, model.safetensors,
//! tokenizer.json, train_log-PHASE.jsonl, eval-PHASE.json}` and checkpoints under
//! `OUT/checkpoints/PHASE/`; run again after an interruption, it resumes from the newest.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rope_ext_model::burn::tensor::Device;
use rope_ext_model::{AttentionImpl, Llama, LlamaConfig, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointDir, write_json};
use crate::data::{self, END_OF_TEXT, Sample};
use crate::error::TrainError;
use crate::eval::{PasskeyCell, PasskeyConfig, Perplexity, PerplexityConfig, passkey, perplexity};
use crate::run::RunEvent;
use crate::schedule::{Decay, Schedule};
use crate::{TrainConfig, Trainer};

/// One pretraining phase. Every field has a default (the first phase of the committed model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    /// The phase's name: it names the checkpoint directory, the training log and the
    /// evaluation file.
    pub phase: String,
    /// The corpus directory, with `train.jsonl.gz` and `valid.jsonl.gz`.
    pub corpus: PathBuf,
    /// Continue from this model directory (and its tokenizer) instead of a fresh one.
    pub init: Option<PathBuf>,
    /// The tokenizer's vocabulary (a fresh model only).
    pub vocab: usize,
    /// The model's window: training length and evaluation length (a fresh model only).
    pub window: usize,
    /// Epochs over the samples.
    pub epochs: u32,
    /// Samples per optimiser step.
    pub batch: usize,
    /// Peak learning rate (cosine decay after a linear warmup).
    pub lr: f64,
    /// Warmup steps.
    pub warmup_steps: u64,
    /// Seed of the initialisation, the sample choice and the data order.
    pub seed: u64,
    /// A checkpoint every this many steps.
    pub checkpoint_every: u64,
    /// Use this many seeded corpus windows instead of all (0: none).
    pub text_windows: Option<usize>,
    /// Passkey samples.
    pub passkey: PasskeySamples,
    /// Induction samples: a corpus segment of 16–64 tokens repeated to fill `copy_len`
    /// tokens, the loss on the repeats (`data::repeated_segments`).
    pub copy_samples: usize,
    /// Random-number copy samples of `copy_len` tokens (`data::repeated_numbers`).
    pub number_samples: usize,
    /// The length of copy samples (default: the window).
    pub copy_len: Option<usize>,
}

/// The passkey samples of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeySamples {
    /// Their number as a fraction of the text windows, unless `samples` is set.
    pub fraction: f64,
    /// Their number.
    pub samples: Option<usize>,
    /// Sample lengths are drawn from `[min_len, window]` (default: all of the window).
    pub min_len: Option<usize>,
    /// The loss on the answer only.
    pub answer_only: bool,
}

impl Default for PasskeySamples {
    fn default() -> Self {
        PasskeySamples { fraction: 0.25, samples: None, min_len: None, answer_only: false }
    }
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            phase: "pretrain".into(),
            corpus: "data/corpus".into(),
            init: None,
            vocab: 2048,
            window: 256,
            epochs: 1,
            batch: 16,
            lr: 2e-3,
            warmup_steps: 50,
            seed: 0,
            checkpoint_every: 250,
            text_windows: None,
            passkey: PasskeySamples::default(),
            copy_samples: 0,
            number_samples: 0,
            copy_len: None,
        }
    }
}

/// What a phase measured at its end (`eval-PHASE.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainReport {
    /// Validation perplexity at the window (20 windows).
    pub validation_perplexity: Perplexity,
    /// Passkey retrieval at the window, depths 0.1, 0.5 and 0.9, 10 trials each.
    pub passkey: Vec<PasskeyCell>,
    /// Their accuracy.
    pub passkey_accuracy: f64,
    /// Training samples.
    pub train_samples: usize,
    /// The configuration.
    pub config: PretrainConfig,
    /// Wall time of the phase.
    pub seconds: f64,
}

impl PretrainConfig {
    /// Checks the numbers a phase cannot run with.
    ///
    /// # Errors
    /// [`TrainError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let positive = [("window", self.window), ("batch", self.batch), ("vocab", self.vocab)];
        if let Some((field, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(TrainError::config(*field, "must be at least 1, got 0"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::config("lr", format!("must be a positive number, got {}", self.lr)));
        }
        if !(self.passkey.fraction.is_finite() && self.passkey.fraction >= 0.0) {
            let got = self.passkey.fraction;
            return Err(TrainError::config("passkey.fraction", format!("must be a number >= 0, got {got}")));
        }
        if self.copy_len() < 32 && self.copy_samples + self.number_samples > 0 {
            return Err(TrainError::config("copy_len", format!("must be at least 32, got {}", self.copy_len())));
        }
        Ok(())
    }

    fn copy_len(&self) -> usize {
        self.copy_len.unwrap_or(self.window)
    }
}

/// The architecture of a fresh base model: 4 layers, width 128, 4 query / 2 key-value heads of
/// 32, SwiGLU 384, tied embeddings, RoPE base 10,000 over `window` tokens.
///
/// # Errors
/// Never for positive sizes; the model crate's validation otherwise.
pub fn base_architecture(vocab: usize, window: usize) -> Result<LlamaConfig, TrainError> {
    Ok(LlamaConfig::from_json(&serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "max_position_embeddings": window,
        "rms_norm_eps": 1e-5,
        "initializer_range": 0.02,
        "tie_word_embeddings": true,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "rope_theta": 10000.0,
        "torch_dtype": "float32"
    }))?)
}

/// Carries out one phase into `out` on `device` (its autodiff form trains) with `attention`,
/// reporting progress through `on_event`; writes the model, the log and `eval-PHASE.json`.
///
/// # Errors
/// A bad configuration, an unreadable corpus or model, or a failed write.
pub fn execute(
    cfg: &PretrainConfig,
    out: &Path,
    device: &Device,
    attention: AttentionImpl,
    on_event: &mut dyn FnMut(RunEvent<'_>),
) -> Result<PretrainReport, TrainError> {
    cfg.validate()?;
    let started = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let train_corpus = cfg.corpus.join("train.jsonl.gz");
    on_event(RunEvent::Tokenizing { corpus: &train_corpus });
    let train_docs = data::read_corpus(&train_corpus)?;
    let tokenizer = tokenizer(cfg, out, &train_docs)?;
    let train_ids = data::tokenize(&tokenizer, &train_docs)?;
    let (tokens, bytes) =
        (train_ids.iter().map(Vec::len).sum::<usize>(), train_docs.iter().map(|d| d.text.len()).sum::<usize>());
    tracing::info!(
        vocab = tokenizer.inner().get_vocab_size(true),
        tokens,
        bytes_per_token = bytes as f64 / tokens.max(1) as f64,
        "tokenizer ready; training split tokenized"
    );
    let samples = training_samples(cfg, &tokenizer, &train_ids)?;
    let train_samples = samples.len();
    on_event(RunEvent::Samples { samples: train_samples, tokens: samples.iter().map(|s| s.tokens.len()).sum() });

    let autodiff = device.clone().autodiff();
    let train = TrainConfig {
        epochs: cfg.epochs,
        batch_size: cfg.batch,
        micro_batch_size: cfg.batch,
        schedule: Schedule { lr: cfg.lr, warmup_steps: cfg.warmup_steps, decay: Decay::Cosine },
        seed: cfg.seed,
        checkpoint_every: Some(cfg.checkpoint_every),
        ..TrainConfig::default()
    };
    let checkpoints = CheckpointDir::new(out.join("checkpoints").join(&cfg.phase), 1);
    let mut trainer = match checkpoints.latest()? {
        Some((step, dir)) => {
            on_event(RunEvent::Resuming { step, checkpoint: &dir });
            Trainer::resume(&dir, samples, train, &autodiff)?
        }
        None => {
            let model = match &cfg.init {
                Some(dir) => {
                    on_event(RunEvent::Loading { model: dir });
                    Llama::load(dir, &autodiff)?
                }
                None => Llama::init(base_architecture(cfg.vocab, cfg.window)?, cfg.seed, &autodiff)?,
            };
            Trainer::new(model, samples, train)?
        }
    }
    .with_attention(attention);
    on_event(RunEvent::Training { step: trainer.step(), total_steps: trainer.total_steps() });
    let log = out.join(format!("train_log-{}.jsonl", cfg.phase));
    trainer.run(None, Some(&checkpoints), Some(&log), &mut |m| on_event(RunEvent::Step(m)))?;
    on_event(RunEvent::Exporting { dir: out });
    let model = trainer.into_model().valid();
    model.save(out)?;

    let valid_corpus = cfg.corpus.join("valid.jsonl.gz");
    on_event(RunEvent::Tokenizing { corpus: &valid_corpus });
    let valid_ids = data::tokenize(&tokenizer, &data::read_corpus(&valid_corpus)?)?;
    let window = model.config.rope.context().max_position_embeddings;
    let ppl_cfg = PerplexityConfig { len: window, stride: window, max_windows: Some(20), ..Default::default() };
    let validation_perplexity = perplexity::sliding_window(&model, &valid_ids, &ppl_cfg, attention)?;
    let pk = PasskeyConfig { lengths: vec![window], depths: vec![0.1, 0.5, 0.9], trials: 10, seed: 1 };
    let cells = passkey::evaluate(&model, &tokenizer, &pk, attention, &mut |_, _| {})?;
    let trials = cells.iter().map(|c| c.trials).sum::<usize>().max(1);
    let report = PretrainReport {
        validation_perplexity,
        passkey_accuracy: cells.iter().map(|c| c.correct).sum::<usize>() as f64 / trials as f64,
        passkey: cells,
        train_samples,
        config: cfg.clone(),
        seconds: started.elapsed().as_secs_f64(),
    };
    write_json(&out.join(format!("eval-{}.json", cfg.phase)), &report)?;
    Ok(report)
}

/// The phase's tokenizer: `init`'s (copied into `out`) or one trained on the corpus.
fn tokenizer(cfg: &PretrainConfig, out: &Path, train_docs: &[data::Document]) -> Result<Tokenizer, TrainError> {
    match &cfg.init {
        Some(dir) => {
            if dir != out {
                let (from, to) = (dir.join("tokenizer.json"), out.join("tokenizer.json"));
                std::fs::copy(&from, &to).map_err(|e| TrainError::io(&from, e))?;
            }
            Ok(Tokenizer::from_dir(out)?)
        }
        None => {
            let texts: Vec<&str> = train_docs.iter().map(|d| d.text.as_str()).collect();
            data::train_bpe(&texts, cfg.vocab, &out.join("tokenizer.json"))
        }
    }
}

/// Corpus windows (all, or `text_windows` seeded ones), then passkey, text-copy and
/// number-copy samples, in that order (the order fixes the committed model's data).
fn training_samples(
    cfg: &PretrainConfig,
    tokenizer: &Tokenizer,
    train_ids: &[Vec<u32>],
) -> Result<Vec<Sample>, TrainError> {
    let eot = tokenizer
        .inner()
        .token_to_id(END_OF_TEXT)
        .ok_or_else(|| TrainError::Tokenizer(format!("the tokenizer lacks {END_OF_TEXT}")))?;
    let mut samples = data::pack(train_ids, cfg.window, Some(eot))?;
    match cfg.text_windows {
        Some(0) => samples.clear(),
        Some(n) => samples = data::select(&samples, n.min(samples.len()), cfg.seed)?,
        None => {}
    }
    let pk = &cfg.passkey;
    let n_passkey = pk.samples.unwrap_or((samples.len() as f64 * pk.fraction).round() as usize);
    let min_len = pk.min_len.unwrap_or(cfg.window);
    samples.extend(passkey::training_samples(tokenizer, n_passkey, min_len, cfg.window, pk.answer_only, cfg.seed)?);
    let segment = 16..=64usize.min(cfg.copy_len() / 2);
    samples.extend(data::repeated_segments(train_ids, cfg.copy_samples, cfg.copy_len(), segment.clone(), cfg.seed)?);
    samples.extend(data::repeated_numbers(
        tokenizer,
        cfg.number_samples,
        cfg.copy_len(),
        passkey::MAX_KEY,
        segment,
        cfg.seed,
    )?);
    Ok(samples)
}
