//! Configs of the LLaMA family load without code changes: LLaMA 2/3, Mistral, Qwen2, SmolLM2,
//! TinyLlama (the configs below are their published `config.json` files, trimmed to the keys
//! the loader reads plus a few it ignores).

use rope_ext_core::RopeScaling;
use rope_ext_model::LlamaConfig;
use serde_json::json;

#[test]
fn published_configs_are_read() {
    let llama2 = json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
        "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
        "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_scaling": null, "tie_word_embeddings": false,
        "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16"});
    let llama31 = json!({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "vocab_size": 128256, "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "attention_bias": false, "mlp_bias": false,
        "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"}});
    let mistral = json!({"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
        "vocab_size": 32000});
    let qwen2 = json!({"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
        "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true, "vocab_size": 151936,
        "use_sliding_window": false});
    let smollm2 = json!({"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
        "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3, "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5, "rope_theta": 100000, "tie_word_embeddings": true, "vocab_size": 49152, "head_dim": 64});
    let tinyllama = json!({"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632,
        "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 32000});
    let cases = [
        ("llama2", llama2, 128, 1, false, false),
        ("llama3.1", llama31, 128, 4, false, false),
        ("mistral", mistral, 128, 4, false, false),
        ("qwen2", qwen2, 64, 7, true, true),
        ("smollm2", smollm2, 64, 3, true, false),
        ("tinyllama", tinyllama, 64, 8, false, false),
    ];
    for (name, cfg, head_dim, group, tied, qkv_bias) in cases {
        let c = LlamaConfig::from_json(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (c.head_dim, c.group_size(), c.tie_word_embeddings, c.qkv_bias, c.o_bias),
            (head_dim, group, tied, qkv_bias, false),
            "{name}"
        );
    }
    let c = LlamaConfig::from_json(&json!({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
        "rope_theta": 500000.0, "vocab_size": 128256, "eos_token_id": [128001, 128009],
        "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"}}))
    .unwrap();
    assert!(matches!(c.rope.scaling(), RopeScaling::Llama3(_)));
    assert_eq!(c.eos_token_ids, vec![128001, 128009]);
}

/// transformers' Mistral and Qwen2 do not read `attention_bias` or `mlp_bias` (Qwen2 always has
/// q/k/v biases, Mistral none); LLaMA does.
#[test]
fn bias_keys_are_read_where_transformers_reads_them() {
    let with_biases = |model_type: &str| {
        LlamaConfig::from_json(&json!({"model_type": model_type, "hidden_size": 64, "intermediate_size": 128,
            "num_attention_heads": 4, "num_hidden_layers": 2, "max_position_embeddings": 256, "vocab_size": 96,
            "attention_bias": true, "mlp_bias": true}))
        .unwrap()
    };
    for (model_type, expect) in
        [("llama", (true, true, true)), ("mistral", (false, false, false)), ("qwen2", (true, false, false))]
    {
        let c = with_biases(model_type);
        assert_eq!((c.qkv_bias, c.o_bias, c.mlp_bias), expect, "{model_type}");
    }
}

