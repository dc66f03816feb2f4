#!/usr/bin/env bash
# Sets up, builds and runs the main demo:
#  1. the Straight Dope MLP, loaded from the MXNet symbol JSON the project ships, with its
#     deferred weight shapes inferred for a 1x512 input;
#  2. the Fashion-MNIST MLP trained on the real data with the Gluon-style API: one epoch
#     imperatively, then hybridized (compiled forward and backward) for EPOCHS epochs, with
#     test accuracy, images/s of both modes and the compiled graph's memory with/without
#     planning; the loss/accuracy curve plotted with gnuplot;
#  3. the exported MXNet files inspected with `hgc dump` and run with `hgc run`.
# Output goes to ./demo_out (or $1). EPOCHS (default 10) sets the number of epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo_out}
epochs=${EPOCHS:-10}
./scripts/setup.sh build
cmake --build build --target hgc hgc_train_fashion_mlp
echo "== 1. hgc dump: the seed book's MLP with inferred shapes"
./build/tools/hgc dump models/mlp/straight_dope_mlp-symbol.json --shape data=1x512
echo
echo "== 2. training the Fashion-MNIST MLP"
./build/models/hgc_train_fashion_mlp "$epochs" "$out"
if command -v gnuplot >/dev/null; then
  gnuplot -e "in='$out/curve.tsv'; out='$out/curve.png'" scripts/plot_curve.gp
  echo "loss/accuracy curve: $out/curve.png"
fi
json="$out/fashion_mlp-symbol.json"
params="$out/fashion_mlp-$(printf %04d "$epochs").params"
echo
echo "== 3. the exported model: ./build/tools/hgc dump $json --shape data=1x784 --params $params --explain"
./build/tools/hgc dump "$json" --shape data=1x784 --params "$params" --explain
echo
echo "== 4. compiled and run by hgc run"
./build/tools/hgc run "$json" --params "$params" --input data=1x784:random --time 100
