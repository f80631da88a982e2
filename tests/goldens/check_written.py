#!/usr/bin/env python3
"""Prove that transformers loads every config rope-ext writes and computes the same frequencies.

tests/goldens/written_configs.json is the snapshot `crates/rope-ext-core/tests/config_roundtrip.rs`
keeps of `rope_ext_core::hf::write_config` for every method, in both config forms. For each entry
this script builds a transformers config from it (LlamaConfig; the `rope_ext` key is kept as an
ordinary attribute, which transformers ignores), computes the RoPE parameters transformers would use
at model initialisation, and compares them with the frequencies rope-ext computed (stored in the
entry): inv_freq within 2e-6 relative, attention_factor within 1e-9.

    .venv/bin/python tests/goldens/check_written.py
"""

import json
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.phi3.modeling_phi3 import Phi3RotaryEmbedding

SNAPSHOT = Path(__file__).with_name("written_configs.json")


def main():
    failures = 0
    entries = json.loads(SNAPSHOT.read_text())
    for entry in entries:
        cfg = dict(entry["config"])
        cfg.pop("model_type")
        config = LlamaConfig(vocab_size=32, num_hidden_layers=1, intermediate_size=8, **cfg)
        rope_type = config.rope_parameters["rope_type"]
        if rope_type == "default":
            # Phi3's default honours partial_rotary_factor (Llama's ignores it)
            inv_freq, attn = Phi3RotaryEmbedding.compute_default_rope_parameters(config)
        else:
            inv_freq, attn = ROPE_INIT_FUNCTIONS[rope_type](config, None)
        theirs = inv_freq.double()
        ours = torch.tensor(entry["inv_freq"], dtype=torch.float64)
        ok = theirs.shape == ours.shape and bool(((theirs - ours).abs() <= 2e-6 * theirs.abs()).all())
        ok = ok and abs(float(attn) - entry["attention_factor"]) <= 1e-9
        print(f"{'ok  ' if ok else 'FAIL'} {entry['name']:<32} rope_type={rope_type:<12} attention_factor={float(attn):.9f}")
        failures += not ok
    print(f"{len(entries) - failures}/{len(entries)} written configs load in transformers with the same frequencies")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
