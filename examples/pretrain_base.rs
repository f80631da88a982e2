//! Pretrains the project's small base model, one phase per call: a pretraining configuration
//! (`rope_ext_train::pretrain::PretrainConfig`, JSON; every field optional) carried out by the
//! library — a BPE tokenizer and a fresh 1M-parameter LLaMA (or `init`'s), trained at a
//! 256-token window on corpus windows mixed with passkey and copy samples, then scored by
//! validation perplexity and passkey accuracy at 256 tokens.
//!
//! ```text
//! cargo run --release --example pretrain_base -- [--config PHASE.json] [--out data/base-model] [--backend cpu|tch|wgpu]
//! ```
//!
//! Writes `OUT/{config.json, model.safetensors, tokenizer.json, train_log-PHASE.jsonl,
//! eval-PHASE.json}`; run again after an interruption and it resumes from the newest checkpoint
//! in `OUT/checkpoints/PHASE/`. `data/make_base_model.sh` runs the three phases of
//! `data/pretrain/` that made the committed model.

mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rope_ext::model::AttentionImpl;
use rope_ext::train::checkpoint::read_json;
use rope_ext::train::pretrain::{self, PretrainConfig};
use support::{BackendArg, RunDisplay, clock};

/// Pretrains the small base model, one phase (a JSON configuration) per call.
#[derive(Parser)]
#[command(name = "pretrain_base", version)]
struct Args {
    /// The phase's configuration (`PretrainConfig`, JSON; default: the first phase).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The model directory written (and read by phases with `init`).
    #[arg(long, default_value = "data/base-model")]
    out: PathBuf,
    #[command(flatten)]
    backend: BackendArg,
}

fn run(a: Args) -> anyhow::Result<()> {
    let cfg = match &a.config {
        Some(path) => read_json::<PretrainConfig>(path)?,
        None => PretrainConfig::default(),
    };
    let backend = a.backend.backend;
    let device = backend.device()?;
    let phase = cfg.phase.clone();
    let mut display = RunDisplay::new(phase.clone());
    let report = pretrain::execute(&cfg, &a.out, &device, AttentionImpl::for_backend(backend), &mut |event| {
        display.show(event)
    })?;
    let ppl = &report.validation_perplexity;
    support::emit(&format!(
        "{phase}: validation perplexity at {}: {:.2} (per-window mean; token-weighted {:.2}); passkey at {}: {:.0}%; total {}",
        ppl.len,
        ppl.window_mean,
        ppl.token_weighted,
        ppl.len,
        report.passkey_accuracy * 100.0,
        clock(report.seconds)
    ))
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("pretrain_base", run(Args::parse()))
}
