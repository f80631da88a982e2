//! rope-ext-core against HF transformers: every case of `tests/goldens/rope_goldens.json`
//! (made by `tests/goldens/generate.py` with the versions it records) is read through our HF
//! config reader and compared.
//!
//! Tolerances: `inv_freq` within 2e-6 relative of transformers' float32 values (they compute
//! in float32, we in f64); `attention_factor` within 1e-9 (both compute it in f64); cos/sin
//! within the error of transformers' float32 angle `m · θ`, `1e-6 + 2e-7 · (m + 1) · a`.

use std::path::Path;

use rope_ext::core::{RopeRuntime, hf};
use serde::Deserialize;

#[derive(Deserialize)]
struct Goldens {
    transformers: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    our_config: serde_json::Value,
    evals: Vec<Eval>,
    #[serde(default)]
    runtime: Vec<RuntimeState>,
}

#[derive(Deserialize)]
struct Eval {
    seq_len: Option<usize>,
    inv_freq: Vec<f64>,
    attention_factor: f64,
    positions: Vec<u32>,
    cos: Vec<Vec<f64>>,
    sin: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct RuntimeState {
    seq_len: usize,
    inv_freq: Vec<f64>,
}

fn goldens() -> Goldens {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/rope_goldens.json");
    let text = std::fs::read_to_string(&path).expect("tests/goldens/rope_goldens.json is committed");
    serde_json::from_str(&text).expect("golden file parses")
}

fn assert_inv_freq(what: &str, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: inv_freq length");
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let tol = 2e-6 * b.abs();
        assert!((a - b).abs() <= tol, "{what}: inv_freq[{i}] = {a:e}, transformers {b:e} (|Δ| > 2e-6 relative)");
    }
}

#[test]
fn every_rope_type_matches_transformers() {
    let g = goldens();
    assert_eq!(g.transformers, "5.23.0", "regenerate with the pinned version");
    let mut checked = 0;
    for case in &g.cases {
        let rope = hf::read_config(&case.our_config).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for ev in &case.evals {
            let what = format!("{} @ seq_len {:?}", case.name, ev.seq_len);
            let f = rope.frequencies(ev.seq_len);
            assert_inv_freq(&what, &f.inv_freq, &ev.inv_freq);
            assert!(
                (f.attention_factor - ev.attention_factor).abs() <= 1e-9,
                "{what}: attention_factor {} vs transformers {}",
                f.attention_factor,
                ev.attention_factor
            );
            let table = rope.table(ev.positions.iter().map(|&p| f64::from(p)), ev.seq_len);
            for (row, &m) in ev.positions.iter().enumerate() {
                let tol = 1e-6 + 2e-7 * f64::from(m + 1) * ev.attention_factor;
                for (ours, theirs) in
                    [(table.cos_row(row).unwrap(), &ev.cos[row]), (table.sin_row(row).unwrap(), &ev.sin[row])]
                {
                    for (i, (&a, &b)) in ours.iter().zip(theirs.iter()).enumerate() {
                        assert!((f64::from(a) - b).abs() <= tol, "{what}: cos/sin at m={m}, pair {i}: {a} vs {b}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} evaluations in the golden file");
}

/// HF `dynamic_rope_update`: growth recomputes at the new length, a short call after a long one
/// restores the original frequencies (HF PR #27033 / #27227), and longrope switches per call.
#[test]
fn runtime_follows_transformers_growth_reset_and_switching() {
    let g = goldens();
    let mut sequences = 0;
    for case in g.cases.iter().filter(|c| !c.runtime.is_empty()) {
        let mut rt = RopeRuntime::new(hf::read_config(&case.our_config).unwrap());
        for state in &case.runtime {
            rt.update(state.seq_len);
            let what = format!("{} after a call of {} positions", case.name, state.seq_len);
            assert_inv_freq(&what, &rt.frequencies().inv_freq, &state.inv_freq);
        }
        sequences += 1;
    }
    assert!(sequences >= 6, "only {sequences} runtime sequences in the golden file");
}
