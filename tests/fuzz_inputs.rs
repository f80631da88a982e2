//! Fuzzing the two readers that take bytes from users: the HF `config.json` reader
//! (`LlamaConfig::from_json`, which runs `rope-ext-core`'s `hf::read_config`) and the weight
//! file path (`Llama::load`: the safetensors header, shapes, dtypes, shards). proptest
//! generates the inputs: arbitrary JSON values spliced into real configs (every family and
//! rope type the fixtures have, at the top level and inside the rope dict), arbitrary bytes and
//! mutated config text, and valid checkpoints with their length prefix, header bytes or data
//! mutated or truncated. Every input must give `Ok` or a typed `Err`: never a panic (an abort,
//! say from an allocation sized by the input, kills the test process, which fails too).
//!
//! `cargo test` runs a fixed number of cases per target. A long run, with a time budget per
//! target and a fresh seed per batch (the seed of a failing batch is printed):
//!
//! ```text
//! ROPE_EXT_FUZZ_SECONDS=300 cargo test --release --test fuzz_inputs -- --nocapture
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use rope_ext::model::{BackendKind, Llama, LlamaConfig};
use serde_json::{Map, Value};

/// Cases per target in a plain `cargo test`.
const DEFAULT_CASES: u32 = 200;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).into()
}

/// The configs the fuzzer starts from: every fixture's `config.json`.
fn seed_configs() -> Vec<Value> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures/tiny-llama", "tests/fixtures/model-level"] {
        let mut entries: Vec<_> = std::fs::read_dir(root().join(dir)).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if let Ok(text) = std::fs::read_to_string(e.join("config.json")) {
                out.push(serde_json::from_str(&text).unwrap());
            }
        }
    }
    out
}

/// Keys worth hitting: every key the seed configs use, at the top level and in rope dicts, plus
/// rope keys of methods they do not use.
fn key_pool(configs: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = [
        "rope_scaling",
        "rope_parameters",
        "rope_ext",
        "factor",
        "rope_type",
        "type",
        "short_factor",
        "long_factor",
        "beta_fast",
        "beta_slow",
        "mscale",
        "mscale_all_dim",
        "attention_factor",
        "low_freq_factor",
        "high_freq_factor",
        "original_max_position_embeddings",
        "truncate",
        "partial_rotary_factor",
        "rope_theta",
        "method",
        "layer_rule",
        "finetuned",
        "qk_rope_head_dim",
    ]
    .map(String::from)
    .to_vec();
    for c in configs {
        for (k, v) in c.as_object().unwrap() {
            keys.push(k.clone());
            if let Some(d) = v.as_object() {
                keys.extend(d.keys().cloned());
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Any JSON value, numbers at their edges included.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(2), Just(i64::MIN), Just(i64::MAX), any::<i64>()]
            .prop_map(Value::from),
        prop_oneof![Just(u64::MAX), Just(1u64 << 32), Just(1u64 << 53), any::<u64>()].prop_map(Value::from),
        prop_oneof![Just(0.5f64), Just(-0.0), Just(1e308), Just(-1e308), Just(1e-320), any::<f64>()]
            .prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An edit of a config: where (top level or the rope dict), which key, and what to do.
#[derive(Debug, Clone)]
enum Edit {
    Set { nested: bool, key: usize, value: Value },
    Remove { nested: bool, key: usize },
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (any::<bool>(), any::<usize>(), any_json()).prop_map(|(nested, key, value)| Edit::Set { nested, key, value }),
        1 => (any::<bool>(), any::<usize>()).prop_map(|(nested, key)| Edit::Remove { nested, key }),
    ];
    prop::collection::vec(edit, 1..5)
}

fn apply(mut config: Value, edits: &[Edit], keys: &[String]) -> Value {
    for e in edits {
        let top = config.as_object_mut().unwrap();
        let rope = ["rope_parameters", "rope_scaling"].into_iter().find(|k| top.get(*k).is_some_and(Value::is_object));
        let (nested, key) = match e {
            Edit::Set { nested, key, .. } | Edit::Remove { nested, key } => (*nested, &keys[*key % keys.len()]),
        };
        let target = match (nested, rope) {
            (true, Some(r)) => top.get_mut(r).and_then(Value::as_object_mut).unwrap(),
            _ => top,
        };
        match e {
            Edit::Set { value, .. } => {
                target.insert(key.clone(), value.clone());
            }
            Edit::Remove { .. } => {
                target.remove(key);
            }
        }
    }
    config
}

/// Runs `check` on inputs from `strategy`: [`DEFAULT_CASES`] cases, or batches of 500 with
/// fresh seeds until `ROPE_EXT_FUZZ_SECONDS` have passed. Returns the number of cases run.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64
where
    S::Value: std::fmt::Debug,
{
    let budget =
        std::env::var("ROPE_EXT_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()).map(Duration::from_secs);
    let started = Instant::now();
    let mut cases = 0u64;
    for batch in 0u64.. {
        let n = if budget.is_some() { 500 } else { DEFAULT_CASES };
        let seed: [u8; 32] =
            std::array::from_fn(|i| (batch.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> ((i % 8) * 8)) as u8 ^ i as u8);
        let config = Config { cases: n, failure_persistence: None, max_shrink_iters: 2000, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(&strategy, &check) {
            panic!("{name}: batch {batch} (seed {seed:?}): {e}");
        }
        cases += u64::from(n);
        if budget.is_none_or(|b| started.elapsed() >= b) {
            break;
        }
    }
    eprintln!("{name}: {cases} cases in {:.1} s, no panic", started.elapsed().as_secs_f64());
    cases
}

/// `f()` must not panic; its result is dropped (`Ok` and `Err` are both acceptable).
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<(), TestCaseError> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => Ok(()),
        Err(p) => {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(TestCaseError::fail(format!("{what} panicked: {}", msg.unwrap_or_default())))
        }
    }
}

#[test]
fn config_reader_never_panics_on_edited_configs() {
    let configs = seed_configs();
    let keys = key_pool(&configs);
    let strategy = (0..configs.len(), edits());
    fuzz("config edits", strategy, |(i, e)| {
        let config = apply(configs[i].clone(), &e, &keys);
        no_panic("LlamaConfig::from_json", || LlamaConfig::from_json(&config))
    });
}

#[test]
fn config_reader_never_panics_on_arbitrary_bytes() {
    let texts: Vec<Vec<u8>> = seed_configs().iter().map(|c| serde_json::to_vec(c).unwrap()).collect();
    // Raw bytes, and real config text with bytes overwritten or cut.
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|b| (usize::MAX, b, 0usize)),
        (0..texts.len(), prop::collection::vec(any::<u8>(), 1..8), any::<usize>()).prop_map(|(i, b, at)| (i, b, at)),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = dir.join("config.json");
    fuzz("config bytes", strategy, |(i, bytes, at)| {
        let data = match texts.get(i) {
            None => bytes,
            Some(t) => {
                let mut t = t.clone();
                let at = at % t.len();
                if bytes.len() == 1 {
                    t.truncate(at);
                } else {
                    for (j, b) in bytes.iter().enumerate() {
                        if let Some(slot) = t.get_mut(at + j) {
                            *slot = *b;
                        }
                    }
                }
                t
            }
        };
        std::fs::write(&path, &data).unwrap();
        no_panic("LlamaConfig::from_file", || LlamaConfig::from_file(&path))
    });
}

/// How a checkpoint's bytes are damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// Keep the first `at` bytes.
    Truncate { at: usize },
    /// A new 8-byte header length.
    LengthPrefix(u64),
    /// Overwrite bytes inside the header (offset into it).
    Header { at: usize, bytes: Vec<u8> },
    /// A whole new header (arbitrary JSON), data kept.
    NewHeader(Value),
    /// Overwrite bytes anywhere.
    Anywhere { at: usize, bytes: Vec<u8> },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(|at| Damage::Truncate { at }),
        prop_oneof![any::<u64>(), 0u64..4096, Just(u64::MAX), Just(1u64 << 40)].prop_map(Damage::LengthPrefix),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..6)).prop_map(|(at, bytes)| Damage::Header { at, bytes }),
        any_json().prop_map(Damage::NewHeader),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(at, bytes)| Damage::Anywhere { at, bytes }),
    ]
}

