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
//! Errors go to stderr with exit status 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use rope_ext::model::host::to_host;
use rope_ext::model::weights::write_tensors;
use rope_ext::model::{AttentionImpl, BackendKind, ForwardOptions, Llama, Tokenizer};
use rope_ext::train::eval::perplexity::{self, DEFAULT_STRIDE, PerplexityConfig};

const USAGE: &str = "usage: forward --model DIR (--tokens IDS --out FILE.safetensors | --text FILE [--window L [--stride S] [--bos ID]]) [--backend cpu|tch|wgpu]";

struct Args {
    model: PathBuf,
    tokens: Option<String>,
    out: Option<PathBuf>,
    text: Option<PathBuf>,
    window: Option<PerplexityConfig>,
    backend: BackendKind,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut model, mut tokens, mut out, mut text, mut backend) = (None, None, None, None, BackendKind::Cpu);
    let (mut window, mut stride, mut bos) = (None, None, None);
    let number = |flag: &str, v: String| v.parse::<usize>().map_err(|_| format!("{flag}: `{v}` is not a whole number"));
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--tokens" => tokens = Some(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--text" => text = Some(PathBuf::from(value()?)),
            "--window" => window = Some(number("--window", value()?)?),
            "--stride" => stride = Some(number("--stride", value()?)?),
            "--bos" => bos = Some(number("--bos", value()?)? as u32),
            "--backend" => backend = value()?.parse()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let model = model.ok_or(format!("--model is required\n{USAGE}"))?;
    let window = match (window, stride.is_some() || bos.is_some()) {
        (Some(len), _) => {
            Some(PerplexityConfig { len, stride: stride.unwrap_or(DEFAULT_STRIDE), bos, ..PerplexityConfig::default() })
        }
        (None, true) => return Err(format!("--stride and --bos go with --window\n{USAGE}")),
        (None, false) => None,
    };
    match (&tokens, &out, &text) {
        (Some(_), Some(_), None) if window.is_none() => Ok(Args { model, tokens, out, text, window, backend }),
        (None, None, Some(_)) => Ok(Args { model, tokens, out, text, window, backend }),
        _ => Err(format!("give either --tokens with --out, or --text (with --window for long texts)\n{USAGE}")),
    }
}

fn parse_ids(spec: &str) -> Result<Vec<u32>, String> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{path}: expected a JSON array of token ids: {e}"))
    } else {
        spec.split(',')
            .map(|s| s.trim().parse::<u32>().map_err(|_| format!("--tokens: `{s}` is not a token id")))
            .collect()
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let device = args.backend.device().map_err(|e| e.to_string())?;
    eprintln!("loading {} on {}", args.model.display(), args.backend);
    let model = Llama::load(&args.model, &device).map_err(|e| e.to_string())?;
    let attention = AttentionImpl::for_backend(args.backend);
    if let (Some(spec), Some(out)) = (&args.tokens, &args.out) {
        let ids = parse_ids(spec)?;
        let tokens = model.tokens(std::slice::from_ref(&ids)).map_err(|e| e.to_string())?;
        let logits = to_host(model.forward(tokens, ForwardOptions { attention, entropy: None }));
        write_tensors(out, &[("logits".into(), vec![ids.len(), model.config.vocab_size], logits)])
            .map_err(|e| e.to_string())?;
        eprintln!("wrote logits [{}, {}] to {}", ids.len(), model.config.vocab_size, out.display());
        return Ok(());
    }
    let text_path = args.text.as_ref().ok_or_else(|| format!("give --tokens with --out, or --text\n{USAGE}"))?;
    let tokenizer = Tokenizer::for_model(&args.model).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(text_path).map_err(|e| format!("{}: {e}", text_path.display()))?;
    eprintln!("tokenizing {} ({} bytes)", text_path.display(), text.len());
    let ids = tokenizer.encode(&text).map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    let mut emit = |line: String| {
        writeln!(stdout, "{line}")
            .or_else(|e| if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e.to_string()) })
    };
    if let Some(cfg) = &args.window {
        cfg.validate().map_err(|e| e.to_string())?;
        let windows = perplexity::windows(ids.len(), cfg).len();
        eprintln!("scoring {} tokens in {windows} windows of {} tokens, stride {}", ids.len(), cfg.len, cfg.stride);
        let p = perplexity::sliding_window(&model, std::slice::from_ref(&ids), cfg, attention)
            .map_err(|e| e.to_string())?;
        return emit(format!(
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
    let nlls = model.token_nlls(&ids, attention).map_err(|e| e.to_string())?;
    emit("index\ttoken\tnll".into())?;
    for (i, (&id, nll)) in ids[1..].iter().zip(&nlls).enumerate() {
        let piece = tokenizer.decode(&[id]).map_err(|e| e.to_string())?;
        emit(format!("{}\t{:?}\t{nll:.4}", i + 1, piece))?;
    }
    let mean = nlls.iter().sum::<f64>() / nlls.len() as f64;
    emit(format!("tokens {}  mean nll {mean:.4}  perplexity {:.4}", ids.len(), mean.exp()))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forward: {e}");
            ExitCode::FAILURE
        }
    }
}
