#!/usr/bin/env bash
# The bench suite in one command: hgc (imperative, hybridized, `hgc compile` executables)
# against PyTorch (eager, TorchScript; torch.sparse for W5) on the same machine in the same
# run, the two sides alternating workload by workload, then markdown tables of speed-ups
# with issue 16's targets, the bounds measured in the same run (raw GEMMs, L2 reads), hgc's
# scaling, memory, and the recorded machine (CPU, ISA flags, library versions, torch's
# configuration, every thread/BLAS environment variable of both sides) and load.
#
#   scripts/bench.sh [--quick] [--threads N] [--rounds N] [--runs N] [--only W1,W4,...]
#                    [--out DIR] [--build DIR] [--micro] [--peer-isa best|default]
#
# Two tables per run: 1 thread per side, then all cores per side (the headline), both with
# passive OpenMP waits on both sides (OMP_WAIT_POLICY=PASSIVE) and every pool (hgc's,
# OpenMP's, OpenBLAS's, torch's) given the same count. --threads N: one table at N threads.
# --quick: a smoke run (few iterations, one round). Default 2 rounds of 5 timed batches.
# Installs python3-torch and python3-numpy with apt-get when torch is missing. When
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set (they hold OpenBLAS, i.e. PyTorch's GEMMs, to an
# older core's instruction set), the tables say so, and the peer is run again with them unset
# for its command alone where its parity check (bench/parity) still passes that way.
# Results (JSON per table, round and side; table.md) go to --out (default a new temp dir).
# --micro appends the Google Benchmark micro-benchmarks (build/bench/hgc_bench_ops).
# --peer-isa best (default): on an AVX-512 CPU the peer's ATen kernels run at AVX-512
# (ATEN_CPU_CAPABILITY=avx512, parity-checked); default: torch's own choice (AVX2 there).
# Issue 19's dynamic-shape rows (build/bench/hgc_bench_dynamic) close every run.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=""; MICRO=""; THREADS=""; PEER_ISA=best; ROUNDS=2; RUNS=5; ONLY="W1,W1b,W2,W3,W4,W4b,W5,W5d,W6,raw,startup,compile,memory"; OUT=""; BUILD=build
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
    --peer-isa) PEER_ISA=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
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
ninja -C "$BUILD" hgc hgc_bench_workloads hgc_parity_dump hgc_bench_dynamic >/dev/null

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/hgc_bench.XXXXXX")}
mkdir -p "$OUT"
NCORES=$(nproc)
if [ -n "$THREADS" ]; then TABLES=("$THREADS"); else TABLES=(1 "$NCORES"); fi
IFS=, read -r -a WS <<<"$ONLY"
# Passive waits: an OpenMP (or OpenBLAS) thread that has finished sleeps instead of spinning
# against the next kernel's threads, on both sides.
export OMP_WAIT_POLICY=PASSIVE

# run_table THREADS DIR [SIDES]: every round of every workload, the sides alternating.
run_table() {
  local threads=$1 dir=$2 only_sides=${3:-"hgc torch"} r w side
  mkdir -p "$dir"
  # The same thread count for every pool on both sides: hgc's, OpenBLAS's, OpenMP's, torch's.
  export HGC_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
  for ((r = 1; r <= ROUNDS; r++)); do
    for w in "${WS[@]}"; do
      # Alternate which side goes first so drifting machine load does not favour one.
      sides=(hgc torch); ((r % 2 == 0)) && sides=(torch hgc)
      for side in "${sides[@]}"; do
        [[ " $only_sides " == *" $side "* ]] || continue
        echo "[bench] $threads thread(s): round $r/$ROUNDS $w $side" >&2
        if [ "$side" = hgc ]; then
          "$BUILD/bench/hgc_bench_workloads" --only "$w" --runs "$RUNS" --threads "$threads" $QUICK \
            >"$dir/hgc_${w}_r$r.json" 2>>"$dir/hgc.log" || echo "[bench] hgc $w failed (see $dir/hgc.log)" >&2
        elif [ -n "$PY" ] && [ "$w" != raw ] && [ "$w" != compile ]; then
          "${PEER_ENV[@]}" "$PY" bench/peers/torch_workloads.py --only "$w" --runs "$RUNS" --threads "$threads" $QUICK \
            >"$dir/torch_${w}_r$r.json" 2>>"$dir/torch.log" || echo "[bench] torch $w failed (see $dir/torch.log)" >&2
        fi
      done
    done
  done
}

# PyTorch 1.13 runs its ATen kernels (pooling, activations, reductions, its own convolutions)
# at AVX2 on AVX-512 CPUs unless ATEN_CPU_CAPABILITY says otherwise (its `__config__` reports
# "CPU capability usage: AVX2"): on this project's AMD Zen 5 machine that held LeNet's step
# to ~1.6x its AVX-512 time. So where the CPU has AVX-512 and the peer's results still match
# hgc's that way (parity.py), the peer runs with ATEN_CPU_CAPABILITY=avx512 in every table
# (--peer-isa default keeps torch's own choice). An ATEN_CPU_CAPABILITY already set is kept.
PEER_ENV=(env)
if [ -n "$PY" ] && [ "$PEER_ISA" = best ] && [ -z "${ATEN_CPU_CAPABILITY:-}" ] && grep -qw avx512f /proc/cpuinfo; then
  "$BUILD/bench/hgc_parity_dump" "$OUT/parity" >/dev/null
  if env ATEN_CPU_CAPABILITY=avx512 "$PY" -c "import torch, sys; sys.exit('AVX512' not in torch.__config__.show())" &&
     env ATEN_CPU_CAPABILITY=avx512 "$PY" bench/parity/parity.py "$OUT/parity" >"$OUT/parity-avx512.log" 2>&1; then
    PEER_ENV=(env ATEN_CPU_CAPABILITY=avx512)
    echo "[bench] the peer runs with ATEN_CPU_CAPABILITY=avx512 (torch's default here: AVX2)" >&2
  else
    echo "[bench] the peer keeps torch's default ATen capability (avx512 unavailable or parity failed: $OUT/parity-avx512.log)" >&2
  fi
