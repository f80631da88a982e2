//! Runs a model (an HF directory or a llama.cpp `.gguf` file) on token ids or a text file.
//!
//! ```text
//! cargo run --release --example forward -- --model DIR --tokens IDS --out FILE.safetensors [--backend cpu|tch|wgpu]
//! cargo run --release --example forward -- --model DIR --text FILE [--backend cpu|tch|wgpu]
//! ```
//!
//! `IDS` is comma-separated token ids or `@path` to a JSON array. The first form writes a tensor
//! named `logits`, shape `[tokens, vocab]`, f32. The second tokenizes `FILE` with
//! `DIR/tokenizer.json` (for a GGUF file, the `tokenizer.json` beside it or the file's own
//! vocabulary) and prints each token's negative log-likelihood and the perplexity.
//! Errors go to stderr with exit status 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use rope_ext::rope_ext_model::model::to_host;
use rope_ext::rope_ext_model::weights::write_tensors;
use rope_ext::rope_ext_model::{AttentionImpl, Backend, ForwardOptions, Llama, Tokenizer};

const USAGE: &str =
    "usage: forward --model DIR (--tokens IDS --out FILE.safetensors | --text FILE) [--backend cpu|tch|wgpu]";

struct Args {
    model: PathBuf,
    tokens: Option<String>,
    out: Option<PathBuf>,
    text: Option<PathBuf>,
    backend: Backend,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut model, mut tokens, mut out, mut text, mut backend) = (None, None, None, None, Backend::Cpu);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--tokens" => tokens = Some(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--text" => text = Some(PathBuf::from(value()?)),
            "--backend" => backend = value()?.parse()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let model = model.ok_or(format!("--model is required\n{USAGE}"))?;
    match (&tokens, &out, &text) {
        (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(Args { model, tokens, out, text, backend }),
        _ => Err(format!("give either --tokens with --out, or --text\n{USAGE}")),
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
    let model = Llama::load(&args.model, &device).map_err(|e| e.to_string())?;
    if let (Some(spec), Some(out)) = (&args.tokens, &args.out) {
        let ids = parse_ids(spec)?;
        let tokens = model.tokens(std::slice::from_ref(&ids)).map_err(|e| e.to_string())?;
        let attention = AttentionImpl::for_backend(args.backend);
        let logits = to_host(model.forward(tokens, ForwardOptions { attention, entropy: None }));
        write_tensors(out, &[("logits".into(), vec![ids.len(), model.config.vocab_size], logits)])
            .map_err(|e| e.to_string())?;
        eprintln!("wrote logits [{}, {}] to {}", ids.len(), model.config.vocab_size, out.display());
    } else if let Some(text_path) = &args.text {
        let tokenizer = Tokenizer::for_model(&args.model).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(text_path).map_err(|e| format!("{}: {e}", text_path.display()))?;
        let ids = tokenizer.encode(&text).map_err(|e| e.to_string())?;
        let nlls = model.token_nlls(&ids, AttentionImpl::for_backend(args.backend)).map_err(|e| e.to_string())?;
        let mut stdout = std::io::stdout().lock();
        let mut emit = |line: String| {
            writeln!(stdout, "{line}")
                .or_else(|e| if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e.to_string()) })
        };
        emit("index\ttoken\tnll".into())?;
        for (i, (&id, nll)) in ids[1..].iter().zip(&nlls).enumerate() {
            let piece = tokenizer.decode(&[id]).map_err(|e| e.to_string())?;
            emit(format!("{}\t{:?}\t{nll:.4}", i + 1, piece))?;
        }
        let mean = nlls.iter().sum::<f64>() / nlls.len() as f64;
        emit(format!("tokens {}  mean nll {mean:.4}  perplexity {:.4}", ids.len(), mean.exp()))?;
    }
    Ok(())
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
