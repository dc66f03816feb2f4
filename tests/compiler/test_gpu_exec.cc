// GPU execution: every differential-test op, the project MLP and the shared models run on a
// CUDA device and equal the CPU executable of the same graph. Every case skips with a
// message when no device is present (the usual case on build machines); scripts/gpu_check.sh
// runs them on a GPU machine.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_executable.h"
#include "hgc/runtime/tensor_io.h"
#include "support/op_cases.h"
#include "support/paths.h"

using namespace hgc;

namespace {

std::shared_ptr<cuda::Device> device() {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return nullptr;
  }
  static std::shared_ptr<cuda::Device> dev = cuda::Device::open(0);
  return dev;
}

// |gpu - cpu| <= atol * max|cpu| + rtol * |cpu| everywhere (NaN where both are NaN);
// non-float outputs (argmax indices as f32 too) compare the same way.
void check_close(const HostTensor& got, const HostTensor& want, const std::string& what, double rtol = 1e-4,
                 double atol = 1e-5) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what);
  REQUIRE(got.dtype() == want.dtype());
  if (want.dtype() != DType::f32) {
    CHECK_MESSAGE(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0, what);
    return;
  }
  double mx = 1;
  for (int64_t i = 0; i < want.numel(); ++i) mx = std::max(mx, std::fabs(double(want.data<float>()[i])));
  int64_t bad = -1;
  for (int64_t i = 0; i < want.numel() && bad < 0; ++i) {
    double a = got.data<float>()[i], b = want.data<float>()[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= atol * mx + rtol * std::fabs(b))) bad = i;
  }
  CHECK_MESSAGE(bad < 0, what << ": element " << bad << " is " << (bad >= 0 ? got.data<float>()[bad] : 0.f)
                              << " on the GPU, " << (bad >= 0 ? want.data<float>()[bad] : 0.f) << " on the CPU");
}

// Runs `g` on the GPU and the CPU with the same inputs.
void gpu_vs_cpu(const Graph& g, const std::map<std::string, HostTensor>& vars, const std::string& what,
                const std::shared_ptr<cuda::Device>& dev, double rtol = 1e-4, double atol = 1e-5) {
  GpuPlan plan = gpu::compile_to_ptx(g);
  GpuExecutable gexe(std::move(plan), dev);
  std::vector<HostTensor> got = gexe.run(vars);
  std::vector<HostTensor> want = compile(g)->run(vars);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < want.size(); ++k) check_close(got[k], want[k], what + " output " + std::to_string(k), rtol, atol);
}

}  // namespace

TEST_CASE("gpu exec: device memory, copies and cuBLAS sgemm") {
  auto dev = device();
  if (!dev) return;
  MESSAGE("device: " << dev->name() << " (" << dev->chip() << ")");
  std::vector<float> a(6 * 4), b(4 * 5), c(6 * 5, -1.f);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.25f * float(i % 7) - 0.5f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.5f * float(i % 5) - 1.f;
  cuda::DevicePtr da = dev->alloc(a.size() * 4), db = dev->alloc(b.size() * 4), dc = dev->alloc(c.size() * 4);
  dev->upload(da, a.data(), a.size() * 4);
  dev->upload(db, b.data(), b.size() * 4);
  dev->sgemm(false, false, 6, 5, 4, da, db, dc);
  dev->download(c.data(), dc, c.size() * 4);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) {
      double want = 0;
      for (int k = 0; k < 4; ++k) want += double(a[i * 4 + k]) * b[k * 5 + j];
      CHECK(c[i * 5 + j] == doctest::Approx(want).epsilon(1e-5));
    }
  // The caching allocator hands a freed block of the same size class back.
  dev->free(dc);
  CHECK(dev->alloc(c.size() * 4) == dc);
  dev->free(dc);
  dev->free(da);
  dev->free(db);
  CHECK(dev->cached_bytes() > 0);
  dev->trim();
  CHECK(dev->cached_bytes() == 0);
}

