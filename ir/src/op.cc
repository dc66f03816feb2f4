#include "hgc/ir/op.h"

#include <mutex>
#include <string_view>

#include "families.h"
#include "hgc/base/error.h"

namespace hgc {

const AttrSpec* OpDef::attr_spec(const std::string& n) const {
  for (const AttrSpec& s : attrs)
    if (s.name == n) return &s;
  return nullptr;
}

// ---- contexts ----

void ShapeCtx::error(const std::string& msg) const { fail("infer", attrs.where(), ": ", msg); }

void ShapeCtx::assign_in(int i, const Shape& s) const {
  if (!Shape::merge(in[i], s))
    error("input '" + (i < static_cast<int>(input_names.size()) ? input_names[i] : "?") +
          "' has shape " + in[i].str() + ", expected " + s.str());
}

void ShapeCtx::assign_out(int i, const Shape& s) const {
  if (!Shape::merge(out[i], s))
    error("output " + std::to_string(i) + " has shape " + out[i].str() + ", expected " + s.str());
}

void TypeCtx::error(const std::string& msg) const { fail("infer", attrs.where(), ": ", msg); }

// ---- builder ----

OpBuilder& OpBuilder::alias(std::string a) {
  d_.aliases.push_back(a);
  r_.by_name_[a] = &d_;
  return *this;
}
OpBuilder& OpBuilder::attr(AttrSpec s) {
  d_.attrs.push_back(std::move(s));
  return *this;
}
OpBuilder& OpBuilder::inputs(Names names) {
  d_.input_names = [names](const AttrView&) { return names; };
  return *this;
}
OpBuilder& OpBuilder::inputs(NamesFn fn) {
  d_.input_names = std::move(fn);
  return *this;
}
OpBuilder& OpBuilder::params(Names names) {
  d_.param_inputs = std::move(names);
  return *this;
}
OpBuilder& OpBuilder::variadic(const std::string& count_attr) {
  d_.variadic = true;
  d_.input_names = [count_attr](const AttrView& a) {
    Names n;
    int64_t k = a.i(count_attr);
    if (k < 0 || k > 100000) fail("ir", a.where(), ": ", count_attr, "=", k, " is out of range");
    for (int64_t i = 0; i < k; ++i) n.push_back("arg" + std::to_string(i));
    return n;
  };
  return *this;
}
OpBuilder& OpBuilder::outputs(int n) {
  d_.num_outputs = [n](const AttrView&) { return n; };
  d_.num_visible_outputs = d_.num_outputs;
  return *this;
}
OpBuilder& OpBuilder::outputs(CountFn all, CountFn visible) {
  d_.num_outputs = std::move(all);
  d_.num_visible_outputs = std::move(visible);
  return *this;
}
OpBuilder& OpBuilder::output_names(NamesFn fn) {
  d_.output_names = std::move(fn);
  return *this;
}

// ---- registry ----

std::string file_stem(const char* path) {
  std::string_view p(path);
  size_t slash = p.find_last_of("/\\");
  if (slash != std::string_view::npos) p.remove_prefix(slash + 1);
  return std::string(p.substr(0, p.find('.')));
}

OpBuilder OpRegistry::add(const std::string& name, std::source_location where) {
  if (by_name_.count(name)) fail("ir", "op '", name, "' registered twice");
  ops_.push_back(std::make_unique<OpDef>());
  OpDef& d = *ops_.back();
  d.name = name;
  d.family = file_stem(where.file_name());
  d.input_names = [](const AttrView&) { return Names{"data"}; };
  d.num_outputs = [](const AttrView&) { return 1; };
  d.num_visible_outputs = d.num_outputs;
  d.infer_type = rules::same_type;
  by_name_[name] = &d;
  return OpBuilder(*this, d);
}

const OpDef* OpRegistry::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const OpDef& OpRegistry::get(const std::string& name) const {
  const OpDef* d = find(name);
  if (!d) fail("ir", "unknown op '", name, "'");
  return *d;
}

std::vector<const OpDef*> OpRegistry::all() const {
  std::vector<const OpDef*> v;
  for (const auto& p : ops_) v.push_back(p.get());
  return v;
}

const OpRegistry& OpRegistry::global() {
  static OpRegistry* reg = [] {
    auto* r = new OpRegistry();
    ops::register_elementwise(*r);
    ops::register_broadcast(*r);
    ops::register_reduce(*r);
    ops::register_movement(*r);
    ops::register_init(*r);
    ops::register_nn(*r);
    ops::register_ordering(*r);
    ops::register_random(*r);
    ops::register_linalg(*r);
    ops::register_detection(*r);
    ops::register_rnn(*r);
    ops::register_fused(*r);
    ops::register_quantization(*r);
    return r;
  }();
  return *reg;
}

// ---- shared rules ----

namespace rules {

bool same_shape(ShapeCtx& c) {
  Shape s;
  for (size_t i = 0; i < c.in.size(); ++i)
    if (!Shape::merge(s, c.in[i]))
      c.error("inputs disagree: " + c.in[0].str() + " vs " + c.in[i].str());
  if (!Shape::merge(s, c.out[0])) c.error("output " + c.out[0].str() + " vs input " + s.str());
  for (size_t i = 0; i < c.in.size(); ++i) c.in[i] = s;
  for (Shape& o : c.out) c.assign_out(static_cast<int>(&o - &c.out[0]), s);
  return s.known();
}

std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
  if (!a.rank_known() || !b.rank_known()) return Shape::unknown();
  int n = std::max(a.ndim(), b.ndim());
  Shape out = Shape::of_rank(n);
  for (int i = 0; i < n; ++i) {
    int ia = i - (n - a.ndim()), ib = i - (n - b.ndim());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da < 0) out[i] = db;
    else if (db < 0) out[i] = da;
    else if (da == db) out[i] = da;
    else return std::nullopt;
  }
  return out;
}

bool broadcast_shape(ShapeCtx& c) {
  auto s = broadcast(c.in[0], c.in[1]);
  if (!s) c.error("cannot broadcast " + c.in[0].str() + " with " + c.in[1].str());
  c.assign_out(0, *s);
  return c.out[0].known();
}

bool same_type(TypeCtx& c) {
  DType t = DType::unknown;
  auto unify = [&](DType x) {
    if (x == DType::unknown) return;
    if (t == DType::unknown) t = x;
    else if (t != x) c.error("dtypes disagree: " + dtype_name(t) + " vs " + dtype_name(x));
  };
  for (DType x : c.in) unify(x);
  for (DType x : c.out) unify(x);
  if (t == DType::unknown) return false;
  for (DType& x : c.in) x = t;
  for (DType& x : c.out) x = t;
  return true;
}

}  // namespace rules
}  // namespace hgc
