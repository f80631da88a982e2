#!/usr/bin/env bash
# Checks every model `extend_100_samples --export DIR` wrote against transformers: 1,024 held-out
# tokens (the start of the validation split's first document, tokenized with the base model's
# tokenizer), our logits from the `forward` example, transformers' from check_export.py.
#
#   cargo run --release --example extend_100_samples -- --export DIR [--out OUT]
#   bash tests/goldens/check_exports.sh DIR > results/extend_100_samples/export-check.txt
#
# Needs the reference venv (.venv, tests/goldens/requirements.txt) and a release build of the
# `forward` example (FORWARD=path overrides target/release/examples/forward).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="$(realpath "$1")"
forward="${FORWARD:-target/release/examples/forward}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.venv/bin/python - "$work/ids.json" <<'PY'
import gzip, json, sys
from tokenizers import Tokenizer
doc = json.loads(gzip.open("data/corpus/valid.jsonl.gz", "rt").readline())
ids = Tokenizer.from_file("data/base-model/tokenizer.json").encode(doc["text"]).ids[:1024]
assert len(ids) == 1024
json.dump(ids, open(sys.argv[1], "w"))
PY
status=0
for model in "$dir"/*/; do
    model="${model%/}"
    "$forward" --model "$model" --tokens "@$work/ids.json" --out "$work/ours.safetensors" >/dev/null
    if ! .venv/bin/python tests/goldens/check_export.py "$model" "$work/ours.safetensors" "$work/ids.json" \
        2>/dev/null | sed "s|$dir/||"; then
        status=1
    fi
done
exit "$status"
