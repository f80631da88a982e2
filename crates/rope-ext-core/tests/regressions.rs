//! One test per known bug of other implementations (spec §14) that applies to this crate, named
//! after the report. The KV-cache halves of #25104 and the Phi-3 switch (§14.1, §14.5) are
//! tested again in the model adapter, against a full recompute. §14.9 (vLLM sizing its cos/sin
//! cache as `original × factor` twice) does not apply: this crate builds tables for the positions
//! asked for, with no cache length.

use rope_ext_core::hf::read_config;
use rope_ext_core::methods::dynamic_ntk::DynamicNtk;
use rope_ext_core::methods::llama3::{Llama3, Llama3Band};
use rope_ext_core::methods::longrope::LongRope;
use rope_ext_core::methods::yarn::{DeepSeekSoftmaxRule, Yarn};
use rope_ext_core::{Rope, RopeConfig, RopeError, RopeRuntime, RopeScaling};
use serde_json::json;

fn rope(head_dim: usize, theta: f64, max_pos: usize, scaling: RopeScaling) -> Rope {
    RopeConfig::new(head_dim, theta, max_pos).with_scaling(scaling).build().unwrap()
}

/// huggingface/transformers#25104: keys cached before a base change keep the old rotation. The
/// runtime must report every change so the model can re-rotate its cache.
#[test]
fn hf_25104_runtime_reports_every_frequency_change() {
    let mut rt = RopeRuntime::new(rope(128, 1e4, 4096, RopeScaling::DynamicNtk(DynamicNtk { factor: 2.0 })));
    assert!(!rt.update(4096), "inside the window nothing changes");
    assert!(rt.update(4097), "growth past the window changes the base");
    assert!(rt.update(5000), "every further growth changes it again");
    assert!(!rt.update(4500), "a shorter call that stays outside the window keeps the cache");
}

/// HF PR #27033 / #27227: after a long call, a short call must restore the original
/// frequencies (the reset rule); the spec notes a v5 copy where the reset could never fire.
#[test]
fn hf_27033_dynamic_ntk_resets_after_a_short_call() {
    let r = rope(128, 1e4, 4096, RopeScaling::DynamicNtk(DynamicNtk { factor: 2.0 }));
    let original = r.frequencies(None);
    let mut rt = RopeRuntime::new(r);
    rt.update(8192);
    assert_ne!(rt.frequencies(), &original);
    assert!(rt.update(100));
    assert_eq!(rt.frequencies(), &original);
    assert_eq!(rt.max_seq_len_cached(), 4096);
}

/// HF PR #29285 and friends: inv_freq or positions in reduced precision give large phase
/// errors at long context. The table forms the angle in f64; an f32 angle would be off by far
/// more than 1e-5 at 32k.
#[test]
fn hf_29285_cos_sin_keep_their_phase_at_long_positions() {
    let r = rope(128, 1e4, 4096, RopeScaling::Default);
    let f = r.frequencies(None);
    let positions = [32_768.0, 65_535.0, 131_071.0, 1_000_003.0];
    let table = r.table(positions, None);
    let mut f32_angle_error: f64 = 0.0;
    for (row, m) in positions.iter().enumerate() {
        for (i, &th) in f.inv_freq.iter().enumerate() {
            let exact = (m * th).cos();
            assert!((f64::from(table.cos_row(row).unwrap()[i]) - exact).abs() < 1e-6);
            let naive = f64::from(((*m as f32) * (th as f32)).cos());
            f32_angle_error = f32_angle_error.max((naive - exact).abs());
        }
    }
    assert!(f32_angle_error > 1e-3, "the bug this guards against is real: f32 angles err by {f32_angle_error}");
}

/// huggingface/transformers#38224: YaRN's `factor` was overridden by
/// `max_position_embeddings / original_max_position_embeddings`.
#[test]
fn hf_38224_yarn_explicit_factor_is_honoured() {
    let r = read_config(&json!({
        "head_dim": 128, "max_position_embeddings": 65536, "rope_theta": 10000.0,
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096}
    }))
    .unwrap();
    let f = r.frequencies(None);
    let pi4 = r.context().default_inv_freq()[63] / 4.0;
    assert!((f.inv_freq[63] - pi4).abs() < 1e-18, "lowest pair is interpolated by 4, not by 16");
    assert!((f.attention_factor - (0.1 * 4f64.ln() + 1.0)).abs() < 1e-12);
}

/// HF PR #33129, llama.cpp#8995, onnxruntime-genai#1161: Phi-3 switching must follow the
/// current position, and a single prompt longer than `original` uses the long factors from
/// token 0.
#[test]
fn hf_33129_longrope_switches_on_the_current_length() {
    let long: Vec<f64> = (0..32).map(|i| 1.0 + f64::from(i)).collect();
    let scaling = RopeScaling::LongRope(LongRope {
        short_factor: vec![1.0; 32],
        long_factor: long,
        original_max_position_embeddings: Some(4096),
        ..LongRope::default()
    });
    let r = rope(64, 1e4, 131072, scaling);
    let (short, long) = (r.frequencies(Some(4096)), r.frequencies(Some(4097)));
    assert_ne!(short, long);
    // a 5000-token prompt: row 0 uses the long factors
    let table = r.table([0.0, 1.0], Some(5000));
    assert_eq!(table, r.table_with(&long, [0.0, 1.0]));
    // prompt of original − 1, then generation across the boundary
    let mut rt = RopeRuntime::new(r);
    assert!(!rt.update(4095));
    assert!(!rt.update(4096));
    assert!(rt.update(4097), "crossing `original` switches to the long factors");
    assert_eq!(rt.frequencies(), &long);
}

