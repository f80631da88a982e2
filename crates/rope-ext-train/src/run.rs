//! One run configuration (a JSON file) that names the model, the RoPE method and its
//! parameters, the data and the schedule; [`execute`], which carries it out (train,
//! checkpoint, resume, export); and the ready-made recipes. Progressive extension is a
//! sequence of runs, each starting from the previous run's exported `model/`.
//!
//! ```json
//! {
//!   "name": "pi",
//!   "model": "data/base-model",
//!   "rope": { "method": "linear", "factor": 4.0 },
//!   "max_position_embeddings": 1024,
//!   "data": { "corpus": "data/corpus/train.jsonl.gz", "format": "text", "samples": 100, "seq_len": 1024, "seed": 0 },
//!   "train": { "epochs": 2, "batch_size": 32, "schedule": { "lr": 2e-5, "decay": "cosine" } }
//! }
//! ```
//! `rope` is `rope-ext-core`'s [`RopeScaling`] (`"method"` tag: `default`, `linear`,
//! `ntk_aware`, `dynamic_ntk`, `yarn`, `abf`, `eabf`, `longrope`, `llama3`, `e2llm`, ...);
//! `train` is a [`TrainConfig`]; `data.format` is `text` (packed corpus windows) or `chat`
//! (JSON Lines of `{"prompt", "response"}`, loss on the response); `tokenizer` overrides the
//! model directory's `tokenizer.json`. Unknown fields are errors.

use std::path::{Path, PathBuf};

use rope_ext_core::methods::e2llm::E2Llm;
use rope_ext_core::{RopeConfig, RopeScaling};
use rope_ext_model::burn::tensor::Device;
use rope_ext_model::{Llama, LlamaConfig, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::checkpoint::CheckpointDir;
use crate::data::{self, END_OF_TEXT, Sample};
use crate::error::TrainError;
use crate::train::{E2LlmTraining, StepMetrics, TrainConfig, Trainer};

/// What a run's data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// A corpus ([`data::read_corpus`]): documents packed into `seq_len`-token windows, loss on
    /// every token.
    #[default]
    Text,
    /// Prompt/response pairs ([`data::read_chat`]): one sample per pair, truncated to
    /// `seq_len`, loss on the response only.
    Chat,
}

/// The samples a run trains on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The data file (`.jsonl.gz`, `.jsonl`, or for text also `.txt`).
    pub corpus: PathBuf,
    /// What the file holds.
    #[serde(default)]
    pub format: DataFormat,
    /// How many samples (the paper: 100).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Tokens per sample (the target length).
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// The seed of the sample choice.
    #[serde(default)]
    pub seed: u64,
}

fn default_samples() -> usize {
    100
}

fn default_seq_len() -> usize {
    1024
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// A label for reports.
    pub name: String,
    /// The HF model directory to start from (a previous run's `model/` for progressive
    /// extension).
    pub model: PathBuf,
    /// The `tokenizer.json` to use; `None`: the model directory's.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// The RoPE method the model is extended with.
    pub rope: RopeScaling,
    /// A new `max_position_embeddings` for the extended model (`None`: unchanged). Dynamic NTK
    /// takes this field as its original window, so leave it unset for it.
    #[serde(default)]
    pub max_position_embeddings: Option<usize>,
    /// The training samples.
    pub data: DataConfig,
    /// The training settings.
    #[serde(default)]
    pub train: TrainConfig,
}

