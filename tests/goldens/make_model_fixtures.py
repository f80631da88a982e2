#!/usr/bin/env python3
"""Tiny random checkpoints and reference logits for model-level features beyond plain LLaMA.

    .venv/bin/pip install -r tests/goldens/requirements.txt
    .venv/bin/python tests/goldens/make_model_fixtures.py

Writes tests/fixtures/model-level/<name>/, each an HF model directory as transformers saves it
(config.json, model.safetensors in float32) plus reference.safetensors with `input_ids` (int64,
[320], ids 3..95) and float32 logits [n, 96] computed on CPU with eager attention:

- eabf/: entropy-aware ABF (Zhang et al., "Extending LLMs' Context Window with 100 Samples").
  A 4-layer LLaMA with rope_theta 500000 and window c = max_position_embeddings = 64; q is
  multiplied after RoPE by t(m) = max(1, ln(m + 1) / ln c) (m the 0-based position, t in
  float64, applied in float32). `logits_paper` scales layers 2 and 3 (the paper leaves layers 0
  and 1 alone), `logits_released` scales all four (the released code), `logits_unscaled` is
  plain ABF. config.json: rope_parameters {"rope_type": "eabf", ...}, which transformers cannot
  load.
- mistral_sliding/: MistralForCausalLM, 2 layers, sliding_window 48 (the input is 320 tokens,
  so older keys are masked); `logits_long`, `logits_short` (first 24 tokens).
- qwen2_sliding/: Qwen2ForCausalLM, 2 layers, use_sliding_window, sliding_window 48,
  max_window_layers 1 (layer_types [full_attention, sliding_attention]), random q/k/v biases.
- partial/, interleaved/, partial_interleaved/: 2-layer LLaMA with rotations transformers' LLaMA
  does not implement, the reference made by patching modeling_llama.apply_rotary_pos_emb:
  partial_rotary_factor 0.5 (rotary dim 8 of 16, inv_freq_i = theta^(-2i/8), half-split within
  the first 8 channels, channels 8..15 pass through, as Phi-3 does), interleaved pairs
  (2i, 2i+1) (Meta/GPT-J; the top-level key "rope_interleave": true, DeepSeek-V3's name, is
  added to config.json), and both.
- llama_biases/: LlamaForCausalLM, 2 layers, attention_bias (q/k/v/o) and mlp_bias, tied head.
- qwen3/: Qwen3ForCausalLM, 2 layers, q/k RMSNorm over head_dim before RoPE (norm weights
  perturbed like the others), attention_bias, YaRN factor 4 over an original 128 (Qwen3's own
  long-context recipe), use_sliding_window with max_window_layers 1.
- phi3_longrope/, phi3_sliding/: Phi3ForCausalLM, 2 layers, fused qkv_proj and gate_up_proj.
  phi3_longrope as Phi-4-mini: partial_rotary_factor 0.75, LongRoPE short and long factors over an
  original 128 tokens (the 320-token input takes the long ones, the 24-token prefix the short ones),
  tied head. phi3_sliding as Phi-3-mini-4k: sliding_window 48 on every layer. Each has
  config_v4.json, the transformers 4.x form (rope_scaling, top-level rope_theta), checked to load
  into transformers with identical logits.
- gemma3/: Gemma3ForCausalLM (text), 3 layers (sliding, sliding, full), sliding_window 48, RoPE
  per layer type (full_attention YaRN factor 4 over 128 with base 1e6, sliding_attention the local
  base 1e4), (1 + w) norms on q/k, inputs and both outputs, embeddings times sqrt(hidden),
  query_pre_attn_scalar 32, GELU-tanh, tied head, final_logit_softcapping 8; config_v4.json in
  the 4.x form (rope_theta, rope_local_base_freq, rope_scaling), checked to load identically.

Sizes as tests/goldens/make_tiny_llama.py: vocab 96, hidden 64, SwiGLU 128, 4 heads of 16 over
2 KV heads, untied lm_head, weights std 0.1, norm weights 1 + 0.3 randn, seeded generators.
Each patched reference is checked against an independent numpy rotation, `partial` also against
transformers' Phi3ForCausalLM, the sliding-window fixtures by reloading the written directory,
and transformers' sliding-window rule (key j visible to query i iff i - W < j <= i) by its mask
and by perturbing tokens. Versions go to tests/fixtures/model-level/VERSIONS.
"""

