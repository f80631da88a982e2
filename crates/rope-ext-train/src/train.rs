//! The training loop: batches in a seeded order, gradient accumulation over micro-batches,
//! a token-weighted causal-LM loss on the sample's target tokens, global-norm clipping,
//! AdamW, a schedule, E²-LLM's per-sample `(g, t)` augmentation, metrics, and atomic
//! checkpoints that resume exactly.
//!
//! Every random choice is a pure function of `(seed, step)`: the sample order of epoch `e`
//! is a shuffle seeded by `(seed, e)`, and E²-LLM's augmentations of step `k` come from a
//! sampler seeded by `(seed, k)`. A checkpoint therefore needs only the step count besides the
//! weights and the optimizer moments, and `N` steps, a restart from the checkpoint, and `N`
//! more give the same weights as `2N` uninterrupted steps (on a deterministic backend).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rope_ext_core::methods::e2llm::{E2LlmSampler, PAPER_MAX_SCALE};
use rope_ext_core::{RopeConfig, RopeFrequencies, RopeScaling};
use rope_ext_model::burn;
use rope_ext_model::{AttentionImpl, ForwardOptions, Llama, Positions};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointDir, read_json, write_json};
use crate::data::Sample;
use crate::error::TrainError;
use crate::optim::{AdamW, AdamWConfig, GradientBuffer};
use crate::schedule::Schedule;

/// E²-LLM's training-time augmentation (Eq. 6–7): per sample `g ~ U{1..g_max}` and an offset
/// `t`, positions `(m + t)/g`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct E2LlmTraining {
    /// `g_max` (paper: 20).
    pub max_scale: u32,
    /// The pre-trained window `L`; `None`: the model's `max_position_embeddings`.
    pub original: Option<usize>,
}

impl Default for E2LlmTraining {
    fn default() -> Self {
        E2LlmTraining { max_scale: PAPER_MAX_SCALE, original: None }
    }
}

/// Settings of one training run. The defaults are the 100-samples paper's recipe (2 epochs,
/// batch 32, AdamW (0.9, 0.95), weight decay 0.1, peak lr 2e-5, cosine, no warmup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the samples.
    pub epochs: u32,
    /// Samples per optimizer step.
    pub batch_size: usize,
    /// Samples per forward pass (memory only: accumulation makes the result independent of it
    /// up to float rounding).
    pub micro_batch_size: usize,
    /// The optimizer.
    pub optimizer: AdamWConfig,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// E²-LLM augmentation, if training with it.
    pub e2llm: Option<E2LlmTraining>,
    /// The seed of the sample order and the augmentations.
    pub seed: u64,
    /// Write a checkpoint every this many steps (and at the end), when a checkpoint directory
    /// is given. Unset, a run checkpoints on its own: at the end of every epoch, every
    /// [`TrainConfig::checkpoint_minutes`] and at the end.
    pub checkpoint_every: Option<u64>,
    /// Also write a checkpoint once this many minutes of training have passed since the last
    /// one (or since the run started in this process). Unset: [`DEFAULT_CHECKPOINT_MINUTES`]
    /// without `checkpoint_every`, never with it. Not serialised when unset, so configurations
    /// and checkpoints from before the field existed keep their fingerprints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_minutes: Option<f64>,
}

/// The time between automatic checkpoints of a run without `checkpoint_every`.
pub const DEFAULT_CHECKPOINT_MINUTES: f64 = 10.0;

/// When [`Trainer::run`] writes checkpoints (with a checkpoint directory).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckpointPolicy {
    /// Every this many steps.
    pub every_steps: Option<u64>,
    /// At the end of every epoch.
    pub each_epoch: bool,
    /// Once this many minutes have passed since the last checkpoint.
    pub minutes: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 2,
            batch_size: 32,
            micro_batch_size: 4,
            optimizer: AdamWConfig::default(),
            schedule: Schedule::default(),
            e2llm: None,
            seed: 42,
            checkpoint_every: None,
            checkpoint_minutes: None,
        }
    }
}

