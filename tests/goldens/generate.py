#!/usr/bin/env python3
"""Golden values for rope-ext-core, computed by the real reference: HF transformers.

Run from the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tests/goldens/requirements.txt
    .venv/bin/python tests/goldens/generate.py

It writes tests/goldens/rope_goldens.json. Each case holds:
- `hf_config`: the config.json transformers is given;
- `our_config`: the config.json rope-ext reads (the same unless the method is not expressible in
  transformers, in which case it carries a `rope_ext` object and `hf_config` is the transformers
  equivalent, e.g. ABF = default RoPE with a larger `rope_theta`);
- `evals`: for each current sequence length (null = as at model initialisation) transformers'
  float32 `inv_freq`, its `attention_factor`, and cos/sin (`[positions, rotary_dim/2]`, the first
  half of HF's duplicated rows) at a few positions;
- `runtime` (dynamic and longrope cases): the `inv_freq` HF's RotaryEmbedding holds after each call
  of a sequence of forward passes, to check growth/reset and short/long switching.
"""

import copy
import json
import math
import sys
from pathlib import Path

import torch
import transformers
from transformers import DeepseekV3Config, LlamaConfig, Phi3Config
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
from transformers.models.phi3.modeling_phi3 import Phi3RotaryEmbedding

POSITIONS = [0, 1, 7, 100, 300]
OUT = Path(__file__).with_name("rope_goldens.json")


def llama(head_dim, theta, max_pos, rope=None, **extra):
    cfg = {
        "model_type": "llama",
        "hidden_size": head_dim * 4,
        "num_attention_heads": 4,
        "head_dim": head_dim,
        "max_position_embeddings": max_pos,
        "rope_theta": theta,
    }
    if rope is not None:
        cfg["rope_scaling"] = rope
    cfg.update(extra)
    return cfg


def phi3(head_dim, theta, max_pos, rope=None, **extra):
    cfg = llama(head_dim, theta, max_pos, rope, **extra)
    cfg["model_type"] = "phi3"
    del cfg["head_dim"]  # Phi3Config derives it from hidden_size / num_attention_heads
    return cfg


def build(cfg):
    # transformers standardises the rope dict in place: hand it a copy so the fixture keeps the
    # config exactly as written.
    kwargs = {k: v for k, v in copy.deepcopy(cfg).items() if k not in ("model_type",)}
    kwargs.setdefault("num_key_value_heads", 4)
    kwargs.update(vocab_size=32, num_hidden_layers=1, intermediate_size=8)
    if cfg["model_type"] == "phi3":
        return Phi3Config(**kwargs), Phi3RotaryEmbedding
    if cfg["model_type"] == "deepseek_v3":
        return DeepseekV3Config(**kwargs), None
    return LlamaConfig(**kwargs), LlamaRotaryEmbedding


def f32(x):
    """A float32 value as the shortest decimal that round-trips (9 significant digits)."""
    return float(f"{float(x):.9g}")