TEST_CASE("gpu exec: every differential-test op on the GPU equals the CPU executable") {
  auto dev = device();
  if (!dev) return;
  std::mt19937 rng(42);
  for (auto list : {test::unary_cases, test::binary_cases, test::reduction_cases, test::movement_cases, test::library_cases,
                    test::linalg_cases, test::resize_cases})
    for (const test::Case& c : list()) {
      std::string what = c.op + " " + (c.shapes.empty() ? std::string("()") : c.shapes[0].str());
      CAPTURE(what);
      test::CaseGraph cg = test::case_graph(c, rng);
      try {
        gpu_vs_cpu(cg.g, cg.vars, what, dev);
      } catch (const Error& e) {
        FAIL_CHECK(what << ": " << std::string(e.what()));
      }
    }
}

TEST_CASE("gpu exec: the project MLP on the GPU equals the CPU") {
  auto dev = device();
  if (!dev) return;
  Graph g = load_json_file(test::source_path("models/mlp/straight_dope_mlp-symbol.json"));
  InferOptions io;
  io.shapes["data"] = Shape({64, 784});
  infer(g, io);
  std::mt19937 rng(3);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids()) vars[g.nodes[id].name] = test::fill(g.nodes[id].out_shapes[0], test::Gen{-0.1f, 0.1f}, rng);
  gpu_vs_cpu(g, vars, "straight_dope_mlp", dev);
}

TEST_CASE("gpu exec: shared models on the GPU equal the CPU") {
  auto dev = device();
  if (!dev) return;
  struct ModelCase {
    const char* file;
    const char* params;
    std::map<std::string, Shape> inputs;
    std::map<std::string, std::pair<float, float>> ranges;
  };
  const std::vector<ModelCase> cases = {
      {"djl_mlp-symbol.json", nullptr, {{"data", {2, 784}}}, {}},
      {"mxnet_save_000800.json", nullptr, {{"data", {4, 10}}}, {}},
      {"sm_dummy_model-symbol.json", "sm_dummy_model-0000.params", {{"data", {3, 2}}}, {}},
      {"go_test-symbol.json", "go_test-0001.params", {{"data", {5}}, {"softmax_label", {5}}}, {}},
      {"mms_squeezenet_v1.1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}, {}},
      {"djl_resnet18_v1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}, {}},
      {"mms_lstm_ptb-symbol.json", nullptr, {{"data", {5, 4}}, {"softmax_label", {5, 4}}}, {{"data", {0, 10000}}}},
      {"djl_static_bert_qa-symbol.json", nullptr, {{"data0", {1, 384}}, {"data1", {1, 384}}, {"data2", {1}}},
       {{"data0", {0, 30000}}, {"data1", {0, 2}}, {"data2", {100, 384}}}},
  };
  for (const auto& mc : cases) {
    std::string file = mc.file;
    CAPTURE(file);
    auto path = test::shared_model(mc.file);
    if (!path) return;
    Graph g = load_json_file(*path);
    InferOptions io;
    io.shapes = mc.inputs;
    std::map<std::string, HostTensor> vars;
    if (mc.params) {
      auto pp = test::shared_model(mc.params);
      if (!pp) return;
      for (auto& [name, t] : load_params(*pp)) {
        vars[strip_param_prefix(name)] = t;
        io.shapes[strip_param_prefix(name)] = Shape(t.shape());
      }
    }
    infer(g, io);
    std::mt19937 rng(7);
    for (int id : g.variable_ids()) {
      const Node& v = g.nodes[id];
      if (vars.count(v.name)) continue;
      auto r = mc.ranges.count(v.name) ? mc.ranges.at(v.name) : std::make_pair(-0.1f, 0.1f);
      HostTensor t = test::fill(v.out_shapes[0], test::Gen{r.first, r.second, mc.ranges.count(v.name) > 0}, rng);
      if (g.role(id) == VarRole::AuxState && v.name.find("var") != std::string::npos)
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 1.f + std::fabs(t.data<float>()[i]);
      vars[v.name] = t;
    }
    try {
      gpu_vs_cpu(g, vars, file, dev, 1e-4, 1e-4);
    } catch (const Error& e) {
      FAIL_CHECK(file << ": " << std::string(e.what()));
    }
  }
}