impl RunConfig {
    /// Reads and validates a JSON run configuration. A value of the wrong type, a missing or
    /// unknown field is a [`TrainError::Config`] naming the field by its path
    /// (`train.epochs`); text that is not JSON is a [`TrainError::Json`].
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let cfg: RunConfig =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text)).map_err(|e| {
                // serde's path of the top level is `.` (a missing top-level field is named in
                // the message).
                let field = Some(e.path().to_string()).filter(|p| p != ".").unwrap_or_else(|| "run config".into());
                let source = e.into_inner();
                match source.classify() {
                    serde_json::error::Category::Data => TrainError::config(field, source.to_string()),
                    _ => TrainError::Json { path: path.into(), source },
                }
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the fields serde cannot: sizes, ranges and the RoPE parameters (against a
    /// nominal head size; [`apply_method`] checks them again against the model).
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.data.samples == 0 {
            return Err(TrainError::config("data.samples", "must be at least 1, got 0"));
        }
        if self.data.seq_len < 2 {
            return Err(TrainError::config("data.seq_len", format!("must be at least 2, got {}", self.data.seq_len)));
        }
        if self.max_position_embeddings == Some(0) {
            return Err(TrainError::config("max_position_embeddings", "must be at least 1, got 0"));
        }
        RopeConfig::new(64, 10_000.0, self.max_position_embeddings.unwrap_or(4096))
            .with_scaling(self.rope.clone())
            .build()
            .map_err(|e| TrainError::config("rope", e.to_string()))?;
        self.train.validate("train.")
    }
}

/// Switches `model` to `scaling` (and a new `max_position_embeddings`, if given), keeping its
/// head size, base, rotary fraction and pair layout.
pub fn apply_method(
    model: &mut Llama,
    scaling: &RopeScaling,
    max_position_embeddings: Option<usize>,
) -> Result<(), TrainError> {
    let mut cfg = model.config.rope.config().clone();
    cfg.scaling = scaling.clone();
    if let Some(n) = max_position_embeddings {
        cfg.max_position_embeddings = n;
        // With RoPE per layer type the method extends the full-attention layers; the local
        // RoPE keeps its method and shares the model's context length.
        if let Some(local) = &model.config.local_rope {
            let local = RopeConfig { max_position_embeddings: n, ..local.config().clone() };
            model.config.local_rope = Some(local.build()?);
        }
    }
    model.config.rope = cfg.build()?;
    Ok(())
}

/// The run's samples, `samples` of them chosen by `seed`: for text, the corpus tokenized,
/// documents joined by [`END_OF_TEXT`] and cut into `seq_len`-token windows; for chat, one
/// sample per pair (the response followed by [`END_OF_TEXT`] when the tokenizer has it).
pub fn training_samples(data_cfg: &DataConfig, tokenizer: &Tokenizer) -> Result<Vec<Sample>, TrainError> {
    let eot = tokenizer.inner().token_to_id(END_OF_TEXT);
    let all = match data_cfg.format {
        DataFormat::Text => {
            let ids = data::tokenize(tokenizer, &data::read_corpus(&data_cfg.corpus)?)?;
            data::pack(&ids, data_cfg.seq_len, eot)?
        }
        DataFormat::Chat => data::read_chat(&data_cfg.corpus)?
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                let mut response = tokenizer.encode(&pair.response)?;
                response.extend(eot);
                let sample = Sample::chat(&tokenizer.encode(&pair.prompt)?, &response, data_cfg.seq_len);
                if sample.num_targets() == 0 {
                    return Err(TrainError::Data(format!(
                        "{}: pair {}: the prompt fills all {} tokens of data.seq_len, leaving no response to learn",
                        data_cfg.corpus.display(),
                        i + 1,
                        data_cfg.seq_len
                    )));
                }
                Ok(sample)
            })
            .collect::<Result<Vec<_>, TrainError>>()?,
    };
    data::select(&all, data_cfg.samples, data_cfg.seed)
}

/// Adapts a run's settings and samples to its method. E²-LLM trains at the pre-trained window
/// `original`: each sample is cut into pieces of `original` tokens, the batch grows by the
/// same factor so a step sees the same tokens, and the augmentation is switched on (with
/// `train.e2llm`'s `g_max`, the paper's 20 if unset). Other methods train on the samples as
/// they are and must not set `train.e2llm`.
pub fn training_inputs(
    scaling: &RopeScaling,
    train: &TrainConfig,
    samples: Vec<Sample>,
    original: usize,
) -> Result<(TrainConfig, Vec<Sample>), TrainError> {
    if !matches!(scaling, RopeScaling::E2Llm(_)) {
        if train.e2llm.is_some() {
            return Err(TrainError::config("train.e2llm", "applies only to the e2llm method"));
        }
        return Ok((train.clone(), samples));
    }
    let seq_len = samples.iter().map(|s| s.tokens.len()).max().unwrap_or(original);
    let pieces = seq_len.div_ceil(original);
    let e2llm = E2LlmTraining { original: Some(original), ..train.e2llm.unwrap_or_default() };
    let train = TrainConfig {
        e2llm: Some(e2llm),
        batch_size: train.batch_size * pieces,
        micro_batch_size: train.micro_batch_size * pieces,
        ..train.clone()
    };
    let samples = samples
        .iter()
        .flat_map(|s| {
            let pieces = s.tokens.chunks(original).zip(s.targets.chunks(original));
            // A piece with no target (all prompt, for chat samples) would add nothing but an
            // empty batch; it is left out.
            pieces
                .filter(|(t, m)| t.len() > 1 && m[1..].iter().any(|&x| x))
                .map(|(t, m)| Sample { tokens: t.to_vec(), targets: m.to_vec() })
        })
        .collect();
    Ok((train, samples))
}

