// One pipeline, defined once (compiler/pipeline.h): `hgc dump --after=<pass>` shows the graph
// compile() lowers, for every shared model, RNN expansion included.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/pipeline.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/passes/fuse.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;

namespace {
struct Model {
  const char* file;
  std::map<std::string, Shape> shapes;
};

std::string shape_args(const std::map<std::string, Shape>& shapes) {
  std::string s;
  for (const auto& [name, shape] : shapes) {
    s += " --shape " + name + "=";
    for (int i = 0; i < shape.ndim(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  }
  return s;
}

Graph inferred(const std::string& path, const std::map<std::string, Shape>& shapes) {
  Graph g = load_json_file(path);
  InferOptions io;
  io.shapes = shapes;
  infer(g, io);
  return g;
}
}  // namespace

TEST_CASE("pipeline: hgc dump --after shows the graph compile() lowers, for every shared model") {
  const std::vector<Model> models = {
      {"mxnet_save_000800.json", {{"data", Shape{2, 16}}, {"softmax_label", Shape{2}}}},
      {"go_test-symbol.json", {{"data", Shape{1, 1}}, {"softmax_label", Shape{1}}}},
      {"sm_dummy_model-symbol.json", {{"data", Shape{1, 2}}, {"lin_reg_label", Shape{1}}}},
      {"djl_mlp-symbol.json", {{"data", Shape{1, 784}}}},
      {"mms_lstm_ptb-symbol.json", {{"data", Shape{5, 4}}, {"softmax_label", Shape{5, 4}}}},
      {"mms_squeezenet_v1.1-symbol.json", {{"data", Shape{1, 3, 224, 224}}, {"prob_label", Shape{1}}}},
      {"djl_resnet18_v1-symbol.json", {{"data", Shape{1, 3, 224, 224}}}},
      {"djl_static_bert_qa-symbol.json", {{"data0", Shape{1, 384}}, {"data1", Shape{1, 384}}, {"data2", Shape{1}}}},
  };
  int checked = 0;
  for (const Model& m : models) {
    CAPTURE(m.file);
    auto path = test::shared_model(m.file);
    if (!path) continue;
    Graph g = inferred(*path, m.shapes);
    FuseReport report;
    Graph want = prepare(g, CompileOptions(), &report);
    test::Shell r = test::hgc_tool("dump " + *path + shape_args(m.shapes) + " --after=fuse --format=json");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK(r.out == save_json(want) + "\n");
    // The text form after fuse names the same kernel groups.
    test::Shell t = test::hgc_tool("dump " + *path + shape_args(m.shapes) + " --after=fuse");
    REQUIRE(t.code == 0);
    for (const auto& grp : report.groups) CHECK(t.out.find(grp.name) != std::string::npos);
    for (const Node& n : want.nodes) CHECK(n.op_name != "RNN");  // expanded by the pipeline
    ++checked;
  }
  MESSAGE(checked << " shared models: dump --after=fuse == compile()'s graph");
}

TEST_CASE("pipeline: the pass list is one list, with RNN expansion in it") {
  std::vector<std::string> names;
  for (const auto& p : compile_passes(CompileOptions())) names.push_back(p->name());
  CHECK(names == std::vector<std::string>{"expand-rnn", "dce", "simplify", "cse", "fuse"});
  std::map<std::string, HostTensor> frozen;
  names.clear();
  for (const auto& p : compile_passes(CompileOptions(), &frozen)) names.push_back(p->name());
  CHECK(names == std::vector<std::string>{"expand-rnn", "dce", "simplify", "constant-fold", "fold-batchnorm", "cse", "fuse"});
  names.clear();
  for (const auto& p : compile_passes(CompileOptions().fusion(false).simplify(false))) names.push_back(p->name());
  CHECK(names == std::vector<std::string>{"expand-rnn"});
  // An unknown pass name lists the real ones.
  test::Shell r = test::hgc_tool("dump " + test::source_path("models/mlp/straight_dope_mlp-symbol.json") +
                                 " --shape data=1x512 --after=nosuch");
  CHECK(r.code != 0);
  CHECK(r.out.find("expand-rnn, dce, simplify, cse, fuse") != std::string::npos);
}
