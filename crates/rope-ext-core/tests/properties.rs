//! Invariants of the interpolation methods, checked by proptest over random models and factors.

use proptest::prelude::*;
use rope_ext_core::methods::dynamic_ntk::DynamicNtk;
use rope_ext_core::methods::e2llm::E2LlmAugmentation;
use rope_ext_core::methods::linear::Linear;
use rope_ext_core::methods::llama3::Llama3;
use rope_ext_core::methods::longrope::{LongRope, LongRopeAttention};
use rope_ext_core::methods::ntk_aware::NtkAware;
use rope_ext_core::methods::proportional::Proportional;
use rope_ext_core::methods::yarn::{DynamicYarn, Yarn};
use rope_ext_core::methods::{abf::Abf, e2llm::E2Llm, eabf::EntropyAwareAbf};
use rope_ext_core::{PairLayout, Rope, RopeConfig, RopeScaling, apply_rotary};

fn rope(head_dim: usize, theta: f64, max_pos: usize, scaling: RopeScaling) -> Rope {
    RopeConfig::new(head_dim, theta, max_pos).with_scaling(scaling).build().expect("valid by construction")
}

fn head_dims() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![4usize, 16, 32, 64, 80, 96, 128, 256])
}

fn thetas() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![10_000.0, 100_000.0, 500_000.0, 1_000_000.0, 2.5e7])
}

fn max_positions() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![256usize, 2048, 4096, 8192, 32768])
}

fn yarn_strategy() -> impl Strategy<Value = Yarn> {
    (1.0f64..64.0, prop::option::of(2.0f64..256.0), prop::option::of(0.1f64..2.0), any::<bool>()).prop_map(
        |(factor, beta_fast, beta_slow, truncate)| Yarn {
            factor,
            beta_fast,
            beta_slow,
            truncate: Some(truncate),
            ..Yarn::default()
        },
    )
}

fn llama3_strategy() -> impl Strategy<Value = Llama3> {
    (1.0f64..32.0, 0.5f64..4.0, 0.0f64..8.0, prop::sample::select(vec![256usize, 2048, 8192])).prop_map(
        |(factor, low, width, original)| Llama3 {
            factor,
            low_freq_factor: low,
            high_freq_factor: low + width,
            original_max_position_embeddings: original,
        },
    )
}

/// LongRoPE's search space for the start tokens `n̂` (paper Table 4).
const N_HAT_SEARCH_SPACE: &[usize] = &[0, 1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 64, 128, 256];

/// Every static method with factors drawn at random, for a model of `head_dim` (LongRoPE with
/// `n̂` from [`N_HAT_SEARCH_SPACE`]).
fn static_methods(head_dim: usize) -> impl Strategy<Value = RopeScaling> {
    let pairs = head_dim / 2;
    prop_oneof![
        Just(RopeScaling::Default),
        (1.0f64..64.0).prop_map(|factor| RopeScaling::Linear(Linear { factor })),
        (1.0f64..64.0).prop_map(|factor| RopeScaling::NtkAware(NtkAware { factor })),
        yarn_strategy().prop_map(RopeScaling::Yarn),
        llama3_strategy().prop_map(RopeScaling::Llama3),
        (1e3f64..1e8).prop_map(|theta| RopeScaling::Abf(Abf { theta })),
        Just(RopeScaling::EntropyAwareAbf(EntropyAwareAbf::default())),
        (1.0f64..8.0).prop_map(|factor| RopeScaling::Proportional(Proportional { factor })),
        (prop::collection::vec(1.0f64..64.0, pairs), prop::sample::select(N_HAT_SEARCH_SPACE)).prop_map(
            |(mut long, start_tokens)| {
                long.sort_by(f64::total_cmp);
                RopeScaling::LongRope(LongRope {
                    short_factor: vec![1.0; long.len()],
                    long_factor: long,
                    factor: Some(16.0),
                    start_tokens,
                    monotonic: true,
                    ..LongRope::default()
                })
            }
        ),
    ]
    .prop_filter("NTK needs d > 2", move |s| head_dim > 4 || !matches!(s, RopeScaling::NtkAware(_)))
}

