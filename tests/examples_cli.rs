//! Every example is a command-line program with clap's `--help` and `--version`, and clap's
//! error (status 2, the usage) for an unknown flag.

use std::process::{Command, Output};

const EXAMPLES: [&str; 7] =
    ["bench_model", "entropy_probe", "extend_100_samples", "forward", "pretrain_base", "rope_tables", "train"];

/// `cargo test` builds the examples beside the test binaries: target/<profile>/examples.
fn example(name: &str, args: &[&str]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    Command::new(&bin).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}

#[test]
fn help_prints_the_usage_of_every_example() {
    for name in EXAMPLES {
        let out = example(name, &["--help"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("Usage: {name}")) && stdout.contains("--help"), "{name}: {stdout}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    for name in EXAMPLES {
        let out = example(name, &["--version"]);
        assert!(out.status.success(), "{name}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    for name in EXAMPLES {
        let out = example(name, &["--frobnicate"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("unexpected argument '--frobnicate'"), "{name}: {stderr}");
    }
}

/// `bench_model` prints the one JSON line `compare_pytorch.py` reads, for each mode.
#[test]
fn bench_model_prints_its_json_line() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-llama/default");
    for mode in ["forward", "train", "train-checkpointed"] {
        let out = example("bench_model", &["--model", model, "--len", "16", "--mode", mode, "--repeats", "1"]);
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (line["impl"].as_str(), line["mode"].as_str(), line["len"].as_u64()),
            (Some("rope-ext/cpu"), Some(mode), Some(16))
        );
        assert!(line["tokens_per_s"].as_f64().unwrap() > 0.0 && line["peak_rss_bytes"].as_u64().unwrap() > 0);
    }
    let short = example("bench_model", &["--model", model, "--len", "1"]);
    assert_eq!(short.status.code(), Some(2));
}
