#!/usr/bin/env bash
# Saves the model-level fixtures of the families whose layout differs from LLaMA's (Gemma 3's
# (1 + w) norms and per-layer-type RoPE, Qwen3's q/k norms, Phi-3's fused projections) through
# rope-ext (`Llama::save`, in model_level.rs) and loads
# each saved directory into transformers, comparing its logits with the fixture's reference
# (tests/goldens/check_saved_model.py). Output: tests/goldens/check_saved_models.out.
#
#     bash tests/goldens/check_saved_models.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
ROPE_EXT_SAVED_MODELS="$root" cargo test -q -p rope-ext-model --test model_level -- qwen3 phi3 gemma3 >/dev/null
{
    .venv/bin/python -c 'import torch, transformers; print(f"transformers {transformers.__version__}, torch {torch.__version__}")'
    for name in qwen3 phi3_longrope phi3_sliding gemma3; do
        .venv/bin/python tests/goldens/check_saved_model.py "$root/$name" "tests/fixtures/model-level/$name" 2>/dev/null \
            | sed "s|$root|SAVED|"
    done
} | tee tests/goldens/check_saved_models.out
