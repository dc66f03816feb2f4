// Shared by the int8 library calls (library_int8.cc, library_int8_ops.cc): MXNet's oneDNN
// rounding, float32 to the nearest even integer, saturated to the destination type.
#pragma once
#include <cmath>
#include <limits>

namespace hgc::lib {

template <typename T>
T saturate(float v) {
  v = std::nearbyint(v);
  if (v <= static_cast<float>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (v >= static_cast<float>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

}  // namespace hgc::lib
