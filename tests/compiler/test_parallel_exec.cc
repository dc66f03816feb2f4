// A compiled graph's parallel steps (GEMM blocks and row-split kernels on the thread pool)
// against the same executable run serially (ThreadPool::Serial), and one Executable run by
// three callers at once: every caller gets the single caller's bits (issue 16).
#include <doctest/doctest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/thread_pool.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

HostTensor tensor(std::vector<int64_t> shape, uint32_t seed) {
  HostTensor t(DType::f32, shape);
  std::vector<float> v = test::random_floats(static_cast<size_t>(t.numel()), seed);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

double max_abs_diff(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.shape() == b.shape());
  double e = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    e = std::max(e, std::abs(double(a.data<float>()[i]) - double(b.data<float>()[i])));
  return e;
}

bool same_bits(const HostTensor& a, const HostTensor& b) {
  return a.shape() == b.shape() && std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>());
}

}  // namespace

TEST_CASE("compiled graph: parallel steps equal the serial run; three concurrent callers get the same bits") {
  // (256, 512) . (512, 512)^T + b -> relu -> * y -> softmax: a GEMM cut into blocks and
  // 2^17-element kernels split into row chunks.
  for (bool fuse : {false, true}) {
    CAPTURE(fuse);
    Graph g;
    int x = g.add_variable("x"), w = g.add_variable("w"), b = g.add_variable("b"), y = g.add_variable("y");
    int fc = g.add_node("FullyConnected", "fc", {{x, 0}, {w, 0}, {b, 0}}, {{"num_hidden", int64_t(512)}});
    int r = g.add_node("relu", "act", {{fc, 0}}, {});
    int m = g.add_node("elemwise_mul", "mul", {{r, 0}, {y, 0}}, {});
    int s = g.add_node("softmax", "sm", {{m, 0}}, {});
    g.heads.push_back({s, 0});
    g.heads.push_back({m, 0});
    infer(g, {{{"x", Shape{256, 512}}, {"w", Shape{512, 512}}, {"b", Shape{512}}, {"y", Shape{256, 512}}}, {}});
    CompileOptions o;
    o.fuse = fuse;
    auto exe = compile(g, o);
    if (!fuse) {
      bool split = false;
      for (const Step& st : exe->steps) split = split || st.split;
      CHECK(split);  // the unfused elementwise kernels run in row chunks
    }
    std::vector<HostTensor> in{tensor({256, 512}, 1), tensor({512, 512}, 2), tensor({512}, 3), tensor({256, 512}, 4)};
    std::vector<HostTensor> par = exe->run(in), ser;
    {
      ThreadPool::Serial one;
      ser = exe->run(in);
    }
    REQUIRE(par.size() == 2);
    // The product's sums may be ordered differently (|fc| <= 513 here); the rest is exact.
    CHECK(max_abs_diff(par[1], ser[1]) <= 1e-6 * 513);
    CHECK(max_abs_diff(par[0], ser[0]) <= 1e-6);
    std::vector<std::vector<HostTensor>> outs(3);
    std::vector<std::thread> callers;
    for (int k = 0; k < 3; ++k)
      callers.emplace_back([&, k] {
        for (int rep = 0; rep < 4; ++rep) outs[k] = exe->run(in);
      });
    for (auto& t : callers) t.join();
    for (const auto& o3 : outs) {
      REQUIRE(o3.size() == 2);
      CHECK(same_bits(o3[0], par[0]));
      CHECK(same_bits(o3[1], par[1]));
    }
  }
}
