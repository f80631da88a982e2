#!/usr/bin/env python3
"""Golden attention-entropy values computed with numpy (float64), for rope-ext-entropy's tests.

    .venv/bin/pip install -r tests/goldens/requirements.txt      # numpy is pinned there
    .venv/bin/python crates/rope-ext-entropy/tests/goldens/generate.py

Writes rows.json beside this script: float32 logit rows, optional keep masks (False = masked),
and the entropy in nats of softmax(scale * logits) over the kept entries, computed directly as
-sum(p * log p) from a max-subtracted softmax (a different formula from the crate's ln Z - S/Z).
"""

import json
import sys
from pathlib import Path

import numpy as np

rng = np.random.default_rng(20261123)
OUT = Path(__file__).with_name("rows.json")


def entropy(logits, keep, scale):
    z = logits.astype(np.float64)[keep] * scale
    z = z[np.isfinite(z)]
    p = np.exp(z - z.max())
    p /= p.sum()
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


rows = []


def add(name, logits, keep=None, scales=(1.0,)):
    logits = np.asarray(logits, dtype=np.float32)
    keep_arr = np.ones(len(logits), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    rows.append({
        "name": name,
        "logits": [float(x) if np.isfinite(x) else None for x in logits],  # None = -inf
        "keep": None if keep is None else [bool(k) for k in keep_arr],
        "entropies": [{"scale": s, "entropy": entropy(logits, keep_arr, s)} for s in scales],
    })


add("uniform_7", np.zeros(7))
add("two_levels", [0, 0, 0, 2, 2], scales=(0.5, 1.0, 3.0))
for n in (16, 256, 4096):
    for sd in (0.5, 2.0, 8.0):
        add(f"normal_n{n}_sd{sd}", rng.normal(0, sd, n), scales=(0.25, 1.0, 1.25, 4.0))
add("large_offsets", rng.normal(0, 1, 64) + 1e4, scales=(1.0, 2.0))
add("peaked", np.concatenate([[30.0], rng.normal(0, 1, 99)]))
mask = rng.random(512) < 0.7
add("padding_mask", rng.normal(0, 3, 512), keep=mask, scales=(1.0, 2.0))
neg = rng.normal(0, 1, 32)
neg[::3] = -np.inf
add("neg_inf_entries", neg)
logits = rng.normal(0, 2, 300)
add("causal_prefix_120", logits, keep=np.arange(300) <= 120)

OUT.write_text(json.dumps({"numpy": np.__version__, "python": sys.version.split()[0], "rows": rows}) + "\n")
print(f"wrote {len(rows)} rows to {OUT} (numpy {np.__version__})")
