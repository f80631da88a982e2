//! Runs a model (an HF directory or a llama.cpp `.gguf` file) on token ids or a text file.
//!
//! ```text
//! cargo run --release --example forward -- --model DIR --tokens IDS --out FILE.safetensors [--backend cpu|tch|wgpu]
//! cargo run --release --example forward -- --model DIR --text FILE [--backend cpu|tch|wgpu]
//! cargo run --release --example forward -- --model DIR --text FILE --window L [--stride S] [--bos ID] [--backend ...]
//! ```
//!
//! `IDS` is comma-separated token ids or `@path` to a JSON array. The first form writes a tensor
//! named `logits`, shape `[tokens, vocab]`, f32. The second tokenizes `FILE` with
//! `DIR/tokenizer.json` (for a GGUF file, the `tokenizer.json` beside it or the file's own
//! vocabulary) and prints each token's negative log-likelihood and the perplexity; the output
//! head runs over blocks of positions, so memory beyond the weights grows as tokens × hidden,
//! never tokens × vocabulary. The third scores a text longer than one forward should hold with
//! the sliding-window protocol of the YaRN and LongRoPE scripts (windows of `L` tokens every `S`,
//! default 256; `--bos` prepends that token to every window) and prints what the trainer's
//! perplexity evaluation reports: windows, tokens, the scripts' perplexity (mean over windows)
//! and the token-weighted one. Each stage is announced on stderr as it starts.
//! Errors go to stderr with exit status 1 (a bad flag: clap's message, status 2).

mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rope_ext::model::host::to_host;
use rope_ext::model::weights::write_tensors;
use rope_ext::model::{AttentionImpl, ForwardOptions, Llama, Tokenizer};
use rope_ext::train::eval::perplexity::{self, DEFAULT_STRIDE, PerplexityConfig};
use support::{BackendArg, emit};

/// Runs a model (an HF directory or a `.gguf` file) on token ids, writing the logits, or on a
/// text, printing per-token NLLs and the perplexity (whole, or in sliding windows).
#[derive(Parser)]
#[command(name = "forward", version)]
struct Args {
    /// The model: an HF directory or a llama.cpp `.gguf` file.
    #[arg(long)]
    model: PathBuf,
    /// Token ids: comma-separated, or `@FILE` with a JSON array.
    #[arg(long, value_name = "IDS", requires = "out", conflicts_with = "text", value_parser = parse_ids)]
    tokens: Option<Ids>,
    /// Where `--tokens` writes the `logits` tensor ([tokens, vocab], f32, safetensors).
    #[arg(long, value_name = "FILE.safetensors", requires = "tokens")]
    out: Option<PathBuf>,
    /// A text to score, tokenized with the model's tokenizer.
    #[arg(long, value_name = "FILE", required_unless_present = "tokens")]
    text: Option<PathBuf>,
    /// Score the text in windows of L tokens (the YaRN / LongRoPE sliding-window protocol).
    #[arg(long, value_name = "L", requires = "text")]
    window: Option<usize>,
    /// Tokens between window starts.
    #[arg(long, value_name = "S", requires = "window", default_value_t = DEFAULT_STRIDE)]
    stride: usize,
    /// Prepend this token to every window.
    #[arg(long, value_name = "ID", requires = "window")]
    bos: Option<u32>,
    #[command(flatten)]
    backend: BackendArg,
}

/// Token ids from the command line.
#[derive(Debug, Clone)]
struct Ids(Vec<u32>);

fn parse_ids(spec: &str) -> Result<Ids, String> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        serde_json::from_str(&text).map(Ids).map_err(|e| format!("{path}: expected a JSON array of token ids: {e}"))
    } else {
        let ids = spec.split(',').map(|s| s.trim().parse::<u32>().map_err(|_| format!("`{s}` is not a token id")));
        ids.collect::<Result<_, _>>().map(Ids)
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let backend = args.backend.backend;
    let device = backend.device()?;
    eprintln!("loading {} on {backend}", args.model.display());
    let model = Llama::load(&args.model, &device)?;
    let attention = AttentionImpl::for_backend(backend);
    if let (Some(Ids(ids)), Some(out)) = (&args.tokens, &args.out) {
        let tokens = model.tokens(std::slice::from_ref(ids)).context("--tokens")?;
        let logits = to_host(model.forward(tokens, ForwardOptions { attention, entropy: None }));
        write_tensors(out, &[("logits".into(), vec![ids.len(), model.config.vocab_size], logits)])?;
        eprintln!("wrote logits [{}, {}] to {}", ids.len(), model.config.vocab_size, out.display());
        return Ok(());
    }
    let text_path = args.text.as_ref().context("give --tokens with --out, or --text")?;
    let tokenizer = Tokenizer::for_model(&args.model)?;
    let text = std::fs::read_to_string(text_path).with_context(|| format!("{}", text_path.display()))?;
    eprintln!("tokenizing {} ({} bytes)", text_path.display(), text.len());
    let ids = tokenizer.encode(&text)?;
    if let Some(len) = args.window {
        let cfg = PerplexityConfig { len, stride: args.stride, bos: args.bos, ..PerplexityConfig::default() };
        cfg.validate().with_context(|| format!("--window {len} --stride {}", args.stride))?;
        let windows = perplexity::windows(ids.len(), &cfg).len();
        eprintln!("scoring {} tokens in {windows} windows of {len} tokens, stride {}", ids.len(), cfg.stride);
        let p = perplexity::sliding_window(&model, std::slice::from_ref(&ids), &cfg, attention)?;
        return emit(&format!(
            "tokens {}  window {}  stride {}  windows {}  scored {}  perplexity {:.4} (mean over windows)  {:.4} (token-weighted)",
            ids.len(),
            p.len,
            cfg.stride,
            p.windows,
            p.tokens,
            p.window_mean,
            p.token_weighted
        ));
    }
    eprintln!("scoring {} tokens in one pass", ids.len());
    let nlls = model.token_nlls(&ids, attention)?;
    emit("index\ttoken\tnll")?;
    for (i, (&id, nll)) in ids[1..].iter().zip(&nlls).enumerate() {
        let piece = tokenizer.decode(&[id])?;
        emit(&format!("{}\t{:?}\t{nll:.4}", i + 1, piece))?;
    }
    let mean = nlls.iter().sum::<f64>() / nlls.len() as f64;
    emit(&format!("tokens {}  mean nll {mean:.4}  perplexity {:.4}", ids.len(), mean.exp()))
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("forward", run(Args::parse()))
}