impl TrainConfig {
    /// Rejects zero epochs or batch sizes and invalid optimizer or schedule settings; `prefix`
    /// is prepended to field names (`train.`).
    pub fn validate(&self, prefix: &str) -> Result<(), TrainError> {
        for (name, v) in [
            ("epochs", self.epochs as usize),
            ("batch_size", self.batch_size),
            ("micro_batch_size", self.micro_batch_size),
        ] {
            if v == 0 {
                return Err(TrainError::config(format!("{prefix}{name}"), "must be at least 1, got 0"));
            }
        }
        if self.checkpoint_every == Some(0) {
            return Err(TrainError::config(format!("{prefix}checkpoint_every"), "must be at least 1, got 0"));
        }
        if let Some(m) = self.checkpoint_minutes
            && !(m > 0.0 && m.is_finite())
        {
            return Err(TrainError::config(
                format!("{prefix}checkpoint_minutes"),
                format!("must be a positive number of minutes, got {m}"),
            ));
        }
        if let Some(e) = self.e2llm
            && e.max_scale == 0
        {
            return Err(TrainError::config(format!("{prefix}e2llm.max_scale"), "must be at least 1, got 0"));
        }
        self.optimizer.validate(&format!("{prefix}optimizer."))?;
        self.schedule.validate(&format!("{prefix}schedule."))
    }
}

impl TrainConfig {
    /// When checkpoints are written: `checkpoint_every` steps if set; otherwise each epoch and
    /// every [`DEFAULT_CHECKPOINT_MINUTES`]; and every `checkpoint_minutes` if set.
    pub fn checkpoint_policy(&self) -> CheckpointPolicy {
        let automatic = self.checkpoint_every.is_none();
        CheckpointPolicy {
            every_steps: self.checkpoint_every,
            each_epoch: automatic,
            minutes: self.checkpoint_minutes.or(automatic.then_some(DEFAULT_CHECKPOINT_MINUTES)),
        }
    }
}

/// What one optimizer step feeds the model ([`Trainer::step_inputs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    /// Sample indices, one list per micro-batch.
    pub micro_batches: Vec<Vec<usize>>,
    /// Per micro-batch, the E²-LLM positions of its samples (`None` without E²-LLM).
    pub positions: Vec<Option<Positions>>,
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// The step just taken (1-based).
    pub step: u64,
    /// All steps of the run.
    pub total_steps: u64,
    /// The epoch it belongs to (0-based).
    pub epoch: u64,
    /// Mean NLL per target token over the batch (nats).
    pub loss: f64,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
    /// The learning rate used.
    pub lr: f64,
    /// Tokens processed.
    pub tokens: usize,
    /// Wall time of the step.
    pub seconds: f64,
}

impl StepMetrics {
    /// The step's figures for a progress display: loss, gradient norm, learning rate and
    /// throughput (`loss 4.1234 |g| 0.812 lr 1.00e-3 1234 tok/s`).
    pub fn summary(&self) -> String {
        format!(
            "loss {:.4} |g| {:.3} lr {:.2e} {:.0} tok/s",
            self.loss,
            self.grad_norm,
            self.lr,
            self.tokens as f64 / self.seconds.max(1e-9)
        )
    }
}

/// `1h02m03s` / `2m03s` / `3s`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

/// What a checkpoint records besides weights and optimizer state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrainerState {
    step: u64,
    total_steps: u64,
    fingerprint: String,
}

/// A training run in progress.
#[derive(Debug)]
pub struct Trainer {
    model: Llama,
    optim: AdamW,
    config: TrainConfig,
    samples: Vec<Sample>,
    base_freqs: Option<RopeFrequencies>,
    fingerprint: String,
    attention: AttentionImpl,
}

