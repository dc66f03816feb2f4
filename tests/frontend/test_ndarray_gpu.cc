// NDArrays on gpu(i) contexts (ndarray.h): creation, copyto, as_in_context, copy, printing,
// views and in-place writes move bytes through the CUDA runtime; ops run as one-node
// GpuPlans on the device. Without a driver or device (the build machines) every gpu context
// is an hgc::Error naming the context and the driver's reason; the byte-moving device cases
// run in a child against tests/fake_cuda (which loads no PTX: op cases there check the
// dispatch up to loading), and the cases that run kernels skip with a message unless a real
// GPU is present (scripts/gpu_check.sh runs them on a GPU machine).
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>

#include "hgc/compiler/gpu_imperative.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "hgc/runtime/cuda.h"
#include "support/gpu_device.h"
#include "support/shell.h"

using namespace hgc;

TEST_CASE("ndarray gpu: without a device every gpu context is an hgc::Error naming it and the driver's reason") {
  if (cuda::available()) {
    MESSAGE("SKIP no-driver path: a CUDA device is present");
    return;
  }
  CHECK(num_gpus() == 0);
  std::string why = cuda::unavailable_reason();
  REQUIRE(!why.empty());
  NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
  auto says = [&](const std::string& what) {
    return doctest::Contains(("ndarray] " + what + ": context gpu(0) is not available: " + why).c_str());
  };
  CHECK_THROWS_WITH_AS(nd::zeros({2, 2}, DType::f32, gpu(0)), says("zeros"), Error);
  CHECK_THROWS_WITH_AS(nd::ones({2, 2}, DType::f32, gpu(0)), says("zeros"), Error);
  CHECK_THROWS_WITH_AS(x.copyto(gpu(0)), says("copyto"), Error);
  CHECK_THROWS_WITH_AS(x.as_in_context(gpu(0)), says("copyto"), Error);
  CHECK_THROWS_WITH_AS(NDArray(x.tensor(), gpu(1)), doctest::Contains("gpu(1) is not available"), Error);
  // The source is untouched and cpu contexts still work.
  CHECK(x.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(x.as_in_context(cpu(0)).shares_storage(x));
}

TEST_CASE("ndarray gpu: copies between cpu and gpu(0) keep values, dtype and context") {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return;
  }
  CHECK(num_gpus() >= 1);
  NDArray x = nd::array({1, -2, 3.5f, 4, 5, 6}, {2, 3});
  NDArray g = x.copyto(gpu(0));
  CHECK(g.context() == gpu(0));
  CHECK(g.on_device());
  CHECK(g.shape() == std::vector<int64_t>{2, 3});
  CHECK(g.dtype() == DType::f32);
  CHECK(g.size() == 6);
  CHECK(!g.shares_storage(x));
  CHECK(g.as_in_context(gpu(0)).shares_storage(g));  // already there: the same block
  NDArray back = g.as_in_context(cpu(0));
  CHECK(back.context() == cpu(0));
  CHECK(!back.on_device());
  CHECK(back.to_vector<float>() == x.to_vector<float>());
  CHECK(g.to_vector<float>() == x.to_vector<float>());  // downloads
  std::string printed = x.str();
  printed.replace(printed.rfind("@cpu(0)"), 7, "@gpu(0)");
  CHECK(g.str() == printed);
  // A device-to-device copy is a new block with the same bytes.
  NDArray g2 = g.copy();
  CHECK(g2.context() == gpu(0));
  CHECK(!g2.shares_storage(g));
  CHECK(g2.to_vector<float>() == x.to_vector<float>());
  // Creation on the device; in-place fills and writes move bytes only.
  CHECK(nd::zeros({3}, DType::f32, gpu(0)).to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(nd::full({2}, 7, DType::i32, gpu(0)).to_vector<int32_t>() == std::vector<int32_t>{7, 7});
  g2.fill_(2);
  CHECK(g2.to_vector<float>() == std::vector<float>(6, 2.f));
  CHECK(g.to_vector<float>() == x.to_vector<float>());
  NDArray h = nd::zeros({2, 3});
  g.copyto(h);  // device -> existing host array
  CHECK(h.to_vector<float>() == x.to_vector<float>());
  g2.assign(nd::ones({2, 3}));  // host -> existing device array
  CHECK(g2.to_vector<float>() == std::vector<float>(6, 1.f));
  CHECK_THROWS_AS(g2.asscalar<float>(), Error);  // six elements
  CHECK(nd::full({1}, 3, DType::f32, gpu(0)).asscalar<float>() == 3.f);
}

TEST_CASE("ndarray gpu: errors: mixed contexts, host reads and autograd on gpu arrays are hgc::Errors") {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return;
  }
  NDArray g = nd::ones({2, 2}, DType::f32, gpu(0));
  auto says = [](const char* what) {
    return doctest::Contains((std::string(what) + ": the array lives on gpu(0)").c_str());
  };
  CHECK_THROWS_WITH_AS(g.tensor(), says("reading its values"), Error);
  CHECK_THROWS_WITH_AS(g.data_ptr(), says("data_ptr()"), Error);
  // MXNet: an op's inputs share one context; the error names the op and both.
  CHECK_THROWS_WITH_AS(g + nd::ones({2, 2}), doctest::Contains("broadcast_add: inputs live on gpu(0) and cpu(0)"), Error);
  CHECK_THROWS_WITH_AS(nd::dot(nd::ones({2, 2}), g), doctest::Contains("dot: inputs live on cpu(0) and gpu(0)"), Error);
  // Autograd records nothing on gpu contexts yet: an error, not a silently missing gradient.
  NDArray wg = nd::ones({2}, DType::f32, gpu(0));
  wg.attach_grad();
  CHECK(wg.grad().context() == gpu(0));
  {
    auto rec = autograd::record();
    CHECK_THROWS_WITH_AS(wg * 2, doctest::Contains("_mul_scalar on gpu(0): autograd on gpu contexts is not supported yet"),
                         Error);
  }
  // Nor copies between cpu and gpu.
  NDArray w = nd::ones({2});
  w.attach_grad();
  {
    auto rec = autograd::record();
    CHECK_THROWS_WITH_AS(w.copyto(gpu(0)), doctest::Contains("autograd does not record"), Error);
  }
  CHECK((g.as_in_context(cpu()) + 1).to_vector<float>() == std::vector<float>(4, 2.f));
}

