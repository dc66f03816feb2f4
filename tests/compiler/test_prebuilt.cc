// Imperative kernels compiled at build time (compiler/prebuilt/kernels.txt, hgc_prebuild):
// linked into the library, found by the imperative kernel cache before it JITs, and the same
// code as the JIT's: outputs bit-equal at several shapes. With an empty disk cache, the ops of
// the Fashion-MNIST data pipeline and metric compile nothing.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "hgc/compiler/imperative.h"
#include "hgc/compiler/jit.h"
#include "hgc/compiler/kernel_cache.h"
#include "mlp/fashion_mlp.h"
#include "support/empty_disk_cache.h"

using namespace hgc;

namespace {

// Signatures listed in the kernels file (non-empty, non-comment lines).
int64_t listed_kernels() {
  std::ifstream in(std::string(HGC_SOURCE_DIR) + "/compiler/prebuilt/kernels.txt");
  REQUIRE(in);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (size_t h = line.find('#'); h != std::string::npos) line.resize(h);
    if (line.find_first_not_of(" \t") != std::string::npos) ++n;
  }
  return n;
}

HostTensor random(DType t, std::vector<int64_t> shape, uint32_t seed) {
  HostTensor x(t, std::move(shape));
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::f32) {
      // Mixed magnitudes and signs: a reduction in another order would differ in the last bits.
      float v = std::uniform_real_distribution<float>(-1, 1)(rng) * std::pow(10.f, static_cast<float>(rng() % 7) - 3);
      x.data<float>()[i] = v;
    } else if (t == DType::u8) {
      x.data<uint8_t>()[i] = static_cast<uint8_t>(rng());
    }
  }
  return x;
}

// A few values repeated, so equality ops see both outcomes.
HostTensor few_values(std::vector<int64_t> shape, uint32_t seed) {
  HostTensor x(DType::f32, std::move(shape));
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rng() % 4);
  return x;
}

bool bit_equal(const HostTensor& a, const HostTensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct Call {
  std::string op;
  std::map<std::string, std::string> attrs;
  std::vector<HostTensor> inputs;
};

// The calls of the kernels file's signatures (the shape-polymorphic ones at several shapes of
// their class), all but `take` of the 60,000 training images (the Fashion test below runs it).
std::vector<Call> listed_calls() {
  std::vector<Call> calls;
  uint32_t seed = 1;
  for (std::vector<int64_t> s : {std::vector<int64_t>{64, 28, 28}, {5, 3, 7}, {1000, 28, 28}})
    calls.push_back({"Cast", {{"dtype", "float32"}}, {random(DType::u8, s, seed++)}});
  for (int64_t n : {64, 3, 10000}) calls.push_back({"Cast", {{"dtype", "float32"}}, {random(DType::u8, {n}, seed++)}});
  for (std::vector<int64_t> s : {std::vector<int64_t>{64, 784}, {3, 5}, {1000, 784}}) {
    calls.push_back({"_div_scalar", {{"scalar", "255"}}, {random(DType::f32, s, seed++)}});
    calls.push_back({"_div_scalar", {{"scalar", "3.7"}}, {random(DType::f32, s, seed++)}});
    calls.push_back({"_mul_scalar", {{"scalar", "-0.3"}}, {random(DType::f32, s, seed++)}});
  }
  HostTensor idx(DType::f32, {64});
  for (int64_t i = 0; i < 64; ++i) idx.data<float>()[i] = static_cast<float>((i * 937) % 60000);
  calls.push_back({"take", {{"axis", "0"}, {"mode", "clip"}}, {random(DType::f32, {60000}, seed++), idx}});
  calls.push_back({"mean", {{"exclude", "False"}, {"keepdims", "False"}}, {random(DType::f32, {64}, seed++)}});
  for (int64_t n : {64, 1000}) {
    calls.push_back({"max", {{"axis", "(1,)"}, {"exclude", "False"}, {"keepdims", "True"}}, {random(DType::f32, {n, 10}, seed++)}});
    calls.push_back({"min", {{"axis", "(1,)"}, {"exclude", "False"}, {"keepdims", "False"}}, {random(DType::f32, {n, 10}, seed++)}});
    calls.push_back({"sum", {{"exclude", "False"}, {"keepdims", "False"}}, {random(DType::f32, {n}, seed++)}});
  }
  calls.push_back({"_arange", {{"dtype", "float32"}, {"start", "0"}, {"step", "1"}, {"stop", "10"}}, {}});
  for (std::vector<int64_t> s : {std::vector<int64_t>{64, 10}, {1000, 10}, {7, 3}}) {
    std::vector<int64_t> col = {s[0], 1}, row = {1, s[1]};
    calls.push_back({"broadcast_not_equal", {}, {few_values(s, seed++), few_values(col, seed++)}});
    calls.push_back({"broadcast_add", {}, {random(DType::f32, s, seed++), random(DType::f32, row, seed++)}});
    calls.push_back({"broadcast_equal", {}, {few_values({s[0]}, seed++), few_values({s[0]}, seed++)}});
  }
  calls.push_back({"Cast", {{"dtype", "float64"}}, {random(DType::f32, {1}, seed++)}});
  return calls;
}

}  // namespace

