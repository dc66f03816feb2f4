#include "lowering.h"

#include "hgc/base/error.h"

namespace hgc::lower {

void NodeCtx::error(const std::string& msg) const { fail("compiler", node.describe(), ": ", msg); }

void LoweringTable::add(const std::string& op, Lowering l) {
  const OpDef& def = OpRegistry::global().get(op);  // must be a registered op
  if (by_op_.count(def.name)) fail("compiler", "lowering for ", op, " registered twice");
  by_op_[def.name] = std::move(l);
}

const Lowering* LoweringTable::find(const OpDef& op) const {
  auto it = by_op_.find(op.name);
  return it == by_op_.end() ? nullptr : &it->second;
}

const LoweringTable& LoweringTable::global() {
  static const LoweringTable* t = [] {
    auto* table = new LoweringTable();
    register_elementwise(*table);
    register_reduce(*table);
    register_movement(*table);
    register_nn(*table);
    register_library(*table);
    register_fused(*table);
    return table;
  }();
  return *t;
}

}  // namespace hgc::lower
