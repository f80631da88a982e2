#!/usr/bin/env python3
"""The PyTorch side of the model benchmark: one timing of transformers' LlamaForCausalLM, with the
same interface and output line as the `bench_model` example (tokens per second, best of
`--repeats` after a warm-up; peak RSS of this process)."""

import argparse
import json
import resource
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--len", type=int, required=True)
    p.add_argument("--mode", choices=["forward", "train"], default="forward")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    vocab = model.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13) % vocab for i in range(a.len)]])
    best = float("inf")
    for rep in range(a.repeats + 1):
        start = time.perf_counter()
        if a.mode == "train":
            model.train()
            out = model(ids, labels=ids)
            out.loss.backward()
            model.zero_grad(set_to_none=True)
        else:
            model.eval()
            with torch.no_grad():
                model(ids).logits[:, -1].sum().item()
        secs = time.perf_counter() - start
        if rep > 0:
            best = min(best, secs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": f"pytorch-{torch.__version__}/{model.config._attn_implementation}", "mode": a.mode,
                      "len": a.len, "seconds": round(best, 4), "tokens_per_s": round(a.len / best, 1),
                      "peak_rss_bytes": peak}))


if __name__ == "__main__":
    main()
