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
//! every fine-tuned model as an HF directory `DIR/<method>/`. Writes
//! `OUT/{results.json, results.md, perplexity.svg, passkey.svg}` and prints the table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rope_ext::model::BackendKind;
use rope_ext::train::compare::{self, CompareConfig, Event};
use rope_ext::train::train::clock;

struct Args {
    config: CompareConfig,
    out: PathBuf,
    backend: BackendKind,
}

fn parse() -> Result<Args, String> {
    let mut config = CompareConfig::default();
    let mut model = None;
    let mut export = None;
    let mut out: PathBuf = "results/extend_100_samples".into();
    let mut backend = BackendKind::Cpu;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--config" => {
                config = rope_ext::train::checkpoint::read_json(&PathBuf::from(&v)).map_err(|e| e.to_string())?
            }
            "--model" => model = Some(PathBuf::from(v)),
            "--export" => export = Some(PathBuf::from(v)),
            "--out" => out = v.into(),
            "--backend" => backend = v.parse().map_err(|e| format!("--backend: {e}"))?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if let Some(m) = model {
        config.model = m;
    }
    if export.is_some() {
        config.export = export;
    }
    Ok(Args { config, out, backend })
}

fn run() -> Result<String, String> {
    let a = parse()?;
    let device = a.backend.device().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut stage = String::new();
    let mut t_stage = Instant::now();
    let mut on_event = |e: Event<'_>| match e {
        Event::Stage(model, what) => {
            eprintln!();
            stage = format!("{model}: {what}");
            t_stage = Instant::now();
            eprint!("[{}] {stage}", clock(started.elapsed().as_secs_f64()));
        }
        Event::Step(m) => eprint!(
            "\r[{}] {stage} {}",
            clock(started.elapsed().as_secs_f64()),
            m.progress_line(t_stage.elapsed().as_secs_f64(), 0)
        ),
        Event::Search(evals, best) => {
            eprint!(
                "\r[{}] {stage}: {evals} candidates, best perplexity {best:.3}",
                clock(started.elapsed().as_secs_f64())
            )
        }
        Event::Eval(done, total) => eprint!("\r[{}] {stage} {done}/{total}", clock(started.elapsed().as_secs_f64())),
        Event::Done(r) => eprint!(" — done in {}", clock(r.seconds)),
    };
    let c = compare::run(&a.config, &device, &mut on_event).map_err(|e| e.to_string())?;
    eprintln!();
    compare::write_results(&c, &a.out).map_err(|e| e.to_string())?;
    Ok(format!(
        "{}\nwrote {}/{{results.json, results.md, perplexity.svg, passkey.svg}} in {}",
        compare::markdown(&c),
        a.out.display(),
        clock(c.seconds)
    ))
}

fn main() -> ExitCode {
    match run() {
        Ok(table) => {
            println!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
