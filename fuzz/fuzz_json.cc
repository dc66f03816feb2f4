// libFuzzer target: the MXNet JSON loader, shape inference and the round trip must never
// crash, whatever the bytes; hgc::Error is the only acceptable failure.
#include <cstdint>
#include <string>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    hgc::Graph g = hgc::load_json(text, "fuzz");
    std::string once = hgc::save_json(g);
    if (hgc::save_json(hgc::load_json(once, "fuzz2")) != once) __builtin_trap();
    hgc::InferOptions o;
    o.require_complete = false;
    hgc::infer(g, o);
  } catch (const hgc::Error&) {
  }
  return 0;
}
