#!/usr/bin/env python3
"""Check that transformers loads a model directory exported by rope-ext-train (`run::export`, e.g.
`extend_100_samples --export DIR`) and computes the logits rope-ext computed for the same tokens.

    cargo run --release --example forward -- --model DIR --tokens @IDS.json --out OURS.safetensors
    .venv/bin/python tests/goldens/check_export.py DIR OURS.safetensors IDS.json

Methods transformers cannot express (entropy-aware ABF's logit scalar, LongRoPE's start tokens,
E2-LLM) are written to the `rope_ext` extension object, which transformers ignores; for those the
script reports the difference without failing.
"""

import json
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(saved, ours, ids_path):
    cfg = json.load(open(f"{saved}/config.json"))
    model = AutoModelForCausalLM.from_pretrained(saved, dtype=torch.float32, attn_implementation="eager").eval()
    ids = torch.tensor(json.load(open(ids_path)))[None, :]
    with torch.no_grad():
        logits = model(ids).logits[0]
    err = float((logits - load_file(ours)["logits"]).abs().max())
    expressible = "rope_ext" not in cfg
    print(f"{saved}: rope_parameters={model.config.rope_parameters} extension={cfg.get('rope_ext')} "
          f"max |Δlogit| = {err:.2e}")
    sys.exit(0 if err <= 1e-3 or not expressible else 1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