impl Trainer {
    /// A fresh run of `model` (on an autodiff device, e.g. `Device::flex().autodiff()`) over
    /// `samples`.
    pub fn new(model: Llama, samples: Vec<Sample>, config: TrainConfig) -> Result<Self, TrainError> {
        config.validate("")?;
        if samples.is_empty() {
            return Err(TrainError::Data("no training samples".into()));
        }
        if let Some(i) = samples.iter().position(|s| s.tokens.len() < 2 || s.tokens.len() != s.targets.len()) {
            return Err(TrainError::Data(format!("sample {i} needs at least 2 tokens and one target flag per token")));
        }
        if let Some((key, p)) = model.config.dropouts().into_iter().find(|&(_, p)| p > 0.0) {
            return Err(TrainError::config(
                format!("model.{key}"),
                format!("is {p}; this trainer has no dropout, so it would not train the model transformers describes"),
            ));
        }
        if !model.device().is_autodiff() {
            return Err(TrainError::config("device", "training needs an autodiff device (`Device::autodiff()`)"));
        }
        let base_freqs = match config.e2llm {
            None => None,
            Some(_) => {
                let rope =
                    RopeConfig { scaling: RopeScaling::Default, ..model.config.rope.config().clone() }.build()?;
                Some(rope.frequencies(None))
            }
        };
        let fingerprint = fingerprint(&config, &samples, &model);
        Ok(Trainer {
            model,
            optim: AdamW::new(config.optimizer),
            config,
            samples,
            base_freqs,
            fingerprint,
            attention: AttentionImpl::default(),
        })
    }

    /// Continues the run saved in checkpoint `dir` (a `step-*` directory): weights, optimizer
    /// moments and step. `samples` and `config` must be those of the saved run.
    pub fn resume(
        dir: &Path,
        samples: Vec<Sample>,
        config: TrainConfig,
        device: &burn::tensor::Device,
    ) -> Result<Self, TrainError> {
        let model = Llama::load(dir, device)?;
        let mut t = Trainer::new(model, samples, config)?;
        let state: TrainerState = read_json(&dir.join("trainer.json"))?;
        if state.fingerprint != t.fingerprint {
            return Err(TrainError::Checkpoint {
                path: dir.into(),
                problem: "saved by a run with other settings or samples (fingerprints differ)".into(),
            });
        }
        t.optim = AdamW::load(dir, t.config.optimizer, device)?;
        if t.optim.steps() != state.step {
            return Err(TrainError::Checkpoint {
                path: dir.into(),
                problem: format!("optimizer at step {}, trainer at step {}", t.optim.steps(), state.step),
            });
        }
        tracing::info!(step = state.step, path = %dir.display(), "resumed");
        Ok(t)
    }

    /// Uses `attention` in the training forward passes (default: [`AttentionImpl::default`]).
    pub fn with_attention(mut self, attention: AttentionImpl) -> Self {
        self.attention = attention;
        self
    }

    /// Optimizer steps per epoch, `⌈samples / batch_size⌉` (the last batch may be smaller).
    pub fn steps_per_epoch(&self) -> u64 {
        self.samples.len().div_ceil(self.config.batch_size) as u64
    }

    /// All steps of the run.
    pub fn total_steps(&self) -> u64 {
        self.steps_per_epoch() * u64::from(self.config.epochs)
    }

    /// Steps taken so far.
    pub fn step(&self) -> u64 {
        self.optim.steps()
    }

    /// The model being trained.
    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// The trained model.
    pub fn into_model(self) -> Llama {
        self.model
    }

    /// The samples of step `k` (0-based): epoch `k / S`'s seeded permutation, batch `k mod S`.
    fn batch(&self, k: u64) -> Vec<usize> {
        let spe = self.steps_per_epoch();
        let (epoch, i) = (k / spe, (k % spe) as usize);
        let mut order: Vec<usize> = (0..self.samples.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(mix(self.config.seed, 1, epoch)));
        let bs = self.config.batch_size;
        order[i * bs..((i + 1) * bs).min(order.len())].to_vec()
    }

