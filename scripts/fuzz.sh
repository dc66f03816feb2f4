#!/usr/bin/env bash
# Builds the libFuzzer targets under ASan + UBSan and runs each for SECONDS (default 120),
# seeded with the project's and (when present) ../shared's model files.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-120}
./scripts/setup.sh build-fuzz -DHGC_FUZZ=ON -DHGC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-fuzz --target fuzz_json fuzz_params fuzz_npy fuzz_onnx
for t in json params npy onnx; do
  corpus=build-fuzz/corpus-$t; mkdir -p "$corpus"
  case $t in
    json) cp models/*/*.json "$corpus"/ ; cp ../shared/models/mxnet/*.json "$corpus"/ 2>/dev/null || true ;;
    params) cp ../shared/models/mxnet/*.params "$corpus"/ 2>/dev/null || true ;;
    npy) python3 -c "import sys; sys.stdout.buffer.write(b'\x93NUMPY\x01\x00v\x00' + b\"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\".ljust(117) + b'\n' + bytes(24))" > "$corpus/seed.npy" ;;
    onnx) for d in /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator,simple}/*/; do
            cp "$d/model.onnx" "$corpus/$(basename "$d").onnx"; done ;;
  esac
  echo "== fuzz_$t for ${SECONDS_EACH}s"
  ./build-fuzz/fuzz/fuzz_$t "$corpus" -max_total_time="$SECONDS_EACH" -max_len=300000 -rss_limit_mb=2048 2>&1 | tail -3
done
