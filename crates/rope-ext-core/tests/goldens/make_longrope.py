#!/usr/bin/env python3
"""Golden values for LongRoPE's start tokens, attention factor and dynamic rescale.

An independent reimplementation in numpy of the formulas of the LongRoPE reference code,
microsoft/LongRoPE at commit c9e56aa (the newest on GitHub when this was written):

- `rope/longrope.py::LongRoPEScaledRotaryEmbedding`:
  `inv_freq_i = 1 / (λ_i · b^(2i/d))`; cos and sin multiplied by `mscale`, computed once from
  `s = max_position_embeddings / original_max_position_embeddings`:
  `su`: `sqrt(1 + ln s / ln L)` for `s > 1`, else 1; `yarn`: `0.1 ln s + 1` for `s > 1`, else 1;
  any other policy string is read as a literal float.
- `MixedLongRoPEScaledRotaryEmbedding` (the start tokens `n̂ = start_token_idx`): rows
  `[:start_token_idx]`, i.e. positions `0 .. n̂ − 1`, are overwritten with the *original* model's
  cos/sin (unscaled `θ_i = b^(-2i/d)`, no mscale); position `n̂` and later keep the rescaled
  frequencies and the mscale. (As released this class cannot run: `original_embeddings` is a
  one-shot generator and `forward` passes one tuple to a two-argument method; we follow what it
  is written to compute, which is also paper Eq. 3.)
- `DynamicLongRoPEScaledRotaryEmbedding`:
  `λ'_i = 1 + (λ_i − 1) · ((n/L − 1) / (s − 1))`, `n` the current sequence length; the mscale is
  not recomputed (it stays at `s = max_position_embeddings / L`).
- `evolution/search.py::rescale(target, origin, factors) = 1 + (factors − 1)·((target − 1)/(origin − 1))`.

Short/long factor lists (Phi-3 / HF `longrope`): the long list iff the current sequence length
`n > L`, else the short one (also for `n = None`, "as at model initialisation").

Everything is evaluated in float64 (the reference runs in float32; rope-ext computes in f64 and
rounds the table once to f32, so f64 is the like-for-like reference).

Pinned: numpy==2.4.6 (also in tests/goldens/requirements.txt); the script refuses other versions.
Run from the repository root:

    .venv/bin/python crates/rope-ext-core/tests/goldens/make_longrope.py

It writes crates/rope-ext-core/tests/goldens/longrope_reference.json, read by
crates/rope-ext-core/tests/longrope_reference.rs.
"""

import json
import math
import re
import sys
from pathlib import Path

import numpy as np

NUMPY_VERSION = "2.4.6"
REFERENCE = "microsoft/LongRoPE@c9e56aa rope/longrope.py, evolution/search.py"
OUT = Path(__file__).with_name("longrope_reference.json")


def default_inv_freq(head_dim, base):
    """`θ_i = 1 / b^(2i/d)`, as the reference's unscaled model builds it."""
    return 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))


def scaled_inv_freq(head_dim, base, factors):
    """`θ_i / λ_i = 1 / (λ_i · b^(2i/d))` (`_calc_inv_freq`)."""
    exponent = np.arange(0, head_dim, 2, dtype=np.float64) / head_dim
    return 1.0 / (np.asarray(factors, dtype=np.float64) * (base ** exponent))


def mscale(policy, scale, original):
    """The reference's `_calc_mscale_su` / `_calc_mscale_yarn` / literal float."""
    if policy == "su":
        return 1.0 if scale <= 1.0 else math.sqrt(1.0 + math.log(scale) / math.log(original))
    if policy == "yarn":
        return 1.0 if scale <= 1.0 else 0.1 * math.log(scale) + 1.0
    return float(policy)


def dynamic_factors(factors, seq_len, max_pos, original):
    """`DynamicLongRoPEScaledRotaryEmbedding._calc_inv_freq`'s rescale."""
    current_scale = seq_len / original
    original_scale = max_pos / original
    dynamic_scale = (current_scale - 1.0) / (original_scale - 1.0)
    return 1.0 + (np.asarray(factors, dtype=np.float64) - 1.0) * dynamic_scale


def search_rescale(target, origin, factors):
    """`evolution/search.py::rescale`."""
    return 1.0 + (np.asarray(factors, dtype=np.float64) - 1.0) * ((target - 1.0) / (origin - 1.0))


