//! One run configuration (a JSON file) that names the model, the RoPE method and its
//! parameters, the data and the schedule, and the ready-made recipes.
//!
//! ```json
//! {
//!   "name": "pi",
//!   "model": "data/base-model",
//!   "rope": { "method": "linear", "factor": 4.0 },
//!   "max_position_embeddings": 1024,
//!   "data": { "corpus": "data/corpus/train.jsonl.gz", "samples": 100, "seq_len": 1024, "seed": 0 },
//!   "train": { "epochs": 2, "batch_size": 32, "schedule": { "lr": 2e-5, "decay": "cosine" } }
//! }
//! ```
//! `rope` is `rope-ext-core`'s [`RopeScaling`] (`"method"` tag: `default`, `linear`,
//! `ntk_aware`, `dynamic_ntk`, `yarn`, `abf`, `eabf`, `longrope`, `llama3`, `e2llm`, ...);
//! `train` is a [`TrainConfig`]. Unknown fields are errors.

use std::path::{Path, PathBuf};

use rope_ext_core::methods::abf::PAPER_THETA;
use rope_ext_core::methods::{
    abf::Abf, e2llm::E2Llm, eabf::EntropyAwareAbf, linear::Linear, ntk_aware::NtkAware, yarn::Yarn,
};
use rope_ext_core::{RopeConfig, RopeScaling};
use rope_ext_model::{Llama, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::data::{self, END_OF_TEXT, Sample};
use crate::error::TrainError;
use crate::train::{E2LlmTraining, TrainConfig};

/// The samples a run trains on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A corpus file (`.jsonl.gz`, `.jsonl` or `.txt`).
    pub corpus: PathBuf,
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
    /// The HF model directory to start from.
    pub model: PathBuf,
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
    /// Reads and validates a JSON run configuration.
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let cfg: RunConfig = crate::checkpoint::read_json(path)?;
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
        model.config.raw.insert("max_position_embeddings".into(), n.into());
    }
    model.config.rope = cfg.build()?;
    Ok(())
}

/// The run's samples: the corpus tokenized, documents joined by [`END_OF_TEXT`], cut into
/// `seq_len`-token windows, and `samples` of them chosen by `seed`.
pub fn training_samples(data_cfg: &DataConfig, tokenizer: &Tokenizer) -> Result<Vec<Sample>, TrainError> {
    let docs = data::read_corpus(&data_cfg.corpus)?;
    let ids = data::tokenize(tokenizer, &docs)?;
    let eot = tokenizer.inner().token_to_id(END_OF_TEXT);
    let windows = data::pack(&ids, data_cfg.seq_len, eot)?;
    data::select(&windows, data_cfg.samples, data_cfg.seed)
}

/// Writes an HF model directory: the weights and `config.json` (with the method's
/// `rope_scaling` / `rope_parameters`) through [`Llama::save`], plus the tokenizer.
pub fn export(model: &Llama, tokenizer: Option<&Path>, dir: &Path) -> Result<(), TrainError> {
    model.save(dir)?;
    if let Some(src) = tokenizer {
        std::fs::copy(src, dir.join("tokenizer.json")).map_err(|e| TrainError::io(src, e))?;
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

    /// The fine-tuned methods for extending a window `original` by `factor`: PI, NTK-aware,
    /// YaRN, ABF and entropy-aware ABF at the paper's base 500,000, and E²-LLM (inference
    /// scale `⌈n/L⌉`). Each with the `max_position_embeddings` its HF config should carry.
    pub fn extension_methods(original: usize, factor: f64) -> Vec<(&'static str, RopeScaling, Option<usize>)> {
        let target = (original as f64 * factor).round() as usize;
        vec![
            ("pi", RopeScaling::Linear(Linear { factor }), None),
            ("ntk", RopeScaling::NtkAware(NtkAware { factor }), None),
            (
                "yarn",
                RopeScaling::Yarn(Yarn { factor, original_max_position_embeddings: Some(original), ..Yarn::default() }),
                Some(target),
            ),
            ("abf", RopeScaling::Abf(Abf { theta: PAPER_THETA }), Some(target)),
            (
                "eabf",
                RopeScaling::EntropyAwareAbf(EntropyAwareAbf { context: Some(original), ..EntropyAwareAbf::default() }),
                Some(target),
            ),
            (
                "e2llm",
                RopeScaling::E2Llm(E2Llm { original_max_position_embeddings: Some(original), scale: None }),
                Some(target),
            ),
        ]
    }
}
