// The CUDA runtime without a GPU: the driver is optional (dlopen), its absence is a clear
// hgc::Error, and the pure parts (kernel parameter packing, PTX target choice) are exact.
// Execution on a device: tests/compiler/test_gpu_exec.cc (skips without one).
#include <doctest/doctest.h>

#include <cstring>

#include "hgc/base/error.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_executable.h"

using namespace hgc;

TEST_CASE("cuda: without a driver or GPU, available() is false and opening a device says why") {
  if (cuda::available()) {
    MESSAGE("SKIP: a CUDA device is present (" << cuda::device_count() << "); the no-driver path is not exercised");
    auto dev = cuda::Device::open(0);
    CHECK(dev->compute_capability() >= 50);
    CHECK_THROWS_WITH_AS(cuda::Device::open(cuda::device_count()), doctest::Contains("no GPU"), Error);
    return;
  }
  std::string why = cuda::unavailable_reason();
  CHECK(!why.empty());
  CHECK((why.find("libcuda.so.1") != std::string::npos || why.find("no GPU") != std::string::npos ||
         why.find("initialize") != std::string::npos));
  CHECK(cuda::device_count() == 0);
  try {
    cuda::Device::open(0);
    FAIL("opening a device without a driver must throw");
  } catch (const Error& e) {
    CHECK(e.component() == "cuda");
    CHECK(std::string(e.what()).find(why) != std::string::npos);
  }
}

TEST_CASE("cuda: kernel parameters follow MLIR's NVVM memref expansion") {
  GpuLaunch l;
  l.entry = "k0_kernel";
  GpuOperand a;  // argument 1 viewed at offset 3 as 2x4 with row stride 5
  a.kind = GpuOperand::Kind::Arg;
  a.index = 1;
  a.offset = 3;
  a.sizes = {2, 4};
  a.strides = {5, 1};
  GpuOperand t;  // scratch 0, rank 1
  t.kind = GpuOperand::Kind::Temp;
  t.index = 0;
  t.sizes = {7};
  t.strides = {1};
  GpuOperand i32, i64, f32, f64;
  i32.kind = i64.kind = GpuOperand::Kind::Int;
  i32.bits = 32, i32.ival = -2;
  i64.bits = 64, i64.ival = int64_t(1) << 40;
  f32.kind = f64.kind = GpuOperand::Kind::Float;
  f32.bits = 32, f32.fval = 1.5;
  f64.bits = 64, f64.fval = -0.25;
  l.operands = {a, t, i32, i64, f32, f64};
  std::vector<uint64_t> s = cuda::pack_params(l, {0x1000, 0x2000}, {0x3000});
  REQUIRE(s.size() == 7 + 5 + 4);
  CHECK(s[0] == 0x2000);  // allocated
  CHECK(s[1] == 0x2000);  // aligned
  CHECK(s[2] == 3);       // offset
  CHECK(s[3] == 2);
  CHECK(s[4] == 4);
  CHECK(s[5] == 5);
  CHECK(s[6] == 1);
  CHECK(s[7] == 0x3000);
  CHECK(s[8] == 0x3000);
  CHECK(s[9] == 0);
  CHECK(s[10] == 7);
  CHECK(s[11] == 1);
  int32_t i;
  std::memcpy(&i, &s[12], 4);
  CHECK(i == -2);
  CHECK(s[13] == (uint64_t(1) << 40));
  float f;
  std::memcpy(&f, &s[14], 4);
  CHECK(f == 1.5f);
  double d;
  std::memcpy(&d, &s[15], 8);
  CHECK(d == -0.25);
  // An operand naming a buffer the group does not have is an error, not a wild pointer.
  CHECK_THROWS_WITH_AS(cuda::pack_params(l, {0x1000}, {0x3000}), doctest::Contains("argument 1 does not exist"), Error);
  CHECK_THROWS_WITH_AS(cuda::pack_params(l, {0x1000, 0x2000}, {}), doctest::Contains("scratch 0 does not exist"), Error);
}

