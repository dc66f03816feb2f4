// NDArrays on gpu(i) contexts (ndarray.h): creation, copyto, as_in_context, copy, printing
// and in-place writes move bytes through the CUDA runtime; operations stay on cpu and say
// so. Without a driver or device (the build machines) every gpu context is an hgc::Error
// naming the context and the driver's reason; the device cases skip with a message there
// (scripts/gpu_check.sh runs them on a GPU machine).
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>

#include "hgc/frontend/autograd.h"
#include "hgc/frontend/ndarray.h"
#include "hgc/ir/error.h"
#include "hgc/runtime/cuda.h"
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

TEST_CASE("ndarray gpu: operations and views on a gpu array are hgc::Errors that say to copy it to cpu") {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return;
  }
  NDArray g = nd::ones({2, 2}, DType::f32, gpu(0));
  auto says = [](const char* what) {
    return doctest::Contains((std::string(what) + ": the array lives on gpu(0)").c_str());
  };
  CHECK_THROWS_WITH_AS(g + g, says("broadcast_add"), Error);
  CHECK_THROWS_WITH_AS(nd::exp(g), says("exp"), Error);
  CHECK_THROWS_WITH_AS(g.slice(0, 1), says("slice"), Error);
  CHECK_THROWS_WITH_AS(g[0], says("x[i]"), Error);
  CHECK_THROWS_WITH_AS(g.tensor(), says("reading its values"), Error);
  CHECK_THROWS_WITH_AS(g.data_ptr(), says("data_ptr()"), Error);
  CHECK_THROWS_AS(g + nd::ones({2, 2}), Error);  // mixed contexts
  // Autograd does not record cross-device copies: an error, not a silently cut gradient.
  NDArray w = nd::ones({2});
  w.attach_grad();
  {
    auto rec = autograd::record();
    CHECK_THROWS_WITH_AS(w.copyto(gpu(0)), doctest::Contains("autograd does not record"), Error);
  }
  CHECK((g.as_in_context(cpu()) + 1).to_vector<float>() == std::vector<float>(4, 2.f));
}

TEST_CASE("ndarray gpu: the device cases pass against a host-memory fake driver (byte paths only, no GPU)") {
  if (cuda::available()) {
    MESSAGE("SKIP fake-driver run: a CUDA driver is loaded (the device cases ran on it)");
    return;
  }
  // This binary again, in a child that loads tests/fake_cuda's libcuda.so.1: the copies and
  // refusals above run through cuda::Device's allocator and copies into host memory.
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  test::Shell r = test::sh("LD_LIBRARY_PATH=" HGC_FAKE_CUDA_DIR " " + self +
                           " --no-version -tc='ndarray gpu: copies*,ndarray gpu: operations*'");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("SKIP") == std::string::npos);
  CHECK(std::regex_search(r.out, std::regex("test cases: +2 \\| +2 passed \\| +0 failed")));
}
