// The ops with no CPU lowering, each with the reason. tests/ir/test_op_families.cc requires
// every registry op to have a lowering (from compiler/src/lower/<family>.cc) or an entry
// here; compiling a graph with one of them fails naming the op. Keep it short: an entry is a
// debt, not a policy.
#include "../lowering.h"

namespace hgc::lower {

void register_missing(LoweringTable& t) {
  // elementwise: MLIR's math dialect has no such function; each needs its own series.
  t.missing("erfinv", "no math-dialect function; needs a rational approximation plus Newton steps");
  t.missing("gamma", "no math-dialect function; needs a Lanczos series");
  t.missing("gammaln", "no math-dialect function; needs a Lanczos series");
  // reduce
  t.missing("norm", "not written yet (nd::norm composes sqrt(sum(x^2)) from lowered ops)");
  t.missing("argmax_channel", "not written yet (legacy spelling of argmax axis=1, which is lowered)");
  // movement
  t.missing("stack", "not written yet; a copy through an input map as Concat's");
  t.missing("tile", "not written yet; a copy through a modulo input map");
  t.missing("repeat", "not written yet; a copy through a floor-division input map");
  t.missing("reverse", "not written yet; a strided copy with negative strides (movement_util.h)");
  t.missing("depth_to_space", "not written yet; a reshape-transpose-reshape copy");
  t.missing("space_to_depth", "not written yet; a reshape-transpose-reshape copy");
  t.missing("shape_array", "not written yet; the value is known from the inferred input shape (a constant)");
  t.missing("size_array", "not written yet; the value is known from the inferred input shape (a constant)");
  // movement_index
  t.missing("pick", "not written yet; a gather along the axis as take's (lower_take)");
  t.missing("gather_nd", "not written yet; a gather with a computed flat index");
  // init
  t.missing("_eye", "not written yet; a fill comparing the two output indices");
  // nn_norm
  t.missing("InstanceNorm", "not written yet; per-instance reductions as LayerNorm's (reduce_util.h)");
  t.missing("GroupNorm", "not written yet; per-group reductions as LayerNorm's (reduce_util.h)");
  // rnn
  t.missing("RNN", "the expand_rnn pass rewrites the fused RNN into lowered ops before code generation");
}

}  // namespace hgc::lower
