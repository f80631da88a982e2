#!/usr/bin/env python3
"""Tiny random LLaMA checkpoints and reference logits for the model adapter's parity tests.

    .venv/bin/pip install -r tests/goldens/requirements.txt
    .venv/bin/python tests/goldens/make_tiny_llama.py

Writes tests/fixtures/tiny-llama/: one HF model directory per RoPE variant (config.json and
model.safetensors, identical weights), each with reference.safetensors holding the token ids
and transformers' float32 logits (eager attention) for an input longer than the original
context (320 > 256 tokens) and for a short prefix (24 tokens). The model: 2 layers, hidden 64,
4 heads of 16 over 2 KV heads (GQA), SwiGLU 128, vocab 96, untied lm_head, attention biases off,
weights drawn with std 0.1 and norm weights perturbed around 1 so that RoPE changes the logits.
The `bf16` variant stores the default model's weights in bfloat16 (its logits are computed from
the bf16-rounded weights in float32).
"""

import copy
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-llama"
LONG, SHORT = 320, 24

BASE = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 96,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "rope_theta": 10000.0,
}

PAIRS = 8  # head_dim / 2
VARIANTS = {
    "default": {},
    "linear": {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
    "dynamic": {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
    "yarn": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0}},
    "yarn_overrides": {"max_position_embeddings": 1024,
                       "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 8.0, "beta_slow": 0.5,
                                        "mscale": 0.8, "mscale_all_dim": 0.5, "truncate": False,
                                        "original_max_position_embeddings": 256}},
    "yarn_attention_factor": {"rope_scaling": {"rope_type": "yarn", "factor": 8.0, "attention_factor": 1.3}},
    "longrope": {"max_position_embeddings": 2048, "original_max_position_embeddings": 256,
                 "rope_scaling": {"rope_type": "longrope",
                                  "short_factor": [1.0, 1.0, 1.01, 1.02, 1.05, 1.1, 1.2, 1.3],
                                  "long_factor": [1.0, 1.3, 2.0, 3.1, 4.5, 6.0, 7.2, 8.0]}},
    "llama3": {"max_position_embeddings": 2048,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 256}},
    "abf": {"rope_theta": 500000.0},
    "bf16": {"torch_dtype": "bfloat16"},
}


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def write_tokenizer(path):
    """A 96-token character-level BPE (no byte fallback) for the `--text` mode of `forward`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=96, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=list("abcdefghijklmnopqrstuvwxyz.,"))
    text = ["the grass is green. the sky is blue. the sun is yellow. here we go. there and back again."] * 20
    tok.train_from_iterator(text, trainer)
    assert tok.get_vocab_size() <= 96
    tok.save(str(path))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261123)
    ids = torch.randint(3, BASE["vocab_size"], (1, LONG), generator=gen)
    base_model = None
    for name, overrides in VARIANTS.items():
        cfg = copy.deepcopy(BASE) | copy.deepcopy(overrides)
        # transformers standardises rope dicts in place: give it a copy, keep `cfg` as written
        kwargs = copy.deepcopy({k: v for k, v in cfg.items() if k not in ("model_type", "architectures", "torch_dtype")})
        config = LlamaConfig(**kwargs)
        config._attn_implementation = "eager"
        model = LlamaForCausalLM(config).eval()
        if base_model is None:
            init_weights(model, gen)
            base_model = model
        else:
            model.load_state_dict(base_model.state_dict())
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        if name == "bf16":
            state = {k: v.to(torch.bfloat16) for k, v in state.items()}
            model.load_state_dict({k: v.float() for k, v in state.items()})
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        save_file(state, str(d / "model.safetensors"), metadata={"format": "pt"})
        with torch.no_grad():
            long_logits = model(ids).logits[0].float()
            short_logits = model(ids[:, :SHORT]).logits[0].float()
        save_file({"input_ids": ids[0].to(torch.int64).contiguous(),
                   "logits_long": long_logits.contiguous(),
                   "logits_short": short_logits.contiguous()}, str(d / "reference.safetensors"))
        print(f"{name:<22} long argmax[-1]={int(long_logits[-1].argmax())} |logits|max={float(long_logits.abs().max()):.3f}")
    write_tokenizer(OUT / "default" / "tokenizer.json")
    import transformers
    (OUT / "VERSIONS").write_text(f"transformers {transformers.__version__}\ntorch {torch.__version__}\n")


if __name__ == "__main__":
    main()
