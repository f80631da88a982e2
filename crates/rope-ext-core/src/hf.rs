//! HF `config.json` I/O: read the RoPE settings of a model config in either the transformers
//! 4.x form (`rope_scaling` with `type` or `rope_type`, top-level `rope_theta`,
//! `partial_rotary_factor` and Phi-3's `original_max_position_embeddings`) or the v5 form
//! (`rope_parameters`, with `rope_theta` inside), and write a [`Rope`] back as a config fragment
//! that transformers loads.
//!
//! Reading follows transformers 5.23's standardisation (`standardize_rope_params`) with errors
//! where it only warns:
//! - `head_dim` comes from `head_dim` or `hidden_size / num_attention_heads`;
//! - `rope_theta` defaults to 10000; `rope_type` to `default`; legacy `type` is accepted (and
//!   must agree with `rope_type` when both are given);
//! - for `yarn`, `longrope` and `llama3`, a top-level `original_max_position_embeddings` takes
//!   priority over the one in the dict (as in HF; Phi-3 stores it there, and Phi-3's class
//!   default 4096 applies when a `phi3` config has neither);
//! - `su`, and `yarn` in a `phi3` config, mean `longrope` (Phi3Config's mapping);
//! - keys a type does not accept, unknown types, missing required keys, wrong JSON types and
//!   invalid values are [`RopeError`]s naming the field.
//!
//! Methods transformers cannot express exactly (NTK-aware, ABF, entropy-aware ABF, dynamic
//! YaRN, E²-LLM, LongRoPE with start tokens, dynamic rescale, the monotonic constraint or the
//! `yarn` attention policy) are written as the closest loadable form plus a top-level `rope_ext`
//! object holding the full method; [`read_config`] prefers `rope_ext` when present, so a written
//! fragment reads back to the same [`Rope`]. Our extension type names (`eabf`, `dynamic_yarn` /
//! `dynamic-yarn`, `ntk_aware`, `abf`, `e2llm`) are also accepted in `rope_scaling`.
//!
//! The pair layout is half-split (HF `rotate_half`) unless a top-level `"rope_interleave": true`
//! selects interleaved pairs ([`INTERLEAVE_KEY`]); it is written back the same way.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use self::field::{integer, number, opt_f64, opt_usize, required_usize, wrong_type};
use crate::error::{RopeError, at_least};
use crate::layout::PairLayout;
use crate::methods::abf::Abf;
use crate::methods::dynamic_ntk::DynamicNtk;
use crate::methods::e2llm::E2Llm;
use crate::methods::eabf::EntropyAwareAbf;
use crate::methods::linear::Linear;
use crate::methods::llama3::Llama3;
use crate::methods::longrope::{LongRope, LongRopeAttention};
use crate::methods::ntk_aware::NtkAware;
use crate::methods::proportional::Proportional;
use crate::methods::yarn::{DynamicYarn, Yarn};
use crate::rope::{DEFAULT_THETA, Rope, RopeConfig};
use crate::scaling::RopeScaling;

/// Phi3Config's class default for `original_max_position_embeddings`.
pub const PHI3_ORIGINAL_MAX_POSITION_EMBEDDINGS: usize = 4096;
/// The top-level key of our extension.
pub const EXTENSION_KEY: &str = "rope_ext";

/// Which transformers config form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HfForm {
    /// transformers ≥ 5: `rope_parameters` with `rope_theta` inside.
    #[default]
    V5,
    /// transformers 4.x: `rope_scaling` (or `null`) and top-level `rope_theta`.
    V4,
}

/// Reads the RoPE specification of a model from the text of its `config.json`.
pub fn read_config_str(text: &str) -> Result<Rope, RopeError> {
    read_config(&parse_json(text)?)
}

/// Parses a `config.json`. Python's `json` module writes `NaN`, `Infinity` and `-Infinity`
/// for non-finite floats, which JSON does not allow; those are reported as
/// [`RopeError::NonFiniteLiteral`] naming the key they belong to, other syntax errors as
/// [`RopeError::Json`].
pub fn parse_json(text: &str) -> Result<Value, RopeError> {
    serde_json::from_str(text).map_err(|e| non_finite_literal(text).unwrap_or(RopeError::Json(e)))
}

