//! One timing of a model: forward, or forward + backward, on `--len` tokens, batch 1. Prints
//! one JSON line: tokens per second (best of `--repeats` after one warm-up), and the process's
//! peak resident memory (Linux `VmHWM`). Run one process per measurement so the peak belongs to
//! it; `crates/rope-ext-model/benches/compare_pytorch.py` does that for us and for PyTorch.
//!
//! ```text
//! cargo run --release --example bench_model -- --model DIR --len 2048 --mode forward|train|train-checkpointed [--backend cpu|tch|wgpu] [--attention fused|reference|chunked[:Q:K]] [--repeats 3]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rope_ext::model::burn::tensor::Tensor;
use rope_ext::model::host::to_host;
use rope_ext::model::{AttentionImpl, BackendKind, ForwardOptions, Llama};

struct Args {
    model: PathBuf,
    len: usize,
    train: bool,
    backend: BackendKind,
    attention: AttentionImpl,
    repeats: usize,
    checkpointing: bool,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        model: PathBuf::new(),
        len: 512,
        train: false,
        backend: BackendKind::Cpu,
        attention: AttentionImpl::default(),
        repeats: 3,
        checkpointing: false,
    };
    let mut explicit_attention = false;
    while let Some(arg) = it.next() {
        let v = it.next().ok_or(format!("{arg} needs a value"))?;
        explicit_attention |= arg == "--attention";
        match arg.as_str() {
            "--model" => a.model = v.into(),
            "--len" => a.len = v.parse().map_err(|_| format!("--len: `{v}`"))?,
            "--mode" => {
                a.train = v.starts_with("train");
                a.checkpointing = v == "train-checkpointed";
            }
            "--backend" => a.backend = v.parse()?,
            "--attention" => {
                a.attention = match v.split(':').collect::<Vec<_>>().as_slice() {
                    ["fused"] => AttentionImpl::Fused,
                    ["reference"] => AttentionImpl::Reference,
                    ["chunked"] => AttentionImpl::CHUNKED,
                    ["chunked", q, k] => AttentionImpl::Chunked {
                        query_block: q.parse().map_err(|_| format!("--attention: `{v}`"))?,
                        key_chunk: k.parse().map_err(|_| format!("--attention: `{v}`"))?,
                    },
                    _ => return Err(format!("--attention: `{v}` (fused, reference, chunked[:Q:K])")),
                }
            }
            "--repeats" => a.repeats = v.parse().map_err(|_| format!("--repeats: `{v}`"))?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if !explicit_attention {
        a.attention = AttentionImpl::for_backend(a.backend);
    }
    Ok(a)
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn run() -> Result<String, String> {
    let a = parse()?;
    let base = a.backend.device().map_err(|e| e.to_string())?;
    let device = match (a.train, a.checkpointing) {
        (true, true) => base.autodiff().gradient_checkpointing(),
        (true, false) => base.autodiff(),
        (false, _) => base,
    };
    let model = Llama::load(&a.model, &device).map_err(|e| e.to_string())?;
    let vocab = model.config.vocab_size as u32;
    let ids: Vec<u32> = (0..a.len as u32).map(|i| (i * 7919 + 13) % vocab).collect();
    let mut best = f64::INFINITY;
    for rep in 0..=a.repeats {
        let tokens = model.tokens(std::slice::from_ref(&ids)).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let options = ForwardOptions { attention: a.attention, entropy: None };
        if a.train {
            let targets =
                model.tokens(&[ids[1..].iter().chain(&ids[..1]).copied().collect()]).map_err(|e| e.to_string())?;
            let hidden = model.hidden(tokens, options);
            let mean = Tensor::<2>::full([1, a.len], 1.0 / a.len as f64, &device);
            let grads = model.next_token_loss(hidden, targets, mean).backward();
            drop(grads);
        } else {
            let logits = model.forward(tokens, options);
            let _ = to_host(logits.slice([0..1, a.len - 1..a.len, 0..vocab as usize]));
        }
        let secs = start.elapsed().as_secs_f64();
        if rep > 0 {
            best = best.min(secs);
        }
    }
    Ok(format!(
        "{{\"impl\":\"rope-ext/{}\",\"mode\":\"{}\",\"len\":{},\"seconds\":{best:.4},\"tokens_per_s\":{:.1},\"peak_rss_bytes\":{}}}",
        a.backend,
        match (a.train, a.checkpointing) {
            (true, true) => "train-checkpointed",
            (true, false) => "train",
            (false, _) => "forward",
        },
        a.len,
        a.len as f64 / best,
        peak_rss_bytes()
    ))
}

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_model: {e}");
            ExitCode::FAILURE
        }
    }
}
