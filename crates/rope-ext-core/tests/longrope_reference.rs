//! LongRoPE against an independent numpy reimplementation of the reference code
//! (microsoft/LongRoPE `rope/longrope.py`, `evolution/search.py`): the start tokens `n̂`
//! (positions `m < n̂` take default RoPE with no attention factor, `m ≥ n̂` take `θ_i/λ_i` and the
//! attention factor), the short/long factor switch, the `su`, `yarn` and explicit attention
//! factors, and the dynamic rescale `λ'_i = 1 + (λ_i − 1)(n/L − 1)/(s − 1)`.
//!
//! The golden file comes from `tests/goldens/make_longrope.py` (numpy 2.4.6, float64; the
//! versions are pinned in the script and recorded in the JSON).
//!
//! Tolerances:
//! - frequencies, rescale factors and attention factors: relative `1e-14` — both sides evaluate
//!   the same f64 formulas, differing only in operation order and `pow` rounding (a few ulp);
//! - cos/sin: absolute [`TABLE_TOL`] = 2.5e-7. Our table is the f64 value rounded once to f32;
//!   entries are at most the attention factor (< 1.35) in magnitude, where half an f32 ulp is at
//!   most 6e-8 (1.2e-7 for an entry just above 1), and the f64 angles differ by < 1e-10 at the
//!   largest position used (131071). So 2.5e-7 is about 2× the worst rounding and ≈ 2e-7
//!   relative to the amplitude, while a wrong row (wrong frequencies or a missing/extra attention
//!   factor, ≥ 2% here) is off by ≥ 1e-2.

use rope_ext_core::methods::longrope::{LongRope, LongRopeAttention, rescale_factors, su_attention_factor};
use rope_ext_core::{Rope, RopeConfig, RopeScaling};
use serde_json::Value;

const GOLDEN: &str = include_str!("goldens/longrope_reference.json");
/// Absolute tolerance for f32 cos/sin entries (see the module docs).
const TABLE_TOL: f64 = 2.5e-7;
/// Relative tolerance for f64 quantities computed by the same formula on both sides.
const REL_TOL: f64 = 1e-14;

fn golden() -> Value {
    serde_json::from_str(GOLDEN).expect("the golden file is valid JSON")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("a list").iter().map(|x| x.as_f64().expect("a number")).collect()
}

fn usize_of(v: &Value) -> usize {
    usize::try_from(v.as_u64().expect("an integer")).expect("fits usize")
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn policy(v: &Value) -> LongRopeAttention {
    match v.as_str().expect("a policy string") {
        "su" => LongRopeAttention::Su,
        "yarn" => LongRopeAttention::Yarn,
        literal => LongRopeAttention::Explicit(literal.parse().expect("a literal attention factor")),
    }
}

/// The [`Rope`] a golden table case describes (`factor` left to default to `max_pos / L`, as the
/// reference derives it).
fn case_rope(case: &Value) -> Rope {
    let longrope = LongRope {
        short_factor: f64s(&case["short_factor"]),
        long_factor: f64s(&case["long_factor"]),
        factor: None,
        original_max_position_embeddings: Some(usize_of(&case["original_max_position_embeddings"])),
        attention: policy(&case["policy"]),
        start_tokens: usize_of(&case["start_tokens"]),
        dynamic_rescale: case["dynamic_rescale"].as_bool().expect("a bool"),
        monotonic: false,
    };
    RopeConfig::new(
        usize_of(&case["head_dim"]),
        case["rope_theta"].as_f64().expect("a number"),
        usize_of(&case["max_position_embeddings"]),
    )
    .with_scaling(RopeScaling::LongRope(longrope))
    .build()
    .expect("the golden configs are valid")
}

fn assert_close_all(what: &str, ours: &[f64], reference: &[f64], rel: f64) {
    assert_eq!(ours.len(), reference.len(), "{what}: length");
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert!(close(*a, *b, rel), "{what}[{i}]: ours {a} vs reference {b}");
    }
}

/// Compares `rows` (row-major f32, one row per position) with the reference rows.
fn assert_table(what: &str, ours: &[f32], reference: &Value, positions: &[f64]) {
    let reference: Vec<Vec<f64>> = reference.as_array().expect("rows").iter().map(f64s).collect();
    let pairs = reference[0].len();
    assert_eq!(ours.len(), positions.len() * pairs, "{what}: table size");
    for ((row, want), m) in ours.chunks_exact(pairs).zip(&reference).zip(positions) {
        for (i, (a, b)) in row.iter().zip(want).enumerate() {
            let a = f64::from(*a);
            assert!((a - b).abs() <= TABLE_TOL, "{what}: position {m}, pair {i}: ours {a} vs reference {b}");
        }
    }
}