import contextlib
import json
import math
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Phi3Config,
                          Qwen3Config, Qwen3ForCausalLM,
                          Phi3ForCausalLM, Qwen2Config, Qwen2ForCausalLM)
from transformers.masking_utils import create_sliding_window_causal_mask

from make_tiny_llama import init_weights  # the same weight draw as the tiny-LLaMA fixtures
from transformers.models.llama import modeling_llama
from transformers.models.phi3.modeling_phi3 import Phi3RotaryEmbedding

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "model-level"
LONG, SHORT = 320, 24
SIZES = {
    "vocab_size": 96,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
EABF_WINDOW = 64
SLIDING_WINDOW = 48


# ---------------------------------------------------------------------------------------------
# Building, running and writing


def build(model_cls, config_cls, seed, **config_kwargs):
    """A seeded random model (eager attention) and its 320-token input."""
    config = config_cls(**(SIZES | config_kwargs))
    config._attn_implementation = "eager"
    model = model_cls(config).eval()
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, SIZES["vocab_size"], (1, LONG), generator=gen)
    init_weights(model, gen)
    return model, ids


def logits(model, ids):
    with torch.no_grad():
        return model(ids, use_cache=False).logits[0].float().contiguous()


def write(name, model, ids, tensors, config_edit=None):
    """Writes the model as transformers saves it, edits config.json, adds reference.safetensors."""
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d)
    (d / "generation_config.json").unlink(missing_ok=True)
    saved = load_file(str(d / "model.safetensors"))
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight")  # saved once, as the embedding
    assert saved.keys() == state.keys(), (name, saved.keys() ^ state.keys())
    assert all(saved[k].dtype == torch.float32 and torch.equal(saved[k], state[k]) for k in saved), name
    if config_edit is not None:
        path = d / "config.json"
        cfg = json.loads(path.read_text())
        config_edit(cfg)
        # transformers' own formatting (PreTrainedConfig.to_json_string)
        path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    out = {"input_ids": ids[0].to(torch.int64).contiguous()}
    out.update({k: v.contiguous() for k, v in tensors.items()})
    save_file(out, str(d / "reference.safetensors"))
    return d


# ---------------------------------------------------------------------------------------------
# Patches of modeling_llama (restored on exit)


@contextlib.contextmanager
def patched(attr, replacement):
    original = getattr(modeling_llama, attr)
    setattr(modeling_llama, attr, replacement(original))
    try:
        yield
    finally:
        setattr(modeling_llama, attr, original)


def eabf_scale(position_ids, window):
    """t(m) = max(1, ln(m + 1) / ln c) in float64, returned as float32."""
    m = position_ids.to(torch.float64)
    return torch.clamp(torch.log(m + 1.0) / math.log(window), min=1.0).to(torch.float32)


def eabf_attention(scaled_layers, window):
    """Wraps eager_attention_forward: q (already rotated) times t(m) on `scaled_layers`."""

    def wrap(original):
        def forward(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
            if module.layer_idx in scaled_layers:
                pos = kwargs.get("position_ids")
                assert pos is not None and pos.shape[-1] == query.shape[2], "EABF reference needs position_ids"
                query = query * eabf_scale(pos, window)[:, None, :, None]
            return original(module, query, key, value, attention_mask, scaling, dropout=dropout, **kwargs)

        return forward

    return wrap


def rotate_interleaved(x):
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): pairs (2i, 2i+1)."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)


