#!/usr/bin/env bash
# Recreates data/base-model: the two training phases that made the committed base model.
# Phase 1: a byte-level BPE tokenizer (vocab 2048) trained on the corpus, a fresh 1.05M-parameter
# LLaMA, one epoch over every 256-token window of the training split plus 25% synthetic passkey
# samples (peak lr 2e-3, cosine, warmup 50). Phase 2: one epoch over 6,000 of those windows and
# 6,000 passkey samples (peak lr 1e-3), continuing from phase 1.
# About 40 minutes on 2 CPU cores with the default backend (add --backend tch to use libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf data/base-model
cargo run --release --example pretrain_base -- --out data/base-model --phase pretrain --epochs 1 "$@"
cargo run --release --example pretrain_base -- --init data/base-model --out data/base-model --phase passkey \
  --epochs 1 --passkey-fraction 1.0 --text-windows 6000 --lr 1e-3 "$@"
rm -rf data/base-model/checkpoints
