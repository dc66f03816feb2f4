// hgc::Error — the one exception type library code throws.
//
//   throw hgc::Error("ir", "node 'fc1' (FullyConnected): weight shape (3, 4) != (3, 5)");
//   // what(): "[ir] node 'fc1' (FullyConnected): weight shape (3, 4) != (3, 5)"
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hgc {

class Error : public std::runtime_error {
 public:
  Error(const std::string& component, const std::string& message)
      : std::runtime_error("[" + component + "] " + message), component_(component) {}
  const std::string& component() const { return component_; }

 private:
  std::string component_;
};

// Builds a message from streamable parts: fail("ir", "bad dim ", 3, " in ", name).
template <typename... Parts>
[[noreturn]] void fail(const std::string& component, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(component, os.str());
}

}  // namespace hgc