def rotary(interleaved):
    """apply_rotary_pos_emb for a table of width r <= head_dim (cos = cat(f, f) as HF builds it):
    rotates the first r channels (half-split, or interleaved pairs), passes the rest through."""

    def wrap(_original):
        def apply(q, k, cos, sin, unsqueeze_dim=1):
            cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
            r = cos.shape[-1]
            rot = modeling_llama.rotate_half
            if interleaved:
                cos = cos[..., : r // 2].repeat_interleave(2, dim=-1)
                sin = sin[..., : r // 2].repeat_interleave(2, dim=-1)
                rot = rotate_interleaved

            def one(x):
                x_rot, x_pass = x[..., :r], x[..., r:]
                return torch.cat(((x_rot * cos) + (rot(x_rot) * sin), x_pass), dim=-1)

            return one(q), one(k)

        return apply

    return wrap


def numpy_rotation(x, positions, theta, rotary_dim, interleaved):
    """Independent reference: x [..., n, d] float64, each pair rotated by m * theta^(-2i/r)."""
    out = x.copy()
    half = rotary_dim // 2
    for i in range(half):
        a, b = (2 * i, 2 * i + 1) if interleaved else (i, i + half)
        angle = positions * theta ** (-2.0 * i / rotary_dim)
        c, s = np.cos(angle), np.sin(angle)
        out[..., a] = x[..., a] * c - x[..., b] * s
        out[..., b] = x[..., b] * c + x[..., a] * s
    return out


def set_partial_rotary(model):
    """transformers' LLaMA ignores partial_rotary_factor in its default rotary embedding; give
    it Phi-3's inverse frequencies (the same formula, honouring the factor)."""
    inv_freq, _ = Phi3RotaryEmbedding.compute_default_rope_parameters(model.config)
    emb = model.model.rotary_emb
    emb.inv_freq = inv_freq
    emb.original_inv_freq = inv_freq.clone()


def check_rotation(model, theta, rotary_dim, interleaved, seed):
    """The patched apply_rotary_pos_emb (on the model's own cos/sin) against numpy_rotation."""
    gen = torch.Generator().manual_seed(seed)
    n = LONG
    q = torch.randn(1, 4, n, 16, generator=gen)
    k = torch.randn(1, 2, n, 16, generator=gen)
    pos = torch.arange(n)[None]
    cos, sin = model.model.rotary_emb(q, pos)
    q_rot, k_rot = modeling_llama.apply_rotary_pos_emb(q, k, cos, sin)
    err = 0.0
    for x, x_rot in ((q, q_rot), (k, k_rot)):
        want = numpy_rotation(x.double().numpy(), np.arange(n, dtype=np.float64), theta, rotary_dim, interleaved)
        err = max(err, float(np.abs(x_rot.double().numpy() - want).max()))
    assert err < 1e-4, err  # transformers' angles are f32 products, up to 319 * inv_freq
    return err


# ---------------------------------------------------------------------------------------------
# Fixtures


def make_eabf():
    model, ids = build(LlamaForCausalLM, LlamaConfig, 20261201, num_hidden_layers=4, rope_theta=500000.0,
                       max_position_embeddings=EABF_WINDOW)
    out = {}
    for key, layers in (("logits_paper", {2, 3}), ("logits_released", {0, 1, 2, 3})):
        with patched("eager_attention_forward", eabf_attention(layers, EABF_WINDOW)):
            out[key] = logits(model, ids)
            if key == "logits_paper":
                out["logits_short"] = logits(model, ids[:, :SHORT])
    out["logits_unscaled"] = logits(model, ids)
    # inside the window t = 1: the short prefix is plain ABF
    assert torch.equal(out["logits_short"], logits(model, ids[:, :SHORT]))

    def edit(cfg):
        assert "rope_scaling" not in cfg and cfg["rope_parameters"] == {"rope_theta": 500000.0, "rope_type": "default"}
        cfg["rope_parameters"] = {"rope_type": "eabf", "rope_theta": 500000.0,
                                  "original_max_position_embeddings": EABF_WINDOW}

    write("eabf", model, ids, out, edit)
    t = eabf_scale(torch.arange(LONG), EABF_WINDOW)
    print(f"eabf: t(63)={float(t[63]):.7f} t(64)={float(t[64]):.7f} t(319)={float(t[319]):.7f}")
    for a, b in (("logits_paper", "logits_unscaled"), ("logits_released", "logits_unscaled"),
                 ("logits_paper", "logits_released")):
        diff = (out[a] - out[b]).abs()
        print(f"eabf: max|{a} - {b}| = {float(diff.max()):.4g}  (first {EABF_WINDOW} rows: "
              f"{float(diff[:EABF_WINDOW].max()):.3g})")
    assert float((out["logits_paper"] - out["logits_unscaled"]).abs().max()) > 1e-3


def check_sliding_rule():
    """transformers' sliding-window mask: key j is visible to query i iff i - W < j <= i."""
    w, n = 3, 8
    config = MistralConfig(**SIZES, num_hidden_layers=1, sliding_window=w)
    config._attn_implementation = "eager"
    mask = create_sliding_window_causal_mask(config=config, inputs_embeds=torch.zeros(1, n, 64),
                                             attention_mask=None, past_key_values=None,
                                             position_ids=torch.arange(n)[None])
    visible = (mask[0, 0] == 0).numpy()
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    assert (visible == ((i - w < j) & (j <= i))).all(), visible
    # numerically, on a 1-layer model with the fixture's window: query i = 200 cannot see
    # token i - W, and does see token i - W + 1
    model, ids = build(MistralForCausalLM, MistralConfig, 7, num_hidden_layers=1, sliding_window=SLIDING_WINDOW,
                       max_position_embeddings=512)
    q = 200
    base = logits(model, ids)[q]
    for j, seen in ((q - SLIDING_WINDOW, False), (q - SLIDING_WINDOW + 1, True)):
        other = ids.clone()
        other[0, j] = 3 + (int(other[0, j]) - 3 + 1) % 93
        changed = float((logits(model, other)[q] - base).abs().max())
        assert (changed > 0) == seen, (j, changed)
        print(f"sliding rule: W={SLIDING_WINDOW}, query {q}, changing token {j} moves its logits by {changed:.3g}")
    print(f"sliding rule: key j visible to query i iff i - W < j <= i (W keys, the query included)\n"
          f"{(visible * 1)}  # W={w}, rows = queries")


def check_reload(d, model_cls, want):
    loaded = model_cls.from_pretrained(d, attn_implementation="eager").eval()
    got = load_file(str(d / "reference.safetensors"))
    assert torch.equal(logits(loaded, got["input_ids"][None]), want), d


def make_mistral():
    kwargs = {"num_hidden_layers": 2, "max_position_embeddings": 512, "rope_theta": 10000.0}
    model, ids = build(MistralForCausalLM, MistralConfig, 20261202, sliding_window=SLIDING_WINDOW, **kwargs)
    out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    d = write("mistral_sliding", model, ids, out)
    check_reload(d, MistralForCausalLM, out["logits_long"])
    full = MistralConfig(**SIZES, sliding_window=None, **kwargs)
    full._attn_implementation = "eager"
    nowin = MistralForCausalLM(full).eval()
    nowin.load_state_dict(model.state_dict())
    diff = (logits(nowin, ids) - out["logits_long"]).abs()
    print(f"mistral_sliding: max|no window - window| rows < {SLIDING_WINDOW}: {float(diff[:SLIDING_WINDOW].max()):.3g}, "
          f"all rows: {float(diff.max()):.4g}")
    assert float(diff[:SLIDING_WINDOW].max()) == 0.0 and float(diff.max()) > 1e-3


def make_qwen2():
    model, ids = build(Qwen2ForCausalLM, Qwen2Config, 20261203, num_hidden_layers=2, use_sliding_window=True,
                       sliding_window=SLIDING_WINDOW, max_window_layers=1, max_position_embeddings=512,
                       rope_theta=10000.0)
    biases = {k: v for k, v in model.state_dict().items() if k.endswith("bias")}
    assert sorted(k.split(".")[-2] for k in biases) == ["k_proj", "k_proj", "q_proj", "q_proj", "v_proj", "v_proj"]
    assert all(float(v.abs().min()) > 0 for v in biases.values())
    out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    d = write("qwen2_sliding", model, ids, out)
    check_reload(d, Qwen2ForCausalLM, out["logits_long"])
    windows = [layer.self_attn.sliding_window for layer in model.model.layers]
    print(f"qwen2_sliding: layer_types={model.config.layer_types} attention sliding_window per layer={windows}")
    assert model.config.layer_types == ["full_attention", "sliding_attention"] and windows == [None, SLIDING_WINDOW]


def make_llama_biases():
    """llama_biases/: LLaMA with `attention_bias` (q/k/v/o) and `mlp_bias`, and a tied head."""
    model, ids = build(LlamaForCausalLM, LlamaConfig, 20261207, num_hidden_layers=2, attention_bias=True,
                       mlp_bias=True, tie_word_embeddings=True, max_position_embeddings=512, rope_theta=10000.0)
    names = sorted(k.split(".")[-2] for k in model.state_dict() if k.endswith("bias"))
    assert names == sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] * 2), names
    out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    d = write("llama_biases", model, ids, out)
    assert "lm_head.weight" not in load_file(str(d / "model.safetensors"))
    check_reload(d, LlamaForCausalLM, out["logits_long"])
    print("llama_biases: attention_bias, mlp_bias, tied head")


