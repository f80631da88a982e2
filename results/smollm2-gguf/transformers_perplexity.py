#!/usr/bin/env python3
"""transformers' perplexity of a text under a GGUF model (its GGUF loader, float32, eager), the
same way `forward --text` scores it: the tokenizer from the GGUF file without special tokens, one
forward pass, the mean negative log-likelihood of every token after the first. Printed twice: as
transformers runs (RoPE angles `position x inv_freq` in float32), and with the angles computed
in float64 (as rope-ext does) and rounded once to float32 cos/sin.

    .venv/bin/python results/smollm2-gguf/transformers_perplexity.py GGUF TEXT
"""
import math
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, text = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).read_text()
tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                             attn_implementation="eager").eval()
ids = torch.tensor(tok(text, add_special_tokens=False)["input_ids"])[None]


def score(label):
    with torch.no_grad():
        logp = torch.log_softmax(model(ids, use_cache=False).logits[0].double(), dim=-1)
    nll = -logp[:-1].gather(1, ids[0, 1:, None]).mean()
    print(f"{label}: tokens {ids.shape[1]}  mean nll {float(nll):.4f}  perplexity {math.exp(float(nll)):.4f}")


score("transformers (float32 angles)")
emb = model.model.rotary_emb


def forward_f64(x, position_ids):
    freqs = position_ids[..., None].double() * emb.inv_freq.double()
    full = torch.cat((freqs, freqs), dim=-1)
    return (full.cos() * emb.attention_scaling).float(), (full.sin() * emb.attention_scaling).float()


emb.forward = forward_f64
score("transformers (float64 angles)")
