// `hgc compile --shape data=?x...`: one program for every size of the `?` dims (issue 19).
// The program runs at sizes it was never planned at and equals `hgc run` at each; the
// model's rules (a size it divides, inputs it ties) are clear errors at run time; the
// library's header and C API expose the dynamic dims.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "hgc/base/files.h"
#include "support/compile_util.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;
namespace fs = std::filesystem;

namespace {

// data (?, 20) -> fc1 16 -> relu -> fc2 8 -> Reshape (-1, 4) -> softmax: the reshape doubles
// the rows, so the plan's dims are 2 x batch as well as batch.
const char* kMlpJson = R"JSON({"nodes": [
  {"op": "null", "name": "data", "inputs": []},
  {"op": "null", "name": "fc1_weight", "inputs": []},
  {"op": "null", "name": "fc1_bias", "inputs": []},
  {"op": "FullyConnected", "name": "fc1", "attrs": {"num_hidden": "16"}, "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
  {"op": "Activation", "name": "relu1", "attrs": {"act_type": "relu"}, "inputs": [[3, 0, 0]]},
  {"op": "null", "name": "fc2_weight", "inputs": []},
  {"op": "null", "name": "fc2_bias", "inputs": []},
  {"op": "FullyConnected", "name": "fc2", "attrs": {"num_hidden": "8"}, "inputs": [[4, 0, 0], [5, 0, 0], [6, 0, 0]]},
  {"op": "Reshape", "name": "rows", "attrs": {"shape": "(-1, 4)"}, "inputs": [[7, 0, 0]]},
  {"op": "softmax", "name": "sm", "inputs": [[8, 0, 0]]}],
 "arg_nodes": [0, 1, 2, 5, 6], "heads": [[9, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}})JSON";

// a (?, 4) + b (?, 4), then a reshape of the sum into rows of 8 (the batch must be even).
const char* kTiedJson = R"JSON({"nodes": [
  {"op": "null", "name": "a", "inputs": []},
  {"op": "null", "name": "b", "inputs": []},
  {"op": "elemwise_add", "name": "sum", "inputs": [[0, 0, 0], [1, 0, 0]]},
  {"op": "Reshape", "name": "pairs", "attrs": {"shape": "(-1, 8)"}, "inputs": [[2, 0, 0]]},
  {"op": "relu", "name": "r", "inputs": [[3, 0, 0]]}],
 "arg_nodes": [0, 1], "heads": [[4, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}})JSON";

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// Runs `prog` and `hgc run` on the same data of `shape`, checks they agree.
void run_and_compare(const std::string& prog, const std::string& model, const std::string& params,
                     const std::vector<int64_t>& shape, const std::string& dir) {
  std::string tag = std::to_string(shape[0]);
  std::string in = dir + "/in" + tag + ".npy";
  save_npy(in, random_input(shape, 5 + static_cast<unsigned>(shape[0])));
  Shell run = sh(prog + " --input data=" + in + " --output " + dir + "/got" + tag + ".npy");
  INFO("batch " << shape[0] << ": " << run.out);
  REQUIRE(run.code == 0);
  Shell ref = hgc_tool("run " + model + (params.empty() ? "" : " --params " + params) + " --input data=" + in +
                       " --output " + dir + "/want" + tag + ".npy");
  INFO(ref.out);
  REQUIRE(ref.code == 0);
  HostTensor got = load_npy(dir + "/got" + tag + ".npy"), want = load_npy(dir + "/want" + tag + ".npy");
  CHECK(got.shape() == want.shape());
  CHECK(rel_diff(got, want) <= 1e-5);
}

}  // namespace

