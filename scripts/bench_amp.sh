#!/usr/bin/env bash
# Issue 20's bench rows: hgc float32 vs hgc bfloat16 AMP (bench/bench_amp.cc) and PyTorch
# float32 vs autocast bfloat16 (bench/peers/torch_amp.py) on W1b, W2, W3, W5, all cores,
# and the ISA oneDNN ran for bfloat16 (from DNNL_VERBOSE's primitive lines).
#
#   scripts/bench_amp.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-5}
[ -x "$BUILD/bench/hgc_bench_amp" ] || { echo "build $BUILD/bench/hgc_bench_amp first" >&2; exit 1; }
echo "## hgc (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores)"
"$BUILD/bench/hgc_bench_amp" --runs "$RUNS"
echo
echo "## PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
/usr/bin/python3 bench/peers/torch_amp.py --runs "$RUNS"
echo
# One short AMP run with oneDNN's verbose log: the ISA of its bfloat16 matmul/convolution.
isa=$(DNNL_VERBOSE=1 "$BUILD/bench/hgc_bench_amp" --only W3 --runs 1 2>/dev/null |
      awk -F, '/^onednn_verbose,exec/ && /bf16/ {print $4" "$5}' | sort | uniq -c | sort -rn | head -5)
echo "oneDNN bfloat16 kernels (hgc, W3; count impl):"
echo "$isa"
tisa=$(DNNL_VERBOSE=1 /usr/bin/python3 bench/peers/torch_amp.py --runs 1 2>/dev/null |
       awk -F, '/^(dnnl|onednn)_verbose,exec/ && /bf16/ {print $4" "$5}' | sort | uniq -c | sort -rn | head -5)
echo "oneDNN bfloat16 kernels (PyTorch; count impl):"
echo "$tisa"