    /// What step `k` (0-based) feeds the model: its batch split into micro-batches and, with
    /// E²-LLM, each sample's positions `(m + t)/g` from the step's seeded sampler (the same
    /// `(g, t)` draws [`Trainer::train_step`] uses; `None` means positions `0..n`).
    pub fn step_inputs(&self, k: u64) -> Result<StepInputs, TrainError> {
        let batch = self.batch(k);
        let mut sampler = match self.config.e2llm {
            Some(e) => {
                let original = e.original.unwrap_or(self.model.config.rope.context().max_position_embeddings);
                let len = batch.iter().map(|&i| self.samples[i].tokens.len()).max().unwrap_or(1);
                Some(E2LlmSampler::new(e.max_scale, original, len, mix(self.config.seed, 2, k))?)
            }
            None => None,
        };
        let micro_batches: Vec<Vec<usize>> =
            batch.chunks(self.config.micro_batch_size).map(<[usize]>::to_vec).collect();
        let positions = micro_batches
            .iter()
            .map(|micro| {
                sampler.as_mut().map(|s| {
                    let n = micro.iter().map(|&i| self.samples[i].tokens.len()).max().unwrap_or(0);
                    Positions::PerSample(micro.iter().map(|_| s.sample().positions(n)).collect())
                })
            })
            .collect();
        Ok(StepInputs { micro_batches, positions })
    }

