#include "hgc/version.h"

namespace hgc {
const char* version() { return HGC_VERSION_STRING; }
}  // namespace hgc