/// HF PR #47435, Megatron-LM#1429 and others: DeepSeek's softmax m² was missing or computed
/// from `mscale` instead of `mscale_all_dim`; the cos/sin ratio alone collapses to 1.
#[test]
fn hf_47435_deepseek_softmax_multiplier() {
    let v3 = Yarn { factor: 40.0, mscale: Some(1.0), mscale_all_dim: Some(1.0), ..Yarn::default() };
    assert_eq!(v3.attention_factor(), 1.0);
    assert!((v3.deepseek_softmax_multiplier(DeepSeekSoftmaxRule::MscaleAllDim) - 1.873_854_21).abs() < 1e-8);
    let v2 = Yarn { factor: 40.0, mscale: Some(0.707), mscale_all_dim: Some(0.707), ..Yarn::default() };
    assert_eq!(v2.attention_factor(), 1.0);
    assert!((v2.deepseek_softmax_multiplier(DeepSeekSoftmaxRule::MscaleAllDim) - 1.589_626_17).abs() < 1e-8);
    let mixed = Yarn { factor: 40.0, mscale: Some(1.0), mscale_all_dim: Some(0.707), ..Yarn::default() };
    assert_ne!(
        mixed.deepseek_softmax_multiplier(DeepSeekSoftmaxRule::MscaleAllDim),
        mixed.deepseek_softmax_multiplier(DeepSeekSoftmaxRule::Mscale)
    );
}

/// vllm-project/vllm#41236: vLLM's "dynamic" is constant in the sequence length; HF's (ours)
/// grows with it.
#[test]
fn vllm_41236_dynamic_ntk_depends_on_the_length() {
    let d = DynamicNtk { factor: 2.0 };
    let r = rope(128, 1e4, 4096, RopeScaling::DynamicNtk(d));
    assert!((d.base(r.context(), Some(8192)) - 30_527.736_7).abs() < 1e-3, "spec §13");
    assert_eq!(d.base(r.context(), Some(4096)), 1e4);
    assert!(d.base(r.context(), Some(16384)) > d.base(r.context(), Some(8192)));
}

/// pytorch/torchtitan#4117: YaRN was silently disabled when the cache length equalled the
/// original length. Here YaRN follows the config, whatever positions a table covers: the
/// frequencies themselves differ from plain RoPE, not only the attention factor.
#[test]
fn torchtitan_4117_yarn_applies_inside_the_original_window() {
    let r = rope(64, 1e4, 4096, RopeScaling::Yarn(Yarn::with_factor(40.0)));
    let plain = rope(64, 1e4, 4096, RopeScaling::Default);
    let (yarn, base) = (r.frequencies(Some(4096)), plain.frequencies(Some(4096)));
    assert!((yarn.inv_freq[31] - base.inv_freq[31] / 40.0).abs() < 1e-18, "the lowest pair is interpolated");
    let short_table = r.table((0..4096).map(f64::from), Some(4096));
    let unscaled = rope_ext_core::RopeFrequencies { attention_factor: yarn.attention_factor, ..base };
    assert_ne!(short_table, r.table_with(&unscaled, (0..4096).map(f64::from)));
}

/// meta-llama/llama3#299, #319: old validators rejected the llama3 dict and integer factors.
#[test]
fn llama3_299_integer_factors_and_either_type_key_are_accepted() {
    for (key, factor) in [("type", json!(8)), ("rope_type", json!(8.0))] {
        let r = read_config(&json!({
            "hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 131072,
            "rope_theta": 500000.0,
            "rope_scaling": {key: "llama3", "factor": factor, "low_freq_factor": 1, "high_freq_factor": 4,
                             "original_max_position_embeddings": 8192}
        }))
        .unwrap();
        let f = r.frequencies(None);
        assert!((f.inv_freq[29] - 2.166_570_76e-3).abs() < 1e-11, "spec §13 out[29]");
        assert!((f.inv_freq[63] - 3.068_925_99e-7).abs() < 1e-14, "spec §13 out[63]");
    }
}

/// Llama-4 style `low_freq_factor == high_freq_factor`: HF divides 0/0. No NaN; the medium
/// band holds at most the boundary wavelength.
#[test]
fn llama4_equal_band_factors_give_no_nan() {
    let m =
        Llama3 { factor: 16.0, low_freq_factor: 1.0, high_freq_factor: 1.0, original_max_position_embeddings: 8192 };
    let r = rope(128, 5e5, 131072, RopeScaling::Llama3(m));
    assert!(r.frequencies(None).inv_freq.iter().all(|f| f.is_finite()));
    let boundary = 2.0 * std::f64::consts::PI / 8192.0;
    assert_eq!(m.band(boundary), Llama3Band::Medium);
    assert_eq!(m.scale(boundary), boundary / 16.0);
}

/// Spec §14.12: Python's `or` turns `beta_fast=0`/`beta_slow=0` into the defaults. We reject
/// them instead of silently substituting.
#[test]
fn yarn_zero_betas_are_rejected_not_defaulted() {
    for key in ["beta_fast", "beta_slow"] {
        let err = read_config(&json!({
            "head_dim": 64, "max_position_embeddings": 4096,
            "rope_scaling": {"rope_type": "yarn", "factor": 4.0, key: 0}
        }))
        .unwrap_err();
        assert!(matches!(err, RopeError::OutOfRange { field, .. } if field == key), "{err}");
    }
}
