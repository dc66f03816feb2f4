#include "lowering.h"

#include "hgc/compiler/lowerings.h"
#include "hgc/base/error.h"

namespace hgc::lower {

void NodeCtx::error(const std::string& msg) const { fail("compiler", node.describe(), ": ", msg); }

void LoweringTable::add(const std::string& op, Lowering l, Where where) {
  const OpDef& def = OpRegistry::global().get(op);  // must be a registered op
  if (by_op_.count(def.name)) fail("compiler", "lowering for ", op, " registered twice");
  l.file = where.file_name();
  by_op_[def.name] = std::move(l);
}

void LoweringTable::missing(const std::string& op, std::string reason) {
  const OpDef& def = OpRegistry::global().get(op);
  if (missing_.count(def.name)) fail("compiler", "missing lowering for ", op, " listed twice");
  missing_[def.name] = std::move(reason);
}

const Lowering* LoweringTable::find(const OpDef& op) const {
  auto it = by_op_.find(op.name);
  return it == by_op_.end() ? nullptr : &it->second;
}

const LoweringTable& LoweringTable::global() {
  static const LoweringTable* t = [] {
    auto* table = new LoweringTable();
    register_elementwise(*table);
    register_broadcast(*table);
    register_reduce(*table);
    register_movement(*table);
    register_movement_index(*table);
    register_init(*table);
    register_matmul(*table);
    register_nn(*table);
    register_nn_conv(*table);
    register_nn_resize(*table);
    register_nn_norm(*table);
    register_ordering(*table);
    register_random(*table);
    register_linalg(*table);
    register_detection(*table);
    register_fused(*table);
    register_quantization(*table);
    register_missing(*table);
    return table;
  }();
  return *t;
}

}  // namespace hgc::lower

namespace hgc {

std::map<std::string, std::string> lowering_files() {
  std::map<std::string, std::string> files;
  for (const auto& [op, l] : lower::LoweringTable::global().all()) files[op] = l.file;
  return files;
}

std::map<std::string, std::string> ops_without_lowering() { return lower::LoweringTable::global().missing_ops(); }

}  // namespace hgc
