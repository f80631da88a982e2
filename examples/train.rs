//! Carries out one run configuration (`rope_ext_train::run::RunConfig`, a JSON file): extends
//! a model with the configured RoPE method by fine-tuning it on the configured samples, with
//! checkpoints, a metrics file and a progress line, and exports the result as an HF directory.
//!
//! ```text
//! cargo run --release --example train -- --config RUN.json --out DIR [--max-steps N] [--backend cpu|tch|wgpu]
//! ```
//!
//! Writes `DIR/run.json`, `DIR/checkpoints/step-*`, `DIR/metrics.jsonl` and, once every step
//! is done, `DIR/model/`. `--max-steps N` stops after N steps of this call. Run the same
//! command again after an interruption (or after `--max-steps`) and it continues from the newest
//! checkpoint, exactly, and says from which step and checkpoint; a changed configuration is
//! refused, with the reason. Without `train.checkpoint_every` in the configuration, a checkpoint
//! is written at the end of every epoch and every ten minutes (`train.checkpoint_minutes`), so a
//! killed run loses at most that. Progressive extension is a sequence of runs: the next
//! configuration's `model` is this run's `DIR/model`.

mod support;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use rope_ext::train::run::{self, RunConfig};
use support::{BackendArg, RunDisplay, clock};

/// Extends a model by one run configuration (JSON): fine-tuning with checkpoints, metrics and
/// an HF export; run it again to resume.
#[derive(Parser)]
#[command(name = "train", version)]
struct Args {
    /// The run configuration (`rope_ext_train::run::RunConfig`, JSON).
    #[arg(long)]
    config: PathBuf,
    /// The run directory: run.json, checkpoints/, metrics.jsonl, model/.
    #[arg(long)]
    out: PathBuf,
    /// Stop after this many steps of this call (run again to continue).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: Option<u64>,
    #[command(flatten)]
    backend: BackendArg,
}

fn run(a: Args) -> anyhow::Result<()> {
    let cfg = RunConfig::from_file(&a.config)?;
    let device = a.backend.backend.device()?;
    let started = Instant::now();
    let name = &cfg.name;
    let mut display = RunDisplay::new(name.clone());
    let outcome = run::execute(&cfg, &a.out, &device, a.max_steps, &mut |event| display.show(event))
        .with_context(|| format!("run `{name}` into {}", a.out.display()))?;
    display.finish();
    support::emit(&match outcome.model {
        Some(dir) => format!(
            "{name}: {} steps done in {}; model written to {}",
            outcome.total_steps,
            clock(started.elapsed().as_secs_f64()),
            dir.display()
        ),
        None => format!(
            "{name}: stopped at step {} of {}; run the same command again to continue",
            outcome.step, outcome.total_steps
        ),
    })
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("train", run(Args::parse()))
}