fn default_freq(head_dim: usize, theta: f64, max_pos: usize) -> Vec<f64> {
    rope(head_dim, theta, max_pos, RopeScaling::Default).frequencies(None).inv_freq
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + f64::MIN_POSITIVE
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn factor_one_equals_default(hd in head_dims(), theta in thetas(), max_pos in max_positions()) {
        let base = rope(hd, theta, max_pos, RopeScaling::Default).frequencies(None);
        let pairs = hd / 2;
        let ones = vec![1.0; pairs];
        let mut methods = vec![
            RopeScaling::Linear(Linear { factor: 1.0 }),
            RopeScaling::DynamicNtk(DynamicNtk { factor: 1.0 }),
            RopeScaling::Yarn(Yarn::with_factor(1.0)),
            RopeScaling::DynamicYarn(DynamicYarn { yarn: Yarn::with_factor(1.0) }),
            RopeScaling::Llama3(Llama3 { factor: 1.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: max_pos }),
            RopeScaling::Proportional(Proportional { factor: 1.0 }),
            RopeScaling::E2Llm(E2Llm { scale: Some(1.0), ..E2Llm::default() }),
            RopeScaling::LongRope(LongRope { short_factor: ones.clone(), long_factor: ones, factor: Some(1.0), ..LongRope::default() }),
            RopeScaling::Abf(Abf { theta }),
        ];
        if hd > 2 {
            methods.push(RopeScaling::NtkAware(NtkAware { factor: 1.0 }));
        }
        for m in methods {
            let name = m.name();
            let f = rope(hd, theta, max_pos, m).frequencies(Some(max_pos));
            prop_assert_eq!(f.attention_factor, 1.0, "{}", name);
            for (a, b) in f.inv_freq.iter().zip(&base.inv_freq) {
                prop_assert!(close(*a, *b, 1e-14), "{}: {} vs {}", name, a, b);
            }
        }
    }

    #[test]
    fn linear_equals_default_over_factor(hd in head_dims(), theta in thetas(), s in 1.0f64..1000.0) {
        let base = default_freq(hd, theta, 4096);
        let f = rope(hd, theta, 4096, RopeScaling::Linear(Linear { factor: s })).frequencies(None);
        for (a, b) in f.inv_freq.iter().zip(&base) {
            prop_assert!(close(*a, b / s, 1e-15));
        }
    }

    #[test]
    fn yarn_and_llama3_lie_between_pi_and_default(
        hd in head_dims(), theta in thetas(), max_pos in max_positions(),
        yarn in yarn_strategy(), llama3 in llama3_strategy(),
    ) {
        let base = default_freq(hd, theta, max_pos);
        for (m, s) in [(RopeScaling::Yarn(yarn), yarn.factor), (RopeScaling::Llama3(llama3), llama3.factor)] {
            let name = m.name();
            let f = rope(hd, theta, max_pos, m).frequencies(None);
            for (i, (a, b)) in f.inv_freq.iter().zip(&base).enumerate() {
                prop_assert!(a.is_finite(), "{} pair {} not finite", name, i);
                prop_assert!(*a <= b * (1.0 + 1e-14) && *a >= b / s * (1.0 - 1e-14), "{} pair {}: {} outside [{}, {}]", name, i, a, b / s, b);
            }
        }
    }

    #[test]
    fn frequencies_do_not_increase_with_the_pair_index(
        hd in head_dims(), theta in thetas(), max_pos in max_positions(),
        scaling in head_dims().prop_flat_map(static_methods), seq in 1usize..200_000,
    ) {
        prop_assume!(hd / 2 == scaling_pairs(&scaling).unwrap_or(hd / 2));
        let r = rope(hd, theta, max_pos, scaling);
        let f = r.frequencies(Some(seq));
        for w in f.inv_freq.windows(2) {
            prop_assert!(w[1] <= w[0], "{}: {:?}", r.scaling().name(), w);
        }
        let d = rope(hd, theta, max_pos, RopeScaling::DynamicNtk(DynamicNtk { factor: 4.0 })).frequencies(Some(seq));
        for w in d.inv_freq.windows(2) {
            prop_assert!(w[1] <= w[0]);
        }
    }

    #[test]
    fn dynamic_equals_default_inside_the_original_window(
        hd in head_dims(), theta in thetas(), max_pos in max_positions(), s in 1.0f64..64.0, frac in 0.0f64..=1.0,
    ) {
        prop_assume!(hd > 2);
        let n = ((max_pos as f64) * frac) as usize;
        let f = rope(hd, theta, max_pos, RopeScaling::DynamicNtk(DynamicNtk { factor: s })).frequencies(Some(n));
        prop_assert_eq!(f.inv_freq, default_freq(hd, theta, max_pos));
    }

    #[test]
    fn rotation_preserves_norms(
        x in prop::collection::vec(-10.0f32..10.0, 128), m in 0.0f64..1e6,
        scaling in static_methods(128), layout in prop::sample::select(vec![PairLayout::HalfSplit, PairLayout::Interleaved]),
    ) {
        let r = rope(128, 10_000.0, 4096, scaling);
        let f = r.frequencies(None);
        // m, and the last row before and the first row from LongRoPE's n̂ when it has start tokens
        let n_hat = start_tokens(r.scaling());
        let positions: Vec<f64> = if n_hat > 0.0 { vec![m, n_hat - 1.0, n_hat] } else { vec![m] };
        let table = r.table(positions.iter().copied(), None);
        let n = |v: &[f32]| v.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
        for (row, &p) in positions.iter().enumerate() {
            let mut y = x.clone();
            apply_rotary(&mut y, table.cos_row(row).unwrap(), table.sin_row(row).unwrap(), layout).unwrap();
            let scale = if p < n_hat { 1.0 } else { f.attention_factor };
            prop_assert!((n(&y) - scale * n(&x)).abs() <= 1e-5 * (1.0 + n(&x)), "m = {}: {} vs {}", p, n(&y), scale * n(&x));
        }
    }

    #[test]
    fn rotated_dot_product_depends_only_on_the_distance(
        q in prop::collection::vec(-1.0f32..1.0, 64), k in prop::collection::vec(-1.0f32..1.0, 64),
        m in 0u32..100_000, n in 0u32..100_000, shift in 0u32..100_000,
        scaling in static_methods(64), layout in prop::sample::select(vec![PairLayout::HalfSplit, PairLayout::Interleaved]),
    ) {
        // LongRoPE's rows below n̂ use other frequencies: the property holds from n̂ on
        let (m, n) = (m + start_tokens(&scaling) as u32, n + start_tokens(&scaling) as u32);
        let r = rope(64, 10_000.0, 4096, scaling);
        let dot = |a: u32, b: u32| {
            let t = r.table([f64::from(a), f64::from(b)], None);
            let (mut qq, mut kk) = (q.clone(), k.clone());
            apply_rotary(&mut qq, t.cos_row(0).unwrap(), t.sin_row(0).unwrap(), layout).unwrap();
            apply_rotary(&mut kk, t.cos_row(1).unwrap(), t.sin_row(1).unwrap(), layout).unwrap();
            qq.iter().zip(&kk).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum::<f64>()
        };
        // f32 storage of cos/sin and of the rotated vectors bounds the agreement
        prop_assert!((dot(m, n) - dot(m + shift, n + shift)).abs() <= 2e-4, "{} vs {}", dot(m, n), dot(m + shift, n + shift));
    }

    #[test]
    fn e2llm_positions_equal_default_rope_at_shifted_scaled_positions(
        g in 1u32..=20, t in 0u64..100_000, m in 0u64..100_000, hd in head_dims(),
    ) {
        // E²-LLM with scale g, as the model runs it (frequencies θ_i/g) at position m + t
        // (t = 0 for the first four tokens), against default RoPE at (m + t)/g.
        let aug = E2LlmAugmentation { scale: f64::from(g), offset: t };
        let shifted = if m < 4 { m } else { m + t };
        prop_assert_eq!(aug.position(m), shifted as f64 / f64::from(g));
        let e2 = rope(hd, 10_000.0, 4096, RopeScaling::E2Llm(E2Llm { scale: Some(f64::from(g)), ..E2Llm::default() }));
        let ours = e2.table([shifted as f64], None);
        let reference = rope(hd, 10_000.0, 4096, RopeScaling::Default).table([aug.position(m)], None);
        for (a, b) in ours.cos().iter().chain(ours.sin()).zip(reference.cos().iter().chain(reference.sin())) {
            // the angle m·θ/g is formed in two roundings on one side, one on the other
            prop_assert!((a - b).abs() <= 1e-6, "{} vs {}", a, b);
        }
    }

    #[test]
    fn cos_sin_at_two_million_agree_with_an_independent_f64_reference(
        hd in head_dims(), theta in thetas(), s in 1.0f64..64.0,
    ) {
        // θ_i = b^(-2i/d) / s computed here, independently of the crate (PI; s = 1 is default)
        let r = rope(hd, theta, 4096, RopeScaling::Linear(Linear { factor: s }));
        let m = 2_000_000.0f64;
        let table = r.table([m], None);
        for i in 0..hd / 2 {
            let th = theta.powf(-2.0 * i as f64 / hd as f64) / s;
            let (sin, cos) = (m * th).sin_cos();
            prop_assert!((f64::from(table.cos_row(0).unwrap()[i]) - cos).abs() <= 1e-6);
            prop_assert!((f64::from(table.sin_row(0).unwrap()[i]) - sin).abs() <= 1e-6);
        }
    }

    #[test]
    fn longrope_rows_below_n_hat_are_default_rope_and_rows_from_n_hat_on_are_rescaled(
        (hd, theta, original, s, short, long, n_hat, attention, dynamic) in longrope_with_start_tokens(),
        seq_len in prop_oneof![Just(None), (1usize..=4096).prop_map(Some), (4097usize..2_000_000).prop_map(Some)],
        offsets in prop::collection::vec(-300i64..300, 0..6), far in 0u64..2_000_000,
    ) {
        // LongRoPE paper Eq. 3 with the reference code's attention factor: θ_i = b^(-2i/d) and
        // factor 1 for m < n̂, θ_i/λ_i and the attention factor a from n̂ on. Everything expected
        // is computed here, not by the crate; s = max_pos / L as the reference derives it.
        let dynamic = dynamic && s > 1;
        let max_pos = original * s;
        let r = rope(hd, theta, max_pos, RopeScaling::LongRope(LongRope {
            short_factor: short.clone(),
            long_factor: long.clone(),
            original_max_position_embeddings: Some(original),
            attention,
            start_tokens: n_hat,
            dynamic_rescale: dynamic,
            ..LongRope::default()
        }));
        let s = s as f64;
        let a = match attention {
            LongRopeAttention::Explicit(v) => v,
            _ if s <= 1.0 => 1.0,
            LongRopeAttention::Su => (1.0 + s.ln() / (original as f64).ln()).sqrt(),
            LongRopeAttention::Yarn => 0.1 * s.ln() + 1.0,
        };
        let lambda: Vec<f64> = match seq_len {
            Some(n) if n > original && dynamic => long.iter().map(|l| 1.0 + (l - 1.0) * (n as f64 / original as f64 - 1.0) / (s - 1.0)).collect(),
            Some(n) if n > original => long,
            _ => short,
        };
        let default: Vec<f64> = (0..hd / 2).map(|i| theta.powf(-2.0 * i as f64 / hd as f64)).collect();
        let rescaled: Vec<f64> = default.iter().zip(&lambda).map(|(t, l)| t / l).collect();

        // the last row before n̂ and the first from n̂ are always there, so both branches run
        let mut positions = vec![n_hat as u64 - 1, n_hat as u64, far];
        positions.extend(offsets.iter().map(|o| (n_hat as i64 + o).max(0) as u64));
        let table = r.table(positions.iter().map(|&m| m as f64), seq_len);
        let (mut below, mut above) = (0, 0);
        let mut check = |row: usize, m: u64, cos: &[f32], sin: &[f32]| -> Result<(), TestCaseError> {
            let (freqs, amp) = if m < n_hat as u64 { below += 1; (&default, 1.0) } else { above += 1; (&rescaled, a) };
            for (i, th) in freqs.iter().enumerate() {
                let (want_sin, want_cos) = (m as f64 * th).sin_cos();
                prop_assert!((f64::from(cos[i]) - amp * want_cos).abs() <= 1e-6, "row {} (m = {}, n̂ = {}) pair {}: cos {} vs {}", row, m, n_hat, i, cos[i], amp * want_cos);
                prop_assert!((f64::from(sin[i]) - amp * want_sin).abs() <= 1e-6, "row {} (m = {}, n̂ = {}) pair {}: sin {} vs {}", row, m, n_hat, i, sin[i], amp * want_sin);
            }
            Ok(())
        };
        for (row, &m) in positions.iter().enumerate() {
            check(row, m, table.cos_row(row).unwrap(), table.sin_row(row).unwrap())?;
        }
        // the fast range path, across the boundary
        let range = (n_hat as u64).saturating_sub(3)..n_hat as u64 + 3;
        let fast = r.table_range(range.clone(), seq_len).unwrap();
        for (row, m) in range.enumerate() {
            check(row, m, fast.cos_row(row).unwrap(), fast.sin_row(row).unwrap())?;
        }
        prop_assert!(below >= 2 && above >= 2, "{} rows below n̂, {} from n̂ on", below, above);
    }
}