    /// Takes one optimizer step.
    pub fn train_step(&mut self) -> Result<StepMetrics, TrainError> {
        let start = Instant::now();
        let k = self.optim.steps();
        let total = self.total_steps();
        let inputs = self.step_inputs(k)?;
        let targets: usize = inputs.micro_batches.iter().flatten().map(|&i| self.samples[i].num_targets()).sum();
        if targets == 0 {
            return Err(TrainError::Data(format!("step {}: the batch has no target tokens", k + 1)));
        }
        let mut grads = GradientBuffer::default();
        let mut loss_sum = 0.0;
        let mut tokens = 0;
        for (micro, positions) in inputs.micro_batches.iter().zip(inputs.positions) {
            let samples: Vec<&Sample> = micro.iter().map(|&i| &self.samples[i]).collect();
            tokens += samples.iter().map(|s| s.tokens.len()).sum::<usize>();
            let loss = self.micro_batch_loss(&samples, positions, targets)?;
            loss_sum += f64::from(loss.clone().into_scalar::<f32>());
            let g = loss.backward();
            grads.accumulate(&self.model.weights, &g);
        }
        if !loss_sum.is_finite() {
            return Err(TrainError::NonFinite { step: k + 1, what: "loss", value: loss_sum });
        }
        let lr = self.config.schedule.lr_at(k, total);
        let (weights, report) = self.optim.step(self.model.weights.clone(), &mut grads, lr);
        self.model.weights = weights;
        if !report.grad_norm.is_finite() {
            return Err(TrainError::NonFinite { step: k + 1, what: "gradient norm", value: report.grad_norm });
        }
        Ok(StepMetrics {
            step: k + 1,
            total_steps: total,
            epoch: k / self.steps_per_epoch(),
            loss: loss_sum,
            grad_norm: report.grad_norm,
            lr,
            tokens,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// `Σ −log p(target) / total_targets` over one micro-batch, right-padded with token 0
    /// (causal attention keeps the padding invisible to real tokens; its targets are off).
    fn micro_batch_loss(
        &self,
        samples: &[&Sample],
        positions: Option<Positions>,
        total_targets: usize,
    ) -> Result<Tensor<1>, TrainError> {
        let n = samples.iter().map(|s| s.tokens.len()).max().unwrap_or(0);
        let b = samples.len();
        let ids: Vec<Vec<u32>> =
            samples.iter().map(|s| s.tokens.iter().copied().chain(std::iter::repeat(0)).take(n).collect()).collect();
        // Targets and their weights `mask / total_targets`, per position 1..n of each row.
        let mut next = Vec::with_capacity(b * (n - 1));
        let mut weights = Vec::with_capacity(b * (n - 1));
        let scale = 1.0 / total_targets as f64;
        for (s, row) in samples.iter().zip(&ids) {
            for (i, &t) in row.iter().enumerate().skip(1) {
                next.push(i64::from(t));
                weights.push(if s.targets.get(i).copied().unwrap_or(false) { scale as f32 } else { 0.0 });
            }
        }
        let device = self.model.device();
        let tokens = self.model.tokens(&ids)?;
        let options = ForwardOptions { attention: self.attention, entropy: None };
        let hidden = match (&positions, &self.base_freqs) {
            (Some(p), Some(freqs)) => self.model.hidden_with(tokens, p, freqs, None, options),
            _ => self.model.hidden(tokens, options),
        };
        let hidden = hidden.slice([0..b, 0..n - 1, 0..self.model.config.hidden_size]);
        let next = Tensor::<2, Int>::from_data(TensorData::new(next, [b, n - 1]), &device);
        let weights = Tensor::<2>::from_data(TensorData::new(weights, [b, n - 1]), &device);
        Ok(self.model.next_token_loss(hidden, next, weights))
    }

    /// Writes a checkpoint of the current step into `dir`.
    pub fn save_checkpoint(&self, dir: &CheckpointDir) -> Result<PathBuf, TrainError> {
        let step = self.step();
        dir.save(step, |tmp| {
            self.model.save(tmp)?;
            self.optim.save(tmp)?;
            let state = TrainerState { step, total_steps: self.total_steps(), fingerprint: self.fingerprint.clone() };
            write_json(&tmp.join("trainer.json"), &state)
        })
    }

    /// Runs the remaining steps, up to `max_steps` in total if given: checkpoints into
    /// `checkpoints` as [`TrainConfig::checkpoint_policy`] says and at the end, appends each step's
    /// metrics to `metrics` (JSON Lines; lines of steps after a resumed checkpoint are dropped
    /// first), and reports each step to `on_step`.
    pub fn run(
        &mut self,
        max_steps: Option<u64>,
        checkpoints: Option<&CheckpointDir>,
        metrics: Option<&Path>,
        on_step: &mut dyn FnMut(&StepMetrics),
    ) -> Result<Vec<StepMetrics>, TrainError> {
        if let Some(path) = metrics {
            truncate_metrics(path, self.step())?;
        }
        let end = max_steps.map_or(self.total_steps(), |m| m.min(self.total_steps()));
        let policy = self.config.checkpoint_policy();
        let mut last_checkpoint = Instant::now();
        let mut out = Vec::new();
        while self.step() < end {
            let m = self.train_step()?;
            if let Some(path) = metrics {
                append_line(path, &m)?;
            }
            tracing::debug!(step = m.step, loss = m.loss, grad_norm = m.grad_norm, lr = m.lr, "training step");
            on_step(&m);
            out.push(m);
            let due = policy.every_steps.is_some_and(|e| m.step % e == 0)
                || (policy.each_epoch && m.step % self.steps_per_epoch() == 0)
                || policy.minutes.is_some_and(|min| last_checkpoint.elapsed().as_secs_f64() >= min * 60.0)
                || m.step == end;
            if let Some(dir) = checkpoints
                && due
            {
                let saved = self.save_checkpoint(dir)?;
                last_checkpoint = Instant::now();
                tracing::info!(step = m.step, path = %saved.display(), "checkpoint written");
            }
        }
        Ok(out)
    }
}

/// splitmix64 of `(seed, stream, index)`: independent seeds for each purpose and step.
pub(crate) fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of the settings, the samples and the model's architecture, as hex.
fn fingerprint(config: &TrainConfig, samples: &[Sample], model: &Llama) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(serde_json::to_string(config).unwrap_or_default().as_bytes());
    for s in samples {
        for &t in &s.tokens {
            eat(&t.to_le_bytes());
        }
        eat(&s.targets.iter().map(|&b| u8::from(b)).collect::<Vec<_>>());
    }
    eat(format!("{:?}", model.config.rope).as_bytes());
    eat(&model.config.num_parameters().to_le_bytes());
    format!("{h:016x}")
}

fn truncate_metrics(path: &Path, step: u64) -> Result<(), TrainError> {
    if !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let kept: String = text
        .lines()
        .filter(|l| serde_json::from_str::<StepMetrics>(l).is_ok_and(|m| m.step <= step))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(path, kept).map_err(|e| TrainError::io(path, e))
}

fn append_line<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    use std::io::Write;
    let line = serde_json::to_string(value).map_err(|e| TrainError::Json { path: path.into(), source: e })?;
    let mut f =
        std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| TrainError::io(path, e))?;
    writeln!(f, "{line}").map_err(|e| TrainError::io(path, e))
}
