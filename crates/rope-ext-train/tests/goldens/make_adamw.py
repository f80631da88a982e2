#!/usr/bin/env python3
"""Writes adamw.json: torch.optim.AdamW with clip_grad_norm_ over three steps, the reference for
rope-ext-train's optimizer (torch 2.9.0, as pinned in tests/goldens/requirements.txt).

    .venv/bin/python crates/rope-ext-train/tests/goldens/make_adamw.py
"""

import json
import math
from pathlib import Path

import torch

torch.manual_seed(0)
a = torch.nn.Parameter(torch.tensor([math.sin(i) for i in range(7)], dtype=torch.float32))
b = torch.nn.Parameter(torch.tensor([0.5 * math.cos(3 * i) for i in range(5)], dtype=torch.float32))
initial = {"a": a.detach().tolist(), "b": b.detach().tolist()}
opt = torch.optim.AdamW([a, b], lr=1.0, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, foreach=False)
steps = []
for t, (scale, lr) in enumerate([(3.0, 1e-2), (0.2, 5e-3), (1.5, 2e-3)]):
    ga = torch.tensor([scale * math.cos(i + t) for i in range(7)], dtype=torch.float32)
    gb = torch.tensor([scale * math.sin(2 * i - t) for i in range(5)], dtype=torch.float32)
    a.grad, b.grad = ga.clone(), gb.clone()
    total = float(torch.nn.utils.clip_grad_norm_([a, b], 1.0))
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    steps.append({"grads": {"a": ga.tolist(), "b": gb.tolist()}, "lr": lr, "total_norm": total,
                  "after": {"a": a.detach().tolist(), "b": b.detach().tolist()}})
out = Path(__file__).with_name("adamw.json")
out.write_text(json.dumps({"torch": torch.__version__, "initial": initial, "steps": steps}, indent=1) + "\n")
print(f"wrote {out}")
