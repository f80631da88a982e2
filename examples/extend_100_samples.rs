//! The main job: extend the project's base model (trained at 256 tokens) to 1,024 tokens with
//! every method, training-free and fine-tuned on the same 100 samples with the same budget,
//! and compare them at 256, 512, 1,024 and 2,048 tokens by perplexity and passkey retrieval.
//!
//! ```text
//! cargo run --release --example extend_100_samples -- [--model data/base-model] [--out results/extend_100_samples]
//!     [--config FILE.json] [--export DIR] [--backend cpu|tch|wgpu]
//! ```
//! `--config` reads a `CompareConfig` (JSON; every field optional) to change the methods,
//! lengths, samples or schedule; `--model` points at any HF LLaMA-family directory with a
//! `tokenizer.json` (e.g. a 7B model on a GPU for the paper-scale run) or a llama.cpp `.gguf`
//! file; `--export DIR` saves
//! every fine-tuned model as an HF directory `DIR/<method>/`; `--replot` runs nothing and writes
//! the table and figures again from `OUT/results.json`. Writes
//! `OUT/{results.json, results.md, perplexity.svg, passkey.svg}` and prints the table.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rope_ext::train::checkpoint::read_json;
use rope_ext::train::compare::{self, CompareConfig, Comparison, Event};
use support::{BackendArg, Progress, clock};

/// The main job: extends the base model from 256 to 1,024 tokens with every method, training-free
/// and fine-tuned on the same 100 samples, and compares them by perplexity and passkey retrieval.
#[derive(Parser)]
#[command(name = "extend_100_samples", version)]
struct Args {
    /// The base model: an HF LLaMA-family directory with `tokenizer.json`, or a `.gguf` file
    /// (default: the configuration's, `data/base-model`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where the results go.
    #[arg(long, default_value = "results/extend_100_samples")]
    out: PathBuf,
    /// A `CompareConfig` (JSON; every field optional): methods, lengths, samples, schedule.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Save every fine-tuned model as an HF directory `DIR/<method>/`.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Run nothing: write the table and figures again from `OUT/results.json`.
    #[arg(long, conflicts_with_all = ["model", "config", "export"])]
    replot: bool,
    #[command(flatten)]
    backend: BackendArg,
}

fn run(a: Args) -> anyhow::Result<()> {
    if a.replot {
        let c: Comparison = read_json(&a.out.join("results.json"))?;
        return report(&c, &a.out);
    }
    let mut config = match &a.config {
        Some(path) => read_json::<CompareConfig>(path)?,
        None => CompareConfig::default(),
    };
    if let Some(model) = a.model {
        config.model = model;
    }
    if a.export.is_some() {
        config.export = a.export;
    }
    let device = a.backend.backend.device()?;
    let mut progress: Option<Progress> = None;
    let mut on_event = |e: Event<'_>| match e {
        Event::Stage(model, what) => {
            if let Some(bar) = progress.take() {
                bar.finish()
            }
            progress = Some(Progress::new(format!("{model}: {what}"), 0));
        }
        Event::Step(m) => {
            if let Some(bar) = progress.as_mut() {
                bar.set_total(m.total_steps);
                bar.step(m);
            }
        }
        Event::Search(evaluations, best) => {
            if let Some(bar) = progress.as_mut() {
                bar.set(evaluations as u64, format!("candidates, best perplexity {best:.3}"));
            }
        }
        Event::Eval(done, total) => {
            if let Some(bar) = progress.as_mut() {
                bar.set_total(total as u64);
                bar.set(done as u64, String::new());
            }
        }
        Event::Done(r) => {
            if let Some(bar) = progress.take() {
                bar.println(format!("{}: done in {}", r.label(), clock(r.seconds)));
                bar.finish()
            }
        }
    };
    let c = compare::run(&config, &device, &mut on_event)?;
    if let Some(bar) = progress {
        bar.finish()
    }
    report(&c, &a.out)
}

/// Writes the results into `out` and prints the table.
fn report(c: &Comparison, out: &Path) -> anyhow::Result<()> {
    compare::write_results(c, out).with_context(|| format!("writing the results to {}", out.display()))?;
    support::emit(&format!(
        "{}\nwrote {}/{{results.json, results.md, perplexity.svg, passkey.svg}} in {}",
        compare::markdown(c),
        out.display(),
        clock(c.seconds)
    ))
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("extend_100_samples", run(Args::parse()))
}
