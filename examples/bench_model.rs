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
use std::time::Instant;

use clap::{Parser, ValueEnum};
use rope_ext::model::burn::tensor::Tensor;
use rope_ext::model::host::to_host;
use rope_ext::model::{AttentionImpl, ForwardOptions, Llama};
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
    #[arg(long, value_parser = parse_attention)]
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

fn parse_attention(v: &str) -> Result<AttentionImpl, String> {
    let block = |s: &str| s.parse().map_err(|_| format!("`{s}` is not a block size"));
    match v.split(':').collect::<Vec<_>>().as_slice() {
        ["fused"] => Ok(AttentionImpl::Fused),
        ["reference"] => Ok(AttentionImpl::Reference),
        ["chunked"] => Ok(AttentionImpl::CHUNKED),
        ["chunked", q, k] => Ok(AttentionImpl::Chunked { query_block: block(q)?, key_chunk: block(k)? }),
        _ => Err(format!("`{v}` is none of fused, reference, chunked[:Q:K]")),
    }
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn run(a: Args) -> anyhow::Result<()> {
    let backend = a.backend.backend;
    let base = backend.device()?;
    let device = match a.mode {
        Mode::TrainCheckpointed => base.autodiff().gradient_checkpointing(),
        Mode::Train => base.autodiff(),
        Mode::Forward => base,
    };
    let attention = a.attention.unwrap_or(AttentionImpl::for_backend(backend));
    let model = Llama::load(&a.model, &device)?;
    let (len, vocab) = (a.len as usize, model.config.vocab_size as u32);
    let ids: Vec<u32> = (0..a.len).map(|i| (i * 7919 + 13) % vocab).collect();
    let mut best = f64::INFINITY;
    for rep in 0..=a.repeats {
        let tokens = model.tokens(std::slice::from_ref(&ids))?;
        let start = Instant::now();
        let options = ForwardOptions { attention, entropy: None };
        if a.mode == Mode::Forward {
            let logits = model.forward(tokens, options);
            let _ = to_host(logits.slice([0..1, len - 1..len, 0..vocab as usize]));
        } else {
            let targets = model.tokens(&[ids[1..].iter().chain(&ids[..1]).copied().collect()])?;
            let hidden = model.hidden(tokens, options);
            let mean = Tensor::<2>::full([1, len], 1.0 / len as f64, &device);
            let grads = model.next_token_loss(hidden, targets, mean).backward();
            drop(grads);
        }
        let secs = start.elapsed().as_secs_f64();
        if rep > 0 {
            best = best.min(secs);
        }
    }
    let mode = a.mode.to_possible_value().map(|v| v.get_name().to_string());
    support::emit(
        &json!({
            "impl": format!("rope-ext/{backend}"),
            "mode": mode,
            "len": len,
            "seconds": best,
            "tokens_per_s": len as f64 / best,
            "peak_rss_bytes": peak_rss_bytes(),
        })
        .to_string(),
    )
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("bench_model", run(Args::parse()))
}
