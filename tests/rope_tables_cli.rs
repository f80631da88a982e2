//! The `rope_tables` example is a user-facing contract: its output keys, its values (those of
//! the library) and its failure modes (status 1 and the typed error on stderr; status 2 and
//! clap's message for a bad flag).

use std::path::PathBuf;
use std::process::{Command, Output};

use rope_ext::core::hf::read_config_str;
use serde_json::Value;

/// `cargo test` builds the examples beside the test binaries: target/<profile>/examples.
fn rope_tables(args: &[&str]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("examples").join(format!("rope_tables{}", std::env::consts::EXE_SUFFIX));
    Command::new(&bin).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}

/// Writes a config file `name` into the temporary directory `dir`.
fn scratch_config(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn config(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/configs").join(name).display().to_string()
}

#[test]
fn prints_the_library_tables_as_json() {
    let path = config("llama-2-7b-yarn-64k.json");
    let out = rope_tables(&[&path, "--seq-len", "8192", "--positions", "3..6"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rope = read_config_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let f = rope.frequencies(Some(8192));
    assert_eq!(v["rope_type"], "yarn");
    assert_eq!(v["rotary_dim"], 128);
    assert_eq!(v["attention_factor"].as_f64().unwrap(), f.attention_factor);
    let inv: Vec<f64> = serde_json::from_value(v["inv_freq"].clone()).unwrap();
    assert_eq!(inv, f.inv_freq);
    let cos: Vec<Vec<f32>> = serde_json::from_value(v["cos"].clone()).unwrap();
    let table = rope.table([3.0, 4.0, 5.0], Some(8192));
    assert_eq!(cos.len(), 3);
    assert_eq!(cos[2].as_slice(), table.cos_row(2).unwrap());
    assert_eq!(v["positions"], serde_json::json!([3, 4, 5]));
}

#[test]
fn seq_len_selects_the_regime_of_length_dependent_methods() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scratch_config(
        &tmp,
        "dynamic.json",
        r#"{"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling": {"type": "dynamic", "factor": 2}}"#,
    );
    let lowest_freq = |seq: &str| {
        let out = rope_tables(&[path.to_str().unwrap(), "--seq-len", seq]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["inv_freq"][31].as_f64().unwrap()
    };
    assert_eq!(lowest_freq("4096"), lowest_freq("100"));
    assert!(lowest_freq("16384") < lowest_freq("4096"));
}

#[test]
fn bad_input_exits_nonzero_with_the_error_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = scratch_config(
        &tmp,
        "bad.json",
        r#"{"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 0.5}}"#,
    );
    let truncated = scratch_config(&tmp, "truncated.json", r#"{"head_dim": 64, "max_posit"#);
    let good = config("llama-3.1-8b.json");
    // status 1: the library's errors; status 2: clap's, for a bad flag
    let cases: [(&[&str], &str, i32); 6] = [
        (&[bad.to_str().unwrap()], "linear: `factor` must be >= 1, got 0.5", 1),
        (&[truncated.to_str().unwrap()], "config is not valid JSON", 1),
        (&["/nonexistent/config.json"], "/nonexistent/config.json", 1),
        (&[&good, "--positions", "9..2"], "the range 9..2 is reversed", 2),
        (&[&good, "--seq-len", "many"], "invalid value 'many' for '--seq-len <N>'", 2),
        (&[&good, "--frobnicate"], "unexpected argument '--frobnicate'", 2),
    ];
    for (args, message, status) in cases {
        let out = rope_tables(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty() && !stderr.contains("panicked"), "{args:?}");
    }
}