/// A LongRoPE model with `n̂ > 0` and the inputs of its expected rows: `(head_dim, theta, L,
/// s, short, long, n̂, attention policy, dynamic rescale)`.
fn longrope_with_start_tokens()
-> impl Strategy<Value = (usize, f64, usize, usize, Vec<f64>, Vec<f64>, usize, LongRopeAttention, bool)> {
    head_dims().prop_flat_map(|hd| {
        (
            Just(hd),
            thetas(),
            prop::sample::select(vec![256usize, 2048, 4096]),
            prop::sample::select(vec![1usize, 2, 4, 8, 16, 32]),
            prop::collection::vec(1.0f64..1.5, hd / 2),
            prop::collection::vec(1.0f64..80.0, hd / 2),
            prop::sample::select(&N_HAT_SEARCH_SPACE[1..]),
            prop::sample::select(vec![
                LongRopeAttention::Su,
                LongRopeAttention::Yarn,
                LongRopeAttention::Explicit(1.3),
            ]),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn table_range_equals_table(
        start in 0u64..3_000_000, len in 0u64..3000, scaling in static_methods(64), n_hat in 0usize..8,
    ) {
        let scaling = match scaling {
            RopeScaling::LongRope(m) => RopeScaling::LongRope(LongRope { start_tokens: n_hat, ..m }),
            other => other,
        };
        let r = rope(64, 10_000.0, 4096, scaling);
        let start = if n_hat > 0 { start % 16 } else { start };
        let fast = r.table_range(start..start + len, Some(100_000)).unwrap();
        let slow = r.table((start..start + len).map(|m| m as f64), Some(100_000));
        prop_assert_eq!(fast.len(), slow.len());
        for (a, b) in fast.cos().iter().chain(fast.sin()).zip(slow.cos().iter().chain(slow.sin())) {
            prop_assert!((a - b).abs() <= 2.5e-7, "{} vs {}", a, b);
        }
    }
}

/// The list length a LongRoPE strategy was drawn for (the other methods fit any model).
fn scaling_pairs(s: &RopeScaling) -> Option<usize> {
    match s {
        RopeScaling::LongRope(m) => Some(m.long_factor.len()),
        _ => None,
    }
}

fn start_tokens(s: &RopeScaling) -> f64 {
    match s {
        RopeScaling::LongRope(m) => m.start_tokens as f64,
        _ => 0.0,
    }
}
