#!/usr/bin/env bash
# The GPU check (issue 9), for a machine with an NVIDIA GPU, the CUDA driver and cuBLAS;
# budget <= 8 minutes on 16 cores. Builds hgc, runs the GPU test suite (every lowered op,
# the project MLP and the shared models on the device vs the CPU executable, the CUDA
# runtime tests, hgc run --device cuda, NDArray ops on gpu(0) and hybridized Gluon nets on
# gpu(0) vs cpu, parameters initialized on gpu(0)), then times the MLP forward batch on the GPU against
# the CPU and, when PyTorch with CUDA is installed, against PyTorch on the same GPU.
#
#   scripts/gpu_check.sh [BUILD_DIR]      (default build-gpu; an existing build is reused)
#
# Needs at build time what scripts/setup.sh installs (clang-19, MLIR/LLVM 19 in
# /usr/lib/llvm-19, OpenBLAS) and a CUDA toolkit with nvvm/libdevice (CUDA_HOME, else
# /usr/local/cuda) for the PTX; at run time libcuda.so.1 and libcublas.so.{13,12,11}.
# ../shared/models/mxnet beside the checkout adds the shared models (skipped otherwise).
# Exit status: 0 all passed, 1 a test failed, 2 the machine lacks something (says what).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-gpu}
START=$(date +%s)
say() { echo "== [$(( $(date +%s) - START ))s] $*"; }

say "machine"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
  echo "no NVIDIA GPU or driver here (nvidia-smi fails)"; exit 2
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader || true
if [ ! -d /usr/lib/llvm-19/lib/cmake/mlir ]; then
  say "MLIR 19 missing: trying scripts/setup.sh (needs the Debian mirror)"
  ./scripts/setup.sh "$BUILD" >/dev/null 2>&1 || { echo "cannot install MLIR/LLVM 19 (see scripts/setup.sh)"; exit 2; }
fi
TK=${CUDA_HOME:-${CUDA_PATH:-/usr/local/cuda}}
[ -f "$TK/nvvm/libdevice/libdevice.10.bc" ] || { echo "no libdevice under $TK (set CUDA_HOME)"; exit 2; }

say "build ($BUILD)"
if [ ! -f "$BUILD/build.ninja" ]; then
  GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
  CC_=clang-19; CXX_=clang++-19; command -v clang++-19 >/dev/null || { CC_=cc; CXX_=c++; }
  cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=$CC_ -DCMAKE_CXX_COMPILER=$CXX_ \
    >"$BUILD.configure.log" 2>&1 || { tail -20 "$BUILD.configure.log"; exit 2; }
fi
cmake --build "$BUILD" -j "$(nproc)" --target hgc_tests hgc >"$BUILD.build.log" 2>&1 || { tail -30 "$BUILD.build.log"; exit 1; }
HGC=$(find "$BUILD" -name hgc -type f -perm -u+x | head -1)

say "GPU tests"
FAIL=0
"$BUILD/tests/hgc_tests" --no-version \
  -tc='cuda:*,gpu exec*,gpu codegen: the project MLP*,hgc run --device*,gpu plan io*,hgc compile --target=cuda*,ndarray gpu*,gluon gpu*,chapter ndarray: managing context' \
  --duration=true || FAIL=1

say "hgc compile --target=cuda: the standalone program on the GPU"
CDIR=$(mktemp -d)
if "$HGC" compile models/mlp/straight_dope_mlp-symbol.json --shape data=256x784 --target=cuda -o "$CDIR/mlp_cuda" &&
   "$HGC" compile models/mlp/straight_dope_mlp-symbol.json --shape data=256x784 -o "$CDIR/mlp_cpu"; then
  ! ldd "$CDIR/mlp_cuda" | grep -E "libcuda|libcublas" || { echo "the cuda program links CUDA"; FAIL=1; }
  python3 - "$CDIR/in.npy" <<'PY'
import random, struct, sys  # a (256, 784) float32 .npy without numpy
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (256, 784), }"
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(struct.pack("<%df" % (256 * 784), *[random.random() for _ in range(256 * 784)]))
PY
  for p in mlp_cpu mlp_cuda; do echo "-- $p"; "$CDIR/$p" --input data="$CDIR/in.npy" --repeat 200 || FAIL=1; done
else
  FAIL=1
fi
rm -rf "$CDIR"

say "timing: MLP forward, batch 256 (hgc run --time 200)"
MLP=models/mlp/straight_dope_mlp-symbol.json
for dev in cpu cuda; do
  echo "-- $dev"; "$HGC" run "$MLP" --input data=256x784:random --time 200 --device $dev | grep -E "compiled|median" || FAIL=1
done
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  say "timing: the same MLP in PyTorch on this GPU (upload + forward + download, like hgc run)"
  python3 - <<'PY'
import time, torch
dev = torch.device("cuda")
net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
                          torch.nn.Linear(128, 2)).to(dev).eval()
x = torch.rand(256, 784)
ts = []
with torch.no_grad():
    for i in range(220):
        t0 = time.perf_counter()
        y = net(x.to(dev)).cpu()
        ts.append((time.perf_counter() - t0) * 1e3)
ts = sorted(ts[20:])
print(f"pytorch {torch.__version__}: median latency over 200 runs: {ts[len(ts)//2]:.4f} ms")
PY
else
  say "PyTorch with CUDA not installed: no PyTorch comparison"
fi
say "done (exit $FAIL)"
exit $FAIL
