#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs every test.
#   scripts/test.sh             release build in build/
#   scripts/test.sh --sanitize  ASan + UBSan build of the whole suite in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build; EXTRA=()
if [ "${1:-}" = "--sanitize" ]; then
  BUILD=build-asan; EXTRA=(-DHGC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
./scripts/setup.sh "$BUILD" "${EXTRA[@]}"
cmake --build "$BUILD"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD" --output-on-failure
