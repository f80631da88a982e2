//! Prints the RoPE tables of a model config as one JSON object.
//!
//! ```text
//! cargo run --release --example rope_tables -- CONFIG_JSON [--seq-len N] [--positions A..B]
//! ```
//!
//! Output keys: `rope_type`, `rotary_dim`, `head_dim`, `rope_theta`, `max_position_embeddings`,
//! `seq_len`, `inv_freq` (f64), `attention_factor`, `length_policy`, and with `--positions A..B`
//! (half-open) `positions`, `cos` and `sin` (one row of `rotary_dim / 2` per position, attention
//! factor applied). `--seq-len` is the current sequence length for the methods that depend on it
//! (dynamic, longrope, e2llm). A bad config exits with status 1 and the error on stderr; a bad
//! flag with clap's message and status 2.

mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rope_ext::core::hf::read_config_str;
use serde_json::json;

/// Prints the RoPE tables of a model config (`config.json`) as one JSON object.
#[derive(Parser)]
#[command(name = "rope_tables", version)]
struct Args {
    /// The model's `config.json`.
    config: PathBuf,
    /// The current sequence length, for the methods that depend on it (dynamic, longrope, e2llm).
    #[arg(long, value_name = "N")]
    seq_len: Option<usize>,
    /// Print the cos/sin rows of positions A..B (half-open).
    #[arg(long, value_name = "A..B", value_parser = parse_positions)]
    positions: Option<(u64, u64)>,
}

/// The most rows `--positions` prints.
const MAX_POSITIONS: u64 = 1 << 20;

fn parse_positions(v: &str) -> Result<(u64, u64), String> {
    let (a, b) = v.split_once("..").ok_or(format!("`{v}` is not of the form A..B"))?;
    let parse = |s: &str| s.parse::<u64>().map_err(|_| format!("`{s}` is not an integer"));
    let (a, b) = (parse(a)?, parse(b)?);
    if b < a {
        return Err(format!("the range {a}..{b} is reversed"));
    }
    Ok((a, b))
}

fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| args.config.display().to_string())?;
    let rope = read_config_str(&text).with_context(|| args.config.display().to_string())?;
    let f = rope.frequencies(args.seq_len);
    let cfg = rope.config();
    let mut out = json!({
        "rope_type": rope.scaling().name(),
        "rotary_dim": rope.rotary_dim(),
        "head_dim": cfg.head_dim,
        "rope_theta": cfg.rope_theta,
        "max_position_embeddings": cfg.max_position_embeddings,
        "seq_len": args.seq_len,
        "length_policy": format!("{:?}", rope.scaling().length_policy()),
        "inv_freq": f.inv_freq,
        "attention_factor": f.attention_factor,
    });
    if let Some((a, b)) = args.positions {
        anyhow::ensure!(
            b - a <= MAX_POSITIONS,
            "--positions: {} positions requested, at most {MAX_POSITIONS} are printed",
            b - a
        );
        let table = rope.table_range(a..b, args.seq_len)?;
        let rows = |v: &[f32]| -> Vec<Vec<f32>> { v.chunks(table.pairs()).map(<[f32]>::to_vec).collect() };
        out["positions"] = json!((a..b).collect::<Vec<_>>());
        out["cos"] = json!(rows(table.cos()));
        out["sin"] = json!(rows(table.sin()));
    }
    support::emit(&out.to_string())
}

fn main() -> ExitCode {
    support::init_logging();
    support::exit("rope_tables", run(Args::parse()))
}
