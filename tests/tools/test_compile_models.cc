// Every fp32 model of ../shared/models/mxnet (skipped when absent) and the project's MLP,
// compiled to standalone programs: their outputs equal `hgc run` (JIT) on the same inputs
// and parameters, within 1e-5 of max(1, max |reference|).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>

#include "support/compile_util.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;
namespace fs = std::filesystem;

namespace {

struct Input {
  std::string name;
  std::vector<int64_t> shape;
  int max_int = 0;  // > 0: whole numbers in [0, max_int) (token ids, labels); else uniform [0, 1)
};

struct Model {
  std::string file;    // in ../shared/models/mxnet, or a path
  std::string params;  // shipped .params beside it ("" = seeded by both tools alike)
  std::vector<Input> inputs;
  bool big = false;  // compile with --params-beside (hundreds of MB of parameters)
};

HostTensor make_input(const Input& in, unsigned seed) {
  std::mt19937 rng(seed);
  HostTensor t(DType::f32, in.shape);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::uniform_int_distribution<int> k(0, std::max(0, in.max_int - 1));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = in.max_int > 0 ? float(k(rng)) : u(rng);
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Compiles `m` (at `path`) to a program, runs it and `hgc run` on the same inputs, and
// compares every output.
void check_model(const Model& m, const std::string& path, const std::string& tag) {
  CAPTURE(tag);
  std::string d = fresh_dir("models-" + tag);
  std::string shapes, in_args;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const Input& in = m.inputs[i];
    std::string file = d + "/" + in.name + ".npy";
    save_npy(file, make_input(in, 20 + static_cast<unsigned>(i)));
    shapes += " --shape " + in.name + "=" + dims_arg(in.shape);
    in_args += " --input " + in.name + "=" + file;
  }
  std::string params = m.params.empty() ? "" : " --params " + fs::path(path).parent_path().string() + "/" + m.params;
  auto t0 = std::chrono::steady_clock::now();
  // Run to completion however long it takes: compile times belong in the bench, not here.
  Shell c = sh(std::string(HGC_TOOL) + " compile " + path + params + shapes + " -o " + d + "/prog" +
               (m.big ? " --params-beside" : ""));
  double compile_s = seconds_since(t0);
  INFO(c.out);
  REQUIRE(c.code == 0);
  Shell run = sh(d + "/prog" + in_args + " --output " + d + "/got.npy");
  INFO(run.out);
  REQUIRE(run.code == 0);
  Shell ref = hgc_tool("run " + path + params + in_args + " --output " + d + "/want.npy");
  INFO(ref.out);
  REQUIRE(ref.code == 0);
  size_t outputs = 0;
  for (size_t p = 0; (p = run.out.find("output ", p)) != std::string::npos; ++p) ++outputs;
  REQUIRE(outputs >= 1);
  for (size_t k = 0; k < outputs; ++k) {
    std::string suffix = outputs == 1 ? ".npy" : "-" + std::to_string(k) + ".npy";
    HostTensor got = load_npy(d + "/got" + suffix), want = load_npy(d + "/want" + suffix);
    CAPTURE(k);
    if (want.dtype() != DType::f32) {
      CHECK(got.nbytes() == want.nbytes());
      continue;
    }
    CHECK(rel_diff(got, want) <= 1e-5);
  }
  MESSAGE(tag << ": compiled in " << compile_s << " s (" << outputs << " output(s) equal hgc run)");
  if (m.big) fs::remove_all(d);  // hundreds of MB of parameters
}

}  // namespace

TEST_CASE("hgc compile: every fp32 shared model and the project's MLP equal hgc run") {
  const std::vector<Model> models = {
      {"mxnet_save_000800.json", "", {{"data", {2, 16}}, {"softmax_label", {2}, 10}}},
      {"go_test-symbol.json", "go_test-0001.params", {{"data", {1, 1}}, {"softmax_label", {1}, 10}}},
      {"sm_dummy_model-symbol.json", "sm_dummy_model-0000.params", {{"data", {1, 2}}, {"lin_reg_label", {1}}}},
      {"djl_mlp-symbol.json", "", {{"data", {1, 784}}}},
      {"mms_lstm_ptb-symbol.json", "", {{"data", {5, 4}, 10000}, {"softmax_label", {5, 4}, 10000}}},
      {"mms_squeezenet_v1.1-symbol.json", "", {{"data", {1, 3, 224, 224}}, {"prob_label", {1}, 1000}}},
      {"djl_resnet18_v1-symbol.json", "", {{"data", {1, 3, 224, 224}}}},
      {"djl_static_bert_qa-symbol.json", "", {{"data0", {1, 384}, 1000}, {"data1", {1, 384}, 2}, {"data2", {1}, 385}},
       true},
  };
  if (HGC_SANITIZE_BUILD) MESSAGE("sanitizer build: BERT-base is compiled in the release pass only");
  for (const Model& m : models) {
    if (HGC_SANITIZE_BUILD && m.big) continue;  // minutes of a sanitized compiler for paths the others cover
    std::optional<std::string> path = shared_model(m.file);
    if (!path) continue;
    std::string tag = m.file.substr(0, m.file.find_first_of("-."));
    SUBCASE(tag.c_str()) { check_model(m, *path, tag); }
  }
  SUBCASE("models/mlp") {
    check_model({"", "", {{"data", {1, 512}}}}, source_path("models/mlp/straight_dope_mlp-symbol.json"), "project_mlp");
  }
}
