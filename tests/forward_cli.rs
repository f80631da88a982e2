//! The `forward` example is a user-facing contract: `--tokens … --out` writes a `logits`
//! tensor `[tokens, vocab]` (f32) equal to the library's and to transformers' reference;
//! `--text` prints per-token NLL and the perplexity; bad input exits 1 with the error on stderr,
//! a bad flag 2 with clap's usage.

use std::path::PathBuf;
use std::process::{Command, Output};

use safetensors::SafeTensors;

fn forward(args: &[&str]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("examples").join(format!("forward{}", std::env::consts::EXE_SUFFIX));
    Command::new(&bin).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}

fn fixture(variant: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama").join(variant).display().to_string()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn tokens_mode_writes_the_reference_logits() {
    let model = fixture("longrope");
    let reference = std::fs::read(PathBuf::from(&model).join("reference.safetensors")).unwrap();
    let reference = SafeTensors::deserialize(&reference).unwrap();
    let ids: Vec<i64> = reference
        .tensor("input_ids")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let ids_file = tmp.path().join("forward_ids.json");
    std::fs::write(&ids_file, serde_json::to_string(&ids).unwrap()).unwrap();
    let out = tmp.path().join("forward_logits.safetensors");
    let run =
        forward(&["--model", &model, "--tokens", &format!("@{}", ids_file.display()), "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let logits = st.tensor("logits").unwrap();
    assert_eq!(logits.shape(), &[ids.len(), 96]);
    assert_eq!(logits.dtype(), safetensors::Dtype::F32);
    let expected = f32s(reference.tensor("logits_long").unwrap().data());
    let worst = f32s(logits.data()).iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "{worst}");
}

#[test]
fn text_mode_prints_nll_and_perplexity() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("forward_text.txt");
    std::fs::write(&text, "the sky is green. here we go again.").unwrap();
    let run = forward(&["--model", &fixture("default"), "--text", text.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8(run.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "index\ttoken\tnll");
    let nlls: Vec<f64> =
        lines[1..lines.len() - 1].iter().map(|l| l.rsplit('\t').next().unwrap().parse().unwrap()).collect();
    assert!(nlls.len() >= 5 && nlls.iter().all(|v| v.is_finite() && *v > 0.0));
    let summary = lines.last().unwrap();
    let ppl: f64 = summary.rsplit(' ').next().unwrap().parse().unwrap();
    let mean = nlls.iter().sum::<f64>() / nlls.len() as f64;
    assert!((ppl.ln() - mean).abs() < 1e-3, "{summary}");
}

/// `--text --window L --stride S` prints the trainer's sliding-window perplexity for the text.
#[test]
fn window_mode_prints_the_trainers_sliding_window_perplexity() {
    use rope_ext::model::{AttentionImpl, BackendKind, Llama, Tokenizer};
    use rope_ext::train::eval::perplexity::{PerplexityConfig, sliding_window};
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("forward_window.txt");
    std::fs::write(&text, "the sky is green. here we go again. the grass is blue, and back we go. ".repeat(3)).unwrap();
    let model_dir = fixture("default");
    let run = forward(&["--model", &model_dir, "--text", text.to_str().unwrap(), "--window", "16", "--stride", "5"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("windows of 16 tokens, stride 5"), "{stderr}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    let model = Llama::load(PathBuf::from(&model_dir).as_path(), &BackendKind::Cpu.device().unwrap()).unwrap();
    let ids = Tokenizer::for_model(PathBuf::from(&model_dir).as_path())
        .unwrap()
        .encode(&std::fs::read_to_string(&text).unwrap())
        .unwrap();
    let cfg = PerplexityConfig { len: 16, stride: 5, ..PerplexityConfig::default() };
    let p =
        sliding_window(&model, std::slice::from_ref(&ids), &cfg, AttentionImpl::for_backend(BackendKind::Cpu)).unwrap();
    assert!(p.windows > 3, "{p:?}");
    let expect = format!(
        "tokens {}  window 16  stride 5  windows {}  scored {}  perplexity {:.4} (mean over windows)  {:.4} (token-weighted)",
        ids.len(),
        p.windows,
        p.tokens,
        p.window_mean,
        p.token_weighted
    );
    assert_eq!(stdout.trim(), expect);
}

#[test]
fn bad_input_exits_nonzero_with_the_error() {
    let model = fixture("default");
    // the model's and the library's errors: status 1
    let cases: [(&[&str], &str); 4] = [
        (&["--model", "/nonexistent", "--tokens", "1", "--out", "/tmp/x"], "/nonexistent"),
        (&["--model", &model, "--tokens", "1,500", "--out", "/tmp/x"], "outside the vocabulary"),
        (
            &["--model", &model, "--text", "Cargo.toml", "--window", "64", "--stride", "0"],
            "--window 64 --stride 0: `stride` must be at least 1",
        ),
        (
            &["--model", &model, "--text", "Cargo.toml", "--window", "1"],
            "--window 1 --stride 256: `len` must be at least 3",
        ),
    ];
    for (args, message) in cases {
        let run = forward(args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // bad flags: clap's message, status 2
    let usage: [(&[&str], &str); 6] = [
        (&["--model", &model, "--tokens", "1,x", "--out", "/tmp/x"], "`x` is not a token id"),
        (&["--model", &model, "--tokens", "1"], "--out <FILE.safetensors>"),
        (&["--model", &model, "--tokens", "1", "--out", "/tmp/x", "--backend", "quantum"], "unknown backend"),
        (&["--model", &model, "--text", "/tmp/x", "--stride", "4"], "--window <L>"),
        (&["--model", &model, "--text", "/tmp/x", "--window", "eight"], "invalid value 'eight' for '--window <L>'"),
        (&["--model", &model], "--text <FILE>"),
    ];
    for (args, message) in usage {
        let run = forward(args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains("try '--help'"), "{args:?}: {stderr}");
    }
}
