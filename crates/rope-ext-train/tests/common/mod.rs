//! Shared fixtures: a tiny LLaMA built in memory and synthetic samples.

#![allow(dead_code)]

use rope_ext_model::burn::tensor::Device;
use rope_ext_model::{BackendKind, Llama, LlamaConfig};
use rope_ext_train::data::Sample;

/// A 2-layer GQA LLaMA with vocabulary 64 and window 64.
pub fn tiny_config() -> LlamaConfig {
    LlamaConfig::from_json(&serde_json::json!({
        "model_type": "llama",
        "vocab_size": 64,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": false,
        "initializer_range": 0.1,
        "rope_theta": 10000.0
    }))
    .unwrap()
}

/// The test backend's autodiff device.
pub fn train_device() -> Device {
    BackendKind::for_tests().device().unwrap().autodiff()
}

/// A freshly initialised tiny model on the training device.
pub fn tiny_model(seed: u64) -> Llama {
    Llama::init(tiny_config(), seed, &train_device()).unwrap()
}

/// Samples of a learnable pattern: arithmetic sequences mod 64 with a per-sample step.
pub fn pattern_samples(n: usize, len: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let step = 1 + (i % 5) as u32;
            let start = (i * 7) as u32;
            Sample::text((0..len as u32).map(|k| (start + k * step) % 64).collect())
        })
        .collect()
}

/// Every weight of `model` on the host, by name.
pub fn host_weights(model: &Llama) -> Vec<(String, Vec<f32>)> {
    model.named_tensors().into_iter().map(|(n, _, d)| (n, d)).collect()
}
