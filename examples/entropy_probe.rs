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
//! statement of whether the Figure 1 pattern appears.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rope_ext::core::extension::extension;
use rope_ext::core::{RopeConfig, RopeScaling};
use rope_ext::model::{AttentionImpl, BackendKind, EntropyHook, ForwardOptions, Llama, Tokenizer};
use rope_ext::train::report::{LinePlot, Scale, Table, fmt_f64, grid};
use serde_json::json;

struct Args {
    model: PathBuf,
    text: PathBuf,
    lengths: Option<Vec<usize>>,
    methods: Vec<String>,
    out: PathBuf,
    backend: BackendKind,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        model: PathBuf::new(),
        text: PathBuf::new(),
        lengths: None,
        methods: ["config", "pi", "ntk", "yarn", "abf", "eabf"].map(String::from).to_vec(),
        out: PathBuf::from("results/entropy_probe"),
        backend: BackendKind::Cpu,
    };
    while let Some(arg) = it.next() {
        let v = it.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--model" => a.model = v.into(),
            "--text" => a.text = v.into(),
            "--lengths" => {
                let l: Result<Vec<usize>, _> = v.split(',').map(str::parse).collect();
                a.lengths = Some(l.map_err(|_| format!("--lengths: `{v}`"))?);
            }
            "--methods" => a.methods = v.split(',').map(String::from).collect(),
            "--out" => a.out = v.into(),
            "--backend" => a.backend = v.parse()?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if a.model.as_os_str().is_empty() || a.text.as_os_str().is_empty() {
        return Err("--model and --text are required".into());
    }
    Ok(a)
}

/// The RoPE scaling of `method` for a context of `n` tokens on a model with window `l`: the
/// model's own (`config`) or the registry's ([`extension`]) at factor `max(n/l, 1)`.
fn scaling(method: &str, configured: &RopeScaling, n: usize, l: usize) -> Result<RopeScaling, String> {
    if method == "config" {
        return Ok(configured.clone());
    }
    let s = (n as f64 / l as f64).max(1.0);
    extension(method, l, s).map(|e| e.scaling).map_err(|e| format!("{e}, or config"))
}

