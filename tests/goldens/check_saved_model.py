#!/usr/bin/env python3
"""Load a model directory saved by rope-ext (`Llama::save`) with transformers and compare its logits
with the reference of the fixture it came from.

    .venv/bin/python tests/goldens/check_saved_model.py SAVED_DIR tests/fixtures/tiny-llama/VARIANT
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(saved, fixture):
    model = AutoModelForCausalLM.from_pretrained(saved, dtype=torch.float32, attn_implementation="eager").eval()
    ref = load_file(str(Path(fixture) / "reference.safetensors"))
    with torch.no_grad():
        logits = model(ref["input_ids"][None, :]).logits[0]
    err = float((logits - ref["logits_long"]).abs().max())
    print(f"{saved}: rope_parameters={model.config.rope_parameters} max |Δlogit| vs reference = {err:.2e}")
    sys.exit(0 if err <= 1e-4 else 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
