//! One timing of a model: forward, or forward + backward, on `--len` tokens, batch 1. Prints
//! one JSON line: tokens per second (best of `--repeats` after one warm-up), and the process's
//! peak resident memory (Linux `VmHWM`). Run one process per measurement so the peak belongs to
//! it; `crates/rope-ext-model/benches/compare_pytorch.py` does that for us and for PyTorch.
//!
//! ```text
//! cargo run --release --example bench_model -- --model DIR --len 2048 --mode forward|train|train-checkpointed [--backend cpu|tch|wgpu] [--attention fused|reference|chunked[:Q:K]] [--repeats 3]
//! ```

mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use rope_ext::model::bench::{self, BenchMode};
use rope_ext::model::{AttentionImpl, Llama};
use serde_json::json;
use support::BackendArg;

/// Times a model's forward, or forward + backward, on `--len` tokens (batch 1); prints one JSON
/// line with tokens per second and the process's peak resident memory.
#[derive(Parser)]
#[command(name = "bench_model", version)]
struct Args {
    /// The model: an HF directory or a `.gguf` file.
    #[arg(long)]
    model: PathBuf,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(2..))]
    len: u32,
    /// What is timed.
    #[arg(long, value_enum, default_value_t = Mode::Forward)]
    mode: Mode,
    /// The attention: fused, reference, chunked or chunked:Q:K (default: the backend's).
    #[arg(long)]
    attention: Option<AttentionImpl>,
    /// Timed repetitions after one warm-up; the best is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    #[command(flatten)]
    backend: BackendArg,
}

/// What `bench_model` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// A forward pass and the last position's logits.
    Forward,
    /// Forward, next-token loss and backward.
    Train,
    /// As `train`, with gradient checkpointing.
    TrainCheckpointed,
}

fn run(a: Args) -> anyhow::Result<()> {
    let backend = a.backend.backend;
    let mode = match a.mode {
        Mode::Forward => BenchMode::Forward,
        Mode::Train => BenchMode::Train,
        Mode::TrainCheckpointed => BenchMode::TrainCheckpointed,
    };
    let model = Llama::load(&a.model, &mode.device(backend.device()?))?;
    let attention = a.attention.unwrap_or(AttentionImpl::for_backend(backend));
    let len = a.len as usize;
    let seconds = bench::best_seconds(&model, mode, len, attention, a.repeats as usize)?;
    support::emit(
        &json!({
            "impl": format!("rope-ext/{backend}"),
            "mode": a.mode.to_possible_value().map(|v| v.get_name().to_string()),
            "len": len,
            "seconds": seconds,
            "tokens_per_s": len as f64 / seconds,
            "peak_rss_bytes": bench::peak_rss_bytes(),
        })
        .to_string(),
    )
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("bench_model", run(Args::parse()))
}
