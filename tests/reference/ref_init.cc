// Reference kernels of the init family: _zeros, _ones, _full, _arange, _eye, one_hot and
// zeros_like/ones_like.
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

double b2d(bool b) { return b ? 1.0 : 0.0; }
bool is_float(DType t) { return dtype_is_float(t); }

void fill(Ctx& c, double value) {
  for (double& v : c.out[0].v) v = value;
}

void arange(Ctx& c) {
  double start = c.a.f("start"), step = c.a.f("step");
  int64_t repeat = c.a.i("repeat");
  // Without stop the range is [0, start) (MXNet's RangeParamParser), unless the length
  // comes from the consumers (infer_range).
  if (c.a.is_none("stop") && !c.a.b("infer_range")) start = 0;
  // MXNet computes start + (i / repeat) * step in the output dtype.
  if (!is_float(c.out_dtypes[0])) start = std::trunc(start), step = std::trunc(step);
  for (int64_t i = 0; i < c.out[0].numel(); ++i)
    c.out[0].v[i] = start + static_cast<double>(i / repeat) * step;
}

void eye(Ctx& c) {
  int64_t k = c.a.i("k"), rows = c.out[0].shape[0], cols = c.out[0].shape[1];
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) c.out[0].v[i * cols + j] = b2d(j - i == k);
}

// Indices are truncated to integers; one outside [0, depth) gives a row of off_value.
void one_hot(Ctx& c) {
  int64_t depth = c.a.i("depth");
  double on = c.a.f("on_value"), off = c.a.f("off_value");
  fill(c, off);
  for (int64_t i = 0; i < c.in[0].numel(); ++i) {
    auto j = static_cast<int64_t>(c.in[0].v[i]);
    if (j >= 0 && j < depth) c.out[0].v[i * depth + j] = on;
  }
}

}  // namespace

void add_init_kernels(KernelTable& t) {
  t.add("_zeros", [](Ctx& c) { fill(c, 0.0); });
  t.add("_ones", [](Ctx& c) { fill(c, 1.0); });
  t.add("_full", [](Ctx& c) { fill(c, c.a.f("value")); });
  t.add("zeros_like", [](Ctx& c) { fill(c, 0.0); });
  t.add("ones_like", [](Ctx& c) { fill(c, 1.0); });
  t.add("_arange", arange);
  t.add("_eye", eye);
  t.add("one_hot", one_hot);
}

}  // namespace hgc::ref
