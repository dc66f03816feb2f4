// The amp pass: casts where MXNet's bfloat16 lists put them, shared and round-trip-free,
// float32 graph outputs, and compiled AMP graphs close to float32 ones.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "hgc/passes/amp.h"

using namespace hgc;

namespace {

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& x : g.nodes) n += x.op && x.op->name == op;
  return n;
}

const Node& node(const Graph& g, const std::string& name) { return g.nodes.at(g.find(name)); }

// data -> fc1 -> relu -> fc2 -> softmax, plus a sum(fc1) head.
Graph mlp() {
  Graph g;
  int x = g.add_variable("data"), w1 = g.add_variable("w1"), b1 = g.add_variable("b1");
  int w2 = g.add_variable("w2"), b2 = g.add_variable("b2");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  auto nh = [&](int n) { return parse_attr(*fc.attr_spec("num_hidden"), std::to_string(n)); };
  int f1 = g.add_node("FullyConnected", "fc1", {{x, 0}, {w1, 0}, {b1, 0}}, {{"num_hidden", nh(16)}});
  const OpDef& act = OpRegistry::global().get("Activation");
  int r = g.add_node("Activation", "relu1", {{f1, 0}}, {{"act_type", parse_attr(*act.attr_spec("act_type"), "relu")}});
  int f2 = g.add_node("FullyConnected", "fc2", {{r, 0}, {w2, 0}, {b2, 0}}, {{"num_hidden", nh(4)}});
  int s = g.add_node("softmax", "sm", {{f2, 0}});
  int t = g.add_node("sum", "total", {{f1, 0}});
  g.heads = {{s, 0}, {t, 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{8, 10}}, {"w1", Shape{16, 10}}, {"b1", Shape{16}}, {"w2", Shape{4, 16}}, {"b2", Shape{4}}};
  infer(g, io);
  return g;
}

}  // namespace

TEST_CASE("amp: GEMMs in bfloat16, softmax and sums in float32, outputs float32") {
  Graph g = mlp();
  int casts = amp_convert(g, AmpOptions());
  // data, w1, b1, w2, b2 to bf16; fc1 back to f32 for the sum; fc2 back to f32 for softmax.
  CHECK(casts == 7);
  CHECK(count_op(g, "Cast") == 7);
  CHECK(node(g, "fc1").out_dtypes[0] == DType::bf16);
  CHECK(node(g, "relu1").out_dtypes[0] == DType::bf16);  // follows its input
  CHECK(node(g, "fc2").out_dtypes[0] == DType::bf16);
  CHECK(g.nodes[node(g, "fc2").inputs[0].node].name == "relu1");  // no cast between
  CHECK(node(g, "sm").out_dtypes[0] == DType::f32);
  CHECK(node(g, "total").out_dtypes[0] == DType::f32);
  for (const ValueRef& h : g.heads) CHECK(g.nodes[h.node].out_dtypes[h.index] == DType::f32);
  // Idempotent: a second run adds nothing.
  CHECK(amp_convert(g, AmpOptions()) == 0);
}

TEST_CASE("amp: a bfloat16 value widened and narrowed again is read directly") {
  Graph g;
  int x = g.add_variable("data"), w = g.add_variable("w"), w2 = g.add_variable("w2");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  AttrMap a{{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), "6")}, {"no_bias", true}};
  int f1 = g.add_node("FullyConnected", "fc1", {{x, 0}, {w, 0}}, a);
  int e = g.add_node("exp", "e", {{f1, 0}});  // float32: fc1 is widened for it
  int f2 = g.add_node("FullyConnected", "fc2", {{f1, 0}, {w2, 0}}, a);
  int s = g.add_node("elemwise_add", "s", {{e, 0}, {f2, 0}});  // mixed: the wider type
  g.heads = {{s, 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{3, 6}}, {"w", Shape{6, 6}}, {"w2", Shape{6, 6}}};
  infer(g, io);
  amp_convert(g, AmpOptions());
  CHECK(g.nodes[node(g, "fc2").inputs[0].node].name == "fc1");
  CHECK(node(g, "s").out_dtypes[0] == DType::f32);
  CHECK(node(g, "e").out_dtypes[0] == DType::f32);
}

TEST_CASE("amp: compiled bfloat16 MLP within bfloat16 error of float32, through CompileOptions::amp") {
  Graph g = mlp();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::map<std::string, HostTensor> vars;
  for (const Node& n : g.nodes) {
    if (!n.is_variable()) continue;
    HostTensor t(DType::f32, n.out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[n.name] = t;
  }
  std::vector<HostTensor> want = compile(g)->run(vars);
  auto amp = compile(g, CompileOptions().mixed_precision(DType::bf16));
  std::vector<HostTensor> got = amp->run(vars);
  REQUIRE(got.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    REQUIRE(got[k].dtype() == DType::f32);
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < got[k].numel(); ++i) {
      worst = std::max(worst, std::fabs(double(got[k].data<float>()[i]) - want[k].data<float>()[i]));
      scale = std::max(scale, std::fabs(double(want[k].data<float>()[i])));
    }
    // inputs rounded to 8 bits, fc1 rounded, summed over 10 and 16 terms
    CHECK(worst <= 0.03 * (scale + 1));
    CHECK(worst > 0);  // it did run in bfloat16
  }
  CHECK_THROWS_WITH_AS(amp_convert(g, AmpOptions().target_dtype(DType::i8)),
                       doctest::Contains("[amp] target dtype must be bfloat16"), Error);
}

