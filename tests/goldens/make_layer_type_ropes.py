#!/usr/bin/env python3
"""Goldens for per-layer-type RoPE: configs of Gemma 3 and Olmo 3 (both config forms) and a
Gemma-4-style `proportional` full-attention entry, each built by transformers 5.23 and run
through its own rotary embedding, per layer type: the inverse frequencies and the attention
scaling it applies.

    .venv/bin/python tests/goldens/make_layer_type_ropes.py   # writes tests/goldens/layer_type_ropes.json

Each case holds `config` (the config.json keys a user would write: the v5 `rope_parameters`
keyed by layer type, or the 4.x `rope_theta` / `rope_local_base_freq` / `rope_scaling`), the
`layer_types` transformers derived, and per type `inv_freq` (float32 values as float) and
`attention_scaling`. crates/rope-ext-core/tests/layer_type_ropes.rs reads each config with
`hf::read_layer_type_ropes` and compares.
"""

import importlib.metadata
import json
from pathlib import Path

from transformers import Gemma3TextConfig, Olmo3Config
from transformers.models.gemma3.modeling_gemma3 import Gemma3RotaryEmbedding
from transformers.models.olmo3.modeling_olmo3 import Olmo3RotaryEmbedding

OUT = Path(__file__).resolve().parent / "layer_type_ropes.json"
SIZES = {"vocab_size": 96, "hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4,
         "num_key_value_heads": 2, "head_dim": 64, "num_hidden_layers": 6, "max_position_embeddings": 131072}

CASES = [
    # Gemma 3 4B and up: linear factor 8 on the global layers (4.x form, as on the Hub)
    ("gemma3_v4_linear", "gemma3_text", {"rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0,
                                         "rope_scaling": {"rope_type": "linear", "factor": 8.0}}),
    ("gemma3_v4_defaults", "gemma3_text", {}),
    ("gemma3_v5_yarn", "gemma3_text", {"rope_parameters": {
        "full_attention": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768,
                           "rope_theta": 1_000_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}}}),
    ("gemma3_v5_proportional", "gemma3_text", {"rope_parameters": {
        "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}}}),
    # Olmo 3: YaRN on the full-attention layers (4.x form); rope_theta for both types
    ("olmo3_v4_yarn", "olmo3", {"rope_theta": 500_000.0, "rope_scaling": {
        "rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 8192,
        "attention_factor": 1.2079441541679836, "beta_fast": 32, "beta_slow": 1}}),
    ("olmo3_v5", "olmo3", {"rope_parameters": {
        "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 500_000.0}}}),
]


def build(model_type, extra):
    cls, emb_cls = {"gemma3_text": (Gemma3TextConfig, Gemma3RotaryEmbedding),
                    "olmo3": (Olmo3Config, Olmo3RotaryEmbedding)}[model_type]
    config = cls(**SIZES, **json.loads(json.dumps(extra)))
    return config, emb_cls(config)


def main():
    cases = []
    for name, model_type, extra in CASES:
        config, emb = build(model_type, extra)
        per_type = {}
        for layer_type in sorted(set(config.layer_types)):
            inv = getattr(emb, f"{layer_type}_inv_freq")
            per_type[layer_type] = {"inv_freq": [float(x) for x in inv],
                                    "attention_scaling": float(getattr(emb, f"{layer_type}_attention_scaling")),
                                    "rope_parameters": config.rope_parameters[layer_type]}
        cases.append({"name": name, "config": {"model_type": model_type, **SIZES, **extra},
                      "layer_types": config.layer_types, "types": per_type})
        print(name, {t: (len(v["inv_freq"]), round(v["attention_scaling"], 6)) for t, v in per_type.items()})
    versions = {p: importlib.metadata.version(p) for p in ("transformers", "torch")}
    OUT.write_text(json.dumps({"versions": versions, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