TEST_CASE("ndarray gpu: views and in-place writes of gpu arrays run on the device and equal cpu bit for bit") {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return;
  }
  // These move bytes only (reshape & co. compile to plans without kernels, slices alias the
  // block): they run on the fake driver too.
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * float(i) - 3.f;
  NDArray c = nd::array(v, {2, 3, 4});
  NDArray g = c.copyto(gpu(0));
  auto same = [](const NDArray& got, const NDArray& want) {
    CHECK(got.context() == gpu(0));
    CHECK(got.shape() == want.shape());
    CHECK(got.to_vector<float>() == want.to_vector<float>());
  };
  same(g.reshape({6, 4}), c.reshape({6, 4}));
  same(g.reshape({0, -1}), c.reshape({0, -1}));
  same(g.flatten(), c.flatten());
  same(g.expand_dims(1), c.expand_dims(1));
  same(g.reshape({1, 24}).squeeze(), c.reshape({1, 24}).squeeze());
  same(g.slice(1, 2), c.slice(1, 2));
  same(g[1], c[1]);
  same(g[1][2], c[1][2]);
  same(g.index({Slice(0, 1)}), c.index({Slice(0, 1)}));
  // Slices of axis 0 alias the block, as on cpu: writes show through.
  NDArray row = g[0];
  CHECK(row.shares_storage(g));
  row.fill_(7);
  NDArray crow = c.copy();
  crow[0].fill_(7);
  same(g, crow);
  g.index_put_({Slice(1, 2)}, 5.0);
  crow.index_put_({Slice(1, 2)}, 5.0);
  same(g, crow);
  // A converting write: the Cast runs where the value lives (here cpu), then bytes.
  NDArray gi = nd::zeros({2}, DType::i32, gpu(0));
  gi.assign(nd::array({1.9f, -2.f}, {2}));
  CHECK(gi.to_vector<int32_t>() == std::vector<int32_t>{1, -2});
}

