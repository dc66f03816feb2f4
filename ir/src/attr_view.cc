#include "hgc/ir/attr_view.h"

#include "hgc/base/error.h"
#include "hgc/ir/op.h"

namespace hgc {

// ---- AttrView ----

const AttrValue& AttrView::get(const std::string& name) const {
  auto it = attrs_->find(name);
  if (it != attrs_->end()) return it->second;
  const AttrSpec* spec = op_->attr_spec(name);
  if (!spec) fail("ir", where_, ": op ", op_->name, " has no attribute '", name, "'");
  if (!spec->default_value) fail("ir", where_, ": required attribute '", name, "' is missing");
  return *spec->default_value;
}

bool AttrView::is_none(const std::string& name) const {
  return std::holds_alternative<std::monostate>(get(name));
}

namespace {
template <typename T>
const T& as(const AttrValue& v, const AttrView& view, const std::string& name, const char* what) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  fail("ir", view.where(), ": attribute '", name, "' is ", format_attr(v), ", expected ", what);
}
}  // namespace

int64_t AttrView::i(const std::string& name) const {
  const AttrValue& v = get(name);
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  return as<int64_t>(v, *this, name, "an integer");
}
double AttrView::f(const std::string& name) const {
  const AttrValue& v = get(name);
  if (const int64_t* x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  return as<double>(v, *this, name, "a number");
}
bool AttrView::b(const std::string& name) const {
  const AttrValue& v = get(name);
  if (const int64_t* x = std::get_if<int64_t>(&v)) return *x != 0;
  return as<bool>(v, *this, name, "a boolean");
}
const std::string& AttrView::s(const std::string& name) const {
  return as<std::string>(get(name), *this, name, "a string");
}
const std::vector<int64_t>& AttrView::tuple(const std::string& name) const {
  return as<std::vector<int64_t>>(get(name), *this, name, "a tuple");
}
std::optional<int64_t> AttrView::opt_i(const std::string& name) const {
  if (is_none(name)) return std::nullopt;
  return i(name);
}
std::optional<double> AttrView::opt_f(const std::string& name) const {
  if (is_none(name)) return std::nullopt;
  return f(name);
}
std::optional<std::vector<int64_t>> AttrView::opt_tuple(const std::string& name) const {
  if (is_none(name)) return std::nullopt;
  return tuple(name);
}

}  // namespace hgc
