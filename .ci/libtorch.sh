#!/usr/bin/env bash
# Builds a CPU-only libtorch folder for burn-tch from PyPI's torch 2.9.0 wheel, without the wheel's
# ~6 GB of CUDA dependencies. Usage: bash .ci/libtorch.sh DIR; afterwards
#   LIBTORCH=DIR/libtorch  LD_LIBRARY_PATH=$(cat DIR/ld-library-path)
# build and run `--features tch`. DIR/libtorch/lib links only the CPU libraries plus an empty
# stub libtorch.so, so torch-sys never links libtorch_cuda.so (which would need all of CUDA).
set -euo pipefail
dir="$(realpath -m "$1")"
here="$(dirname "$0")"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q --no-cache-dir --no-deps -r "$here/requirements-tch.txt"
site="$("$dir/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
torch="$site/torch"
mkdir -p "$dir/libtorch/lib"
ln -sfn "$torch/include" "$dir/libtorch/include"
for lib in libtorch_cpu.so libc10.so libgomp.so.1; do
    ln -sfn "$torch/lib/$lib" "$dir/libtorch/lib/$lib"
done
gcc -shared -fPIC -o "$dir/libtorch/lib/libtorch.so" -x c /dev/null
printf '%s:%s:%s\n' "$dir/libtorch/lib" "$site/nvidia/cuda_runtime/lib" "$site/nvidia/cuda_cupti/lib" \
    > "$dir/ld-library-path"
du -sh "$dir"
