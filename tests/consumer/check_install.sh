#!/usr/bin/env bash
# The installed package as a user gets it: installs the build into a temporary prefix, moves
# the prefix elsewhere (it must be relocatable), checks no installed file names the build
# tree, builds tests/consumer against it (no source-tree include paths) and runs it, and links
# a model library and a standalone program with the installed `hgc compile`.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/staged" > "$T/install.log"
mv "$T/staged" "$T/moved"; P="$T/moved"
for f in include/hgc/hgc.h include/hgc/version.h lib/libhgc.so lib/libhgc_runtime.so lib/cmake/hgc/hgcConfig.cmake \
         lib/cmake/hgc/hgcConfigVersion.cmake lib/pkgconfig/hgc.pc bin/hgc lib/hgc/libhgc_runtime.a; do
  [ -e "$P/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
if grep -rlF -- "$BUILD" "$P"; then echo "FAIL: installed files above name the build tree $BUILD"; exit 1; fi
if grep -rlF -- "$T/staged" "$P"; then echo "FAIL: installed files above name the install prefix"; exit 1; fi
# hgc::runtime needs no MLIR/LLVM.
if ldd "$P/lib/libhgc_runtime.so" | grep -E 'libMLIR|libLLVM'; then echo "FAIL: libhgc_runtime.so links MLIR/LLVM"; exit 1; fi
cmake -S "$SRC/tests/consumer" -B "$T/consumer" -G Ninja -DCMAKE_CXX_COMPILER="${CXX:-clang++-19}" \
  -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release > "$T/configure.log" || { cat "$T/configure.log"; exit 1; }
cmake --build "$T/consumer" > "$T/build.log" 2>&1 || { cat "$T/build.log"; exit 1; }
if grep -F -- "-I$SRC" "$T/consumer/build.ninja"; then echo "FAIL: the consumer compiles with source-tree include paths"; exit 1; fi
mkdir "$T/out"
"$T/consumer/hgc_consumer" train "$T/out"
"$P/bin/hgc" compile "$T/out/mlp-symbol.json" --params "$T/out/mlp-0000.params" --shape data=8x20 \
  --emit=lib -o "$T/out/libmlp.so"
"$T/consumer/hgc_consumer" run "$T/out/libmlp.so" "$T/out"
# A standalone program from the prefix: it loads OpenBLAS and oneDNN at first call (lazy stubs
# on x86-64, runtime/aot_lazy.cc), so ldd lists neither there, and it computes what the net did.
"$P/bin/hgc" compile "$T/out/mlp-symbol.json" --params "$T/out/mlp-0000.params" --shape data=8x20 -o "$T/out/mlp"
if [ "$(uname -m)" = x86_64 ] && ldd "$T/out/mlp" | grep -E 'libopenblas|libdnnl'; then
  echo "FAIL: the installed hgc compile --emit=exe links the libraries above at start"; exit 1
fi
"$T/out/mlp" --input data="$T/out/x.npy" --output "$T/out/got.npy"
"$T/consumer/hgc_consumer" check-npy "$T/out"
# pkg-config finds the same library and headers.
PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs hgc > "$T/pc"
grep -q -- "-lhgc" "$T/pc" || { echo "FAIL: pkg-config hgc"; cat "$T/pc"; exit 1; }
# The .deb: dpkg-shlibdeps' run-time dependencies (MLIR/LLVM and oneDNN among them) and the files.
(cd "$T" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/deb" > "$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; exit 1; }
DEB=$(ls "$T"/deb/hgc_*.deb)
dpkg-deb -f "$DEB" Depends | tee "$T/depends"
for dep in libmlir-19 libllvm19 libdnnl2 libopenblas0 clang-19; do
  grep -q "$dep" "$T/depends" || { echo "FAIL: the .deb does not depend on $dep"; exit 1; }
done
dpkg-deb -c "$DEB" > "$T/contents"
grep -q './usr/lib/libhgc.so' "$T/contents" || { echo "FAIL: the .deb lacks libhgc.so"; exit 1; }
echo "install check: passed (prefix moved, consumer built and run, hgc compile --emit=lib and exe from the prefix, .deb)"
