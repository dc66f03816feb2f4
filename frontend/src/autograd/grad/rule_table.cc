// The gradient-rule table and the helpers the family files share (this file registers no
// rule: each op's rule is in grad/<family>.cc, the family of its op record, ir/ops/).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad_rules.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::grad {

const RuleTable& RuleTable::global() {
  static const RuleTable t = [] {
    RuleTable r;
    register_elementwise_rules(r);
    register_broadcast_rules(r);
    register_reduce_rules(r);
    register_movement_rules(r);
    register_movement_index_rules(r);
    register_init_rules(r);
    register_matmul_rules(r);
    register_nn_rules(r);
    register_nn_conv_rules(r);
    register_nn_resize_rules(r);
    register_nn_norm_rules(r);
    register_ordering_rules(r);
    register_random_rules(r);
    register_linalg_rules(r);
    register_detection_rules(r);
    register_missing(r);
    return r;
  }();
  return t;
}

void RuleTable::add(const std::string& op, GradFn fn, std::source_location where) {
  const OpDef& d = OpRegistry::global().get(op);  // canonical name, so aliases resolve
  if (rules_.count(d.name) || zero_.count(d.name)) fail("autograd", "internal: two gradient rules for '", op, "'");
  rules_[d.name] = std::move(fn);
  files_[d.name] = where.file_name();
}
void RuleTable::zero(const std::string& op, std::source_location where) {
  const OpDef& d = OpRegistry::global().get(op);
  if (rules_.count(d.name) || zero_.count(d.name)) fail("autograd", "internal: two gradient rules for '", op, "'");
  zero_[d.name] = true;
  files_[d.name] = where.file_name();
}

void RuleTable::missing(const std::string& op, std::string reason) {
  const OpDef& d = OpRegistry::global().get(op);
  if (rules_.count(d.name) || zero_.count(d.name))
    fail("autograd", "internal: '", op, "' is on the missing-gradient list but has a rule");
  missing_[d.name] = std::move(reason);
}

const std::string* RuleTable::missing_reason(const OpDef& op) const {
  auto it = missing_.find(op.name);
  return it == missing_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuleTable::zero_ops() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : zero_) r.push_back(k);
  return r;
}

const GradFn* RuleTable::find(const OpDef& op) const {
  auto it = rules_.find(op.name);
  return it == rules_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuleTable::ops() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : rules_) r.push_back(k);
  return r;
}

NDArray unbroadcast(const NDArray& g, const std::vector<int64_t>& shape) {
  if (g.shape() == shape) return g;
  int lead = g.ndim() - static_cast<int>(shape.size());
  std::vector<int64_t> axes;
  for (int i = 0; i < g.ndim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
  NDArray s = axes.empty() ? g : nd::sum(g, axes, true);
  // Already there (same rank): no Reshape node, whose attribute would bake the sizes of the
  // other (possibly dynamic) axes into a traced gradient graph.
  if (s.shape() == shape) return s;
  return s.reshape(shape.empty() ? std::vector<int64_t>{1} : shape);
}

NDArray expand_to(const NDArray& g, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& axes) {
  std::vector<int64_t> kept = x_shape;
  for (int64_t a : axes) kept[a] = 1;
  NDArray k = g.shape() == kept ? g : g.reshape(kept);
  return k.shape() == x_shape ? k : nd::broadcast_to(k, x_shape);
}

NDArray expand_like(const NDArray& g, const NDArray& x, const std::vector<int64_t>& axes) {
  if (!g.is_symbolic() || !x.is_symbolic()) return expand_to(g, x.shape(), axes);
  // Traced: expand_dims and broadcast_like take no size, so none is baked into the graph.
  NDArray k = g;
  if (k.ndim() + static_cast<int>(axes.size()) == x.ndim()) {  // keepdims=false: put the axes back
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t a : sorted) k = k.expand_dims(static_cast<int>(a));
  } else if (k.ndim() != x.ndim()) {  // a full reduction's (1,): every kept dim is 1
    std::vector<int64_t> kept = x.shape();
    for (int64_t a : axes) kept[a] = 1;
    k = k.reshape(kept);
  }
  return k.shape() == x.shape() ? k : nd::op("broadcast_like", {}, {k, x});
}

std::vector<int64_t> reduced_axes(const AttrView& a, int ndim) {
  std::vector<int64_t> r;
  if (a.is_none("axis")) {  // MXNet: no axis reduces everything, exclude or not
    for (int64_t i = 0; i < ndim; ++i) r.push_back(i);
    return r;
  }
  std::vector<int64_t> named;
  for (int64_t ax : a.tuple("axis")) named.push_back(nd_detail::normalize_axis(ax, ndim, "reduction axis"));
  bool exclude = a.op().attr_spec("exclude") && a.b("exclude");
  for (int64_t i = 0; i < ndim; ++i)
    if ((std::find(named.begin(), named.end(), i) != named.end()) != exclude) r.push_back(i);
  return r;
}

NDArray reshape_to(const NDArray& g, const std::vector<int64_t>& shape) {
  return g.shape() == shape ? g : g.reshape(shape);
}

NDArray reshape_back(const NDArray& g, const NDArray& like) {
  if (g.shape() == like.shape()) return g;
  if (g.is_symbolic() && like.is_symbolic()) return nd::op("reshape_like", {}, {g, like});
  return g.reshape(like.shape());
}

std::vector<int64_t> all_but(int ndim, const std::vector<int64_t>& keep) {
  std::vector<int64_t> r;
  for (int64_t i = 0; i < ndim; ++i)
    if (std::find(keep.begin(), keep.end(), i) == keep.end()) r.push_back(i);
  return r;
}

// The gradients of the binary math by kind (add, sub, ..., hypot): (da, db) of y = f(a, b)
// before un-broadcasting; the elementwise and broadcast families both use them.
const std::map<std::string, BinaryGrad>& binary_grads() {
  static const std::map<std::string, BinaryGrad> m = {
      {"add", [](auto&, auto&, auto&, auto& g) { return std::pair{g, g}; }},
      {"sub", [](auto&, auto&, auto&, auto& g) { return std::pair{g, -g}; }},
      {"mul", [](auto& a, auto& b, auto&, auto& g) { return std::pair{g * b, g * a}; }},
      {"div", [](auto&, auto& b, auto& y, auto& g) { NDArray gb = g / b; return std::pair{gb, -(gb * y)}; }},
      {"maximum", [](auto& a, auto& b, auto&, auto& g) {
        NDArray m = a >= b;  // ties go to the left operand, as MXNet's ge mask
        return std::pair{g * m, g * (1.0 - m)};
      }},
      {"minimum", [](auto& a, auto& b, auto&, auto& g) {
        NDArray m = a <= b;
        return std::pair{g * m, g * (1.0 - m)};
      }},
      {"power", [](auto& a, auto& b, auto& y, auto& g) {
        return std::pair{g * b * nd::power(a, b - 1.0), g * y * nd::log(a)};
      }},
      // MXNet's mod_grad / mod_rgrad: y = a - floor(a / b) * b with floor(a / b) held
      // constant (it is piecewise constant), so dy/da = 1 and dy/db = -floor(a / b).
      {"mod", [](auto& a, auto& b, auto&, auto& g) { return std::pair{g, -(g * nd::floor(a / b))}; }},
      {"hypot", [](auto& a, auto& b, auto& y, auto& g) {
        NDArray gy = g / y;
        return std::pair{gy * a, gy * b};
      }}};
  return m;
}

}  // namespace hgc::grad
