//! Invariants of attention entropy (proptest) and the typed errors.

use proptest::prelude::*;
use rope_ext_entropy::row::scaled_entropy;
use rope_ext_entropy::temperature::ENTROPY_TOLERANCE;
use rope_ext_entropy::{EntropyError, RowMask, StreamingEntropy, entropy, masked_entropy, solve_logit_scale};

fn rows() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-30.0f32..30.0, 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn uniform_logits_give_ln_n(n in 1usize..5000, c in -100.0f32..100.0) {
        prop_assert!((entropy(&vec![c; n]).unwrap() - (n as f64).ln()).abs() < 1e-12);
    }

    #[test]
    fn a_one_hot_row_gives_zero(n in 1usize..1000, hot in 0usize..1000) {
        let mut z = vec![0.0f32; n];
        z[hot % n] = 1000.0;
        prop_assert_eq!(entropy(&z).unwrap(), 0.0);
    }

    #[test]
    fn adding_a_constant_changes_nothing(z in rows(), c in -1000.0f32..1000.0) {
        let shifted: Vec<f32> = z.iter().map(|&x| x + c).collect();
        // f32 rounding of x + c bounds the agreement
        let tol = 1e-5 * (1.0 + f64::from(c.abs())) * 8.0;
        prop_assert!((entropy(&z).unwrap() - entropy(&shifted).unwrap()).abs() <= tol);
    }

    #[test]
    fn a_scale_above_one_never_raises_entropy(z in rows(), t in 1.0f64..50.0) {
        prop_assert!(scaled_entropy(&z, t, RowMask::NONE).unwrap() <= entropy(&z).unwrap() + 1e-12);
    }

    #[test]
    fn entropy_lies_between_zero_and_ln_n(z in rows()) {
        let h = entropy(&z).unwrap();
        prop_assert!(h >= 0.0 && h <= (z.len() as f64).ln() + 1e-12);
    }

    #[test]
    fn chunked_equals_one_shot_for_any_chunking(z in rows(), cuts in prop::collection::vec(1usize..50, 1..20)) {
        let mut st = StreamingEntropy::new();
        let mut rest = &z[..];
        let mut k = 0;
        while !rest.is_empty() {
            let n = cuts[k % cuts.len()].min(rest.len());
            st.push(&rest[..n]).unwrap();
            rest = &rest[n..];
            k += 1;
        }
        prop_assert!((st.finish().unwrap() - entropy(&z).unwrap()).abs() <= 1e-10);
    }

    #[test]
    fn merged_parts_equal_one_shot(z in rows(), cut in 0usize..300) {
        let cut = cut.min(z.len());
        let (mut a, mut b) = (StreamingEntropy::new(), StreamingEntropy::new());
        a.push(&z[..cut]).unwrap();
        b.push(&z[cut..]).unwrap();
        a.merge(&b);
        prop_assert!((a.finish().unwrap() - entropy(&z).unwrap()).abs() <= 1e-10);
    }

    #[test]
    fn masked_positions_contribute_nothing(z in rows(), junk in prop::collection::vec(-1e6f32..1e6, 1..50), q in 0usize..300) {
        // padding: masked junk anywhere changes nothing
        let mut padded = z.clone();
        padded.extend(&junk);
        let keep: Vec<bool> = (0..padded.len()).map(|j| j < z.len()).collect();
        prop_assert!((masked_entropy(&padded, RowMask::padding(&keep)).unwrap() - entropy(&z).unwrap()).abs() <= 1e-12);
        // causal: keys after the query change nothing
        let q = q % z.len();
        prop_assert!((masked_entropy(&padded, RowMask::causal(q)).unwrap() - entropy(&z[..=q]).unwrap()).abs() <= 1e-12);
        // -inf is masked too
        let mut inf = z.clone();
        inf.extend(std::iter::repeat_n(f32::NEG_INFINITY, junk.len()));
        prop_assert!((entropy(&inf).unwrap() - entropy(&z).unwrap()).abs() <= 1e-12);
    }

    #[test]
    fn the_solver_hits_reachable_targets(z in prop::collection::vec(-10.0f32..10.0, 2..300), frac in 0.01f64..0.99) {
        let top = z.iter().copied().fold(f32::MIN, f32::max);
        let ties = z.iter().filter(|&&x| x == top).count();
        prop_assume!(ties < z.len());
        let (lo, hi) = ((ties as f64).ln(), (z.len() as f64).ln());
        let target = lo + frac * (hi - lo);
        let s = solve_logit_scale(&z, target, RowMask::NONE).unwrap();
        prop_assert!((s.entropy - target).abs() <= 1e-6, "{} vs {}", s.entropy, target);
        prop_assert!((scaled_entropy(&z, s.scale, RowMask::NONE).unwrap() - target).abs() <= 1e-6);
        prop_assert!(s.scale > 0.0);
    }
}

