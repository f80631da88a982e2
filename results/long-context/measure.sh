#!/usr/bin/env bash
# Peak memory of the long-context commands, one process per measurement, for the binaries in
# $1/examples (e.g. target/release, or a build of an older commit), labelled $2:
#   forward --text on SmolLM2-135M-Instruct (Q4_1 GGUF, vocabulary 49,152) at ~8k and ~16k tokens,
#   and one training step (forward + backward) at 8,192 tokens on the benchmark model of
#   crates/rope-ext-model/benches/compare_pytorch.py (vocabulary 8,192; made by its make_model()).
# usage: bash results/long-context/measure.sh target/release after > results/long-context/after.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$1/examples
label=$2
gguf=target/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
echo "# $label: $(git -C "$(dirname "$bin")" rev-parse --short HEAD 2>/dev/null || echo '?') $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in 8k 16k; do
    echo "## forward --text results/long-context/text-$n.txt"
    python3 results/long-context/peak_rss.py "$bin/forward" --model "$gguf" --text "results/long-context/text-$n.txt" 2>&1 >/tmp/forward-$label-$n.tsv | grep -v '^loading\|^tokenizing\|^scoring' || true
    tail -1 /tmp/forward-$label-$n.tsv
done
echo "## bench_model --mode train --len 8192 (benchmark model)"
python3 results/long-context/peak_rss.py "$bin/bench_model" --model target/bench-llama-30m --len 8192 --mode train --repeats 1 2>&1
