// libFuzzer target: the .params reader; a successful load must survive a save/load cycle.
#include <cstdint>
#include <string>

#include "hgc/runtime/tensor_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    hgc::ParamList p = hgc::load_params_bytes(bytes, "fuzz");
    std::string again = hgc::save_params_bytes(p);
    hgc::load_params_bytes(again, "fuzz2");
  } catch (const hgc::Error&) {
  }
  return 0;
}
