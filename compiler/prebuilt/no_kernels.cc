// The empty prebuilt table: linked into the tool that makes the real one (hgc_prebuild), and
// into hgc_compiler when HGC_PREBUILT_KERNELS is OFF.
#include "prebuilt.h"

namespace hgc::compiler_detail {

const PrebuiltTable& prebuilt_table() {
  static const PrebuiltTable t{"", nullptr, 0};
  return t;
}

}  // namespace hgc::compiler_detail
