// The step profile (runtime/profile.h) of what `fn` runs, as its report text: tests search it
// for the kernels and library calls a call made.
#pragma once
#include <functional>
#include <sstream>
#include <string>

#include "hgc/runtime/profile.h"

namespace hgc::test {

inline std::string steps_of(const std::function<void()>& fn) {
  profile::reset();
  profile::enable(true);
  fn();
  profile::enable(false);
  std::ostringstream os;
  profile::report(os);
  profile::reset();
  return os.str();
}

}  // namespace hgc::test
