// Reference kernels of the ordering family: topk, sort and argsort as a stable sort of
// each line along the axis (equal values keep their order, in both directions).
#include <algorithm>
#include <numeric>

#include "ref_kernels.h"

namespace hgc::ref {
namespace {

// Sorts every line of data along the axis (the flattened data when axis is None) and hands
// each line's order (positions, best first) to `emit(line_of_out, order, view)`.
void ordered(Ctx& c, bool ascend, int64_t k, const std::string& ret) {
  const Arr& x = c.in[0];
  bool flat = c.a.is_none("axis");
  AxisView v = flat ? AxisView(Dims{x.numel()}, 0) : AxisView(x.shape, c.axis(c.a.i("axis"), x.ndim()));
  if (k < 1 || k > v.len) k = v.len;
  std::vector<int64_t> order(v.len);
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
        double a = x.v[v.at(o, p, i)], b = x.v[v.at(o, q, i)];
        return ascend ? a < b : a > b;
      });
      for (int64_t r = 0; r < k; ++r) {
        int64_t at = (o * k + r) * v.inner + i;
        if (ret == "mask") c.out[0].v[v.at(o, order[r], i)] = 1;
        else if (ret == "indices") c.out[0].v[at] = static_cast<double>(order[r]);
        else c.out[0].v[at] = x.v[v.at(o, order[r], i)];
        if (ret == "both") c.out[1].v[at] = static_cast<double>(order[r]);
      }
    }
}

}  // namespace

void add_ordering_kernels(KernelTable& t) {
  t.add("topk", [](Ctx& c) { ordered(c, c.a.b("is_ascend"), c.a.i("k"), c.a.s("ret_typ")); });
  t.add("sort", [](Ctx& c) { ordered(c, c.a.b("is_ascend"), 0, "value"); });
  t.add("argsort", [](Ctx& c) { ordered(c, c.a.b("is_ascend"), 0, "indices"); });
}

}  // namespace hgc::ref