TEST_CASE("amp: a view of a value already cast reads that cast (no second cast of the same bits)") {
  // data feeds fc1 (cast to bfloat16) and, reshaped, fc2: the reshape's cast is reshape(cast(data)).
  Graph g;
  int x = g.add_variable("data"), w = g.add_variable("w"), w2 = g.add_variable("w2");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  AttrMap a{{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), "5")}, {"no_bias", true}};
  int f1 = g.add_node("FullyConnected", "fc1", {{x, 0}, {w, 0}}, a);
  const OpDef& rs = OpRegistry::global().get("Reshape");
  int r = g.add_node("Reshape", "r", {{x, 0}}, {{"shape", parse_attr(*rs.attr_spec("shape"), "(6, 4)")}});
  int f2 = g.add_node("FullyConnected", "fc2", {{r, 0}, {w2, 0}}, a);
  g.heads = {{f1, 0}, {f2, 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{3, 8}}, {"w", Shape{5, 8}}, {"w2", Shape{5, 4}}};
  infer(g, io);
  amp_convert(g, AmpOptions());
  const int data = g.find("data");
  int casts_of_data = 0, casts_of_reshape = 0;
  for (const Node& n : g.nodes) {
    if (!n.op || n.op->name != "Cast") continue;
    const Node& src = g.nodes[n.inputs[0].node];
    casts_of_data += n.inputs[0].node == data;
    casts_of_reshape += src.op && src.op->name == "Reshape";
  }
  CHECK(casts_of_data == 1);
  CHECK(casts_of_reshape == 0);
  const Node& in2 = g.nodes[node(g, "fc2").inputs[0].node];  // reshape of the cast, in bfloat16
  REQUIRE(in2.op);
  CHECK(in2.op->name == "Reshape");
  CHECK(in2.out_dtypes[0] == DType::bf16);
  CHECK(in2.out_shapes[0] == Shape{6, 4});
  CHECK(g.nodes[in2.inputs[0].node].op->name == "Cast");
  CHECK(amp_convert(g, AmpOptions()) == 0);  // still idempotent
}

TEST_CASE("amp: a training trace converts as one graph; forward outputs keep their dtypes before the split") {
  // Forward: fc1 = FC(data, w) -> relu (output 0); "gradient": dot(relu, relu) reads the
  // forward's relu, as a gradient rule reads a saved value.
  Graph g;
  int x = g.add_variable("data"), w = g.add_variable("w");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  AttrMap a{{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), "4")}, {"no_bias", true}};
  int f1 = g.add_node("FullyConnected", "fc1", {{x, 0}, {w, 0}}, a);
  const OpDef& act = OpRegistry::global().get("Activation");
  int r = g.add_node("Activation", "relu1", {{f1, 0}}, {{"act_type", parse_attr(*act.attr_spec("act_type"), "relu")}});
  const int boundary = static_cast<int>(g.nodes.size());
  const OpDef& dot = OpRegistry::global().get("dot");
  int d = g.add_node("dot", "grad_dot", {{r, 0}, {r, 0}}, {{"transpose_a", parse_attr(*dot.attr_spec("transpose_a"), "true")}});
  g.heads = {{d, 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{3, 6}}, {"w", Shape{4, 6}}};
  infer(g, io);
  AmpTrainingSplit s = amp_convert_training(g, AmpOptions(), boundary, {{r, 0}});
  REQUIRE(s.forward_heads.size() == 1);
  // The forward output is float32 again (a cast inside the forward) ...
  const ValueRef y = s.forward_heads[0];
  CHECK(y.node < s.boundary);
  CHECK(g.nodes[y.node].out_dtypes[0] == DType::f32);
  // ... while the gradient's dot reads the forward's bfloat16 relu directly: no cast after the boundary.
  const Node& gd = g.nodes[s.map[d][0].node];
  CHECK(s.map[d][0].node >= s.boundary);
  CHECK(g.nodes[gd.inputs[0].node].name == "relu1");
  CHECK(g.nodes[gd.inputs[0].node].out_dtypes[0] == DType::bf16);
  CHECK(gd.inputs[0].node < s.boundary);
  for (int i = s.boundary; i < static_cast<int>(g.nodes.size()); ++i)
    CHECK_FALSE((g.nodes[i].op && g.nodes[i].op->name == "Cast" && g.nodes[i].out_dtypes[0] == DType::bf16));
  CHECK(g.nodes[g.heads[0].node].out_dtypes[0] == DType::f32);  // the gradient head too
  CHECK_THROWS_AS(amp_convert_training(g, AmpOptions(), 1, {{static_cast<int>(g.nodes.size()) - 1, 0}}), Error);
}
