// How layer reprs print numbers and flags, as Gluon's (Python's str of a float, True/False).
#pragma once
#include <sstream>
#include <string>

namespace hgc::gluon::nn::detail {

inline std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
inline std::string py(bool b) { return b ? "True" : "False"; }

}  // namespace hgc::gluon::nn::detail
