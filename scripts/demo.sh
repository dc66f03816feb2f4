#!/usr/bin/env bash
# Sets up, builds and runs the main demo:
#  1. the Straight Dope MLP, loaded from the MXNet symbol JSON the project ships, with its
#     deferred weight shapes inferred for a 1x512 input and the compiler's view of it;
#  2. an MLP trained on the real Fashion-MNIST with the Gluon-style API (autograd + SGD),
#     hybridized for inference, exported as MXNet files, and run again by `hgc run`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh build
cmake --build build --target hgc hgc_train_fashion_mlp
echo "== 1. hgc dump: the seed book's MLP with inferred shapes"
./build/tools/hgc dump models/mlp/straight_dope_mlp-symbol.json --shape data=1x512
echo
echo "== 2. training an MLP on Fashion-MNIST"
out=$(mktemp -d)
./build/models/hgc_train_fashion_mlp 2 "$out/fashion_mlp"
echo
echo "== 3. the exported model, compiled and run by hgc run"
./build/tools/hgc run "$out/fashion_mlp-symbol.json" --params "$out/fashion_mlp-0002.params" \
  --input data=1x784:random --time 100
rm -rf "$out"