/// What [`execute`] left in its output directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Steps done so far (all of them once finished).
    pub step: u64,
    /// Steps of the whole run.
    pub total_steps: u64,
    /// The exported HF directory, once the run is finished.
    pub model: Option<PathBuf>,
}

/// What [`execute`] is doing, in order, for a progress display: a long run says what it does
/// from its first second, not only after its first optimiser step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunEvent<'a> {
    /// Reading the tokenizer and the model's configuration.
    Loading {
        /// The model directory or GGUF file.
        model: &'a Path,
    },
    /// Reading and tokenizing the data file.
    Tokenizing {
        /// The data file.
        corpus: &'a Path,
    },
    /// The training samples are ready.
    Samples {
        /// Samples (after E²-LLM's cutting, if any).
        samples: usize,
        /// Their tokens.
        tokens: usize,
    },
    /// The output directory holds a checkpoint: loading it to continue.
    Resuming {
        /// The checkpoint's step.
        step: u64,
        /// The checkpoint directory.
        checkpoint: &'a Path,
    },
    /// Ready to train: `step` of `total_steps` done (0 for a fresh run).
    Training {
        /// Steps already done.
        step: u64,
        /// Steps of the whole run.
        total_steps: u64,
    },
    /// One optimiser step is done.
    Step(&'a StepMetrics),
    /// Every step is done: writing the model.
    Exporting {
        /// The HF directory being written.
        dir: &'a Path,
    },
}

