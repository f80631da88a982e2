//! One timing of a model, as `bench_model` and `benches/compare_pytorch.py` take it: a forward,
//! or forward + next-token loss + backward, on `len` tokens (batch 1), the best of `repeats`
//! after one warm-up, and the process's peak resident memory. The token ids are a fixed
//! pseudo-random walk over the vocabulary, so every implementation reads the same input.

use std::time::Instant;

use burn::tensor::{Device, Tensor};

use crate::error::ModelError;
use crate::host::to_host;
use crate::{AttentionImpl, ForwardOptions, Llama};

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchMode {
    /// A forward pass and the last position's logits (to the host).
    Forward,
    /// Forward, next-token loss (mean over positions) and backward.
    Train,
    /// As [`BenchMode::Train`], with gradient checkpointing.
    TrainCheckpointed,
}

impl BenchMode {
    /// The device the mode runs on, from a plain one.
    pub fn device(self, base: Device) -> Device {
        match self {
            BenchMode::Forward => base,
            BenchMode::Train => base.autodiff(),
            BenchMode::TrainCheckpointed => base.autodiff().gradient_checkpointing(),
        }
    }
}

/// The input of every timing: `(7919 i + 13) mod vocab`.
pub fn bench_ids(len: usize, vocab: usize) -> Vec<u32> {
    (0..len).map(|i| ((i * 7919 + 13) % vocab.max(1)) as u32).collect()
}

/// The best wall time in seconds of `repeats` runs of `mode` on `len` tokens, after one warm-up.
/// `model` must live on `mode`'s device ([`BenchMode::device`]).
///
/// # Errors
/// A length below 2, or ids the model cannot embed.
pub fn best_seconds(
    model: &Llama,
    mode: BenchMode,
    len: usize,
    attention: AttentionImpl,
    repeats: usize,
) -> Result<f64, ModelError> {
    if len < 2 {
        return Err(ModelError::Input("a timing needs at least 2 tokens"));
    }
    let vocab = model.config.vocab_size;
    let ids = bench_ids(len, vocab);
    let targets: Vec<u32> = ids[1..].iter().chain(&ids[..1]).copied().collect();
    let mut best = f64::INFINITY;
    for rep in 0..=repeats {
        let tokens = model.tokens(std::slice::from_ref(&ids))?;
        let start = Instant::now();
        let options = ForwardOptions { attention, entropy: None };
        if mode == BenchMode::Forward {
            let logits = model.forward(tokens, options);
            drop(to_host(logits.slice([0..1, len - 1..len, 0..vocab])));
        } else {
            let targets = model.tokens(std::slice::from_ref(&targets))?;
            let hidden = model.hidden(tokens, options);
            let mean = Tensor::<2>::full([1, len], 1.0 / len as f64, &model.device());
            drop(model.next_token_loss(hidden, targets, mean).backward());
        }
        if rep > 0 {
            best = best.min(start.elapsed().as_secs_f64());
        }
    }
    Ok(best)
}

/// The process's peak resident memory in bytes (Linux `VmHWM`), if the system reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}