def evaluate(cfg, seq_len):
    config, emb_cls = build(cfg)
    rope_type = config.rope_parameters["rope_type"]
    if rope_type == "default":
        inv_freq, attn = emb_cls.compute_default_rope_parameters(config)
    else:
        inv_freq, attn = ROPE_INIT_FUNCTIONS[rope_type](config, None, seq_len=seq_len)
    inv_freq = inv_freq.float()
    # cos/sin exactly as LlamaRotaryEmbedding.forward forms them (angle in float32)
    pos = torch.tensor(POSITIONS, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq[None, :]
    return {
        "seq_len": seq_len,
        "inv_freq": [f32(x) for x in inv_freq],
        "attention_factor": float(attn),
        "positions": POSITIONS,
        "cos": [[f32(x) for x in row] for row in (freqs.cos() * attn)],
        "sin": [[f32(x) for x in row] for row in (freqs.sin() * attn)],
    }


def runtime(cfg, lengths):
    """inv_freq held by the RotaryEmbedding after each forward of `n` positions."""
    config, emb_cls = build(cfg)
    emb = emb_cls(config)
    x = torch.zeros(1, 1, 4)
    states = []
    for n in lengths:
        emb(x, torch.arange(n)[None, :])
        states.append({"seq_len": n, "inv_freq": [f32(v) for v in emb.inv_freq]})
    return states


CASES = []


def case(name, hf_config, seq_lens=(None,), our_config=None, runtime_lengths=None):
    CASES.append((name, hf_config, our_config or hf_config, seq_lens, runtime_lengths))


# --- default, with partial rotary (Phi3's default honours partial_rotary_factor) ---
for hd in (64, 128):
    for theta in (10_000.0, 500_000.0, 1_000_000.0):
        case(f"default_hd{hd}_theta{int(theta)}", llama(hd, theta, 4096))
case("default_partial_0.5_hd128", phi3(128, 10_000.0, 4096, partial_rotary_factor=0.5))
case("default_v5_form_hd64", {k: v for k, v in llama(64, 0, 2048).items() if k != "rope_theta"}
     | {"rope_parameters": {"rope_type": "default", "rope_theta": 250_000.0}})

# transformers merges rope_theta / partial_rotary_factor: the dict's value, then the top level's
case("default_v5_top_level_theta", llama(64, 500_000.0, 4096) | {"rope_parameters": {"rope_type": "default"}})
case("default_v5_top_level_partial", phi3(128, 10_000.0, 4096, partial_rotary_factor=0.5)
     | {"rope_parameters": {"rope_type": "default", "rope_theta": 20_000.0}})
case("linear_4x_theta_in_dict", llama(64, 10_000.0, 4096, {"rope_type": "linear", "factor": 2.0,
                                                          "rope_theta": 50_000.0}))
# DeepSeek-V3's config.json has no head_dim: transformers rotates qk_rope_head_dim (64) channels,
# not hidden_size / num_attention_heads (7168 / 128 = 56)
case("yarn_deepseek_v3_config", {"model_type": "deepseek_v3", "hidden_size": 7168, "num_attention_heads": 128,
                                 "num_key_value_heads": 128, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
                                 "v_head_dim": 128, "max_position_embeddings": 163840, "rope_theta": 10_000.0,
                                 "rope_scaling": {"type": "yarn", "factor": 40, "beta_fast": 32, "beta_slow": 1,
                                                  "mscale": 1.0, "mscale_all_dim": 1.0,
                                                  "original_max_position_embeddings": 4096}})

# --- linear / PI (int and float factors, `type` and `rope_type`) ---
for hd in (64, 128):
    for f in (2, 4.0, 8.0):
        case(f"linear_hd{hd}_s{f}", llama(hd, 10_000.0, 4096, {"type": "linear", "factor": f}))
case("linear_partial_0.5", llama(128, 10_000.0, 4096, {"rope_type": "linear", "factor": 4.0},
                                 partial_rotary_factor=0.5))

# --- dynamic NTK, on both sides of L, and its growth/reset rules ---
for hd in (64, 128):
    for f in (2.0, 4.0):
        case(f"dynamic_hd{hd}_s{f}", llama(hd, 10_000.0, 4096, {"rope_type": "dynamic", "factor": f}),
             seq_lens=(None, 1024, 4096, 4097, 8192, 16384),
             runtime_lengths=[100, 5000, 8000, 6000, 4096, 100, 3000, 9000])

# --- YaRN ---
for hd in (64, 128):
    for f in (4.0, 16.0, 32.0):
        case(f"yarn_hd{hd}_s{f}", llama(hd, 10_000.0, int(4096 * f),
                                        {"rope_type": "yarn", "factor": f,
                                         "original_max_position_embeddings": 4096}))
case("yarn_no_original", llama(128, 10_000.0, 4096, {"rope_type": "yarn", "factor": 8.0}))
case("yarn_betas_128_2", llama(128, 10_000.0, 32768, {"rope_type": "yarn", "factor": 8.0, "beta_fast": 128,
                                                      "beta_slow": 2, "original_max_position_embeddings": 4096}))
case("yarn_betas_float", llama(64, 500_000.0, 32768, {"rope_type": "yarn", "factor": 4.0, "beta_fast": 16.5,
                                                       "beta_slow": 0.5, "original_max_position_embeddings": 8192}))
case("yarn_truncate_false", llama(128, 10_000.0, 65536, {"rope_type": "yarn", "factor": 16.0, "truncate": False,
                                                         "original_max_position_embeddings": 4096}))
case("yarn_attention_factor", llama(128, 10_000.0, 65536, {"rope_type": "yarn", "factor": 16.0,
                                                           "attention_factor": 1.5,
                                                           "original_max_position_embeddings": 4096}))
case("yarn_explicit_factor_beats_ratio", llama(128, 10_000.0, 65536, {"rope_type": "yarn", "factor": 4.0,
                                                                     "original_max_position_embeddings": 4096}))
case("yarn_deepseek_v3", llama(64, 10_000.0, 163840, {"type": "yarn", "factor": 40, "beta_fast": 32,
                                                     "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0,
                                                     "original_max_position_embeddings": 4096}))
case("yarn_deepseek_v2_lite", llama(64, 10_000.0, 163840, {"type": "yarn", "factor": 40, "mscale": 0.707,
                                                          "mscale_all_dim": 0.707,
                                                          "original_max_position_embeddings": 4096}))
case("yarn_mscale_ratio", llama(64, 10_000.0, 65536, {"rope_type": "yarn", "factor": 16.0, "mscale": 1.0,
                                                     "mscale_all_dim": 0.5,
                                                     "original_max_position_embeddings": 4096}))
case("yarn_mscale_alone_is_ignored", llama(64, 10_000.0, 65536, {"rope_type": "yarn", "factor": 16.0,
                                                                "mscale": 0.707,
                                                                "original_max_position_embeddings": 4096}))
case("yarn_qwen", llama(128, 1_000_000.0, 131072, {"rope_type": "yarn", "factor": 4.0,
                                                    "original_max_position_embeddings": 32768}))
case("yarn_partial_0.5", llama(128, 10_000.0, 32768, {"rope_type": "yarn", "factor": 8.0,
                                                       "original_max_position_embeddings": 4096},
                               partial_rotary_factor=0.5))
case("yarn_v5_form", {k: v for k, v in llama(128, 0, 65536).items() if k != "rope_theta"}
     | {"rope_parameters": {"rope_type": "yarn", "rope_theta": 10_000.0, "factor": 16.0,
                            "original_max_position_embeddings": 4096, "beta_fast": 32.0, "beta_slow": 1.0}})

# --- dynamic YaRN: HF yarn with factor max(s0, n/L) ---
for n, s in ((None, 2.0), (8192, 2.0), (32768, 8.0)):
    case(f"dynamic_yarn_n{n}", llama(128, 10_000.0, 8192, {"rope_type": "yarn", "factor": s,
                                                          "original_max_position_embeddings": 4096}),
         seq_lens=(n,),
         our_config=llama(128, 10_000.0, 8192, {"rope_type": "dynamic-yarn", "factor": 2.0, "finetuned": True,
                                                "original_max_position_embeddings": 4096}))

# --- LongRoPE / Phi-3 ---
def factors(n, top, power):
    return [round(1.0 + (top - 1.0) * (i / (n - 1)) ** power, 4) for i in range(n)]


for hd in (64, 96):
    short, long_ = factors(hd // 2, 1.05, 3.0), factors(hd // 2, 40.0, 1.5)
    # transformers 5.23 fails on the legacy name "su" (its standardisation moves the top-level
    # `original_max_position_embeddings` only for "longrope"), so the reference is given
    # "longrope" and rope-ext reads the legacy spelling.
    legacy = phi3(hd, 10_000.0, 131072, {"type": "longrope", "short_factor": short, "long_factor": long_},
                  original_max_position_embeddings=4096)
    su = phi3(hd, 10_000.0, 131072, {"type": "su", "short_factor": short, "long_factor": long_},
              original_max_position_embeddings=4096)
    case(f"longrope_su_hd{hd}", legacy, seq_lens=(None, 4096, 4097, 131072), our_config=su,
         runtime_lengths=[100, 4096, 4097, 5000, 100, 4097])
short, long_ = factors(48, 1.02, 2.0), factors(48, 16.0, 1.0)
case("longrope_v5_factor_and_attention", {k: v for k, v in phi3(96, 0, 65536).items() if k != "rope_theta"}
     | {"rope_parameters": {"rope_type": "longrope", "rope_theta": 10_000.0, "short_factor": short,
                            "long_factor": long_, "factor": 16.0, "attention_factor": 1.3,
                            "original_max_position_embeddings": 4096}},
     seq_lens=(None, 4097))
case("longrope_legacy_yarn_name", phi3(96, 10_000.0, 32768, {"type": "yarn", "short_factor": short,
                                                             "long_factor": long_},
                                       original_max_position_embeddings=4096), seq_lens=(None, 8192))
case("longrope_llama_factor_given", llama(96, 10_000.0, 4096, {"rope_type": "longrope", "short_factor": short,
                                                              "long_factor": long_, "factor": 32.0}),
     seq_lens=(None, 4097))

# --- Llama 3 ---
for hd in (64, 128):
    case(f"llama3_hd{hd}", llama(hd, 500_000.0, 131072, {"rope_type": "llama3", "factor": 8.0,
                                                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                         "original_max_position_embeddings": 8192}))
case("llama3_equal_band_factors", llama(128, 500_000.0, 131072, {"rope_type": "llama3", "factor": 16.0,
                                                                 "low_freq_factor": 1.0, "high_freq_factor": 1.0,
                                                                 "original_max_position_embeddings": 8192}))
case("llama3_int_factor", llama(128, 500_000.0, 131072, {"rope_type": "llama3", "factor": 8,
                                                         "low_freq_factor": 1, "high_freq_factor": 4,
                                                         "original_max_position_embeddings": 8192}))

# --- proportional (v5) ---
for hd, prf, f in ((128, 0.25, 1.0), (256, 0.25, 8.0), (64, 0.5, 2.0)):
    case(f"proportional_hd{hd}_p{prf}_s{f}", {k: v for k, v in llama(hd, 0, 8192).items() if k != "rope_theta"}
         | {"rope_parameters": {"rope_type": "proportional", "rope_theta": 1_000_000.0,
                                "partial_rotary_factor": prf, "factor": f}})

# --- methods transformers expresses as plain rope_theta or linear ---
for hd in (64, 128):
    # as rope-ext writes them: the transformers form plus a `rope_ext` object naming the method
    case(f"abf_hd{hd}", llama(hd, 500_000.0, 4096),
         our_config=llama(hd, 500_000.0, 4096, rope_ext={"rope_theta": 10_000.0, "method": "abf", "theta": 500_000.0}))
    case(f"eabf_hd{hd}", llama(hd, 500_000.0, 4096),
         our_config=llama(hd, 10_000.0, 4096, {"type": "eabf", "factor": 4.0}))
    for s in (2.0, 4.0):
        d = float(hd)
        b = 10_000.0 * s ** (d / (d - 2))
        case(f"ntk_aware_hd{hd}_s{s}", llama(hd, b, 4096),
             our_config=llama(hd, b, 4096, rope_ext={"rope_theta": 10_000.0, "method": "ntk_aware", "factor": s}))
for n, g in ((None, 1.0), (4096, 1.0), (4097, 2.0), (16384, 4.0)):
    hf = llama(128, 10_000.0, 4096, {"rope_type": "linear", "factor": g}) if g > 1 else llama(128, 10_000.0, 4096)
    case(f"e2llm_n{n}", hf, seq_lens=(n,), our_config=llama(128, 10_000.0, 4096, {"rope_type": "e2llm"}))


def main():
    out = {
        "generator": "tests/goldens/generate.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "cases": [],
    }
    for name, hf, ours, seq_lens, runtime_lengths in CASES:
        entry = {
            "name": name,
            "hf_config": hf,
            "our_config": ours,
            "evals": [evaluate(hf, n) for n in seq_lens],
        }
        if runtime_lengths:
            entry["runtime"] = runtime(hf, runtime_lengths)
        out["cases"].append(entry)
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {len(CASES)} cases to {OUT} (transformers {transformers.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
