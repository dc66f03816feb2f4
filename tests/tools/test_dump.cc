// `hgc dump` end to end: golden text dumps of shared models, json/dot forms, and errors.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hgc/base/files.h"
#include "hgc/ir/json_io.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;

namespace {
using Run = test::Shell;
Run hgc_run(const std::string& args) { return test::hgc_tool(args); }

// Compares with tests/golden/<name>; HGC_UPDATE_GOLDEN=1 rewrites the file instead.
void check_golden(const std::string& name, const std::string& actual) {
  std::string path = test::source_path("tests/golden/" + name);
  if (std::getenv("HGC_UPDATE_GOLDEN")) {
    write_file_atomic(path, actual, "test");
    MESSAGE("updated " << path);
    return;
  }
  REQUIRE_MESSAGE(std::filesystem::exists(path), "missing golden file " << path);
  CHECK(read_file(path, "test") == actual);
}
}  // namespace

TEST_CASE("golden text dumps of shared models") {
  struct G {
    const char* file;
    const char* args;
    const char* golden;
  };
  for (const G& g : {G{"djl_mlp-symbol.json", "--shape data=1x784", "djl_mlp.txt"},
                     G{"djl_resnet18_v1-symbol.json", "--shape data=1x3x224x224", "djl_resnet18_v1.txt"},
                     G{"mms_lstm_ptb-symbol.json", "--shape data=35x20 --shape softmax_label=35x20",
                       "mms_lstm_ptb.txt"},
                     G{"mxnet_save_000800.json", "--shape data=4x10", "mxnet_save_000800.txt"}}) {
    CAPTURE(g.file);
    auto path = test::shared_model(g.file);
    if (!path) continue;
    Run r = hgc_run("dump " + *path + " " + g.args);
    CHECK(r.code == 0);
    check_golden(g.golden, r.out);
  }
}

TEST_CASE("dump of the project's own MLP shows inferred weight shapes") {
  Run r = hgc_run("dump " + test::source_path("models/mlp/straight_dope_mlp-symbol.json") +
                  " --shape data=1x512");
  CHECK(r.code == 0);
  CHECK(r.out.find("%hybridsequential0_dense0_weight : (256, 512) float32") != std::string::npos);
  CHECK(r.out.find("%hybridsequential0_dense2_weight : (2, 128) float32") != std::string::npos);
  CHECK(r.out.find("parameters: 164482 values") != std::string::npos);  // 256*512+256 + 128*256+128 + 2*128+2
  check_golden("straight_dope_mlp.txt", r.out);
}

TEST_CASE("--format json re-emits canonical JSON; --format dot renders") {
  std::string model = test::source_path("models/mlp/straight_dope_mlp-symbol.json");
  Run r = hgc_run("dump " + model + " --format json");
  REQUIRE(r.code == 0);
  CHECK(save_json(load_json(r.out)) + "\n" == r.out);
  Run d = hgc_run("dump " + model + " --shape data=1x512 --format=dot");
  REQUIRE(d.code == 0);
  CHECK(d.out.rfind("digraph hgc {", 0) == 0);
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    std::string dir = test::temp_dir();
    write_file_atomic(dir + "/g.dot", d.out, "test");
    CHECK(std::system(("dot -Tsvg " + dir + "/g.dot -o " + dir + "/g.svg").c_str()) == 0);
    CHECK(read_file(dir + "/g.svg", "test").find("<svg") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
  Run a = hgc_run("dump " + model + " --shape data=1x512 --after=infer");
  CHECK(a.code == 0);
  CHECK(a.out.find("IR after infer") != std::string::npos);
  Run e = hgc_run("dump " + model + " --shape data=64x512 --explain");
  CHECK(e.code == 0);
  CHECK(e.out.find("0.19 MiB one buffer per value, 0.09 MiB after fusion, 0.09 MiB planned (50.0%)") !=
        std::string::npos);
}

TEST_CASE("dump with shipped params uses their shapes and rejects mismatches") {
  auto json = test::shared_model("sm_dummy_model-symbol.json");
  auto params = test::shared_model("sm_dummy_model-0000.params");
  if (!json || !params) return;
  Run r = hgc_run("dump " + *json + " --params " + *params + " --shape data=3x2");
  CHECK(r.code == 0);
  CHECK(r.out.find("%fc1_weight : (1, 2) float32") != std::string::npos);
  Run bad = hgc_run("dump " + *json + " --params " + *params + " --shape data=3x5");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("node 'fc1' (FullyConnected)") != std::string::npos);
  CHECK(bad.out.find("(1, 2)") != std::string::npos);
  CHECK(bad.out.find("(1, 5)") != std::string::npos);
}

