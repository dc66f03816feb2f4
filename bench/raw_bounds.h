// Lower bounds measured in the bench's own run (issue 16): the GEMMs of a workload run raw
// through each BLAS the machine has (oneDNN's sgemm on its own OpenMP threads, OpenBLAS's
// cblas_sgemm on its own threads) at the bench's thread count, and the time to stream W1's
// weights from L2 once per forward.
#pragma once
#include <string>
#include <vector>

namespace hgc::bench {

struct RawFigure {
  std::string workload, name, mode;  // mode: the library ("onednn", "openblas") or "l2-read"
  std::vector<double> seconds;       // per timed batch, seconds per step / per 1000 forwards
};

// W1 (b=1) weight streaming, and the GEMMs of W1b, W2 and W5 (dense).
std::vector<RawFigure> raw_bounds(bool quick, int runs, int threads);

}  // namespace hgc::bench
