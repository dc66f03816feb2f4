// AttrView: a node's attributes read through its op's schema, defaults filled in (the IR
// side of attrs.h, which is the base library's and knows no ops).
//
//   AttrView a(op_def, node.attrs, "node 'conv0'");
//   int64_t groups = a.i("num_group");        // the default when the node does not set it
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "hgc/base/attrs.h"

namespace hgc {

struct OpDef;

// Read access to a node's attributes with the op's defaults filled in. Errors name `where`.
class AttrView {
 public:
  AttrView(const OpDef& op, const AttrMap& attrs, std::string where)
      : op_(&op), attrs_(&attrs), where_(std::move(where)) {}

  const AttrValue& get(const std::string& name) const;
  bool is_none(const std::string& name) const;
  int64_t i(const std::string& name) const;
  double f(const std::string& name) const;
  bool b(const std::string& name) const;
  const std::string& s(const std::string& name) const;
  const std::vector<int64_t>& tuple(const std::string& name) const;
  std::optional<int64_t> opt_i(const std::string& name) const;
  std::optional<double> opt_f(const std::string& name) const;
  std::optional<std::vector<int64_t>> opt_tuple(const std::string& name) const;
  const std::string& where() const { return where_; }
  const OpDef& op() const { return *op_; }

 private:
  const OpDef* op_;
  const AttrMap* attrs_;
  std::string where_;
};

}  // namespace hgc