/// Phi-3-mini-4k (a sliding window of 2047 on every layer), Phi-3.5-mini (LongRoPE in the 4.x
/// form, `type: longrope` with 48 short and long factors; the factor values here are stand-ins)
/// and Phi-4-mini (partial rotary 0.75 of 128, so 48 factors; a tied head), trimmed.
#[test]
fn published_phi3_configs_are_read() {
    let ramp = |n: usize, top: f64| (0..n).map(|i| 1.0 + top * i as f64 / (n - 1) as f64).collect::<Vec<_>>();
    let mini4k = json!({"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 3072,
        "intermediate_size": 8192, "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
        "max_position_embeddings": 4096, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
        "rope_scaling": null, "rope_theta": 10000.0, "sliding_window": 2047, "vocab_size": 32064,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 32000,
        "pad_token_id": 32000, "tie_word_embeddings": false});
    let c = LlamaConfig::from_json(&mini4k).unwrap();
    assert!(c.fused_projections && !c.qkv_bias && !c.mlp_bias);
    assert_eq!(c.sliding_windows, vec![Some(2047); 32]);
    assert!(matches!(c.rope.scaling(), RopeScaling::Default));

    let mini35 = json!({"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192,
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
        "max_position_embeddings": 131072, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
        "rope_scaling": {"type": "longrope", "long_factor": ramp(48, 40.0), "short_factor": ramp(48, 0.2)},
        "rope_theta": 10000.0, "sliding_window": 262144, "vocab_size": 32064});
    let c = LlamaConfig::from_json(&mini35).unwrap();
    let RopeScaling::LongRope(m) = c.rope.scaling() else { panic!("{:?}", c.rope.scaling()) };
    assert_eq!((m.original_max_position_embeddings, m.long_factor.len()), (Some(4096), 48));
    assert_eq!(c.sliding_windows[0], Some(262144));

    let phi4 = json!({"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192,
        "num_attention_heads": 24, "num_hidden_layers": 32, "num_key_value_heads": 8,
        "max_position_embeddings": 131072, "original_max_position_embeddings": 4096, "partial_rotary_factor": 0.75,
        "rms_norm_eps": 1e-5, "rope_scaling": {"type": "longrope", "long_factor": ramp(48, 30.0),
        "short_factor": ramp(48, 0.0)}, "rope_theta": 10000.0, "sliding_window": 262144, "tie_word_embeddings": true,
        "vocab_size": 200064, "bos_token_id": 199999, "eos_token_id": 199999});
    let c = LlamaConfig::from_json(&phi4).unwrap();
    assert_eq!((c.head_dim, c.rope.rotary_dim(), c.group_size(), c.tie_word_embeddings), (128, 96, 3, true));
    // A factor list of the wrong length names the field.
    let mut bad = phi4.clone();
    bad["rope_scaling"]["long_factor"] = json!(ramp(64, 30.0));
    let e = LlamaConfig::from_json(&bad).unwrap_err().to_string();
    assert!(e.contains("long_factor") && e.contains("64"), "{e}");
}

/// Gemma 3's config defaults, as `Gemma3TextConfig` has them: a tied head, `head_dim` 256,
/// layer types from `sliding_window_pattern` 6, bases 1e6 (full) and 1e4 (sliding); a `null` or
/// missing per-type entry is the default RoPE (not "no RoPE"); a flat `rope_parameters` is
/// refused (the config class would ignore it). LLaMA ignores `layer_types`, as transformers does.
#[test]
fn gemma3_config_defaults_are_transformers_defaults() {
    use rope_ext_model::config::LayerRope;
    let base = json!({"model_type": "gemma3_text", "hidden_size": 640, "intermediate_size": 2048,
        "num_attention_heads": 4, "num_key_value_heads": 1, "num_hidden_layers": 12, "vocab_size": 262144,
        "max_position_embeddings": 32768});
    let c = LlamaConfig::from_json(&base).unwrap();
    assert!(c.tie_word_embeddings);
    assert_eq!(c.head_dim, 256);
    let full = [5, 11];
    for (l, r) in c.layer_ropes.iter().enumerate() {
        assert_eq!(*r, if full.contains(&l) { LayerRope::Main } else { LayerRope::Local }, "layer {l}");
        assert_eq!(c.sliding_windows[l], (!full.contains(&l)).then_some(4096), "layer {l}");
    }
    assert_eq!((c.rope.config().rope_theta, c.local_rope.as_ref().unwrap().config().rope_theta), (1e6, 1e4));

    let mut keyed = base.clone();
    keyed["rope_parameters"] =
        json!({"full_attention": {"rope_type": "linear", "factor": 8.0}, "sliding_attention": null});
    let k = LlamaConfig::from_json(&keyed).unwrap();
    assert_eq!(k.layer_ropes, c.layer_ropes);
    assert_eq!(k.local_rope, c.local_rope, "a null sliding entry is the default local RoPE");
    assert!(matches!(k.rope.scaling(), RopeScaling::Linear(_)));
    keyed["rope_parameters"].as_object_mut().unwrap().remove("sliding_attention");
    assert_eq!(LlamaConfig::from_json(&keyed).unwrap().local_rope, c.local_rope, "nor is a missing one");

    let mut flat = base.clone();
    flat["rope_parameters"] = json!({"rope_type": "linear", "factor": 8.0});
    let e = LlamaConfig::from_json(&flat).unwrap_err().to_string();
    assert!(e.contains("rope_parameters") && e.contains("keyed by layer type"), "{e}");

    let llama = json!({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
        "num_hidden_layers": 2, "vocab_size": 96, "max_position_embeddings": 256, "layer_types": ["sliding_attention"]});
    let l = LlamaConfig::from_json(&llama).unwrap();
    assert_eq!(l.sliding_windows, vec![None, None]);
}
