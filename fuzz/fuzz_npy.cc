// libFuzzer target: the .npy reader; a successful load must round-trip byte-exactly.
#include <cstdint>
#include <cstring>
#include <string>

#include "hgc/runtime/tensor_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    hgc::HostTensor t = hgc::load_npy_bytes(bytes, "fuzz");
    hgc::HostTensor u = hgc::load_npy_bytes(hgc::save_npy_bytes(t), "fuzz2");
    if (u.nbytes() != t.nbytes() || std::memcmp(u.raw(), t.raw(), t.nbytes()) != 0)
      __builtin_trap();
  } catch (const hgc::Error&) {
  }
  return 0;
}