fi
for threads in "${TABLES[@]}"; do
  LOAD_BEFORE=$(uptime)
  echo "[bench] results in $OUT/t$threads; load before: $LOAD_BEFORE" >&2
  run_table "$threads" "$OUT/t$threads"
  label="$threads thread(s) per side"
  [ "$threads" = "$NCORES" ] && label="all $NCORES cores per side (the headline)"
  TITLE="## hgc vs PyTorch, $label ($(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS round(s)${QUICK:+, quick})

Threads per side: $threads; OMP_WAIT_POLICY=PASSIVE on both sides. Load before: \`$LOAD_BEFORE\`; after: \`$(uptime)\`."
  extra=()
  [ "$threads" != 1 ] && [ -d "$OUT/t1" ] && extra=(--one-thread "$OUT/t1")
  find "$OUT/t$threads" -name '*.json' -size +0 -print0 | sort -z |
    xargs -0 "$PY_REPORT" bench/report.py --title "$TITLE" "${extra[@]}" | tee -a "$OUT/table.md"
  echo | tee -a "$OUT/table.md"
done

# A peer held below hgc's instruction set: run it again with the pinning unset for its
# command alone, where its forwards still match hgc's that way (parity.py).
if [ -n "$PY" ] && { [ -n "${OPENBLAS_CORETYPE:-}" ] || [ -n "${OPENBLAS_L2_SIZE:-}" ]; }; then
  PEER_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${PEER_ENV[@]:1}")  # env: options before NAME=VALUE
  "$BUILD/bench/hgc_parity_dump" "$OUT/parity" >/dev/null
  if "${PEER_ENV[@]}" "$PY" bench/parity/parity.py "$OUT/parity" >"$OUT/parity-unpinned.log" 2>&1; then
    threads=${TABLES[-1]}
    run_table "$threads" "$OUT/unpinned" torch
    cp "$OUT/t$threads"/hgc_*.json "$OUT/unpinned/"
    find "$OUT/unpinned" -name '*.json' -size +0 -print0 | sort -z | xargs -0 "$PY_REPORT" bench/report.py \
      --title "## The same hgc results vs PyTorch with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for the peer ($threads thread(s))" |
      tee -a "$OUT/table.md"
  else
    echo "[bench] the peer's OpenBLAS does not match hgc with OPENBLAS_CORETYPE unset (see $OUT/parity-unpinned.log): no unpinned run" |
      tee -a "$OUT/table.md" >&2
  fi
fi
# Issue 19: what a new batch size costs (hybridized MLP, BST forward, ResNet-18) against a
# full compile, steady dynamic vs static, and W6's first epoch with an empty disk cache (a
# fresh process and cache folder) against a steady one.
{ echo; echo "### Dynamic shapes (issue 19; ${TABLES[-1]} thread(s); a shared machine: indications)"; echo
  HGC_NUM_THREADS=${TABLES[-1]} "$BUILD/bench/hgc_bench_dynamic" --runs "$((RUNS * 4))" 2>>"$OUT/dynamic.log" ||
    echo "(hgc_bench_dynamic failed: see $OUT/dynamic.log)"
  echo
  # One process is one sample of a ~0.5 s epoch on a noisy machine: three fresh processes, and
  # the median of their first/steady ratios.
  for i in 1 2 3; do
    HGC_NUM_THREADS=${TABLES[-1]} "$BUILD/bench/hgc_bench_dynamic" --w6 --epochs "$([ -n "$QUICK" ] && echo 2 || echo 3)" \
      2>>"$OUT/dynamic.log" > "$OUT/w6_$i.md" || echo "(W6 first vs steady failed: see $OUT/dynamic.log)"
    if [ "$i" = 1 ]; then cat "$OUT/w6_$i.md"; else tail -n +3 "$OUT/w6_$i.md"; fi
  done
  cat "$OUT"/w6_*.md | awk -F'|' '/^\| W6 .*empty disk cache/ { split($5, r, " "); print r[1] }' | sort -n |
    awk '{ v[++n] = $1 } END { if (n) printf "\nW6 first/steady, median of %d fresh processes: %.2f (target <= 1.15)\n", n, v[int((n + 1) / 2)] }'
} | tee -a "$OUT/table.md"
if [ -n "$MICRO" ]; then
  if ninja -C "$BUILD" hgc_bench_ops >/dev/null 2>&1; then
    MIN_TIME=0.3; [ -n "$QUICK" ] && MIN_TIME=0.05
    { echo; echo "### Micro-benchmarks (hgc_bench_ops, ${TABLES[-1]} thread(s))"; echo; echo '```'
      "$BUILD/bench/hgc_bench_ops" --benchmark_min_time="$MIN_TIME" 2>/dev/null; echo '```'; } | tee -a "$OUT/table.md"
  else
    echo "[bench] hgc_bench_ops not built (Google Benchmark missing?): micro-benchmarks skipped" >&2
  fi
fi