TEST_CASE("dump errors: clear messages and non-zero exits") {
  Run help = hgc_run("dump --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("usage: hgc dump") != std::string::npos);
  CHECK(hgc_run("").code == 2);
  Run nofile = hgc_run("dump /nonexistent.json");
  CHECK(nofile.code == 1);
  CHECK(nofile.out.find("/nonexistent.json: cannot open file") != std::string::npos);
  std::string model = test::source_path("models/mlp/straight_dope_mlp-symbol.json");
  Run badshape = hgc_run("dump " + model + " --shape data=1xfoo");
  CHECK(badshape.code == 1);
  CHECK(badshape.out.find("cannot parse dims") != std::string::npos);
  Run badname = hgc_run("dump " + model + " --shape input=1x512");
  CHECK(badname.out.find("no graph input named 'input'") != std::string::npos);
  Run badfmt = hgc_run("dump " + model + " --format yaml");
  CHECK(badfmt.out.find("--format must be") != std::string::npos);
  Run badpass = hgc_run("dump " + model + " --after=frobnicate");
  CHECK(badpass.out.find("no such pass") != std::string::npos);
  Run unknown = hgc_run("dump " + model + " --frobnicate");
  CHECK(unknown.out.find("unknown option '--frobnicate'") != std::string::npos);
  CHECK(hgc_run("frob").code == 2);
}

TEST_CASE("dump --shape with '?' shows symbolic dims; compile takes '?' on the cpu, rejects it for cuda clearly") {
  std::string model = test::source_path("models/mlp/straight_dope_mlp-symbol.json");
  Run r = hgc_run("dump " + model + " --shape data=?x512");
  CHECK(r.code == 0);
  CHECK(r.out.find("(?, 512)") != std::string::npos);                                    // the input
  CHECK(r.out.find("%hybridsequential0_dense0_weight : (256, 512) float32") != std::string::npos);  // still inferred
  CHECK(r.out.find("(?, 2)") != std::string::npos);                                      // the output
  // One program for every batch size (tests/tools/test_compile_dynamic.cc runs them).
  Run c = hgc_run("compile " + model + " --shape data=?x512 -o " + test::temp_dir() + "/m");
  CHECK_MESSAGE(c.code == 0, c.out);
  Run g = hgc_run("compile " + model + " --shape data=?x512 --target=cuda -o " + test::temp_dir() + "/mg");
  CHECK(g.code != 0);
  CHECK_MESSAGE(g.out.find("'?' dims (dynamic sizes) are for --target=cpu only") != std::string::npos, g.out);
}

// Issue 18: every model in ../shared/models/mxnet dumps given only its data shapes; label
// inputs of SoftmaxOutput / regression outputs get MXNet's inferred shapes.
TEST_CASE("dump of every shared MXNet model needs only the data shapes") {
  std::string dir = std::string(HGC_SHARED_DIR) + "/models/mxnet";
  if (!std::filesystem::exists(dir)) {
    MESSAGE("SKIP: " << dir << " is absent (../shared is not beside the project)");
    return;
  }
  struct M {
    const char* shapes;
    const char* expect;  // a line fragment of the summary ("" for none)
  };
  const std::map<std::string, M> models = {
      {"mxnet_save_000800.json", {"--shape data=2x10", "softmax_label (2,) float32"}},
      {"go_test-symbol.json", {"--shape data=1x1x28x28", "softmax_label (784,) float32"}},
      {"sm_dummy_model-symbol.json", {"--shape data=2x5", "lin_reg_label (2,) float32"}},  // (N, 1) output: (N,) label
      {"mms_lstm_ptb-symbol.json", {"--shape data=5x2", "softmax_label (10,) float32"}},
      {"mms_squeezenet_v1.1-symbol.json", {"--shape data=1x3x224x224", "prob_label (1,) float32"}},
      {"djl_mlp-symbol.json", {"--shape data=1x784", "outputs: %hybridsequential0_dense2_fwd (1, 10)"}},
      {"djl_resnet18_v1-symbol.json", {"--shape data=1x3x224x224", "outputs: %resnetv10_dense0_fwd (1, 1000)"}},
      {"djl_static_bert_qa-symbol.json",
       {"--shape data0=1x384 --shape data1=1x384 --shape data2=1", "outputs: %staticbertforqa0_dense0_fwd (1, 384, 2)"}},
  };
  int dumped = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string file = e.path().filename().string();
    if (e.path().extension() != ".json") continue;
    CAPTURE(file);
    auto it = models.find(file);
    REQUIRE_MESSAGE(it != models.end(), "a new shared model: add its data shapes to this test");
    Run r = hgc_run("dump " + e.path().string() + " " + it->second.shapes);
    CHECK_MESSAGE(r.code == 0, r.out);
    std::string inputs = r.out.substr(r.out.find("  inputs:"));
    inputs = inputs.substr(0, inputs.find('\n'));
    CHECK_MESSAGE(inputs.find('?') == std::string::npos, inputs);  // every input's shape is known
    CHECK_MESSAGE(r.out.find(it->second.expect) != std::string::npos, r.out.substr(r.out.find("  inputs:")));
    ++dumped;
  }
  CHECK(dumped == static_cast<int>(models.size()));
}