def make_qwen3():
    """qwen3/: q/k norms, q/k/v/o biases, YaRN, a sliding upper layer."""
    model, ids = build(Qwen3ForCausalLM, Qwen3Config, 20261208, num_hidden_layers=2, attention_bias=True,
                       use_sliding_window=True, sliding_window=SLIDING_WINDOW, max_window_layers=1,
                       max_position_embeddings=512,
                       rope_parameters={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
                                        "rope_theta": 10000.0})
    names = sorted({k.split(".")[-2] for k in model.state_dict() if "self_attn" in k})
    assert names == ["k_norm", "k_proj", "o_proj", "q_norm", "q_proj", "v_proj"], names
    out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    d = write("qwen3", model, ids, out)
    check_reload(d, Qwen3ForCausalLM, out["logits_long"])
    print(f"qwen3: layer_types={model.config.layer_types} rope_parameters={model.config.rope_parameters}")


PHI3_SHORT = [1.0, 1.02, 1.1, 1.3, 1.7, 2.2]  # 6 pairs: partial_rotary_factor 0.75 of head_dim 16
PHI3_LONG = [1.0, 1.25, 2.0, 3.5, 6.0, 9.0]


def phi3_v4_config(cfg):
    """The transformers 4.x form of a Phi-3 config as Microsoft ships it: `rope_scaling` without
    the theta, `rope_theta`, `partial_rotary_factor` and `original_max_position_embeddings` at the
    top level."""
    v4 = dict(cfg)
    params = dict(v4.pop("rope_parameters"))
    v4["rope_theta"] = params.pop("rope_theta")
    for key in ("partial_rotary_factor", "original_max_position_embeddings"):
        if key in params:
            v4[key] = params.pop(key)
    if params.pop("rope_type") == "longrope":
        v4["rope_scaling"] = {"type": "longrope", **params}
    else:
        assert not params, params
        v4["rope_scaling"] = None
    return v4


