#!/usr/bin/env bash
# Issue 20's accuracy check: Fashion-MNIST MLP and LeNet trained hybridized for EPOCHS
# epochs in float32 and with bfloat16 AMP, two seeds each; prints each run's test accuracy
# and the mean difference (bfloat16 - float32) per model. Slow (minutes per run on 2 cores):
# a bench script, not a test (tests/models/test_amp_models.cc is the one-epoch version).
#
#   scripts/amp_accuracy.sh [build-dir] [epochs]      # default: build 10
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EPOCHS=${2:-10}
BIN="$BUILD/models/hgc_train_fashion_amp"
[ -x "$BIN" ] || { echo "build $BIN first (ninja -C $BUILD hgc_train_fashion_amp)" >&2; exit 1; }
declare -A acc
for model in mlp lenet; do
  for precision in float32 bfloat16; do
    for seed in 1 2; do
      a=$("$BIN" "$model" "$precision" "$EPOCHS" "$seed" | tee /dev/stderr | awk '/^final/ {print $NF}')
      acc[$model,$precision,$seed]=$a
      echo "$model $precision seed $seed: $a"
    done
  done
done
echo
echo "| model | float32 (mean of 2) | bfloat16 AMP (mean of 2) | difference (points) |"
echo "|---|---|---|---|"
for model in mlp lenet; do
  python3 - "$model" "${acc[$model,float32,1]}" "${acc[$model,float32,2]}" "${acc[$model,bfloat16,1]}" "${acc[$model,bfloat16,2]}" <<'PY'
import sys
m, f1, f2, b1, b2 = sys.argv[1], *map(float, sys.argv[2:])
f, b = (f1 + f2) / 2, (b1 + b2) / 2
print(f"| {m} | {100*f:.2f} | {100*b:.2f} | {100*(b-f):+.2f} |")
PY
done