/// Checks one golden table case: the factors, frequencies and attention factor in force at each
/// sequence length, and cos/sin through both [`Rope::table`] and [`Rope::table_range`].
/// Returns how many (below `n̂`, at or above `n̂`) rows were compared.
fn check_case(case: &Value) -> (usize, usize) {
    let name = case["name"].as_str().expect("a name");
    let rope = case_rope(case);
    let RopeScaling::LongRope(longrope) = rope.scaling() else { unreachable!("built as LongRoPE") };
    let n_hat = usize_of(&case["start_tokens"]);
    let (mut below, mut above) = (0, 0);
    for eval in case["evals"].as_array().expect("evals") {
        let seq_len = eval["seq_len"].as_u64().map(|n| usize::try_from(n).expect("fits usize"));
        let what = format!("{name} at n = {seq_len:?}");
        assert_eq!(longrope.is_long(rope.context(), seq_len), eval["long"].as_bool().unwrap(), "{what}: regime");
        assert_close_all(
            &format!("{what}: factors"),
            &longrope.factors(rope.context(), seq_len),
            &f64s(&eval["factors"]),
            REL_TOL,
        );
        let freqs = rope.frequencies(seq_len);
        assert_close_all(&format!("{what}: inv_freq"), &freqs.inv_freq, &f64s(&eval["inv_freq"]), REL_TOL);
        let a = eval["attention_factor"].as_f64().unwrap();
        assert!(
            close(freqs.attention_factor, a, REL_TOL),
            "{what}: attention factor {} vs {a}",
            freqs.attention_factor
        );

        let positions = f64s(&eval["positions"]);
        below += positions.iter().filter(|&&m| m < n_hat as f64).count();
        above += positions.iter().filter(|&&m| m >= n_hat as f64).count();
        let table = rope.table(positions.iter().copied(), seq_len);
        assert_table(&format!("{what}: table cos"), table.cos(), &eval["cos"], &positions);
        assert_table(&format!("{what}: table sin"), table.sin(), &eval["sin"], &positions);

        // the leading run 0, 1, 2, … of positions, through the fast range path (which splits at n̂)
        let run = positions.iter().enumerate().take_while(|&(j, &m)| m == j as f64).count();
        let range = rope.table_range(0..run as u64, seq_len).expect("a small table");
        let prefix = |v: &Value| Value::Array(v.as_array().unwrap()[..run].to_vec());
        assert_table(&format!("{what}: table_range cos"), range.cos(), &prefix(&eval["cos"]), &positions[..run]);
        assert_table(&format!("{what}: table_range sin"), range.sin(), &prefix(&eval["sin"]), &positions[..run]);
    }
    (below, above)
}

#[test]
fn start_token_tables_match_the_reference() {
    let golden = golden();
    let cases: Vec<&Value> =
        golden["tables"].as_array().unwrap().iter().filter(|c| !c["dynamic_rescale"].as_bool().unwrap()).collect();
    assert!(cases.len() >= 5, "the golden lost its static cases");
    let (mut short, mut long) = (0, 0);
    for case in cases {
        assert!(usize_of(&case["start_tokens"]) > 0, "every case exercises n̂ > 0");
        let (below, above) = check_case(case);
        // both branches of the start-token rule are compared in every case
        assert!(below > 0 && above > 0, "{}: {below} rows below n̂, {above} from n̂ on", case["name"]);
        for eval in case["evals"].as_array().unwrap() {
            if eval["long"].as_bool().unwrap() { long += 1 } else { short += 1 }
        }
    }
    assert!(short > 0 && long > 0, "both factor regimes are compared ({short} short, {long} long)");
}

#[test]
fn dynamic_rescale_matches_the_reference() {
    let golden = golden();
    let cases: Vec<&Value> =
        golden["tables"].as_array().unwrap().iter().filter(|c| c["dynamic_rescale"].as_bool().unwrap()).collect();
    assert!(!cases.is_empty(), "the golden lost its dynamic case");
    for case in cases {
        let (below, above) = check_case(case);
        assert!(below > 0 && above > 0, "{}: {below} rows below n̂, {above} from n̂ on", case["name"]);
        // n = s·L gives back the long factors themselves; n beyond it extrapolates past them
        let seq_lens: Vec<u64> =
            case["evals"].as_array().unwrap().iter().map(|e| e["seq_len"].as_u64().unwrap()).collect();
        let max_pos = case["max_position_embeddings"].as_u64().unwrap();
        assert!(seq_lens.contains(&max_pos) && seq_lens.iter().any(|&n| n > max_pos));
    }
}

#[test]
fn attention_factor_policies_match_the_reference() {
    let golden = golden();
    let entries = golden["attention_factors"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["scale"].as_f64().unwrap() <= 1.0), "the s ≤ 1 branch is compared");
    for e in entries {
        let (max_pos, original) =
            (usize_of(&e["max_position_embeddings"]), usize_of(&e["original_max_position_embeddings"]));
        let want = e["value"].as_f64().unwrap();
        let longrope = LongRope {
            short_factor: vec![1.0; 8],
            long_factor: vec![1.0; 8],
            original_max_position_embeddings: Some(original),
            attention: policy(&e["policy"]),
            ..LongRope::default()
        };
        let rope = RopeConfig::new(16, 10_000.0, max_pos)
            .with_scaling(RopeScaling::LongRope(longrope.clone()))
            .build()
            .expect("valid");
        let what = format!("{} at L = {original}, max_pos = {max_pos}", e["policy"]);
        assert_eq!(longrope.factor(rope.context()), e["scale"].as_f64().unwrap(), "{what}: s");
        for seq_len in [None, Some(1), Some(original), Some(original + 1)] {
            let got = rope.frequencies(seq_len).attention_factor;
            assert!(close(got, want, REL_TOL), "{what} at n = {seq_len:?}: {got} vs {want}");
        }
        if e["policy"] == "su" {
            let got = su_attention_factor(e["scale"].as_f64().unwrap(), original);
            assert!(close(got, want, REL_TOL), "{what}: su_attention_factor {got} vs {want}");
        }
    }
}

#[test]
fn search_rescale_matches_the_reference() {
    for e in golden()["rescale"].as_array().unwrap() {
        let (from, to) = (e["from"].as_f64().unwrap(), e["to"].as_f64().unwrap());
        let got = rescale_factors(&f64s(&e["factors"]), from, to).expect("from > 1");
        assert_close_all(&format!("rescale {from} -> {to}"), &got, &f64s(&e["value"]), REL_TOL);
    }
}