TEST_CASE("ndarray gpu fake: an op on gpu arrays takes the device path: a cached GpuPlan, loaded on the device") {
  if (!test::fake_gpu()) return;
  NDArray a = nd::array({1, 2, 3, 4, 5, 6}, {2, 3}).copyto(gpu(0));
  NDArray b = nd::array({1, 1, 1}, {1, 3}).copyto(gpu(0));
  clear_imperative_gpu_plans();
  // The plan is built (PTX for the broadcast kernel); loading it is where the stand-in stops.
  auto refused = [](const std::string& op) {
    return doctest::Contains((op + " on gpu(0): [cuda] cannot load the PTX").c_str());
  };
  CHECK_THROWS_WITH_AS(nd::op("broadcast_add", {}, {a, b}), refused("broadcast_add"), Error);
  CHECK(imperative_gpu_plan_stats().misses == 1);
  CHECK_THROWS_WITH_AS(a + b, refused("broadcast_add"), Error);
  GpuPlanCacheStats s = imperative_gpu_plan_stats();
  CHECK(s.misses == 1);  // compiled once per (op, attributes, shapes)
  CHECK(s.hits == 1);
  CHECK(s.entries == 1);
  auto plan = imperative_gpu_plan("broadcast_add", {}, {{2, 3}, {1, 3}}, {DType::f32, DType::f32});
  CHECK(imperative_gpu_plan_stats().hits == 2);
  REQUIRE(plan->kernels.size() == 1);
  CHECK(plan->exe->steps.size() == 1);
  CHECK(plan->exe->steps[0].kernel_name == plan->kernels[0].name);
  CHECK(plan->kernels[0].launches.at(0).ptx.count("sm_90"));
  CHECK_THROWS_WITH_AS(nd::exp(a), refused("exp"), Error);
  CHECK_THROWS_WITH_AS(nd::sum(a, {1}), refused("sum"), Error);
  CHECK_THROWS_WITH_AS(a.transpose(), refused("transpose"), Error);
  // A dense layer is a cuBLAS call: its plan loads (no kernels), cuBLAS is what is missing.
  NDArray w = nd::ones({4, 3}, DType::f32, gpu(0));
  CHECK_THROWS_WITH_AS(nd::op("FullyConnected", {{"num_hidden", int64_t(4)}, {"no_bias", true}}, {a, w}),
                       doctest::Contains("FullyConnected on gpu(0): [cuda]"), Error);
  auto fc = imperative_gpu_plan("FullyConnected", {{"num_hidden", int64_t(4)}, {"no_bias", true}}, {{2, 3}, {4, 3}},
                                {DType::f32, DType::f32});
  REQUIRE(fc->exe->steps.size() == 1);
  CHECK(fc->exe->steps[0].call.kind == "fully_connected");
  CHECK(fc->kernels.empty());
  // The inputs are untouched and still on the device.
  CHECK(a.context() == gpu(0));
  CHECK(a.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("ndarray gpu: imperative ops on gpu(0) equal the cpu results") {
  if (!test::real_gpu()) return;
  std::vector<float> va(12), vb(4);
  for (size_t i = 0; i < va.size(); ++i) va[i] = 0.37f * float(i) - 2.f;
  for (size_t i = 0; i < vb.size(); ++i) vb[i] = 1.5f - 0.6f * float(i);
  NDArray a = nd::array(va, {3, 4}), b = nd::array(vb, {1, 4});
  NDArray ga = a.copyto(gpu(0)), gb = b.copyto(gpu(0));
  auto close = [](const NDArray& got, const NDArray& want, const char* what) {
    CAPTURE(what);
    CHECK(got.context() == gpu(0));
    REQUIRE(got.shape() == want.shape());
    REQUIRE(got.dtype() == want.dtype());
    if (want.dtype() != DType::f32) {
      CHECK(got.to_vector<int64_t>() == want.to_vector<int64_t>());
      return;
    }
    std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>();
    for (size_t i = 0; i < w.size(); ++i) CHECK(g[i] == doctest::Approx(w[i]).epsilon(1e-5).scale(1));
  };
  close(ga + gb, a + b, "broadcast_add");
  close(ga * gb - ga, a * b - a, "broadcast_mul, broadcast_sub");
  close(ga / (gb + 3), a / (b + 3), "broadcast_div, _plus_scalar");
  close(ga * 2.5 + 1, a * 2.5 + 1, "scalar ops");
  close(nd::exp(ga * 0.1), nd::exp(a * 0.1), "exp");
  close(nd::sum(ga, {1}), nd::sum(a, {1}), "sum axis 1");
  close(nd::mean(ga), nd::mean(a), "mean");
  close(nd::max(ga, {0}), nd::max(a, {0}), "max axis 0");
  close(nd::softmax(ga), nd::softmax(a), "softmax");
  close(ga.transpose(), a.transpose(), "transpose");
  close(nd::dot(ga, ga.transpose()), nd::dot(a, a.transpose()), "dot (cuBLAS)");
  close(nd::op("FullyConnected", {{"num_hidden", int64_t(3)}}, {ga, ga.slice(0, 3), gb.reshape({4}).slice(0, 3)}),
        nd::op("FullyConnected", {{"num_hidden", int64_t(3)}}, {a, a.slice(0, 3), b.reshape({4}).slice(0, 3)}),
        "FullyConnected (cuBLAS + bias)");
  close(nd::concat({ga, gb}, 0), nd::concat({a, b}, 0), "concat");
  close(ga.astype(DType::i32), a.astype(DType::i32), "Cast");
  close(nd::argmax(ga, 1), nd::argmax(a, 1), "argmax");
  close(nd::op("Activation", {{"act_type", std::string("relu")}}, {ga}),
        nd::op("Activation", {{"act_type", std::string("relu")}}, {a}), "Activation relu");
  NDArray gc = ga.copy(), cc = a.copy();
  gc += gb;
  cc += b;
  close(gc, cc, "x += y");
}

TEST_CASE("ndarray gpu: the device cases pass against a host-memory fake driver (byte paths only, no GPU)") {
  if (cuda::available()) {
    MESSAGE("SKIP fake-driver run: a CUDA driver is loaded (the device cases ran on it)");
    return;
  }
  // This binary again, in a child that loads tests/fake_cuda's libcuda.so.1: the copies,
  // views and refusals above run through cuda::Device's allocator and copies into host
  // memory; ops reach the device path and stop where the stand-in loads no PTX.
  test::Shell r = test::run_on_fake_driver("ndarray gpu: copies*,ndarray gpu: errors*,ndarray gpu: views*,ndarray gpu fake:*");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("SKIP") == std::string::npos);
  CHECK(std::regex_search(r.out, std::regex("test cases: +4 \\| +4 passed \\| +0 failed")));
}
