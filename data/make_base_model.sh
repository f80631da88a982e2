#!/usr/bin/env bash
# Recreates data/base-model exactly as committed.
# One phase: a byte-level BPE tokenizer (vocab 2048) trained on the corpus, a fresh 1.05M-parameter
# LLaMA, one epoch over every 256-token window of the training split plus 25% synthetic passkey
# samples (peak lr 2e-3, cosine, warmup 50).
# About 23 minutes on 2 CPU cores with the default backend (add --backend tch to use libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf data/base-model
cargo run --release --example pretrain_base -- --out data/base-model --phase pretrain --epochs 1 "$@"
rm -rf data/base-model/checkpoints
