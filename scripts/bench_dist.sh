#!/usr/bin/env bash
# Issue 17's data-parallel bench: images/s of the Fashion-MNIST MLP and LeNet training,
# 1 process x 1 thread against 2 ranks x 1 thread each (hgc launch: gloo; mpirun: Open MPI),
# with the share of each epoch a rank spent waiting for the gradient allreduce (exposed
# communication). The same per-rank batch (64) everywhere: 2 ranks train a global batch of 128.
#
#   scripts/bench_dist.sh [epochs (default 1)] [build-dir]
#
# Prints a markdown table. Timing figures depend on the machine's load: run it on a quiet
# machine (this one has 2 vCPUs shared with others, so 2 ranks can at best double).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-1}; BUILD=${2:-build}
export HGC_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIFLAGS="--oversubscribe"; [ "$(id -u)" = 0 ] && MPIFLAGS="$MPIFLAGS --allow-run-as-root"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# The last hybridized epoch line of rank 0: "... (N images/s)"; the exposed share "(P% of the epoch)".
ips() { grep -E "^(\[rank 0\] )?epoch +$EPOCHS(/$EPOCHS)?:" "$1" | tail -1 | sed -E 's/.*\(([0-9]+) images\/s\).*/\1/'; }
share() { grep -E "rank 0: waited" "$1" | tail -1 | sed -E 's/.*\(([0-9.]+)% of the epoch\).*/\1/'; }

run() {  # name, log, command...
  local name=$1 log=$2; shift 2
  "$@" > "$log" 2>&1 || { echo "bench_dist: $name failed:"; tail -20 "$log"; exit 1; }
}

MLP="$BUILD/models/hgc_train_fashion_mlp"; LENET="$BUILD/models/hgc_train_fashion_lenet"
run "mlp 1 rank" "$OUT/mlp1" "$MLP" "$EPOCHS" "$OUT/m1"
run "mlp 2 ranks gloo" "$OUT/mlp2g" "$BUILD/tools/hgc" launch -n 2 -- "$MLP" "$EPOCHS" "$OUT/m2" --dist
run "mlp 2 ranks mpi" "$OUT/mlp2m" mpirun -np 2 $MPIFLAGS -x HGC_NUM_THREADS -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$MLP" "$EPOCHS" "$OUT/m3" --dist
run "lenet 1 rank" "$OUT/len1" "$LENET" "$EPOCHS"
run "lenet 2 ranks gloo" "$OUT/len2g" "$BUILD/tools/hgc" launch -n 2 -- "$LENET" "$EPOCHS" plain --dist
run "lenet 2 ranks mpi" "$OUT/len2m" mpirun -np 2 $MPIFLAGS -x HGC_NUM_THREADS -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$LENET" "$EPOCHS" plain --dist

row() {  # model, 1-rank log, 2-rank log, backend
  local one two
  one=$(ips "$2"); two=$(ips "$3")
  printf '| %s | %s | %s | %s | %.2fx | %s%% |\n' "$1" "$4" "$one" "$two" "$(echo "$two / $one" | bc -l)" "$(share "$3")"
}
echo "| model | backend | 1 rank x 1 thread (images/s) | 2 ranks x 1 thread (images/s) | speed-up | rank 0's epoch waiting for allreduce |"
echo "|---|---|---|---|---|---|"
row "Fashion MLP (hybridized)" "$OUT/mlp1" "$OUT/mlp2g" gloo
row "Fashion MLP (hybridized)" "$OUT/mlp1" "$OUT/mlp2m" mpi
row "LeNet (hybridized)" "$OUT/len1" "$OUT/len2g" gloo
row "LeNet (hybridized)" "$OUT/len1" "$OUT/len2m" mpi
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