/// Executes a run into `out`: `run.json` (the configuration), `checkpoints/step-*`,
/// `metrics.jsonl`, and when every step is done `model/`, the fine-tuned model as an HF
/// directory with its tokenizer. If `out` already holds a checkpoint, training resumes from the
/// newest one, so an interrupted run continues exactly; the configuration must then equal the
/// saved `run.json` (anything else is refused before a file is touched, with the reason).
/// Checkpoints follow [`TrainConfig::checkpoint_policy`]: without `train.checkpoint_every`,
/// each epoch and every ten minutes. `max_steps` bounds the steps of this call (the run can be
/// continued by another); `device` is the plain device, training uses its autodiff form.
/// `on_event` hears what is being done ([`RunEvent`]).
pub fn execute(
    cfg: &RunConfig,
    out: &Path,
    device: &Device,
    max_steps: Option<u64>,
    on_event: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunOutcome, TrainError> {
    cfg.validate()?;
    let saved_cfg = out.join("run.json");
    let checkpoints = CheckpointDir::new(out.join("checkpoints"), 2);
    let latest = if out.exists() { checkpoints.latest()? } else { None };
    if let Some((step, dir)) = &latest {
        let saved: RunConfig = crate::checkpoint::read_json(&saved_cfg)?;
        if &saved != cfg {
            return Err(TrainError::Checkpoint {
                path: saved_cfg,
                problem: format!(
                    "cannot resume from {} (step {step}): the checkpoints here belong to another run configuration; \
                     use another output directory, or the configuration in this file",
                    dir.display()
                ),
            });
        }
    }
    on_event(RunEvent::Loading { model: &cfg.model });
    let tokenizer = match &cfg.tokenizer {
        Some(file) => Tokenizer::from_file(file)?,
        None => Tokenizer::for_model(&cfg.model)?,
    };
    let base = LlamaConfig::for_model(&cfg.model)?;
    let original = match &cfg.rope {
        RopeScaling::E2Llm(E2Llm { original_max_position_embeddings: Some(n), .. }) => *n,
        _ => base.rope.context().max_position_embeddings,
    };
    on_event(RunEvent::Tokenizing { corpus: &cfg.data.corpus });
    let (train, samples) = training_inputs(&cfg.rope, &cfg.train, training_samples(&cfg.data, &tokenizer)?, original)?;
    on_event(RunEvent::Samples { samples: samples.len(), tokens: samples.iter().map(|s| s.tokens.len()).sum() });
    let device = device.clone().autodiff();
    let mut trainer = match latest {
        Some((step, dir)) => {
            on_event(RunEvent::Resuming { step, checkpoint: &dir });
            Trainer::resume(&dir, samples, train, &device)?
        }
        None => {
            let mut model = Llama::load(&cfg.model, &device)?;
            apply_method(&mut model, &cfg.rope, cfg.max_position_embeddings)?;
            let trainer = Trainer::new(model, samples, train)?;
            std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
            crate::checkpoint::write_json(&saved_cfg, cfg)?;
            trainer
        }
    };
    on_event(RunEvent::Training { step: trainer.step(), total_steps: trainer.total_steps() });
    let until = max_steps.map(|n| trainer.step() + n);
    let metrics = out.join("metrics.jsonl");
    trainer.run(until, Some(&checkpoints), Some(&metrics), &mut |m| on_event(RunEvent::Step(m)))?;
    let (step, total_steps) = (trainer.step(), trainer.total_steps());
    let model = (step == total_steps)
        .then(|| {
            let dir = out.join("model");
            on_event(RunEvent::Exporting { dir: &dir });
            export(&trainer.model().valid(), Some(&tokenizer), &dir).map(|()| dir)
        })
        .transpose()?;
    Ok(RunOutcome { step, total_steps, model })
}

/// Writes an HF model directory: the weights and `config.json` (with the method's
/// `rope_scaling` / `rope_parameters`) through [`Llama::save`], plus the tokenizer.
pub fn export(model: &Llama, tokenizer: Option<&Tokenizer>, dir: &Path) -> Result<(), TrainError> {
    model.save(dir)?;
    if let Some(tokenizer) = tokenizer {
        tokenizer.save(&dir.join("tokenizer.json"))?;
    }
    Ok(())
}

/// The ready-made recipes.
pub mod recipes {
    use super::*;

    /// The 100-samples paper's fine-tuning (§4.1, App. A): 2 epochs, batch 32, AdamW
    /// (0.9, 0.95), weight decay 0.1, peak lr 2e-5, cosine, no warmup. PI, NTK, YaRN and ABF
    /// fine-tuning use the same budget.
    pub fn hundred_samples() -> TrainConfig {
        TrainConfig::default()
    }

    /// E²-LLM with the same budget: the 100-samples schedule with per-sample `g ~ U{1..g_max}`
    /// and offsets (the paper trains 30,000 steps at lr 1e-5 with `g_max = 20`).
    pub fn e2llm(max_scale: u32) -> TrainConfig {
        TrainConfig { e2llm: Some(E2LlmTraining { max_scale, original: None }), ..hundred_samples() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rope_ext_core::methods::linear::Linear;

    fn samples(n: usize, len: usize) -> Vec<Sample> {
        (0..n).map(|i| Sample::text((0..len as u32).map(|t| t + i as u32).collect())).collect()
    }

    #[test]
    fn e2llm_trains_on_window_length_pieces_with_the_same_tokens_per_step() {
        let scaling = RopeScaling::E2Llm(E2Llm { original_max_position_embeddings: Some(256), scale: None });
        let train = TrainConfig { batch_size: 4, micro_batch_size: 2, ..TrainConfig::default() };
        let (cfg, pieces) = training_inputs(&scaling, &train, samples(3, 1000), 256).unwrap();
        // 1,000 tokens: pieces of 256, 256, 256 and 232.
        assert_eq!(pieces.len(), 12);
        assert!(pieces.iter().all(|p| p.tokens.len() <= 256 && p.tokens.len() == p.targets.len()));
        assert_eq!((cfg.batch_size, cfg.micro_batch_size), (16, 8));
        let e = cfg.e2llm.unwrap();
        assert_eq!((e.max_scale, e.original), (E2LlmTraining::default().max_scale, Some(256)));
    }

    #[test]
    fn other_methods_train_on_the_samples_as_they_are() {
        let scaling = RopeScaling::Linear(Linear { factor: 2.0 });
        let train = TrainConfig::default();
        let (cfg, same) = training_inputs(&scaling, &train, samples(2, 50), 256).unwrap();
        assert_eq!((cfg, same), (train.clone(), samples(2, 50)));
        let with_e2 = TrainConfig { e2llm: Some(E2LlmTraining::default()), ..train };
        let err = training_inputs(&scaling, &with_e2, samples(2, 50), 256).unwrap_err();
        assert!(err.to_string().contains("train.e2llm"), "{err}");
    }

    #[test]
    fn chat_files_read_as_pairs_and_bad_lines_name_the_line() {
        let dir_guard = tempfile::tempdir().unwrap();
        let dir = dir_guard.path().to_path_buf();
        let good = dir.join("good.jsonl");
        std::fs::write(
            &good,
            "{\"prompt\": \"ab\", \"response\": \"cd\"}\n\n{\"prompt\": \"x\", \"response\": \"y\"}\n",
        )
        .unwrap();
        let pairs = data::read_chat(&good).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!((pairs[0].prompt.as_str(), pairs[0].response.as_str()), ("ab", "cd"));
        let bad = dir.join("bad.jsonl");
        std::fs::write(&bad, "{\"prompt\": \"ab\", \"response\": \"cd\"}\n{\"prompt\": \"ab\"}\n").unwrap();
        let err = data::read_chat(&bad).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("response"), "{err}");
    }
}
