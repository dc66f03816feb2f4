#!/usr/bin/env bash
# Sets up, builds and runs the main demo: the Straight Dope MLP, loaded from the MXNet
# symbol JSON the project ships, with its deferred weight shapes inferred for a 1x512 input.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh build
cmake --build build --target hgc
./build/tools/hgc dump models/mlp/straight_dope_mlp-symbol.json --shape data=1x512
