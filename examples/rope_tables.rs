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
//! (dynamic, longrope, e2llm). A bad config exits with status 1 and the error on stderr.

use std::io::Write;
use std::process::ExitCode;

use rope_ext::core::hf::read_config_str;
use serde_json::json;

struct Args {
    config: String,
    seq_len: Option<usize>,
    positions: Option<(u64, u64)>,
}

/// The most rows `--positions` prints.
const MAX_POSITIONS: u64 = 1 << 20;

const USAGE: &str = "usage: rope_tables CONFIG_JSON [--seq-len N] [--positions A..B]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut config, mut seq_len, mut positions) = (None, None, None);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seq-len" => {
                let v = it.next().ok_or("--seq-len needs a value")?;
                seq_len = Some(v.parse().map_err(|_| format!("--seq-len: `{v}` is not a non-negative integer"))?);
            }
            "--positions" => {
                let v = it.next().ok_or("--positions needs a value A..B")?;
                let (a, b) = v.split_once("..").ok_or(format!("--positions: `{v}` is not of the form A..B"))?;
                let parse = |s: &str| s.parse::<u64>().map_err(|_| format!("--positions: `{s}` is not an integer"));
                let (a, b) = (parse(a)?, parse(b)?);
                if b < a {
                    return Err(format!("--positions: the range {a}..{b} is reversed"));
                }
                positions = Some((a, b));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option `{flag}`\n{USAGE}"));
            }
            path if config.is_none() => config = Some(path.to_string()),
            extra => return Err(format!("unexpected argument `{extra}`\n{USAGE}")),
        }
    }
    Ok(Args { config: config.ok_or(USAGE)?, seq_len, positions })
}

fn run() -> Result<serde_json::Value, String> {
    let args = parse_args()?;
    let text = std::fs::read_to_string(&args.config).map_err(|e| format!("{}: {e}", args.config))?;
    let rope = read_config_str(&text).map_err(|e| format!("{}: {e}", args.config))?;
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
        if b - a > MAX_POSITIONS {
            return Err(format!("--positions: {} positions requested, at most {MAX_POSITIONS} are printed", b - a));
        }
        let table = rope.table_range(a..b, args.seq_len).map_err(|e| e.to_string())?;
        let rows = |v: &[f32]| -> Vec<Vec<f32>> { v.chunks(table.pairs()).map(<[f32]>::to_vec).collect() };
        out["positions"] = json!((a..b).collect::<Vec<_>>());
        out["cos"] = json!(rows(table.cos()));
        out["sin"] = json!(rows(table.sin()));
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => match writeln!(std::io::stdout().lock(), "{out}") {
            Ok(()) => ExitCode::SUCCESS,
            // a closed pipe (`| head`) is the reader's choice, not an error of ours
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rope_tables: writing stdout: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("rope_tables: {e}");
            ExitCode::FAILURE
        }
    }
}