fn damaged(original: &[u8], d: &Damage) -> Vec<u8> {
    let header_len = u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let mut out = original.to_vec();
    match d {
        Damage::Truncate { at } => out.truncate(at % original.len()),
        Damage::LengthPrefix(n) => out[..8].copy_from_slice(&n.to_le_bytes()),
        Damage::Header { at, bytes } => {
            let at = 8 + at % header_len;
            for (j, b) in bytes.iter().enumerate() {
                if at + j < 8 + header_len {
                    out[at + j] = *b;
                }
            }
        }
        Damage::NewHeader(v) => {
            let text = serde_json::to_vec(v).unwrap();
            out = (text.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&text);
            out.extend_from_slice(&original[8 + header_len..]);
        }
        Damage::Anywhere { at, bytes } => {
            let at = at % original.len();
            for (j, b) in bytes.iter().enumerate() {
                if let Some(slot) = out.get_mut(at + j) {
                    *slot = *b;
                }
            }
        }
    }
    out
}

#[test]
fn weight_loader_never_panics_on_damaged_checkpoints() {
    // A small real checkpoint and its config.
    let tiny = root().join("tests/fixtures/tiny-llama/default");
    let config = std::fs::read(tiny.join("config.json")).unwrap();
    let weights = std::fs::read(tiny.join("model.safetensors")).unwrap();
    let device = BackendKind::for_tests().device().unwrap();
    Llama::load(&tiny, &device).expect("the undamaged checkpoint loads");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("config.json"), &config).unwrap();
    fuzz("weights", damage(), |d| {
        std::fs::write(dir.join("model.safetensors"), damaged(&weights, &d)).unwrap();
        no_panic("Llama::load", || Llama::load(dir, &device))
    });
}