#[test]
fn unreachable_targets_are_errors() {
    let z = [0.0f32, 1.0, 2.0, 2.0];
    for target in [5f64.ln(), 4f64.ln(), 2f64.ln(), 0.1, -1.0, f64::NAN] {
        assert!(
            matches!(solve_logit_scale(&z, target, RowMask::NONE), Err(EntropyError::Unreachable { .. })),
            "{target}"
        );
    }
    assert!(matches!(solve_logit_scale(&[1.0; 3], 0.5, RowMask::NONE), Err(EntropyError::Unreachable { .. })));
    let equal = solve_logit_scale(&[1.0; 3], 3f64.ln(), RowMask::NONE).unwrap();
    assert!((equal.entropy - 3f64.ln()).abs() <= ENTROPY_TOLERANCE);
    // Inside (0, ln 2), but logits 1e30 apart need a scale below e^−60 to spread attention
    // at all: the solver says so instead of returning its closest point.
    let edge = solve_logit_scale(&[0.0, 1e30], 0.5, RowMask::NONE);
    assert!(matches!(edge, Err(EntropyError::NotReached { .. })), "{edge:?}");
}

#[test]
fn bad_rows_give_typed_errors() {
    assert_eq!(entropy(&[]), Err(EntropyError::EmptyRow));
    assert_eq!(entropy(&[f32::NEG_INFINITY; 3]), Err(EntropyError::AllMasked { len: 3 }));
    assert_eq!(masked_entropy(&[1.0, 2.0], RowMask::padding(&[false, false])), Err(EntropyError::AllMasked { len: 2 }));
    assert!(matches!(entropy(&[1.0, f32::NAN]), Err(EntropyError::NotFinite { index: 1, .. })));
    assert!(matches!(entropy(&[f32::INFINITY]), Err(EntropyError::NotFinite { index: 0, .. })));
    assert_eq!(
        masked_entropy(&[1.0, 2.0], RowMask::padding(&[true])),
        Err(EntropyError::ShapeMismatch { what: "keep", len: 1, expected: 2 })
    );
    let mut st = StreamingEntropy::new();
    st.push(&[0.0, 1.0]).unwrap();
    assert!(matches!(st.push(&[f32::NAN]), Err(EntropyError::NotFinite { index: 2, .. })));
    assert_eq!(StreamingEntropy::new().finish(), Err(EntropyError::EmptyRow));
    assert!(matches!(solve_logit_scale(&[], 1.0, RowMask::NONE), Err(EntropyError::EmptyRow)));
    assert!(matches!(solve_logit_scale(&[f32::NAN, 1.0], 0.5, RowMask::NONE), Err(EntropyError::NotFinite { .. })));
}

/// A report with an empty `Stats` (a head recorded in one layer only leaves the others' slot
/// empty, with infinite range ends) survives a JSON round trip unchanged.
#[cfg(feature = "serde")]
#[test]
fn reports_with_empty_stats_round_trip_through_json() {
    let mut c = rope_ext_entropy::EntropyCollector::new();
    c.record(0, 2, 5, 1.25);
    c.record(1, 0, 0, 0.5);
    let report = c.report();
    assert_eq!(report.layers[0].heads[0].count, 0, "head 0 of layer 0 was never recorded");
    assert!(report.layers[0].heads[0].min.is_infinite());
    let json = serde_json::to_string(&report).unwrap();
    let back: rope_ext_entropy::EntropyReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}
