// Reduction lowering helpers shared by the reduce, nn and nn_norm families (a helper file: it
// registers nothing). A reduction is a short sequence of linalg.generics in one kernel: reduce
// into a small tensor whose reduced dims have size 1, then an elementwise pass reading it
// back through a broadcast map.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "../lowering.h"

namespace hgc::lower {

using AxisSet = std::set<int>;

// The axes a reduction's attributes (`attr`, exclude) name for a rank-`rank` input.
AxisSet axes_of(const NodeCtx& c, int rank, const char* attr = "axis", bool has_exclude = true);
Dims kept_shape(const Dims& in, const AxisSet& axes);
std::string kept_map(int rank, const AxisSet& axes);
std::vector<std::string> iterators(int rank, const AxisSet& axes);
std::string out_map(int rank, const AxisSet& axes, const Dims& out_shape);
int64_t count(const Dims& in, const AxisSet& axes);
std::string reduce_into(KernelWriter& w, const std::string& x, const std::string& init, const std::string& omap,
                        const AxisSet& axes, DType t, const std::string& op);
std::string scale(KernelWriter& w, const std::string& t, double k);
void lower_reduce(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                  const std::string& kind);
void lower_softmax(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                   const AxisSet& axes, double temperature, bool log, bool negate);
AxisSet one_axis(const NodeCtx& c, int64_t axis);

}  // namespace hgc::lower