def table_case(name, head_dim, base, max_pos, original, start_tokens, policy, short, long_, seq_lens, positions,
               dynamic=False):
    assert len(short) == len(long_) == head_dim // 2
    scale = max_pos / original
    a = mscale(policy, scale, original)
    unscaled = default_inv_freq(head_dim, base)
    evals = []
    for n in seq_lens:
        is_long = n is not None and n > original
        factors = np.asarray(long_ if is_long else short, dtype=np.float64)
        if dynamic:
            assert is_long, "the reference's dynamic class has one list; only n > L is compared"
            factors = dynamic_factors(long_, n, max_pos, original)
        inv = scaled_inv_freq(head_dim, base, factors)
        cos, sin = [], []
        for m in positions:
            m = float(m)
            if m < start_tokens:  # rows [:start_token_idx] come from the original model
                angle, amp = m * unscaled, 1.0
            else:
                angle, amp = m * inv, a
            cos.append((np.cos(angle) * amp).tolist())
            sin.append((np.sin(angle) * amp).tolist())
        evals.append({
            "seq_len": n,
            "long": is_long,
            "factors": factors.tolist(),
            "inv_freq": inv.tolist(),
            "attention_factor": a,
            "positions": positions,
            "cos": cos,
            "sin": sin,
        })
    return {
        "name": name,
        "head_dim": head_dim,
        "rope_theta": base,
        "max_position_embeddings": max_pos,
        "original_max_position_embeddings": original,
        "start_tokens": start_tokens,
        "policy": policy,
        "short_factor": list(short),
        "long_factor": list(long_),
        "dynamic_rescale": dynamic,
        "default_inv_freq": unscaled.tolist(),
        "evals": evals,
    }


def main():
    if np.__version__ != NUMPY_VERSION:
        sys.exit(f"numpy {np.__version__} found, the goldens were pinned to numpy=={NUMPY_VERSION}")

    # d = 16, L = 512, s = 8, n̂ = 4: factors on the search's 0.01 grid, within [1, 1.25 s].
    short8 = [1.0, 1.0, 1.01, 1.03, 1.06, 1.1, 1.15, 1.2]
    long8 = [1.0, 1.25, 1.8, 2.6, 3.9, 5.5, 7.4, 9.6]
    pos8 = list(range(8)) + [100, 511, 512, 2047, 8191]
    # d = 32, L = 4096, s = 32, n̂ = 64 (from the paper's search space); long factors not monotone,
    # as released checkpoints' need not be.
    short16 = [1.0, 1.0, 1.0, 1.01, 1.01, 1.02, 1.03, 1.05, 1.07, 1.1, 1.14, 1.18, 1.22, 1.27, 1.32, 1.4]
    long16 = [1.0, 1.07, 1.3, 1.9, 2.8, 4.4, 6.1, 9.0, 12.5, 16.2, 21.0, 26.3, 25.9, 31.7, 36.4, 40.0]
    pos16 = [0, 1, 62, 63, 64, 65, 4095, 4096, 100000, 131071]

    tables = [
        table_case("s8_nhat4_su", 16, 10000.0, 4096, 512, 4, "su", short8, long8,
                   [None, 300, 512, 513, 4096], pos8),
        table_case("s8_nhat4_yarn", 16, 10000.0, 4096, 512, 4, "yarn", short8, long8, [300, 4096], pos8),
        table_case("s8_nhat4_explicit", 16, 10000.0, 4096, 512, 4, "1.3", short8, long8, [300, 4096], pos8),
        table_case("s32_nhat64_su", 32, 10000.0, 131072, 4096, 64, "su", short16, long16,
                   [None, 4096, 4097, 131072], pos16),
        table_case("s32_nhat64_yarn_theta5e5", 32, 500000.0, 131072, 4096, 64, "yarn", short16, long16,
                   [1000, 131072], pos16),
        table_case("s8_nhat4_su_dynamic", 16, 10000.0, 4096, 512, 4, "su", short8, long8,
                   [513, 768, 1024, 2048, 4096, 8192], [0, 3, 4, 5, 600, 2047, 8191], dynamic=True),
    ]

    attention = []
    for policy in ("su", "yarn"):
        for max_pos, original in [(131072, 4096), (4096, 512), (6144, 4096), (8192, 4096), (262144, 8192),
                                  (4096, 4096), (2048, 4096)]:
            scale = max_pos / original
            attention.append({"policy": policy, "max_position_embeddings": max_pos,
                              "original_max_position_embeddings": original, "scale": scale,
                              "value": mscale(policy, scale, original)})

    rescale = []
    for origin, targets in [(8.0, [0.5, 1.0, 1.5, 2.0, 4.0, 8.0, 16.0]), (32.0, [1.0, 2.0, 16.0, 32.0, 64.0])]:
        for target in targets:
            rescale.append({"factors": long16 if origin == 32.0 else long8, "from": origin, "to": target,
                            "value": search_rescale(target, origin, long16 if origin == 32.0 else long8).tolist()})

    out = {
        "generator": "crates/rope-ext-core/tests/goldens/make_longrope.py",
        "numpy": NUMPY_VERSION,
        "reference": REFERENCE,
        "tables": tables,
        "attention_factors": attention,
        "rescale": rescale,
    }
    text = json.dumps(out, indent=1)
    # one line per innermost list (a table row, a factor list), for readable diffs
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
