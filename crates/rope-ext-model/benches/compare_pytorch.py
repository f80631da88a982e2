#!/usr/bin/env python3
"""Side-by-side model benchmark: rope-ext (burn) against PyTorch (transformers LlamaForCausalLM), in
one run, same machine, same thread count, one process per measurement.

    cargo build --release --example bench_model            # add --features tch for the tch backend
    .venv/bin/python crates/rope-ext-model/benches/compare_pytorch.py [--backends cpu,tch] [--lens 512,2048,8192]

It creates a ~30M-parameter LLaMA (hidden 512, 8 layers, 8 heads of 64, 4 KV heads, SwiGLU
1376, vocab 8192, untied head; random weights) under target/bench-llama-30m with transformers,
then times forward and forward+backward at each length for each backend and for PyTorch, and a
16,384-token forward of rope-ext's default backend for the memory target. Prints a markdown table;
with `--json FILE`, also writes every measurement (the JSON line each process printed, plus the
ratio to PyTorch) and the settings to FILE, the raw output a README table is made from.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "target" / "bench-llama-30m"
BIN = ROOT / "target" / "release" / "examples" / "bench_model"


def make_model():
    if (MODEL / "model.safetensors").exists():
        return
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=8192, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                      num_attention_heads=8, num_key_value_heads=4, head_dim=64, max_position_embeddings=16384,
                      tie_word_embeddings=False, rope_theta=10000.0)
    model = LlamaForCausalLM(cfg)
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(MODEL)
    print(f"created {MODEL} ({n / 1e6:.1f}M parameters)", file=sys.stderr)


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backends", default="cpu")
    p.add_argument("--lens", default="512,2048,8192")
    p.add_argument("--modes", default="forward,train")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--json", type=Path, help="write every measurement here")
    a = p.parse_args()
    make_model()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), RAYON_NUM_THREADS=str(a.threads))
    rows = []
    for mode in a.modes.split(","):
        for n in map(int, a.lens.split(",")):
            torch_row = run([sys.executable, str(Path(__file__).with_name("pytorch_model.py")), "--model", str(MODEL),
                             "--len", str(n), "--mode", mode, "--threads", str(a.threads), "--repeats", str(a.repeats)], env)
            rows.append(torch_row)
            for backend in a.backends.split(","):
                r = run([str(BIN), "--model", str(MODEL), "--len", str(n), "--mode", mode, "--backend", backend,
                         "--repeats", str(a.repeats)], env)
                if "tokens_per_s" in r and "tokens_per_s" in torch_row:
                    r["vs_pytorch"] = round(r["tokens_per_s"] / torch_row["tokens_per_s"], 2)
                rows.append(r)
            print(json.dumps(rows[-1]), file=sys.stderr)
    rows.append(run([str(BIN), "--model", str(MODEL), "--len", "16384", "--mode", "forward", "--backend",
                     a.backends.split(",")[0], "--repeats", "1"], env))
    if a.json:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
        a.json.write_text(json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n")
    print(f"threads: {a.threads}\n")
    print("| implementation | mode | tokens | tokens/s | vs PyTorch | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| error | | | {r['error']} | | |")
            continue
        print(f"| {r['impl']} | {r['mode']} | {r['len']} | {r['tokens_per_s']:.0f} | {r.get('vs_pytorch', '')} | "
              f"{r['peak_rss_bytes'] / 2**20:.0f} |")


if __name__ == "__main__":
    main()
