//! Attention entropy against context length, per layer, under several RoPE methods: the
//! measurement behind the 100-samples paper's Figure 1 (entropy rises with length in layers 0–1
//! and stays flat in the others, which is why entropy-aware ABF leaves layers 0–1 unscaled).
//!
//! ```text
//! cargo run --release --example entropy_probe -- --model DIR --text FILE [--lengths 256,512,1024,2048]
//!     [--methods config,pi,ntk,yarn,abf,eabf] [--out DIR] [--backend cpu|tch|wgpu]
//! ```
//!
//! Lengths default to L, 2L, 4L, 8L (L = the model's `max_position_embeddings`). `config` is the
//! model as configured; every other name is a method of the core's registry
//! (`rope_ext_core::extension`: `pi`, `ntk`, `dynamic_ntk`, `yarn`, `abf`, `eabf`, `e2llm`, `base`)
//! extending L by `n/L` at each length `n` (`abf` sets the base to 500,000; `eabf` adds the logit
//! scalar). The text (tokenized with `DIR/tokenizer.json`)
//! is repeated if it is shorter than the longest length. Writes `entropy.json`, `entropy.md` and
//! `entropy.svg` to `--out` (default `results/entropy_probe`) and prints the table and a plain
//! statement of whether the Figure 1 pattern appears. `--replot` measures nothing and writes the
//! table and figure again from `OUT/entropy.json`.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rope_ext::model::{Llama, Tokenizer};
use rope_ext::train::checkpoint::read_json;
use rope_ext::train::eval::entropy_probe::{self, DEFAULT_METHODS, EntropyCurves, EntropyProbeConfig};
use support::{BackendArg, Progress};

/// Mean attention entropy per layer against context length under several RoPE methods (the
/// 100-samples paper's Figure 1), with a verdict on whether the pattern appears.
#[derive(Parser)]
#[command(name = "entropy_probe", version)]
struct Args {
    /// The model: an HF directory with `tokenizer.json`, or a `.gguf` file.
    #[arg(long, required_unless_present = "replot")]
    model: Option<PathBuf>,
    /// The text read at every length (repeated if shorter).
    #[arg(long, required_unless_present = "replot")]
    text: Option<PathBuf>,
    /// Context lengths, comma-separated (default: L, 2L, 4L, 8L).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(2..))]
    lengths: Vec<u32>,
    /// `config` (the model as configured) or methods of the core's registry, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_METHODS.map(String::from))]
    methods: Vec<String>,
    /// Where entropy.{json,md,svg} go.
    #[arg(long, default_value = "results/entropy_probe")]
    out: PathBuf,
    /// Measure nothing: write the table and figure again from `OUT/entropy.json`.
    #[arg(long, conflicts_with_all = ["model", "text"])]
    replot: bool,
    #[command(flatten)]
    backend: BackendArg,
}

fn run(a: Args) -> anyhow::Result<()> {
    let curves = match (&a.model, &a.text) {
        (Some(model), Some(text)) if !a.replot => measure(model, text, &a)?,
        _ => read_json::<EntropyCurves>(&a.out.join("entropy.json"))?,
    };
    curves.write(&a.out)?;
    support::emit(&format!(
        "{}\n{}\nwrote {}/entropy.{{json,md,svg}}",
        curves.markdown(),
        curves.verdict_text(),
        a.out.display()
    ))
}

/// Loads the model and the text and measures the curves.
fn measure(model_path: &Path, text_path: &Path, a: &Args) -> anyhow::Result<EntropyCurves> {
    let lengths = a.lengths.iter().map(|&n| n as usize).collect();
    let cfg = EntropyProbeConfig { lengths, methods: a.methods.clone() };
    let device = a.backend.backend.device()?;
    eprintln!("loading {}", model_path.display());
    let mut model = Llama::load(model_path, &device)?;
    let tokenizer = Tokenizer::for_model(model_path)?;
    eprintln!("tokenizing {}", text_path.display());
    let text = std::fs::read_to_string(text_path).with_context(|| text_path.display().to_string())?;
    let ids = tokenizer.encode(&text)?;
    let lengths = cfg.lengths_for(model.config.rope.config().max_position_embeddings).len();
    let mut progress = Progress::new("measuring attention entropies", (lengths * cfg.methods.len()) as u64);
    let mut done = 0;
    let name = model_path.display().to_string();
    let curves = entropy_probe::measure(&mut model, &name, &ids, &cfg, &mut |method, n| {
        done += 1;
        progress.set(done, format!("{method} at {n} tokens"));
    })
    .with_context(|| text_path.display().to_string())?;
    progress.finish();
    Ok(curves)
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("entropy_probe", run(Args::parse()))
}