/// The first `NaN`/`Infinity`/`-Infinity` outside a string, with the key before it.
fn non_finite_literal(text: &str) -> Option<RopeError> {
    let (mut in_string, mut escaped) = (false, false);
    let (mut string_start, mut last_string, mut last_key) = (0, None, None::<&str>);
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_string = false;
                    last_string = Some(&text[string_start..i]);
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                string_start = i + 1;
            }
            ':' => last_key = last_string,
            'N' | 'I' | '-' => {
                let rest = &text[i..];
                if let Some(literal) = ["NaN", "Infinity", "-Infinity"].into_iter().find(|l| rest.starts_with(l)) {
                    return Some(RopeError::NonFiniteLiteral {
                        field: last_key.unwrap_or("(top level)").to_string(),
                        literal: literal.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

/// Reads the RoPE specification of a model from its parsed `config.json`.
pub fn read_config(config: &Value) -> Result<Rope, RopeError> {
    let top = config.as_object().ok_or_else(|| wrong_type("config", "an object", config))?;
    let head_dim = head_dim(top)?;
    let max_position_embeddings = required_usize(top, "max_position_embeddings", "config")?;
    let model_type = top.get("model_type").and_then(Value::as_str).unwrap_or("");

    let dict = rope_dict(top)?;
    let empty = Map::new();
    let dict = dict.unwrap_or(&empty);
    let mut keys = Keys::new(dict, rope_type(dict, model_type)?);

    // `rope_theta` and `partial_rotary_factor`: the dict's value wins, then the top level's,
    // then the default (transformers' `convert_rope_params_to_dict` uses `setdefault`), in
    // either form.
    let rope_theta = match keys.opt_f64("rope_theta")? {
        Some(t) => t,
        None => opt_f64(top, "rope_theta")?.unwrap_or(DEFAULT_THETA),
    };
    let partial_rotary_factor = match keys.opt_f64("partial_rotary_factor")? {
        Some(p) => p,
        None => opt_f64(top, "partial_rotary_factor")?.unwrap_or(1.0),
    };
    let top_original = opt_usize(top, "original_max_position_embeddings")?;
    let original = |keys: &mut Keys| -> Result<Option<usize>, RopeError> {
        let own = keys.opt_usize("original_max_position_embeddings")?;
        Ok(top_original.or(own).or_else(|| (model_type == "phi3").then_some(PHI3_ORIGINAL_MAX_POSITION_EMBEDDINGS)))
    };

    let scaling = match keys.rope_type.as_str() {
        "default" => RopeScaling::Default,
        "linear" => RopeScaling::Linear(Linear { factor: keys.req_f64("factor")? }),
        "dynamic" => RopeScaling::DynamicNtk(DynamicNtk { factor: keys.req_f64("factor")? }),
        "ntk_aware" => RopeScaling::NtkAware(NtkAware { factor: keys.req_f64("factor")? }),
        "abf" => RopeScaling::Abf(Abf { theta: rope_theta }),
        "yarn" => {
            let original = original(&mut keys)?;
            RopeScaling::Yarn(read_yarn(&mut keys, original, max_position_embeddings)?)
        }
        "dynamic_yarn" | "dynamic-yarn" => {
            // jquesnelle/yarn: a fine-tuned model starts at s₀ = max_position_embeddings / L,
            // an unmodified one at 1; `factor` is required by its validator and otherwise unused.
            let original = original(&mut keys)?;
            let mut yarn = read_yarn(&mut keys, original, max_position_embeddings)?;
            yarn.factor = match (keys.opt_bool("finetuned")?.unwrap_or(false), original) {
                (false, _) => 1.0,
                (true, Some(l)) => (max_position_embeddings as f64 / l as f64).max(1.0),
                (true, None) => return Err(keys.missing("original_max_position_embeddings")),
            };
            RopeScaling::DynamicYarn(DynamicYarn { yarn })
        }
        "longrope" => RopeScaling::LongRope(LongRope {
            short_factor: keys.req_list("short_factor")?,
            long_factor: keys.req_list("long_factor")?,
            factor: keys.opt_f64("factor")?,
            attention: keys.opt_f64("attention_factor")?.map_or(LongRopeAttention::Su, LongRopeAttention::Explicit),
            original_max_position_embeddings: original(&mut keys)?,
            ..LongRope::default()
        }),
        "llama3" => RopeScaling::Llama3(Llama3 {
            factor: keys.req_f64("factor")?,
            low_freq_factor: keys.req_f64("low_freq_factor")?,
            high_freq_factor: keys.req_f64("high_freq_factor")?,
            original_max_position_embeddings: original(&mut keys)?
                .ok_or_else(|| keys.missing("original_max_position_embeddings"))?,
        }),
        "proportional" => RopeScaling::Proportional(Proportional { factor: keys.opt_f64("factor")?.unwrap_or(1.0) }),
        "eabf" => {
            // The reference patch requires `factor` (a float > 1) and otherwise ignores it; the
            // base is its hard-coded 500,000. We check the factor and ignore it likewise.
            if let Some(f) = keys.opt_f64("factor")? {
                at_least(EntropyAwareAbf::NAME, "factor", f, 1.0, ">= 1")?;
            }
            RopeScaling::EntropyAwareAbf(EntropyAwareAbf {
                context: original(&mut keys)?,
                ..EntropyAwareAbf::default()
            })
        }
        "e2llm" => RopeScaling::E2Llm(E2Llm {
            original_max_position_embeddings: original(&mut keys)?,
            scale: keys.opt_f64("factor")?,
        }),
        other => {
            return Err(RopeError::UnknownRopeType { rope_type: other.to_string() });
        }
    };
    keys.finish()?;

    let hf = Rope::new(RopeConfig {
        head_dim,
        partial_rotary_factor,
        rope_theta,
        max_position_embeddings,
        scaling,
        layout: pair_layout(top)?,
    })?;
    match top.get(EXTENSION_KEY) {
        None | Some(Value::Null) => Ok(hf),
        Some(ext) => {
            let (base_theta, scaling) = read_extension(ext)?;
            let ours = Rope::new(RopeConfig { rope_theta: base_theta, scaling, ..hf.config().clone() })?;
            check_extension_agrees(&hf, &ours)?;
            Ok(ours)
        }
    }
}

/// Per-layer-type RoPE, by layer type (`"full_attention"`, `"sliding_attention"`, …): each a
/// [`Rope`], or `None` for a type whose layers have no rotary encoding (a `null` entry).
pub type LayerTypeRopes = BTreeMap<String, Option<Rope>>;

/// `Gemma3TextConfig.head_dim`'s default (not `hidden_size / num_attention_heads`).
pub const GEMMA3_HEAD_DIM: usize = 256;

/// The families whose configs have RoPE per layer type in the 4.x form too (`rope_scaling`
/// applies to the full-attention layers only): `model_type`, the default bases of the
/// full-attention and sliding layers, and the top-level key of the sliding layers' base (else
/// `rope_theta` serves both), as their transformers 5.23 config classes define them.
pub const PER_LAYER_TYPE_FAMILIES: [(&str, f64, f64, Option<&str>); 2] =
    [("gemma3_text", 1_000_000.0, 10_000.0, Some("rope_local_base_freq")), ("olmo3", 500_000.0, 500_000.0, None)];

/// Reads per-layer-type RoPE, as transformers 5.23 does:
///
/// - v5 form: `rope_parameters` keyed by layer type (its keys among `layer_types`, or for
///   [`PER_LAYER_TYPE_FAMILIES`] `full_attention` / `sliding_attention`); each entry is read as
///   strictly as a single dict ([`read_config`]) with the config's other keys; `null` means no
///   RoPE, except in those families, whose config classes give a `null` or missing entry the
///   default RoPE. An entry without `rope_theta` takes the top-level `rope_theta` (those families: their
///   defaults, Gemma 3's sliding layers `rope_local_base_freq`); a top-level
///   `original_max_position_embeddings` is not read (transformers defaults each entry's to
///   `max_position_embeddings`); `rope_ext` (our extension) belongs to `full_attention`;
/// - the 4.x form of those families (no keyed `rope_parameters`): full attention from
///   `rope_theta` and `rope_scaling`, sliding attention unscaled (Gemma 3: base
///   `rope_local_base_freq`, default 1e4; Olmo 3: `rope_theta`).
///
/// `None` for any other config (one RoPE for every layer: [`read_config`]).
pub fn read_layer_type_ropes(config: &Value) -> Result<Option<LayerTypeRopes>, RopeError> {
    let top = config.as_object().ok_or_else(|| wrong_type("config", "an object", config))?;
    let model_type = top.get("model_type").and_then(Value::as_str).unwrap_or("");
    let family = PER_LAYER_TYPE_FAMILIES.iter().find(|f| f.0 == model_type);
    let mut labels: Vec<String> = match top.get("layer_types") {
        Some(Value::Array(t)) => t.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => vec![],
    };
    if family.is_some() {
        labels.extend(["full_attention".to_string(), "sliding_attention".to_string()]);
    }
    let keyed = match top.get("rope_parameters") {
        Some(Value::Object(d)) if d.keys().any(|k| labels.contains(k)) => Some(d),
        _ => None,
    };
    let (global_theta, local_theta) = match family {
        Some(&(_, global, local, local_key)) => {
            let theta = opt_f64(top, "rope_theta")?;
            let local = match local_key {
                Some(key) => opt_f64(top, key)?.unwrap_or(local),
                None => theta.unwrap_or(local),
            };
            (theta.unwrap_or(global), local)
        }
        None => {
            let t = opt_f64(top, "rope_theta")?.unwrap_or(DEFAULT_THETA);
            (t, t)
        }
    };
    // The config with one flat dict `entry` in place of the keyed one.
    let flat = |mut entry: Map<String, Value>, layer_type: &str| -> Result<Rope, RopeError> {
        let mut one = top.clone();
        for key in ["rope_parameters", "rope_scaling", "rope_theta", "rope_local_base_freq"] {
            one.remove(key);
        }
        one.remove("original_max_position_embeddings");
        if layer_type != "full_attention" {
            one.remove(EXTENSION_KEY);
        }
        if !entry.contains_key("rope_theta") {
            let theta = if layer_type == "sliding_attention" { local_theta } else { global_theta };
            entry.insert("rope_theta".into(), json!(theta));
        }
        one.insert("rope_parameters".into(), Value::Object(entry));
        read_config(&Value::Object(one))
    };
    let mut out = LayerTypeRopes::new();
    match keyed {
        Some(dict) => {
            if top.get("rope_scaling").is_some_and(|v| !v.is_null()) {
                return Err(RopeError::Unsupported {
                    method: "config",
                    field: "rope_scaling",
                    value: "both rope_scaling and a per-layer-type rope_parameters".into(),
                    reason: "a config must use one form",
                });
            }
            for (layer_type, entry) in dict {
                if !labels.contains(layer_type) {
                    return Err(RopeError::Unsupported {
                        method: "config",
                        field: "rope_parameters",
                        value: layer_type.clone(),
                        reason: "is not a layer type, in a dict keyed by layer type",
                    });
                }
                let rope = match entry {
                    // Those families' config classes give a null entry the default RoPE.
                    Value::Null if family.is_some() => Some(flat(Map::new(), layer_type)?),
                    Value::Null => None,
                    Value::Object(e) => Some(flat(e.clone(), layer_type)?),
                    other => return Err(wrong_type("rope_parameters", "an object or null per layer type", other)),
                };
                out.insert(layer_type.clone(), rope);
            }
            if family.is_some() {
                // …and a missing one too.
                for layer_type in ["full_attention", "sliding_attention"] {
                    if !out.contains_key(layer_type) {
                        out.insert(layer_type.into(), Some(flat(Map::new(), layer_type)?));
                    }
                }
            }
        }
        None if family.is_some() => {
            if top.get("rope_parameters").is_some_and(|v| !v.is_null()) {
                // Their config classes would ignore a flat dict.
                return Err(RopeError::Unsupported {
                    method: "config",
                    field: "rope_parameters",
                    value: model_type.to_string(),
                    reason: "must be keyed by layer type (full_attention, sliding_attention) in this family",
                });
            }
            let global = match top.get("rope_scaling") {
                Some(Value::Object(d)) => d.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(other) => return Err(wrong_type("rope_scaling", "an object", other)),
            };
            out.insert("full_attention".into(), Some(flat(global, "full_attention")?));
            out.insert("sliding_attention".into(), Some(flat(Map::new(), "sliding_attention")?));
        }
        None => return Ok(None),
    }
    Ok(Some(out))
}

/// Writes per-layer-type RoPE as the keys to merge into a v5 `config.json`:
/// `rope_parameters` keyed by layer type (each entry as [`write_config`] writes a single dict,
/// `null` for no RoPE), `max_position_embeddings`, `head_dim`, and `rope_ext` for a
/// `full_attention` method transformers cannot express exactly. Such a method on any other
/// type is an error (transformers could not load it, and `rope_ext` names one method).
pub fn write_layer_type_config(ropes: &LayerTypeRopes) -> Result<Value, RopeError> {
    let mut dict = Map::new();
    let mut out = Map::new();
    for (layer_type, rope) in ropes {
        let Some(rope) = rope else {
            dict.insert(layer_type.clone(), Value::Null);
            continue;
        };
        let Value::Object(mut one) = write_config(rope, HfForm::V5) else {
            unreachable!("write_config writes an object")
        };
        if let Some(ext) = one.remove(EXTENSION_KEY) {
            if layer_type != "full_attention" {
                return Err(RopeError::Unsupported {
                    method: "config",
                    field: "rope_parameters",
                    value: layer_type.clone(),
                    reason: "only the full_attention layers can take a method transformers cannot express",
                });
            }
            out.insert(EXTENSION_KEY.into(), ext);
        }
        if let Some(entry) = one.remove("rope_parameters") {
            dict.insert(layer_type.clone(), entry);
        }
        one.remove("original_max_position_embeddings");
        // The top-level keys (`max_position_embeddings`, `head_dim`, `rope_interleave`) come
        // from the full-attention RoPE, which the methods extend.
        if layer_type == "full_attention" || !ropes.contains_key("full_attention") {
            out.extend(one);
        }
    }
    out.insert("rope_parameters".into(), Value::Object(dict));
    Ok(Value::Object(out))
}

/// Every top-level key of a `config.json` that carries RoPE settings, in either form, the
/// local RoPE of Gemma-style models included: what [`merge_config`] and
/// [`merge_layer_type_config`] replace. (`max_position_embeddings` and `head_dim` are
/// overwritten, not removed: the model needs them whatever its RoPE.)
pub const ROPE_KEYS: [&str; 8] = [
    "rope_scaling",
    "rope_parameters",
    "rope_theta",
    "partial_rotary_factor",
    "original_max_position_embeddings",
    "rope_local_base_freq",
    EXTENSION_KEY,
    INTERLEAVE_KEY,
];

/// Writes `rope` into a model's `config.json` map in `form`: every RoPE key ([`ROPE_KEYS`]) is
/// removed, then [`write_config`]'s keys are merged, so the map describes `rope` (its method,
/// base, context length and head size) and no stale key of the other form or of the previous
/// method remains for transformers to prefer. The other keys are kept as they are.
///
/// ```
/// # use rope_ext_core::{RopeConfig, RopeScaling, hf::{HfForm, merge_config}};
/// # use rope_ext_core::methods::linear::Linear;
/// let mut config = serde_json::json!({"model_type": "llama", "rope_theta": 10000.0,
///     "rope_scaling": null, "max_position_embeddings": 4096, "head_dim": 128});
/// let rope = RopeConfig { scaling: RopeScaling::Linear(Linear { factor: 4.0 }), max_position_embeddings: 16384,
///     ..RopeConfig::new(128, 10000.0, 4096) }.build().unwrap();
/// merge_config(config.as_object_mut().unwrap(), &rope, HfForm::V5);
/// assert_eq!(config["rope_parameters"]["rope_type"], "linear");
/// assert_eq!(config["max_position_embeddings"], 16384);
/// assert!(config.get("rope_scaling").is_none() && config.get("rope_theta").is_none());
/// ```
pub fn merge_config(config: &mut Map<String, Value>, rope: &Rope, form: HfForm) {
    merge(config, write_config(rope, form));
}

/// [`merge_config`] for RoPE per layer type ([`write_layer_type_config`]'s keys, v5 form).
///
/// # Errors
/// As [`write_layer_type_config`]; the map is unchanged then.
pub fn merge_layer_type_config(config: &mut Map<String, Value>, ropes: &LayerTypeRopes) -> Result<(), RopeError> {
    merge(config, write_layer_type_config(ropes)?);
    Ok(())
}

fn merge(config: &mut Map<String, Value>, fragment: Value) {
    for key in ROPE_KEYS {
        config.remove(key);
    }
    if let Value::Object(keys) = fragment {
        config.extend(keys);
    }
}

/// The top-level key that selects interleaved pairs, named as in transformers'
/// `DeepseekV3Config` (whose checkpoints store interleaved q/k rows). transformers' LLaMA-family
/// models ignore it and always rotate half-split pairs.
pub const INTERLEAVE_KEY: &str = "rope_interleave";

/// [`PairLayout::Interleaved`] when `rope_interleave` is `true`, else half-split.
fn pair_layout(top: &Map<String, Value>) -> Result<PairLayout, RopeError> {
    match top.get(INTERLEAVE_KEY) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(PairLayout::HalfSplit),
        Some(Value::Bool(true)) => Ok(PairLayout::Interleaved),
        Some(v) => Err(wrong_type(INTERLEAVE_KEY, "a boolean", v)),
    }
}

/// The HF settings written beside a `rope_ext` object are its transformers-loadable form: at
/// initialisation both give the same frequencies. A config edited on one side only is an
/// error, not a silent preference.
fn check_extension_agrees(hf: &Rope, ours: &Rope) -> Result<(), RopeError> {
    let (a, b) = (hf.frequencies(None), ours.frequencies(None));
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
    let agree = a.inv_freq.len() == b.inv_freq.len()
        && a.inv_freq.iter().zip(&b.inv_freq).all(|(&x, &y)| close(x, y))
        && close(a.attention_factor, b.attention_factor);
    if agree {
        Ok(())
    } else {
        Err(RopeError::Unsupported {
            method: "config",
            field: "rope_ext",
            value: ours.scaling().name().to_string(),
            reason: "disagrees with the config's transformers RoPE settings (edited on one side only?)",
        })
    }
}

/// Reads our `rope_ext` object: the base model's `rope_theta` and the method, tagged by
/// `method`.
fn read_extension(ext: &Value) -> Result<(f64, RopeScaling), RopeError> {
    let mut map = ext.as_object().cloned().ok_or_else(|| wrong_type(EXTENSION_KEY, "an object", ext))?;
    let theta = map
        .remove("rope_theta")
        .ok_or_else(|| RopeError::MissingKey { rope_type: EXTENSION_KEY.to_string(), key: "rope_theta" })?;
    let theta = number("rope_ext.rope_theta", &theta)?;
    let scaling =
        serde::Deserialize::deserialize(Value::Object(map)).map_err(|e: serde_json::Error| RopeError::WrongType {
            field: format!("{EXTENSION_KEY}: {e}"),
            expected: "a rope-ext method object",
            found: ext.to_string(),
        })?;
    Ok((theta, scaling))
}

/// Writes `rope` as the keys to merge into a `config.json` that transformers (4.x or ≥ 5,
/// per `form`) loads: `max_position_embeddings`, `head_dim`, the RoPE dict (and `rope_theta`
/// and `partial_rotary_factor` at the top level in the 4.x form), the method's
/// `original_max_position_embeddings` also at the top level (where transformers looks first),
/// plus `rope_ext` when transformers cannot express the method exactly.
pub fn write_config(rope: &Rope, form: HfForm) -> Value {
    let cfg = rope.config();
    let ctx = rope.context();
    let mut theta = cfg.rope_theta;
    let mut dict = Map::new();
    let mut exact = true;
    let put = |d: &mut Map<String, Value>, k: &str, v: Value| {
        d.insert(k.to_string(), v);
    };
    let rope_type = match &cfg.scaling {
        RopeScaling::Default => "default",
        RopeScaling::Linear(m) => {
            put(&mut dict, "factor", json!(m.factor));
            "linear"
        }
        RopeScaling::DynamicNtk(m) => {
            put(&mut dict, "factor", json!(m.factor));
            "dynamic"
        }
        RopeScaling::NtkAware(m) => {
            theta = m.base(ctx);
            exact = false;
            "default"
        }
        RopeScaling::Abf(m) => {
            theta = m.theta;
            exact = false;
            "default"
        }
        RopeScaling::EntropyAwareAbf(m) => {
            theta = m.theta;
            exact = false;
            "default"
        }
        RopeScaling::Yarn(m) => {
            write_yarn(&mut dict, m);
            "yarn"
        }
        RopeScaling::DynamicYarn(m) => {
            write_yarn(&mut dict, &m.yarn);
            exact = false;
            "yarn"
        }
        RopeScaling::LongRope(m) => {
            put(&mut dict, "short_factor", json!(m.short_factor));
            put(&mut dict, "long_factor", json!(m.long_factor));
            if let Some(f) = m.factor {
                put(&mut dict, "factor", json!(f));
            }
            if let Some(l) = m.original_max_position_embeddings {
                put(&mut dict, "original_max_position_embeddings", json!(l));
            }
            match m.attention {
                LongRopeAttention::Su => {}
                LongRopeAttention::Explicit(a) => put(&mut dict, "attention_factor", json!(a)),
                LongRopeAttention::Yarn => {
                    put(&mut dict, "attention_factor", json!(m.attention_factor(ctx)));
                    exact = false;
                }
            }
            exact &= m.start_tokens == 0 && !m.dynamic_rescale && !m.monotonic;
            "longrope"
        }
        RopeScaling::Llama3(m) => {
            put(&mut dict, "factor", json!(m.factor));
            put(&mut dict, "low_freq_factor", json!(m.low_freq_factor));
            put(&mut dict, "high_freq_factor", json!(m.high_freq_factor));
            put(&mut dict, "original_max_position_embeddings", json!(m.original_max_position_embeddings));
            "llama3"
        }
        RopeScaling::Proportional(m) => {
            put(&mut dict, "factor", json!(m.factor));
            "proportional"
        }
        RopeScaling::E2Llm(m) => {
            exact = false;
            let g = m.scale(ctx, Some(ctx.max_position_embeddings));
            if g > 1.0 {
                put(&mut dict, "factor", json!(g));
                "linear"
            } else {
                "default"
            }
        }
    };
    dict.insert("rope_type".into(), json!(rope_type));

    let mut out = Map::new();
    out.insert("max_position_embeddings".into(), json!(cfg.max_position_embeddings));
    out.insert("head_dim".into(), json!(cfg.head_dim));
    if cfg.layout == PairLayout::Interleaved {
        out.insert(INTERLEAVE_KEY.into(), json!(true));
    }
    if let Some(l) = dict.get("original_max_position_embeddings") {
        // transformers 5.23 gives a top-level value priority over the dict's (and Phi3Config
        // always has one, class default 4096), so a stale one in the config this fragment is
        // merged into would otherwise win.
        out.insert("original_max_position_embeddings".into(), l.clone());
    }
    let partial = (cfg.partial_rotary_factor != 1.0).then(|| json!(cfg.partial_rotary_factor));
    match form {
        HfForm::V5 => {
            dict.insert("rope_theta".into(), json!(theta));
            if let Some(p) = partial {
                dict.insert("partial_rotary_factor".into(), p);
            }
            out.insert("rope_parameters".into(), Value::Object(dict));
        }
        HfForm::V4 => {
            out.insert("rope_theta".into(), json!(theta));
            if let Some(p) = partial {
                out.insert("partial_rotary_factor".into(), p);
            }
            let scaling = if rope_type == "default" { Value::Null } else { Value::Object(dict) };
            out.insert("rope_scaling".into(), scaling);
        }
    }
    if !exact {
        // Serialising our own plain data types cannot fail.
        let mut ext = serde_json::to_value(&cfg.scaling).unwrap_or_default();
        if let Some(map) = ext.as_object_mut() {
            map.insert("rope_theta".into(), json!(cfg.rope_theta));
        }
        out.insert(EXTENSION_KEY.into(), ext);
    }
    Value::Object(out)
}

fn write_yarn(dict: &mut Map<String, Value>, m: &Yarn) {
    dict.insert("factor".into(), json!(m.factor));
    let opts = [
        ("beta_fast", m.beta_fast),
        ("beta_slow", m.beta_slow),
        ("mscale", m.mscale),
        ("mscale_all_dim", m.mscale_all_dim),
        ("attention_factor", m.attention_factor),
    ];
    for (k, v) in opts {
        if let Some(v) = v {
            dict.insert(k.into(), json!(v));
        }
    }
    if let Some(l) = m.original_max_position_embeddings {
        dict.insert("original_max_position_embeddings".into(), json!(l));
    }
    if let Some(t) = m.truncate {
        dict.insert("truncate".into(), json!(t));
    }
}

fn read_yarn(keys: &mut Keys, original: Option<usize>, max_pos: usize) -> Result<Yarn, RopeError> {
    // transformers 5.23: a null `factor` means `max_position_embeddings / original`.
    let factor = match keys.dict.get("factor") {
        Some(Value::Null) => {
            keys.accept(&["factor"]);
            original.map(|l| max_pos as f64 / l as f64).ok_or_else(|| keys.missing("factor"))?
        }
        _ => keys.req_f64("factor")?,
    };
    Ok(Yarn {
        factor,
        original_max_position_embeddings: original,
        beta_fast: keys.opt_f64("beta_fast")?,
        beta_slow: keys.opt_f64("beta_slow")?,
        mscale: keys.opt_f64("mscale")?,
        mscale_all_dim: keys.opt_f64("mscale_all_dim")?,
        attention_factor: keys.opt_f64("attention_factor")?,
        truncate: keys.opt_bool("truncate")?,
    })
}

/// A JSON object.
type Object = Map<String, Value>;

/// The RoPE dict: `rope_scaling` (4.x) or `rope_parameters` (v5), if either is set.
fn rope_dict(top: &Object) -> Result<Option<&Object>, RopeError> {
    let get = |k: &str| top.get(k).filter(|v| !v.is_null());
    match (get("rope_scaling"), get("rope_parameters")) {
        (Some(_), Some(_)) => Err(RopeError::Unsupported {
            method: "config",
            field: "rope_scaling",
            value: "both rope_scaling and rope_parameters".into(),
            reason: "a config must use one form; transformers would silently prefer rope_scaling",
        }),
        (Some(v), None) => Ok(Some(v.as_object().ok_or_else(|| wrong_type("rope_scaling", "an object", v))?)),
        (None, Some(v)) => {
            let d = v.as_object().ok_or_else(|| wrong_type("rope_parameters", "an object", v))?;
            if d.values().any(Value::is_object) {
                return Err(RopeError::Unsupported {
                    method: "config",
                    field: "rope_parameters",
                    value: v.to_string(),
                    reason: "is keyed by layer type, which needs `layer_types` naming those types (see hf::read_layer_type_ropes)",
                });
            }
            Ok(Some(d))
        }
        (None, None) => Ok(None),
    }
}

fn rope_type(dict: &Map<String, Value>, model_type: &str) -> Result<String, RopeError> {
    let get = |k: &str| -> Result<Option<&str>, RopeError> {
        match dict.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(k, "a string", v)),
        }
    };
    let name = match (get("rope_type")?, get("type")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(RopeError::Unsupported {
                method: "config",
                field: "type",
                value: b.to_string(),
                reason: "`type` and `rope_type` disagree",
            });
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => "default",
    };
    Ok(match name {
        "su" => "longrope",
        "yarn" if model_type == "phi3" => "longrope",
        n => n,
    }
    .to_string())
}

fn head_dim(top: &Map<String, Value>) -> Result<usize, RopeError> {
    // DeepSeek-V2/V3 rotate only `qk_rope_head_dim` channels and have no `head_dim`;
    // transformers sets `head_dim = qk_rope_head_dim` for them.
    for key in ["head_dim", "qk_rope_head_dim"] {
        if let Some(h) = opt_usize(top, key)? {
            return Ok(h);
        }
    }
    if top.get("model_type").and_then(Value::as_str) == Some("gemma3_text") {
        return Ok(GEMMA3_HEAD_DIM);
    }
    let hidden = required_usize(top, "hidden_size", "config")?;
    let heads = required_usize(top, "num_attention_heads", "config")?;
    if heads == 0 {
        return Err(RopeError::BadInteger {
            method: "config",
            field: "num_attention_heads",
            value: 0,
            expected: ">= 1",
        });
    }
    Ok(hidden / heads)
}

/// Tracks which keys of the RoPE dict were used, to reject the rest.
struct Keys<'a> {
    dict: &'a Map<String, Value>,
    rope_type: String,
    used: Vec<&'static str>,
}