def make_phi3():
    """phi3_longrope/ (Phi-4-mini's shape: partial rotary 0.75, LongRoPE short/long factors over an
    original 128 tokens, tied head) and phi3_sliding/ (Phi-3-mini-4k's: a sliding window on every
    layer, default RoPE, untied head): fused qkv_proj and gate_up_proj. Each also gets
    config_v4.json, the 4.x form, which transformers must load to the same logits."""
    longrope = {"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                "short_factor": PHI3_SHORT, "long_factor": PHI3_LONG, "original_max_position_embeddings": 128}
    cases = {
        # Phi3Config's top-level original_max_position_embeddings (class default 4096) overrides
        # the one in rope_parameters, so it is given at the top level too.
        "phi3_longrope": (20261209, {"tie_word_embeddings": True, "rope_parameters": longrope,
                                     "original_max_position_embeddings": 128}),
        "phi3_sliding": (20261210, {"sliding_window": SLIDING_WINDOW, "rope_parameters": {"rope_type": "default",
                                                                                           "rope_theta": 10000.0}}),
    }
    for name, (seed, kwargs) in cases.items():
        model, ids = build(Phi3ForCausalLM, Phi3Config, seed, num_hidden_layers=2, max_position_embeddings=512,
                           pad_token_id=0, **kwargs)
        names = sorted({k.split(".")[-2] for k in model.state_dict() if ".layers.0." in k})
        assert names == ["down_proj", "gate_up_proj", "input_layernorm", "o_proj", "post_attention_layernorm",
                         "qkv_proj"], names
        out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
        d = write(name, model, ids, out)
        check_reload(d, Phi3ForCausalLM, out["logits_long"])
        cfg = json.loads((d / "config.json").read_text())
        v4 = d / "config_v4.json"
        v4.write_text(json.dumps(phi3_v4_config(cfg), indent=2, sort_keys=True) + "\n")
        alt = d.parent / f"{name}_v4_check"
        alt.mkdir(exist_ok=True)
        (alt / "config.json").write_text(v4.read_text())
        (alt / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes())
        check_reload_from(alt, d, Phi3ForCausalLM, out)
        for f in alt.iterdir():
            f.unlink()
        alt.rmdir()
        print(f"{name}: rope_parameters={cfg['rope_parameters']} sliding_window={cfg.get('sliding_window')}; "
              f"config_v4.json loads to identical logits")
    # The long factors act past the original window, the short ones inside it.
    model, ids = build(Phi3ForCausalLM, Phi3Config, 20261209, num_hidden_layers=2, max_position_embeddings=512,
                       pad_token_id=0, **cases["phi3_longrope"][1])
    emb = model.model.rotary_emb
    long_cos = emb(torch.zeros(1), torch.arange(LONG)[None])[0][0]
    short_cos = emb(torch.zeros(1), torch.arange(SHORT)[None])[0][0]
    diff = float((long_cos[:SHORT] - short_cos).abs().max())
    print(f"phi3_longrope: max|cos(long factors) - cos(short factors)| over the first {SHORT} positions = {diff:.3g}")
    assert diff > 1e-2, "long and short factors give the same table"


def make_gemma3():
    """gemma3/: Gemma3ForCausalLM (text), 3 layers (sliding, sliding, full: sliding_window_pattern
    3), sliding window 48, RoPE per layer type: full_attention YaRN factor 4 over 128 tokens with
    base 1e6, sliding_attention the default local base 1e4; (1 + w) norms, embeddings times
    sqrt(hidden), query_pre_attn_scalar 32 (not head_dim), GELU-tanh, q/k norms, tied head,
    final_logit_softcapping 8. config_v4.json: the 4.x form (rope_theta, rope_local_base_freq,
    rope_scaling), checked to load to identical logits."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    rope = {"full_attention": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
                               "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}}
    sizes = {k: v for k, v in SIZES.items() if k != "tie_word_embeddings"}
    config = Gemma3TextConfig(**sizes, num_hidden_layers=3, sliding_window_pattern=3, sliding_window=SLIDING_WINDOW,
                              max_position_embeddings=512, query_pre_attn_scalar=32, final_logit_softcapping=8.0,
                              rope_parameters=rope, tie_word_embeddings=True, pad_token_id=0)
    config._attn_implementation = "eager"
    model = Gemma3ForCausalLM(config).eval()
    gen = torch.Generator().manual_seed(20261211)
    ids = torch.randint(3, SIZES["vocab_size"], (1, LONG), generator=gen)
    init_weights(model, gen)
    # init_weights draws norm weights 1 + 0.3 randn, which Gemma's (1 + w) would apply as about
    # 2; shift them so the applied scale is 1 + 0.3 randn as in the other fixtures (at about 2,
    # transformers' float32 RoPE angles alone move the logits by 1.1e-4, beyond the tolerance).
    with torch.no_grad():
        for k, v in model.named_parameters():
            if k.endswith("norm.weight"):
                v -= 1.0
    assert model.config.layer_types == ["sliding_attention", "sliding_attention", "full_attention"]
    names = sorted({k.split(".")[-2] for k in model.state_dict() if ".layers.0." in k})
    assert names == ["down_proj", "gate_proj", "input_layernorm", "k_norm", "k_proj", "o_proj",
                     "post_attention_layernorm", "post_feedforward_layernorm", "pre_feedforward_layernorm",
                     "q_norm", "q_proj", "up_proj", "v_proj"], names
    out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    assert float(out["logits_long"].abs().max()) < 8.0
    d = write("gemma3", model, ids, out)
    check_reload(d, Gemma3ForCausalLM, out["logits_long"])
    cfg = json.loads((d / "config.json").read_text())
    v4 = json.loads(json.dumps(cfg))
    params = v4.pop("rope_parameters")
    v4["rope_theta"] = params["full_attention"].pop("rope_theta")
    v4["rope_local_base_freq"] = params["sliding_attention"]["rope_theta"]
    v4["rope_scaling"] = params["full_attention"]
    (d / "config_v4.json").write_text(json.dumps(v4, indent=2, sort_keys=True) + "\n")
    alt = d.parent / "gemma3_v4_check"
    alt.mkdir(exist_ok=True)
    (alt / "config.json").write_text((d / "config_v4.json").read_text())
    (alt / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes())
    check_reload_from(alt, d, Gemma3ForCausalLM, out)
    loaded = Gemma3ForCausalLM.from_pretrained(alt)
    assert loaded.config.rope_parameters == cfg["rope_parameters"], (loaded.config.rope_parameters, cfg["rope_parameters"])
    for f in alt.iterdir():
        f.unlink()
    alt.rmdir()
    # Each part matters: without the local base (the global RoPE on every layer) the logits move.
    emb = model.model.rotary_emb
    print(f"gemma3: layer_types={model.config.layer_types} rope_parameters={cfg['rope_parameters']}; "
          f"attention scaling full={emb.full_attention_attention_scaling:.6f} "
          f"sliding={emb.sliding_attention_attention_scaling}; config_v4.json loads to identical logits")


def check_reload_from(alt, d, model_cls, out):
    loaded = model_cls.from_pretrained(alt, attn_implementation="eager").eval()
    got = load_file(str(d / "reference.safetensors"))
    assert torch.equal(logits(loaded, got["input_ids"][None]), out["logits_long"]), alt
    assert torch.equal(logits(loaded, got["input_ids"][None, :SHORT]), out["logits_short"]), alt


ROTATIONS = {
    # name: (partial_rotary_factor, interleaved, seed)
    "partial": (0.5, False, 20261204),
    "interleaved": (1.0, True, 20261205),
    "partial_interleaved": (0.5, True, 20261206),
}


def make_rotation(name):
    factor, interleaved, seed = ROTATIONS[name]
    theta = 10000.0
    kwargs = {"partial_rotary_factor": factor} if factor != 1.0 else {}
    model, ids = build(LlamaForCausalLM, LlamaConfig, seed, num_hidden_layers=2, max_position_embeddings=512,
                       rope_theta=theta, **kwargs)
    if factor != 1.0:
        set_partial_rotary(model)
    rotary_dim = int(16 * factor)
    assert model.model.rotary_emb.inv_freq.shape == (rotary_dim // 2,)
    with patched("apply_rotary_pos_emb", rotary(interleaved)):
        err = check_rotation(model, theta, rotary_dim, interleaved, seed)
        out = {"logits_long": logits(model, ids), "logits_short": logits(model, ids[:, :SHORT])}
    plain = logits(model, ids) if factor == 1.0 else None  # the half-split model, same weights

    def edit(cfg):
        if interleaved:
            cfg["rope_interleave"] = True

    d = write(name, model, ids, out, edit)
    cfg = json.loads((d / "config.json").read_text())
    where = ("top level" if "partial_rotary_factor" in cfg else "") + \
            (" rope_parameters" if "partial_rotary_factor" in cfg["rope_parameters"] else "")
    print(f"{name}: rotation vs numpy max err {err:.3g}; rope_parameters={cfg['rope_parameters']}; "
          f"partial_rotary_factor at: {where.strip() or 'absent'}; rope_interleave={cfg.get('rope_interleave')}")
    if plain is not None:
        print(f"{name}: max|interleaved - half-split| = {float((plain - out['logits_long']).abs().max()):.4g}")
    if name == "partial":
        check_against_phi3(model, ids, out["logits_long"])


def check_against_phi3(model, ids, want):
    """partial/ against transformers' own partial rotary (Phi-3, fused qkv and gate_up)."""
    config = Phi3Config(**SIZES, num_hidden_layers=2, max_position_embeddings=512, rope_theta=10000.0,
                        partial_rotary_factor=0.5, pad_token_id=0)
    config._attn_implementation = "eager"
    phi = Phi3ForCausalLM(config).eval()
    src = model.state_dict()
    state = {}
    for k, v in src.items():
        if ".self_attn.q_proj." in k:
            p = k.replace(".q_proj.", ".")
            state[p.replace("weight", "qkv_proj.weight")] = torch.cat(
                [v, src[k.replace("q_proj", "k_proj")], src[k.replace("q_proj", "v_proj")]])
        elif ".mlp.gate_proj." in k:
            state[k.replace("gate_proj", "gate_up_proj")] = torch.cat([v, src[k.replace("gate_proj", "up_proj")]])
        elif not any(s in k for s in (".k_proj.", ".v_proj.", ".up_proj.")):
            state[k] = v
    phi.load_state_dict(state)
    err = float((logits(phi, ids) - want).abs().max())
    print(f"partial: max|Phi3ForCausalLM - patched LLaMA| = {err:.3g}")
    assert err < 1e-5, err


def main():
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    make_eabf()
    check_sliding_rule()
    make_mistral()
    make_qwen2()
    for name in ROTATIONS:
        make_rotation(name)
    make_llama_biases()
    make_qwen3()
    make_phi3()
    make_gemma3()
    (OUT / "VERSIONS").write_text(f"transformers {transformers.__version__}\ntorch {torch.__version__}\n"
                                  f"numpy {np.__version__}\n")


if __name__ == "__main__":
    main()
