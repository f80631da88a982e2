#!/usr/bin/env python3
"""Tiny GGUF files and transformers' logits for them: the GGUF loader's tests without a download.

    .venv/bin/pip install -r tests/goldens/requirements.txt
    .venv/bin/python tests/goldens/make_gguf_fixtures.py

Writes tests/fixtures/gguf/ from tests/fixtures/tiny-llama/default (2-layer LLaMA, vocab 96,
hidden 64, 4 heads over 2 KV heads, head_dim 16, untied head):

- tiny-{f32,f16,bf16,q8_0,q4_0,q4_1}.gguf: the checkpoint as llama.cpp's convert_hf_to_gguf.py
  writes a LLaMA (metadata `llama.*`, tensor names `blk.N.attn_q` ..., q and k rows permuted per
  head by its `LlamaModel.permute`), every 2-D weight stored in the named type by gguf-py's own
  quantisers, norms in F32 (as llama.cpp keeps them);
- reference.safetensors: `input_ids` (the tiny-LLaMA reference's 320 tokens) and, per file,
  `logits_{type}` [320, 96]: transformers' GGUF loader (dequantised float32, eager attention);
  the f32 file's logits equal the original checkpoint's reference exactly (checked here), which
  proves the permutation round trip;
- bad-*.gguf: valid files with one thing this loader must refuse: a Q5_0 tensor (a type it does
  not dequantise), an unread `llama.rope.scaling.attn_factor` key, the `gemma3` architecture.

Versions go to tests/fixtures/gguf/VERSIONS.
"""

import importlib.metadata
import json
from pathlib import Path

import gguf
import numpy as np
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "tests" / "fixtures" / "tiny-llama" / "default"
OUT = ROOT / "tests" / "fixtures" / "gguf"
TYPES = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1}


def permute(w, n_head, n_head_kv=None):
    """convert_hf_to_gguf.py's LlamaModel.permute."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_name(hf):
    if hf in NAMES:
        return NAMES[hf]
    _, _, layer, *module, suffix = hf.split(".")
    return f"blk.{layer}.{LAYER['.'.join(module)]}.{suffix}"


def write(path, cfg, state, qtype, arch="llama", extra_kv=None, override_type=None):
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_rope_dimension_count(cfg["head_dim"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(int(qtype))
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    for key, (kind, value) in (extra_kv or {}).items():
        getattr(w, f"add_{kind}")(key, value)
    for hf, t in state.items():
        x = t.float().numpy()
        if hf.endswith("q_proj.weight"):
            x = permute(x, cfg["num_attention_heads"], cfg["num_attention_heads"])
        elif hf.endswith("k_proj.weight"):
            x = permute(x, cfg["num_attention_heads"], cfg["num_key_value_heads"])
        name = gguf_name(hf)
        if name == override_type:
            w.add_tensor(name, gguf.quants.quantize(x, Q.Q5_0), raw_dtype=Q.Q5_0)
        elif x.ndim == 1 or qtype == Q.F32:
            w.add_tensor(name, x.astype(np.float32))
        elif qtype == Q.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits(path, ids):
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    with torch.no_grad():
        return model(ids[None], use_cache=False).logits[0].float().contiguous()


def main():
    transformers.utils.logging.disable_progress_bar()
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((SRC / "config.json").read_text())
    state = load_file(str(SRC / "model.safetensors"))
    ref = load_file(str(SRC / "reference.safetensors"))
    ids = ref["input_ids"]
    out = {"input_ids": ids.to(torch.int64).contiguous()}
    for label, qtype in TYPES.items():
        path = OUT / f"tiny-{label}.gguf"
        write(path, cfg, state, qtype)
        out[f"logits_{label}"] = logits(path, ids)
        err = float((out[f"logits_{label}"] - ref["logits_long"]).abs().max())
        print(f"{path.name}: {path.stat().st_size} bytes; max|logits - original checkpoint's| = {err:.3g}")
        if label == "f32":
            assert err == 0.0, err
    save_file(out, str(OUT / "reference.safetensors"))
    write(OUT / "bad-q5_0.gguf", cfg, state, Q.Q4_0, override_type="blk.1.ffn_down.weight")
    cfg_k = {"llama.rope.scaling.attn_factor": ("float32", 1.5)}
    write(OUT / "bad-key.gguf", cfg, state, Q.Q4_0, extra_kv=cfg_k)
    write(OUT / "bad-arch.gguf", cfg, state, Q.Q4_0, arch="gemma3")
    versions = {p: importlib.metadata.version(p) for p in ("transformers", "torch", "gguf", "numpy")}
    (OUT / "VERSIONS").write_text("".join(f"{k} {v}\n" for k, v in versions.items()))
    print(versions)


if __name__ == "__main__":
    main()