TEST_CASE("prebuilt imperative kernels are in the library, for this machine's CPU") {
  PrebuiltKernelsInfo info = prebuilt_kernels_info();
  if (!HGC_PREBUILT_BUILD) {
    CHECK(info.kernels == 0);
    CHECK_FALSE(info.usable);
    MESSAGE("skipped: built with -DHGC_PREBUILT_KERNELS=OFF (every imperative kernel is JIT-compiled)");
    return;
  }
  CHECK(info.kernels == listed_kernels());
  CHECK(static_cast<int64_t>(info.keys.size()) == info.kernels);
  // Built and run here: the features it was compiled for are this CPU's.
  CHECK_MESSAGE(info.usable, info.reason);
  CHECK(info.target == host_target_id(JitOptions()));
}

TEST_CASE("prebuilt kernels run only where the CPU has every feature they were compiled for") {
  std::string built = "x86_64-pc-linux-gnu|skylake-avx512|+avx2,+fma,+avx512f,-amx-tile|llvm 19.1.7";
  // Another CPU name with the same features or more: fine (the name only tunes scheduling).
  CHECK(prebuilt_target_mismatch(built, built) == "");
  CHECK(prebuilt_target_mismatch(built, "x86_64-pc-linux-gnu|sapphirerapids|+avx2,+amx-tile,+fma,+avx512f,+avx512bw|llvm 19.1.7") == "");
  // An AVX2-only machine: JIT instead, naming what it lacks.
  std::string why = prebuilt_target_mismatch(built, "x86_64-pc-linux-gnu|haswell|+avx2,+fma,-avx512f|llvm 19.1.7");
  CHECK(why.find("lacks avx512f") != std::string::npos);
  CHECK(why.find("skylake-avx512") != std::string::npos);
  CHECK(prebuilt_target_mismatch(built, "aarch64-unknown-linux-gnu|neoverse-v1|+neon|llvm 19.1.7") != "");
  CHECK(prebuilt_target_mismatch(built, "x86_64-pc-linux-gnu|skylake-avx512|+avx2,+fma,+avx512f|llvm 20.1.0") != "");
  CHECK(prebuilt_target_mismatch("garbage", built) != "");
  // This library's own table against this machine.
  PrebuiltKernelsInfo info = prebuilt_kernels_info();
  if (info.kernels > 0) CHECK(prebuilt_target_mismatch(info.target, host_target_id(JitOptions())) == info.reason);
}

