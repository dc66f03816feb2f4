// Reference kernels of the broadcast family: numpy-broadcasting binaries and the explicit
// expanders (broadcast_axis, broadcast_to, broadcast_like). Output shapes always come from
// inference; these loops only map each output element to its partners.
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// out[idx] = f(lhs[idx'], rhs[idx'']) where size-1 (or missing leading) dims broadcast.
void broadcast_binary(Ctx& c, double (*f)(double, double)) {
  const Arr &l = c.in[0], &r = c.in[1];
  Arr& o = c.out[0];
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k)
    o.v[k] = f(l.v[broadcast_offset(it.idx, l.shape)], r.v[broadcast_offset(it.idx, r.shape)]);
}

// broadcast_axis / broadcast_to / broadcast_like: input dims of size 1 repeat.
void expand(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  if (x.ndim() != o.ndim()) c.fail("input and output ranks differ");
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) o.v[k] = x.v[broadcast_offset(it.idx, x.shape)];
}

}  // namespace

void add_broadcast_kernels(KernelTable& t) {
  const std::map<std::string, std::string> names = {
      {"broadcast_add", "add"}, {"broadcast_sub", "sub"}, {"broadcast_mul", "mul"},
      {"broadcast_div", "div"}, {"broadcast_mod", "mod"}, {"broadcast_power", "power"},
      {"broadcast_maximum", "maximum"}, {"broadcast_minimum", "minimum"},
      {"broadcast_hypot", "hypot"}, {"broadcast_equal", "equal"},
      {"broadcast_not_equal", "not_equal"}, {"broadcast_greater", "greater"},
      {"broadcast_greater_equal", "greater_equal"}, {"broadcast_lesser", "lesser"},
      {"broadcast_lesser_equal", "lesser_equal"}, {"broadcast_logical_and", "logical_and"},
      {"broadcast_logical_or", "logical_or"}, {"broadcast_logical_xor", "logical_xor"}};
  for (const auto& [name, fn] : names) {
    auto f = binary_fns().at(fn);
    t.add(name, [f](Ctx& c) { broadcast_binary(c, f); });
  }
  for (const char* name : {"broadcast_axis", "broadcast_to", "broadcast_like"}) t.add(name, expand);
}

}  // namespace hgc::ref
