// End to end: every fp32 model in ../shared/models/mxnet, compiled through MLIR/LLVM, equals
// the reference evaluator (seeded random parameters, or the shipped .params). Tolerance:
// |a - b| <= 1e-4 * |b| + 1e-5 * max|b| (float32 kernels and BLAS vs double reference).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "hgc/compiler/compile.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "reference/reference.h"
#include "support/paths.h"

using namespace hgc;

namespace {

struct ModelCase {
  const char* file;
  const char* params;  // nullptr: random
  std::map<std::string, Shape> inputs;
  std::map<std::string, std::pair<float, float>> ranges;  // input value ranges (indices, lengths)
};

void check_model(const ModelCase& mc) {
  auto path = test::shared_model(mc.file);
  if (!path) return;
  Graph g = load_json_file(*path);
  std::map<std::string, HostTensor> vars;
  InferOptions io;
  io.shapes = mc.inputs;
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
    HostTensor t(DType::f32, v.out_shapes[0].dims());
    auto r = mc.ranges.count(v.name) ? mc.ranges.at(v.name) : std::make_pair(-0.1f, 0.1f);
    bool aux_var = g.role(id) == VarRole::AuxState && v.name.find("var") != std::string::npos;
    std::uniform_real_distribution<float> u(r.first, r.second);
    for (int64_t i = 0; i < t.numel(); ++i) {
      float x = u(rng);
      t.data<float>()[i] = aux_var ? 1.f + std::fabs(x) : mc.ranges.count(v.name) ? std::floor(x) : x;
    }
    vars[v.name] = t;
  }
  auto want = ref::evaluate(g, vars);
  // The fused RNN runs as its expansion (compile()'s pipeline expands it); the reference runs it
  // directly.
  auto exe = compile(g);
  auto got = exe->run(vars);
  // The executable is immutable: several threads may run it at once.
  std::vector<std::vector<HostTensor>> par(3);
  std::vector<std::thread> threads;
  for (auto& r : par) threads.emplace_back([&] { r = exe->run(vars); });
  for (auto& th : threads) th.join();
  for (const auto& r : par)
    for (size_t k = 0; k < r.size(); ++k)
      CHECK(std::memcmp(r[k].raw(), got[k].raw(), got[k].nbytes()) == 0);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    REQUIRE(got[k].shape() == want[k].shape());
    double mx = 0;
    for (int64_t i = 0; i < want[k].numel(); ++i) mx = std::max(mx, std::fabs(double(want[k].data<float>()[i])));
    int64_t bad = -1;
    for (int64_t i = 0; i < want[k].numel() && bad < 0; ++i) {
      double a = got[k].data<float>()[i], b = want[k].data<float>()[i];
      if (!(std::fabs(a - b) <= 1e-4 * std::fabs(b) + 1e-5 * mx)) bad = i;
    }
    CHECK_MESSAGE(bad < 0, mc.file << " output " << k << " element " << bad << ": "
                                   << (bad >= 0 ? got[k].data<float>()[bad] : 0) << " vs reference "
                                   << (bad >= 0 ? want[k].data<float>()[bad] : 0));
  }
}

}  // namespace

TEST_CASE("shared models: compiled == reference") {
  const std::vector<ModelCase> cases = {
      {"djl_mlp-symbol.json", nullptr, {{"data", {2, 784}}}, {}},
      {"mxnet_save_000800.json", nullptr, {{"data", {4, 10}}}, {}},
      {"sm_dummy_model-symbol.json", "sm_dummy_model-0000.params", {{"data", {3, 2}}}, {}},
      {"go_test-symbol.json", "go_test-0001.params", {{"data", {5}}, {"softmax_label", {5}}}, {}},
      {"mms_squeezenet_v1.1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}, {}},
      {"djl_resnet18_v1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}, {}},
      {"mms_lstm_ptb-symbol.json", nullptr, {{"data", {5, 4}}, {"softmax_label", {5, 4}}},
       {{"data", {0, 10000}}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    check_model(c);
  }
}

TEST_CASE("shared models: BERT-base QA compiled == reference") {
  // Its float64 reference alone takes minutes under ASan; the other models above cover the
  // same compiler paths there.
  if (HGC_SANITIZE_BUILD) {
    MESSAGE("sanitizer build: BERT-base QA runs in the release pass only");
    return;
  }
  check_model({"djl_static_bert_qa-symbol.json", nullptr,
               {{"data0", {1, 384}}, {"data1", {1, 384}}, {"data2", {1}}},
               {{"data0", {0, 30000}}, {"data1", {0, 2}}, {"data2", {100, 384}}}});
}
