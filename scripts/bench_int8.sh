#!/usr/bin/env bash
# Issue 20's int8 rows: hgc float32 vs hgc int8 (quantization::quantize_net) inference
# (bench/bench_int8.cc) on all cores, and the ISA oneDNN ran for the int8 convolutions and
# inner products (from DNNL_VERBOSE's primitive lines).
#
#   scripts/bench_int8.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-5}
[ -x "$BUILD/bench/hgc_bench_int8" ] || { echo "build $BUILD/bench/hgc_bench_int8 first" >&2; exit 1; }
echo "## hgc int8 (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores)"
"$BUILD/bench/hgc_bench_int8" --runs "$RUNS"
echo
isa=$(DNNL_VERBOSE=1 "$BUILD/bench/hgc_bench_int8" --runs 1 2>/dev/null |
      awk -F, '/^onednn_verbose,exec/ && ($4 == "convolution" || $4 == "matmul") && /s8|u8/ {print $4" "$5}' |
      sort | uniq -c | sort -rn | head -6)
echo "oneDNN int8 kernels (count primitive impl):"
echo "$isa"