impl<'a> Keys<'a> {
    fn new(dict: &'a Map<String, Value>, rope_type: String) -> Self {
        Keys { dict, rope_type, used: vec!["rope_type", "type"] }
    }

    fn accept(&mut self, keys: &[&'static str]) {
        self.used.extend_from_slice(keys);
    }

    fn missing(&self, key: &'static str) -> RopeError {
        RopeError::MissingKey { rope_type: self.rope_type.clone(), key }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.dict.get(key).filter(|v| !v.is_null())
    }

    fn opt_f64(&mut self, key: &'static str) -> Result<Option<f64>, RopeError> {
        self.get(key).map(|v| number(key, v)).transpose()
    }

    fn req_f64(&mut self, key: &'static str) -> Result<f64, RopeError> {
        self.opt_f64(key)?.ok_or_else(|| self.missing(key))
    }

    fn opt_usize(&mut self, key: &'static str) -> Result<Option<usize>, RopeError> {
        self.get(key).map(|v| integer(key, v)).transpose()
    }

    fn opt_bool(&mut self, key: &'static str) -> Result<Option<bool>, RopeError> {
        self.get(key).map(|v| v.as_bool().ok_or_else(|| wrong_type(key, "a boolean", v))).transpose()
    }

    fn req_list(&mut self, key: &'static str) -> Result<Vec<f64>, RopeError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        let items = v.as_array().ok_or_else(|| wrong_type(key, "a list of numbers", v))?;
        items.iter().map(|x| number(key, x)).collect()
    }

    fn finish(self) -> Result<(), RopeError> {
        match self.dict.keys().find(|k| !self.used.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(RopeError::UnknownKey { rope_type: self.rope_type, key: k.clone() }),
        }
    }
}

/// Typed reads of `config.json` values, each error naming the key, the type required and the
/// value found (`` `hidden_size` must be a non-negative integer, got "64" ``). A `null` counts
/// as absent, as transformers' config classes treat it. Shared by every reader of the house's
/// configs (the model crate's architecture keys too), so a key is checked one way everywhere.
pub mod field {
    use serde_json::{Map, Value};

