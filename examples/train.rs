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

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rope_ext::model::BackendKind;
use rope_ext::train::run::{self, RunConfig, RunEvent};
use rope_ext::train::train::clock;

struct Args {
    config: PathBuf,
    out: PathBuf,
    max_steps: Option<u64>,
    backend: BackendKind,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut config, mut out, mut max_steps, mut backend) = (None, None, None, BackendKind::Cpu);
    while let Some(arg) = it.next() {
        let v = it.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(v)),
            "--out" => out = Some(PathBuf::from(v)),
            "--max-steps" => max_steps = Some(v.parse().map_err(|_| format!("--max-steps: `{v}`"))?),
            "--backend" => backend = v.parse()?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    match (config, out) {
        (Some(config), Some(out)) => Ok(Args { config, out, max_steps, backend }),
        _ => Err("--config and --out are required".into()),
    }
}

fn main_result() -> Result<String, String> {
    let a = parse()?;
    let cfg = RunConfig::from_file(&a.config).map_err(|e| e.to_string())?;
    let device = a.backend.device().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let name = &cfg.name;
    let mut first_step = None;
    let mut on_event = |event: RunEvent<'_>| match event {
        RunEvent::Loading { model } => {
            eprintln!("{name}: reading the tokenizer and configuration of {}", model.display())
        }
        RunEvent::Tokenizing { corpus } => eprintln!("{name}: reading and tokenizing {}", corpus.display()),
        RunEvent::Samples { samples, tokens } => eprintln!("{name}: {samples} training samples, {tokens} tokens"),
        RunEvent::Resuming { step, checkpoint } => {
            eprintln!("{name}: resuming at step {step} from {}", checkpoint.display())
        }
        RunEvent::Training { step: 0, total_steps } => eprintln!("{name}: training, {total_steps} steps"),
        RunEvent::Training { step, total_steps } => {
            eprintln!("{name}: training from step {step}, {} of {total_steps} steps to go", total_steps - step)
        }
        RunEvent::Step(m) => {
            let from = *first_step.get_or_insert(m.step - 1);
            eprint!("\r{name}: {}", m.progress_line(started.elapsed().as_secs_f64(), from));
        }
        RunEvent::Exporting { dir } => eprintln!("\n{name}: writing the model to {}", dir.display()),
    };
    let outcome = run::execute(&cfg, &a.out, &device, a.max_steps, &mut on_event).map_err(|e| e.to_string())?;
    if outcome.model.is_none() {
        eprintln!();
    }
    Ok(match outcome.model {
        Some(dir) => format!(
            "{}: {} steps done in {}; model written to {}",
            cfg.name,
            outcome.total_steps,
            clock(started.elapsed().as_secs_f64()),
            dir.display()
        ),
        None => format!(
            "{}: stopped at step {} of {}; run the same command again to continue",
            cfg.name, outcome.step, outcome.total_steps
        ),
    })
}

fn main() -> ExitCode {
    match main_result() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