TEST_CASE("hgc compile --shape data=?x20: one program runs the MLP at batch 1, 3, 8 and 100, equal to hgc run") {
  std::string d = fresh_dir("compile-dynamic-mlp");
  std::string model = d + "/mlp-symbol.json";
  write_text(model, kMlpJson);
  Graph g = inferred(model, {2, 20});
  write_params(g, random_params(g, 3), d + "/mlp.params");
  Shell c = hgc_tool("compile " + model + " --params " + d + "/mlp.params --shape data=?x20 -o " + d + "/prog");
  INFO(c.out);
  REQUIRE(c.code == 0);
  for (int64_t b : {1, 3, 8, 100}) run_and_compare(d + "/prog", model, d + "/mlp.params", {b, 20}, d);
  // A static axis of another size is named with the shape the model takes.
  save_npy(d + "/bad.npy", random_input({2, 21}, 1));
  Shell bad = sh(d + "/prog --input data=" + d + "/bad.npy");
  CHECK(bad.code == 1);
  CHECK_MESSAGE(bad.out.find("the model takes (?, 20)") != std::string::npos, bad.out);

  // The library: the header shows the dynamic dims and declares the functions that set them.
  Shell lib = hgc_tool("compile " + model + " --params " + d + "/mlp.params --shape data=?x20 --emit=lib -o " + d +
                       "/mlp.a");
  INFO(lib.out);
  REQUIRE(lib.code == 0);
  std::string h = read_file(d + "/mlp.h", "test");
  CHECK(h.find("#define MODEL_NUM_DYNAMIC_DIMS 1") != std::string::npos);
  CHECK(h.find("data (?, 20)") != std::string::npos);
  CHECK(h.find("(?, 4)") != std::string::npos);  // the output: 2 x batch rows
  CHECK(h.find("0: 'data' axis 0") != std::string::npos);
  CHECK(h.find("int model_set_dynamic_dims(const int64_t* sizes);") != std::string::npos);
  // A C++ driver sets batch 3, checks the shapes it reports, runs, and tries batch 0.
  write_text(d + "/prog.cc", R"CC(#include <cstdio>
#include "mlp.h"
int main() {
  int64_t b = 3, bad = 0, out[2];
  if (model_set_dynamic_dims(&b) != 0) { std::printf("set: %s\n", model_last_error()); return 1; }
  model_output_shape(0, out);
  float in[3 * 20], y[6 * 4];
  for (int i = 0; i < 60; ++i) in[i] = 0.01f * i;
  const float* ins[] = {in};
  float* outs[] = {y};
  if (model_run(ins, outs) != 0) { std::printf("run: %s\n", model_last_error()); return 1; }
  double s = 0;
  for (int i = 0; i < 24; ++i) s += y[i];
  int rc = model_set_dynamic_dims(&bad);
  std::printf("dims=%d name=%s out=%lldx%lld bytes=%lld sum=%.4f bad=%d %s\n", model_num_dynamic_dims(),
              model_dynamic_dim_name(0), (long long)out[0], (long long)out[1], (long long)model_output_size(0), s, rc,
              model_last_error());
  return 0;
})CC");
  std::string link = h.substr(h.find("HGC_LINK: ") + 10);
  link = link.substr(0, link.find('\n'));
  Shell cc = sh("cd " + d + " && " + link.substr(0, link.find(' ')) + " -c -o prog.o prog.cc && " + link);
  INFO(cc.out);
  REQUIRE(cc.code == 0);
  Shell p = sh(d + "/prog");
  INFO(p.out);
  REQUIRE(p.code == 0);
  CHECK(p.out.find("dims=1 name='data' axis 0 out=6x4 bytes=96 sum=6.0000 bad=3") != std::string::npos);
  CHECK(p.out.find("must be at least 1, got 0") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("hgc compile with '?' dims: tied inputs and a size the model divides are clear errors at run time") {
  std::string d = fresh_dir("compile-dynamic-tied");
  std::string model = d + "/tied-symbol.json";
  write_text(model, kTiedJson);
  Shell c = hgc_tool("compile " + model + " --shape a=?x4 --shape b=?x4 -o " + d + "/prog");
  INFO(c.out);
  REQUIRE(c.code == 0);
  auto input = [&](const std::string& name, int64_t rows) {
    std::string p = d + "/" + name + std::to_string(rows) + ".npy";
    save_npy(p, random_input({rows, 4}, static_cast<unsigned>(rows)));
    return p;
  };
  Shell ok = sh(d + "/prog --input a=" + input("a", 6) + " --input b=" + input("b", 6) + " --output " + d + "/y.npy");
  INFO(ok.out);
  REQUIRE(ok.code == 0);
  CHECK(load_npy(d + "/y.npy").shape() == std::vector<int64_t>{3, 8});
  Shell tied = sh(d + "/prog --input a=" + input("a", 6) + " --input b=" + input("b", 4));
  CHECK(tied.code == 1);
  CHECK_MESSAGE(tied.out.find("'a' axis 0 = 'b' axis 0 must be equal") != std::string::npos, tied.out);
  Shell odd = sh(d + "/prog --input a=" + input("a", 3) + " --input b=" + input("b", 3));
  CHECK(odd.code == 1);
  CHECK_MESSAGE(odd.out.find("is not a whole number") != std::string::npos, odd.out);
  CHECK_MESSAGE(odd.out.find("divides by 2") != std::string::npos, odd.out);
  fs::remove_all(d);
}

TEST_CASE("hgc compile --shape data=?x3x224x224: one ResNet-18 program at batch 1, 3 and 8 equals hgc run") {
  auto m = shared_model("djl_resnet18_v1-symbol.json");
  if (!m) return;
  std::string d = fresh_dir("compile-dynamic-resnet");
  Graph g = inferred(*m, {1, 3, 224, 224});
  write_params(g, random_params(g, 7), d + "/r.params");
  Shell c = hgc_tool("compile " + *m + " --params " + d + "/r.params --shape data=?x3x224x224 -o " + d + "/prog");
  INFO(c.out);
  REQUIRE(c.code == 0);
  MESSAGE("dynamic ResNet-18: " << c.out);
  for (int64_t b : {1, 3, 8}) run_and_compare(d + "/prog", *m, d + "/r.params", {b, 3, 224, 224}, d);
  fs::remove_all(d);
}

TEST_CASE("hgc run --shape data=?x20: one compile runs at the size of each given input, equal to static runs") {
  std::string d = fresh_dir("run-dynamic-mlp");
  std::string model = d + "/mlp-symbol.json";
  write_text(model, kMlpJson);
  Graph g = inferred(model, {2, 20});
  write_params(g, random_params(g, 4), d + "/mlp.params");
  std::string inputs;
  for (int64_t b : {3, 1, 8}) {
    save_npy(d + "/in" + std::to_string(b) + ".npy", random_input({b, 20}, 9 + static_cast<unsigned>(b)));
    inputs += " --input data=" + d + "/in" + std::to_string(b) + ".npy";
  }
  Shell dyn = hgc_tool("run " + model + " --params " + d + "/mlp.params --shape data=?x20" + inputs + " --output " + d +
                       "/dyn.npy");
  INFO(dyn.out);
  REQUIRE(dyn.code == 0);
  CHECK(dyn.out.find("for any size of the '?' dims") != std::string::npos);
  CHECK(dyn.out.find("run 2: data=(8, 20)") != std::string::npos);
  int r = 0;
  for (int64_t b : {3, 1, 8}) {
    std::string tag = std::to_string(b);
    Shell ref = hgc_tool("run " + model + " --params " + d + "/mlp.params --input data=" + d + "/in" + tag +
                         ".npy --output " + d + "/want" + tag + ".npy");
    INFO(ref.out);
    REQUIRE(ref.code == 0);
    HostTensor got = load_npy(d + "/dyn-" + std::to_string(r++) + ".npy"), want = load_npy(d + "/want" + tag + ".npy");
    CHECK(got.shape() == std::vector<int64_t>{2 * b, 4});
    CHECK(got.shape() == want.shape());
    CHECK(rel_diff(got, want) <= 1e-6);
  }
  // Clear errors: an input that does not fit the '?' shape, a --shape without '?', no input.
  Shell bad = hgc_tool("run " + model + " --params " + d + "/mlp.params --shape data=?x21" + inputs);
  CHECK(bad.code == 1);
  CHECK_MESSAGE(bad.out.find("does not fit --shape data=(?, 21)") != std::string::npos, bad.out);
  Shell fixed = hgc_tool("run " + model + " --shape data=4x20 --input data=4x20:random");
  CHECK(fixed.code == 1);
  CHECK_MESSAGE(fixed.out.find("has no '?' dim") != std::string::npos, fixed.out);
  Shell none = hgc_tool("run " + model + " --shape data=?x20");
  CHECK(none.code == 1);
  CHECK_MESSAGE(none.out.find("no --input data gives its size") != std::string::npos, none.out);
  fs::remove_all(d);
}
