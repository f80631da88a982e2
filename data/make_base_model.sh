#!/usr/bin/env bash
# Recreates data/base-model exactly as committed, in three phases of examples/pretrain_base.rs,
# each a configuration in data/pretrain/ (rope_ext_train::pretrain::PretrainConfig):
# 1. pretrain: a byte-level BPE tokenizer (vocab 2048) trained on the corpus, a fresh 1.05M-parameter
#    LLaMA, one epoch over every 256-token window of the training split plus 25% synthetic passkey
#    samples (batch 16, peak lr 2e-3, cosine, warmup 50). About 23 minutes on 2 CPU cores.
#    Validation perplexity 41 at 256 tokens, but passkey accuracy 0%: the model never learns to
#    copy, and its ten digit tokens stay nearly identical (mean cosine similarity 0.91).
# 2. numbers: copying repeated strings of random numbers, 64 tokens per sample (batch 32, lr 2e-3,
#    1,200 steps, 9 minutes): the digits become distinguishable and induction heads form (the copy
#    loss is near 2.2 at steps 100–200, 1.6 at step 450 and 0.25 at step 700, in
#    train_log-numbers.jsonl); the language model is lost meanwhile.
# 3. passkey: a mix of corpus windows, passkey samples with the loss on the answer (prompts of
#    110 to 256 tokens), and text and number copy samples at 256 (batch 32, lr 1e-3, 2 epochs),
#    626 steps, 30 minutes), which restores the language model and teaches retrieval inside the
#    window: validation perplexity 49.9 and passkey accuracy 100% (30 trials) at 256 tokens.
# Each phase writes train_log-PHASE.jsonl and eval-PHASE.json (perplexity and passkey at 256).
# Add --backend tch to use libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/base-model
rm -rf "$out"
for phase in pretrain numbers passkey; do
    cargo run --release --example pretrain_base -- --config "data/pretrain/$phase.json" --out "$out" "$@"
done
rm -rf "$out/checkpoints"