// The ops a RetinaFace-style FPN head uses (MXNet JSON as Gluon/symbol export writes it):
// nearest UpSampling, Crop of the lateral branch like it, bilinear UpSampling with its weight
// variable, BilinearResize2D and AdaptiveAvgPooling2D — shapes inferred from data alone.
TEST_CASE("dump infers the nn_resize ops of an FPN-style symbol") {
  std::string json = R"J({"nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "Pooling", "name": "c3", "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max"}, "inputs": [[0, 0, 0]]},
    {"op": "UpSampling", "name": "up", "attrs": {"scale": "2", "sample_type": "nearest", "num_args": "1"}, "inputs": [[1, 0, 0]]},
    {"op": "Crop", "name": "crop", "attrs": {"num_args": "2"}, "inputs": [[0, 0, 0], [2, 0, 0]]},
    {"op": "null", "name": "up_weight", "attrs": {"__init__": "[\"bilinear\", {}]"}, "inputs": []},
    {"op": "UpSampling", "name": "bil", "attrs": {"scale": "2", "sample_type": "bilinear", "num_args": "2", "num_filter": "3"},
     "inputs": [[3, 0, 0], [4, 0, 0]]},
    {"op": "_contrib_BilinearResize2D", "name": "rs", "attrs": {"height": "5", "width": "6", "align_corners": "False"}, "inputs": [[5, 0, 0]]},
    {"op": "_contrib_AdaptiveAvgPooling2D", "name": "ap", "attrs": {"output_size": "(2, 3)"}, "inputs": [[6, 0, 0]]}],
   "arg_nodes": [0, 4], "heads": [[7, 0, 0]], "attrs": {"mxnet_version": ["int", 10900]}})J";
  std::string dir = test::temp_dir();
  write_file_atomic(dir + "/fpn-symbol.json", json, "test");
  Run r = hgc_run("dump " + dir + "/fpn-symbol.json --shape data=1x3x9x8");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("%up_weight : (3, 1, 4, 4) float32") != std::string::npos);
  CHECK(r.out.find("outputs: %ap (1, 3, 2, 3) float32") != std::string::npos);
  CHECK(r.out.find("%crop = Crop(%data, %up)") != std::string::npos);
  CHECK(r.out.find("(1, 3, 16, 16)") != std::string::npos);  // bil: data cropped to 8x8, upsampled by 2
}
