// Checks every parallel path owes (issue 16): three callers of one Executable at once get the
// single caller's bits, and a sum whose order a split changed stays within rounding.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "hgc/runtime/executable.h"
#include "support/random_vec.h"

namespace hgc::test {

// Three threads run `exe` on `in` `reps` times each; every output must equal `want` bit for bit.
inline void check_three_callers(const Executable& exe, const std::vector<HostTensor>& in,
                                const std::vector<HostTensor>& want, int reps) {
  std::vector<std::vector<HostTensor>> outs(3);
  std::vector<std::thread> callers;
  for (int k = 0; k < 3; ++k)
    callers.emplace_back([&, k] {
      for (int r = 0; r < reps; ++r) outs[k] = exe.run(in);
    });
  for (auto& t : callers) t.join();
  for (const auto& o : outs) {
    REQUIRE(o.size() >= want.size());
    for (size_t k = 0; k < want.size(); ++k) CHECK(same_bits(o[k], want[k]));
  }
}

// max |got - ref| over max |ref| (ref must not be all zero).
inline double relative_max_diff(const HostTensor& got, const HostTensor& ref) {
  double scale = 0, diff = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    scale = std::max(scale, std::abs(double(ref.data<float>()[i])));
    diff = std::max(diff, std::abs(double(got.data<float>()[i]) - ref.data<float>()[i]));
  }
  REQUIRE(scale > 0);
  return diff / scale;
}

}  // namespace hgc::test