TEST_CASE("prebuilt imperative kernels give the JIT kernel's outputs bit for bit, compiling nothing") {
  if (!HGC_PREBUILT_BUILD || !prebuilt_kernels_info().usable) {
    MESSAGE("skipped: no usable prebuilt kernels (", prebuilt_kernels_info().reason, ")");
    return;
  }
  test::EmptyDiskCache empty("prebuilt");
  clear_kernel_cache();
  std::vector<Call> calls = listed_calls();
  std::vector<std::vector<HostTensor>> prebuilt;
  for (const Call& c : calls) prebuilt.push_back(invoke(c.op, c.attrs, c.inputs));
  KernelCacheStats s = kernel_cache_stats();
  CHECK(s.misses == 0);  // not one JIT compile
  CHECK(s.compile_ms == 0);
  CHECK(s.prebuilt == listed_kernels() - 1);  // every listed kernel but the 784-wide take
  CHECK(DiskCache::global().stats().writes == 0);

  // The same calls JIT-compiled (in process, and through the disk cache's object code).
  struct JitOnly {
    JitOnly() { set_prebuilt_kernels_enabled(false); }
    ~JitOnly() { set_prebuilt_kernels_enabled(true); }
  } jit_only;
  for (CompileOptions o : {CompileOptions().disk(false), CompileOptions()}) {
    clear_kernel_cache();
    for (size_t i = 0; i < calls.size(); ++i) {
      std::vector<HostTensor> jit = invoke(calls[i].op, calls[i].attrs, calls[i].inputs, o);
      REQUIRE(jit.size() == prebuilt[i].size());
      for (size_t k = 0; k < jit.size(); ++k)
        CHECK_MESSAGE(bit_equal(jit[k], prebuilt[i][k]), calls[i].op, " call ", i, " output ", k, " (disk ", o.disk_cache, ")");
    }
    CHECK(kernel_cache_stats().misses == listed_kernels() - 1);
    CHECK(kernel_cache_stats().prebuilt == 0);
  }
  clear_kernel_cache();
}

TEST_CASE("a new user of a prebuilt signature at another target CPU or opt level compiles its own kernel") {
  if (!HGC_PREBUILT_BUILD || !prebuilt_kernels_info().usable) return;
  test::EmptyDiskCache empty("prebuilt");
  clear_kernel_cache();
  HostTensor x = random(DType::f32, {4, 6}, 7);
  HostTensor a = invoke("_div_scalar", {{"scalar", "255"}}, {x})[0];
  CHECK(kernel_cache_stats().prebuilt == 1);
  HostTensor b = invoke("_div_scalar", {{"scalar", "255"}}, {x}, CompileOptions().opt(2).disk(false))[0];
  CHECK(kernel_cache_stats().misses == 1);  // -O2 is another key
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(b.data<float>()[i] == doctest::Approx(a.data<float>()[i]));
  clear_kernel_cache();
}

TEST_CASE("the Fashion-MNIST data pipeline and accuracy metric compile no kernel on an empty disk cache") {
  if (!HGC_PREBUILT_BUILD || !prebuilt_kernels_info().usable) {
    MESSAGE("skipped: no usable prebuilt kernels");
    return;
  }
  test::EmptyDiskCache empty("prebuilt");
  clear_kernel_cache();
  auto data = models::load_fashion_mnist();  // Cast and scaling of 70,000 images and labels
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  using namespace gluon;
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{data->train_x, data->train_y}),
                          data::DataLoaderOptions(64).shuffle(true).seed(3).last_batch("discard"));
  metric::Accuracy train_acc;
  // Scores and losses made on the host (the random ops are kernels of their own).
  auto host = [](std::vector<int64_t> shape, uint32_t seed) {
    HostTensor t = random(DType::f32, std::move(shape), seed);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::abs(t.data<float>()[i]) / 1000 + 1e-6f;
    return NDArray(t);
  };
  int steps = 0;
  for (const auto& b : loader) {
    CHECK(b[0].shape() == std::vector<int64_t>{64, 784});
    NDArray scores = host({64, 10}, 100 + steps);
    NDArray loss = host({64}, 200 + steps);
    double l = nd::mean(loss).asscalar();
    CHECK((l > 0 && l < 1));
    train_acc.update(b[1], scores);
    if (++steps == 3) break;
  }
  metric::Accuracy test_acc;
  data::DataLoader eval(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{data->test_x, data->test_y}),
                        data::DataLoaderOptions(1000));
  for (const auto& b : eval) {
    test_acc.update(b[1], host({1000, 10}, 300));
    break;
  }
  double acc = test_acc.get().second;
  CHECK((acc > 0.02 && acc < 0.2));  // random scores: about 1 in 10 right
  KernelCacheStats s = kernel_cache_stats();
  CHECK(s.misses == 0);  // nothing JIT-compiled
  CHECK(s.prebuilt > 0);
  CHECK(DiskCache::global().stats().writes == 0);
  MESSAGE("prebuilt kernels used: ", s.prebuilt, ", JIT compiles: ", s.misses);
  clear_kernel_cache();
}