    use crate::error::RopeError;

    /// The error for `found` where `field` must be `expected` (`"a number"`).
    pub fn wrong_type(field: &str, expected: &'static str, found: &Value) -> RopeError {
        RopeError::WrongType { field: field.to_string(), expected, found: found.to_string() }
    }

    /// `v` as a number.
    pub fn number(field: &str, v: &Value) -> Result<f64, RopeError> {
        v.as_f64().ok_or_else(|| wrong_type(field, "a number", v))
    }

    /// `v` as a non-negative integer.
    pub fn integer(field: &str, v: &Value) -> Result<usize, RopeError> {
        v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| wrong_type(field, "a non-negative integer", v))
    }

    /// `map[key]` as a number, if present.
    pub fn opt_f64(map: &Map<String, Value>, key: &str) -> Result<Option<f64>, RopeError> {
        map.get(key).filter(|v| !v.is_null()).map(|v| number(key, v)).transpose()
    }

    /// `map[key]` as a non-negative integer, if present.
    pub fn opt_usize(map: &Map<String, Value>, key: &str) -> Result<Option<usize>, RopeError> {
        map.get(key).filter(|v| !v.is_null()).map(|v| integer(key, v)).transpose()
    }

    /// `map[key]` as a boolean, if present.
    pub fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, RopeError> {
        map.get(key)
            .filter(|v| !v.is_null())
            .map(|v| v.as_bool().ok_or_else(|| wrong_type(key, "a boolean", v)))
            .transpose()
    }

    /// `map[key]` as a non-negative integer, required (the error names `scope`, the method or
    /// `config`, that needs it).
    pub fn required_usize(map: &Map<String, Value>, key: &'static str, scope: &str) -> Result<usize, RopeError> {
        opt_usize(map, key)?.ok_or_else(|| RopeError::MissingKey { rope_type: scope.to_string(), key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::abf::PAPER_THETA;

    #[test]
    fn eabf_base_is_the_papers() {
        let rope = read_config(&json!({
            "hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 4096,
            "rope_scaling": {"type": "eabf", "factor": 4}
        }))
        .unwrap();
        match rope.scaling() {
            RopeScaling::EntropyAwareAbf(m) => assert_eq!(m.theta, PAPER_THETA),
            other => panic!("read as {other:?}"),
        }
    }
}