fn run() -> Result<String, String> {
    let a = parse()?;
    let device = a.backend.device().map_err(|e| e.to_string())?;
    eprintln!("loading {}", a.model.display());
    let mut model = Llama::load(&a.model, &device).map_err(|e| e.to_string())?;
    let tokenizer = Tokenizer::for_model(&a.model).map_err(|e| e.to_string())?;
    eprintln!("tokenizing {}", a.text.display());
    let text = std::fs::read_to_string(&a.text).map_err(|e| format!("{}: {e}", a.text.display()))?;
    let ids = tokenizer.encode(&text).map_err(|e| e.to_string())?;
    if ids.is_empty() {
        return Err(format!("{}: no tokens", a.text.display()));
    }
    let base = model.config.rope.config().clone();
    let l = base.max_position_embeddings;
    let lengths = a.lengths.clone().unwrap_or_else(|| vec![l, 2 * l, 4 * l, 8 * l]);
    let layers = model.config.num_hidden_layers;
    let mut results = Vec::new();
    for method in &a.methods {
        let mut means = vec![vec![0.0f64; lengths.len()]; layers];
        for (j, &n) in lengths.iter().enumerate() {
            let rope = RopeConfig { scaling: scaling(method, &base.scaling, n, l)?, ..base.clone() };
            model.config.rope = rope.build().map_err(|e| format!("{method} at {n}: {e}"))?;
            eprint!("{method:>6} n={n:>6}: measuring attention entropies ... ");
            let input: Vec<u32> = ids.iter().copied().cycle().take(n).collect();
            let mut hook = EntropyHook::default();
            let tokens = model.tokens(&[input]).map_err(|e| e.to_string())?;
            model.forward(tokens, ForwardOptions { attention: AttentionImpl::CHUNKED, entropy: Some(&mut hook) });
            for (layer, report) in hook.collector.report().layers.iter().enumerate() {
                means[layer][j] = report.overall.mean;
            }
            eprintln!("done");
        }
        results.push((method.clone(), means));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let json = json!({
        "model": a.model.display().to_string(),
        "lengths": lengths,
        "methods": results.iter().map(|(m, means)| json!({"method": m, "mean_entropy_per_layer": means})).collect::<Vec<_>>(),
    });
    let table = markdown(&lengths, &results);
    let verdict = figure1_verdict(&lengths, &results);
    let write = |name: &str, body: String| std::fs::write(a.out.join(name), body).map_err(|e| format!("{name}: {e}"));
    write("entropy.json", serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n")?;
    write("entropy.md", format!("{table}\n{verdict}\n"))?;
    write("entropy.svg", svg(&lengths, &results))?;
    Ok(format!("{table}\n{verdict}\nwrote {}/entropy.{{json,md,svg}}", a.out.display()))
}

fn markdown(lengths: &[usize], results: &[(String, Vec<Vec<f64>>)]) -> String {
    let header = ["method".to_string(), "layer".to_string()].into_iter().chain(lengths.iter().map(usize::to_string));
    let mut t = Table::new(header);
    for (method, means) in results {
        for (layer, row) in means.iter().enumerate() {
            t.push_row([method.clone(), layer.to_string()].into_iter().chain(row.iter().map(|h| fmt_f64(*h, 3))));
        }
    }
    t.render()
}

/// Entropy change per doubling of the length (least squares over log2 n), per layer.
fn slopes(lengths: &[usize], row: &[f64]) -> f64 {
    let xs: Vec<f64> = lengths.iter().map(|&n| (n as f64).log2()).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / xs.len() as f64, row.iter().sum::<f64>() / row.len() as f64);
    let num: f64 = xs.iter().zip(row).map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if den > 0.0 { num / den } else { 0.0 }
}

/// The paper's Figure 1: entropy grows with length in layers 0–1 and much less in the rest.
fn figure1_verdict(lengths: &[usize], results: &[(String, Vec<Vec<f64>>)]) -> String {
    let mut s = String::new();
    for (method, means) in results {
        if means.len() < 3 || lengths.len() < 2 {
            continue;
        }
        let early: f64 = means[..2].iter().map(|r| slopes(lengths, r)).sum::<f64>() / 2.0;
        let late: f64 = means[2..].iter().map(|r| slopes(lengths, r)).sum::<f64>() / (means.len() - 2) as f64;
        let shows = early > 0.05 && early > 2.0 * late.abs();
        let _ = writeln!(
            s,
            "{method}: layers 0-1 change by {early:+.3} nats per doubling, layers 2+ by {late:+.3}: {}",
            if shows { "the Figure 1 pattern appears" } else { "the Figure 1 pattern does not appear" }
        );
    }
    if s.is_empty() {
        s.push_str(
            "fewer than 3 layers or 2 lengths: the Figure 1 comparison (layers 0-1 vs the rest) does not apply\n",
        );
    }
    s
}

/// One panel per method, one line per layer, a shared entropy axis.
fn svg(lengths: &[usize], results: &[(String, Vec<Vec<f64>>)]) -> String {
    let all = results.iter().flat_map(|(_, r)| r.iter().flatten().copied()).filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let plots: Vec<LinePlot> = results
        .iter()
        .map(|(method, means)| {
            let mut p = LinePlot::new(method.as_str(), "tokens", "mean entropy (nats)")
                .x_scale(Scale::Log2)
                .with_size(340.0, 280.0);
            if hi > lo {
                p = p.y_range(lo, hi);
            }
            for (layer, row) in means.iter().enumerate() {
                p = p.series(format!("layer {layer}"), lengths.iter().zip(row).map(|(&n, &h)| (n as f64, h)));
            }
            p
        })
        .collect();
    grid("Mean attention entropy against context length", &plots, 3)
}

fn main() -> ExitCode {
    match run() {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("entropy_probe: {e}");
            ExitCode::FAILURE
        }
    }
}
