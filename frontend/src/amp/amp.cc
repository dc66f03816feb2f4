#include "hgc/frontend/amp/amp.h"

#include <atomic>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/block.h"

namespace hgc::amp {

namespace {

std::atomic<int> g_target{static_cast<int>(DType::unknown)};

DType parse_target(const std::string& name) {
  auto t = dtype_from_name(name);
  if (!t || (*t != DType::bf16 && *t != DType::f16))
    fail("amp", "target dtype must be \"bfloat16\" or \"float16\", got \"", name, "\"");
  return *t;
}

}  // namespace

void init(const std::string& target_dtype) { g_target = static_cast<int>(parse_target(target_dtype)); }
void reset() { g_target = static_cast<int>(DType::unknown); }
DType default_target() { return static_cast<DType>(g_target.load()); }

std::shared_ptr<gluon::Block> convert_hybrid_block(std::shared_ptr<gluon::Block> net, const std::string& target_dtype) {
  if (!net) fail("amp", "convert_hybrid_block: the block is null");
  DType t = parse_target(target_dtype);
  gluon::HybridizeOptions o = net->hybridize_options();
  o.compile.amp = t;
  net->hybridize(true, o);
  return net;
}

}  // namespace hgc::amp
