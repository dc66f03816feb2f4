#!/usr/bin/env bash
# Installs every Debian package hgc needs (idempotent) and configures the build.
# Usage: scripts/setup.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake ninja-build ccache g++ pkg-config
      llvm-19-dev libmlir-19-dev mlir-19-tools clang-19 lld-19 libclang-rt-19-dev
      nlohmann-json3-dev doctest-dev libopenblas-dev libdnnl-dev graphviz dataset-fashion-mnist zlib1g-dev
      gnuplot-nox python3
      libopenmpi-dev openmpi-bin libgloo-dev libhiredis-dev redis-server redis-tools  # data-parallel (hgc_dist)
      python3-torch python3-torchvision python3-numpy  # the PyTorch oracles of the parity tests and the bench's peer
      libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata python3-onnx  # ONNX import/export and its conformance data
      dpkg-dev file)  # cpack -G DEB (dpkg-shlibdeps) in the install test

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[setup] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD=${1:-build}; shift || true
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 "$@"
fi
