"""The long texts of the memory measurements: the opening of the held-out split's first
document (Shakespeare's Coriolanus, public domain, data/corpus/valid.jsonl.gz), cut at a line
end after 30,000 and 60,000 characters (about 8k and 16k SmolLM2 tokens).

usage: python3 results/long-context/make_texts.py   (from the repository root)
"""
import gzip
import json

with gzip.open("data/corpus/valid.jsonl.gz", "rt") as f:
    text = json.loads(f.readline())["text"]
for name, chars in [("text-8k.txt", 30_000), ("text-16k.txt", 60_000)]:
    cut = text.index("\n", chars) + 1
    with open(f"results/long-context/{name}", "w") as out:
        out.write(text[:cut])
