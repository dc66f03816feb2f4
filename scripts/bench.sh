#!/usr/bin/env bash
# Issue 10's suite in one command: hgc (imperative, hybridized, `hgc compile` executables)
# against PyTorch (eager, TorchScript) on the same machine in the same run, the two sides
# alternating workload by workload, then a markdown table of speed-ups with the issue's
# targets, the machine, the thread count and the load.
#
#   scripts/bench.sh [--quick] [--threads N] [--rounds N] [--runs N] [--only W1,W4,...]
#                    [--out DIR] [--build DIR] [--micro]
#
# --quick: a smoke run (few iterations, one round). Default: 1 thread per side (the machine
# has 2 vCPUs shared with others), 2 rounds of 5 timed batches each. Installs python3-torch
# and python3-numpy with apt-get when torch is missing; without them the PyTorch columns are
# empty. Results (JSON per round and side, table.md) go to --out (default a new temp dir).
# --micro appends the Google Benchmark micro-benchmarks (build/bench/hgc_bench_ops: per-op
# dispatch, fused elementwise GB/s vs memcpy, FullyConnected GFLOP/s vs raw OpenBLAS and
# oneDNN sgemm). compile: the MLP's first hybridized call (empty cache; new process, warm
# disk cache); memory: peak RSS of the MLP and LeNet training loops.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=""; MICRO=""; THREADS=1; ROUNDS=2; RUNS=5; ONLY="W1,W1b,W2,W3,W4,W4b,W5,W6,startup,compile,memory"; OUT=""; BUILD=build
while (($#)); do
  case "$1" in
    --quick) QUICK=--quick; ROUNDS=1 ;;
    --micro) MICRO=1 ;;
    --threads) THREADS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The interpreter with Debian's torch (a pyenv python3 does not see dist-packages).
find_py() {
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c "import torch, numpy" 2>/dev/null; then echo "$py"; return; fi
  done
}
PY=$(find_py || true)
if [ -z "$PY" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[bench] installing python3-torch python3-numpy (Debian's PyTorch 1.13)" >&2
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
       --no-install-recommends python3-torch python3-numpy >/dev/null; then
    PY=$(find_py || true)
  fi
  [ -n "$PY" ] || echo "[bench] torch unavailable: the PyTorch columns stay empty" >&2
fi
PY_REPORT=$(command -v python3 || echo /usr/bin/python3)

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
fi
ninja -C "$BUILD" hgc hgc_bench_workloads >/dev/null

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/hgc_bench.XXXXXX")}
mkdir -p "$OUT"
# The same thread count for every pool on both sides: hgc's, OpenBLAS's, OpenMP's.
export HGC_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
LOAD_BEFORE=$(uptime)
echo "[bench] results in $OUT; load before: $LOAD_BEFORE" >&2
IFS=, read -r -a WS <<<"$ONLY"
for ((r = 1; r <= ROUNDS; r++)); do
  for w in "${WS[@]}"; do
    # Alternate which side goes first so drifting machine load does not favour one.
    sides=(hgc torch); ((r % 2 == 0)) && sides=(torch hgc)
    for side in "${sides[@]}"; do
      echo "[bench] round $r/$ROUNDS $w $side" >&2
      if [ "$side" = hgc ]; then
        "$BUILD/bench/hgc_bench_workloads" --only "$w" --runs "$RUNS" --threads "$THREADS" $QUICK \
          >"$OUT/hgc_${w}_r$r.json" 2>>"$OUT/hgc.log" || echo "[bench] hgc $w failed (see $OUT/hgc.log)" >&2
      elif [ -n "$PY" ]; then
        "$PY" bench/peers/torch_workloads.py --only "$w" --runs "$RUNS" --threads "$THREADS" $QUICK \
          >"$OUT/torch_${w}_r$r.json" 2>>"$OUT/torch.log" || echo "[bench] torch $w failed (see $OUT/torch.log)" >&2
      fi
    done
  done
done
TITLE="## hgc vs PyTorch ($(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS round(s)${QUICK:+, quick})

Threads per side: $THREADS. Load before: \`$LOAD_BEFORE\`; after: \`$(uptime)\`."
find "$OUT" -name '*.json' -size +0 -print0 | sort -z | xargs -0 "$PY_REPORT" bench/report.py --title "$TITLE" \
  | tee "$OUT/table.md"
if [ -n "$MICRO" ]; then
  if ninja -C "$BUILD" hgc_bench_ops >/dev/null 2>&1; then
    MIN_TIME=0.3; [ -n "$QUICK" ] && MIN_TIME=0.05
    { echo; echo "### Micro-benchmarks (hgc_bench_ops, $THREADS thread(s))"; echo; echo '```'
      "$BUILD/bench/hgc_bench_ops" --benchmark_min_time="$MIN_TIME" 2>/dev/null; echo '```'; } | tee -a "$OUT/table.md"
  else
    echo "[bench] hgc_bench_ops not built (Google Benchmark missing?): micro-benchmarks skipped" >&2
  fi
fi
