#!/usr/bin/env bash
# Issue 20's int8 accuracy: LeNet and LeNet+BatchNorm trained in float32 on Fashion-MNIST,
# quantized by quantize_net (naive and entropy calibration), full test set.
#
#   scripts/int8_accuracy.sh [build-dir] [epochs]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EPOCHS=${2:-10}
[ -x "$BUILD/models/hgc_quantize_fashion_lenet" ] || { echo "build $BUILD/models/hgc_quantize_fashion_lenet first" >&2; exit 1; }
out=$(mktemp -d)
"$BUILD/models/hgc_quantize_fashion_lenet" "$EPOCHS" plain "$out/lenet-int8" | grep '^|'
"$BUILD/models/hgc_quantize_fashion_lenet" "$EPOCHS" bn "$out/lenet-bn-int8" | grep '^|'
rm -rf "$out"