TEST_CASE("cuda: the PTX target is the newest chip not newer than the device") {
  const std::vector<std::string> chips = {"sm_80", "sm_90"};
  CHECK(GpuExecutable::pick_chip(chips, 90) == "sm_90");
  CHECK(GpuExecutable::pick_chip(chips, 89) == "sm_80");
  CHECK(GpuExecutable::pick_chip(chips, 100) == "sm_90");  // PTX is JIT-compiled forward
  CHECK_THROWS_WITH_AS(GpuExecutable::pick_chip(chips, 75), doctest::Contains("all newer than the device (sm_75)"), Error);
  CHECK_THROWS_WITH_AS(GpuExecutable::pick_chip({"gfx90a"}, 90), doctest::Contains("no CUDA chip name"), Error);
}

TEST_CASE("cuda: a plan with a step the GPU cannot run is refused with the step's name") {
  GpuPlan p;
  p.exe = std::make_shared<Executable>();
  Step s;
  s.label = "conv0";
  s.call = LibraryCall{"convolution", {}, {}};
  p.exe->steps.push_back(s);
  CHECK_THROWS_WITH_AS(GpuExecutable(p, nullptr), doctest::Contains("conv0: the library call 'convolution'"), Error);
  GpuPlan q;
  q.exe = std::make_shared<Executable>();
  Step k;
  k.label = "relu0";
  k.kernel_name = "k7";
  q.exe->steps.push_back(k);
  CHECK_THROWS_WITH_AS(GpuExecutable(q, nullptr), doctest::Contains("kernel k7 has no GPU code"), Error);
  CHECK_THROWS_WITH_AS(GpuExecutable(GpuPlan{}, nullptr), doctest::Contains("empty GPU plan"), Error);
}

TEST_CASE("gpu plan io: kernel lists round-trip; truncated or hostile bytes are errors") {
  GpuKernel k;
  k.name = "k3";
  k.temp_bytes = {64, 4096};
  GpuLaunch l;
  l.module = "k3_kernel";
  l.entry = "k3_kernel";
  l.ptx = {{"sm_80", ".version 7.8\n.target sm_80\n"}, {"sm_90", ".version 7.8\n.target sm_90\n"}};
  l.grid[0] = 12;
  l.block[0] = 256;
  GpuOperand a;
  a.kind = GpuOperand::Kind::Temp;
  a.index = 1;
  a.offset = 5;
  a.sizes = {3, 4};
  a.strides = {4, 1};
  GpuOperand f;
  f.kind = GpuOperand::Kind::Float;
  f.fval = 0.125;
  f.bits = 32;
  l.operands = {a, f};
  k.launches = {l, l};
  std::string bytes = save_gpu_kernels({k, GpuKernel{"empty", {}, {}}});
  std::vector<GpuKernel> back = load_gpu_kernels(bytes);
  REQUIRE(back.size() == 2);
  CHECK(back[1].name == "empty");
  CHECK(back[1].launches.empty());
  const GpuKernel& b = back[0];
  CHECK(b.name == "k3");
  CHECK(b.temp_bytes == k.temp_bytes);
  REQUIRE(b.launches.size() == 2);
  const GpuLaunch& bl = b.launches[1];
  CHECK(bl.ptx == l.ptx);
  CHECK(bl.grid[0] == 12);
  CHECK(bl.grid[1] == 1);
  CHECK(bl.block[0] == 256);
  REQUIRE(bl.operands.size() == 2);
  CHECK(bl.operands[0].kind == GpuOperand::Kind::Temp);
  CHECK(bl.operands[0].index == 1);
  CHECK(bl.operands[0].offset == 5);
  CHECK(bl.operands[0].sizes == a.sizes);
  CHECK(bl.operands[0].strides == a.strides);
  CHECK(bl.operands[1].fval == 0.125);
  CHECK(bl.operands[1].bits == 32);
  CHECK(save_gpu_kernels(back) == bytes);
  // Every truncation is an error naming the offset, never a crash or a huge allocation.
  for (size_t n = 0; n < bytes.size(); n += 7)
    CHECK_THROWS_AS(load_gpu_kernels(bytes.substr(0, n), "cut"), Error);
  CHECK_THROWS_WITH_AS(load_gpu_kernels(bytes + "x", "long"), doctest::Contains("trailing bytes"), Error);
  std::string bad = bytes;
  bad[0] = 'X';
  CHECK_THROWS_WITH_AS(load_gpu_kernels(bad, "bad"), doctest::Contains("bad magic"), Error);
  std::string huge = bytes.substr(0, 8) + std::string("\xff\xff\xff\x7f", 4);
  CHECK_THROWS_WITH_AS(load_gpu_kernels(huge, "huge"), doctest::Contains("truncated"), Error);
}
