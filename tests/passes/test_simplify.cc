// Simplification passes: structure (what was merged, removed, folded; node counts; the folded
// scalars and constants) and values (the optimized graph compiled == the original compiled,
// on random inputs), for hand-built graphs, ResNet-18's 20 BatchNorms and every shared model
// through the whole optimize_graph pipeline.
//
// Tolerance for compiled-vs-compiled comparisons: |a - b| <= tol * (|b| + max|b|), with
// tol = 1e-4 (float32 kernels; folding BatchNorm and scalar chains re-rounds products).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/expand_rnn.h"
#include "hgc/passes/simplify.h"
#include "support/paths.h"

using namespace hgc;

namespace {

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op != nullptr && n.op->name == op;
  return c;
}
int count_ops(const Graph& g) {
  int c = 0;
  for (const Node& n : g.nodes) c += !n.is_variable();
  return c;
}
// "Dropout -39, Reshape -12, ..." for the op counts that differ between a and b.
std::string op_diff(const Graph& a, const Graph& b) {
  std::map<std::string, int> d;
  for (const Node& n : a.nodes) d[n.is_variable() ? "(variables)" : n.op_name] -= 1;
  for (const Node& n : b.nodes) d[n.is_variable() ? "(variables)" : n.op_name] += 1;
  std::string s;
  for (const auto& [op, k] : d)
    if (k) s += (s.empty() ? "" : ", ") + op + " " + (k > 0 ? "+" : "") + std::to_string(k);
  return s.empty() ? "unchanged" : s;
}
const Node* first_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op && n.op->name == op) return &n;
  return nullptr;
}

ValueRef op(Graph& g, const std::string& name, const std::string& opname, std::vector<ValueRef> in,
            AttrMap attrs = {}) {
  return {g.add_node(opname, name, std::move(in), std::move(attrs)), 0};
}
ValueRef var(Graph& g, const std::string& name) { return {g.add_variable(name), 0}; }

void infer_with(Graph& g, const std::map<std::string, Shape>& shapes) {
  InferOptions io;
  io.shapes = shapes;
  infer(g, io);
  verify(g);
}

HostTensor random_tensor(const std::vector<int64_t>& shape, std::mt19937& rng, float lo, float hi) {
  HostTensor t(DType::f32, shape);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// A tensor for every variable of `g` not in `vars` yet: variances positive, the rest small.
void fill_random(const Graph& g, TensorMap& vars, std::mt19937& rng) {
  for (int id : g.variable_ids()) {
    const Node& v = g.nodes[id];
    if (vars.count(v.name)) continue;
    bool variance = g.role(id) == VarRole::AuxState && v.name.find("var") != std::string::npos;
    vars[v.name] = variance ? random_tensor(v.out_shapes[0].dims(), rng, 0.5f, 1.5f)
                            : random_tensor(v.out_shapes[0].dims(), rng, -0.5f, 0.5f);
  }
}

// Runs compiled `g` with each of its variables taken from `vars`.
std::vector<HostTensor> run(const Graph& g, const TensorMap& vars) {
  TensorMap bind;
  for (int id : g.variable_ids()) {
    const std::string& name = g.nodes[id].name;
    auto it = vars.find(name);
    REQUIRE_MESSAGE(it != vars.end(), "no tensor for variable " << name);
    bind[name] = it->second;
  }
  return compile(g)->run(bind);
}

// Largest |a - b| / (|b| + max|b|) over all outputs.
double compare(const std::vector<HostTensor>& got, const std::vector<HostTensor>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    REQUIRE(got[k].shape() == want[k].shape());
    REQUIRE(got[k].dtype() == DType::f32);
    double mx = 0;
    for (int64_t i = 0; i < want[k].numel(); ++i) mx = std::max(mx, std::fabs(double(want[k].data<float>()[i])));
    for (int64_t i = 0; i < want[k].numel(); ++i) {
      double a = got[k].data<float>()[i], b = want[k].data<float>()[i];
      double err = std::fabs(a - b) / (std::fabs(b) + mx + 1e-30);
      if (!(err <= worst)) worst = std::isnan(err) ? INFINITY : err;
    }
  }
  return worst;
}

Evaluator kernel_evaluator() {
  return [](const Node& n, const std::vector<HostTensor>& in) { return invoke_typed(n.op->name, n.attrs, in); };
}

const AttrMap kRelu{{"act_type", std::string("relu")}};

}  // namespace

TEST_CASE("cse merges identical relus but never two Dropouts or BatchNorms") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef r1 = op(g, "relu1", "Activation", {x}, kRelu);
  ValueRef r2 = op(g, "relu2", "Activation", {x}, kRelu);
  // Chains collapse in one walk: the two sigmoids read the merged relus.
  ValueRef s1 = op(g, "sig1", "Activation", {r1}, {{"act_type", std::string("sigmoid")}});
  ValueRef s2 = op(g, "sig2", "Activation", {r2}, {{"act_type", std::string("sigmoid")}});
  ValueRef d1 = op(g, "drop1", "Dropout", {x}, {{"p", 0.5}});
  ValueRef d2 = op(g, "drop2", "Dropout", {x}, {{"p", 0.5}});
  g.heads = {op(g, "sum1", "elemwise_add", {s1, s2}), op(g, "sum2", "elemwise_add", {d1, d2})};
  infer_with(g, {{"data", {2, 3}}});
  REQUIRE(count_op(g, "Activation") == 4);

  CHECK(cse(g) == 2);
  verify(g);
  CHECK(count_op(g, "Activation") == 2);
  CHECK(count_op(g, "Dropout") == 2);  // the issue: "CSE does not merge dropout"
  CHECK(g.find("relu2") < 0);
  const Node& sum1 = g.nodes[g.heads[0].node];
  CHECK(sum1.inputs[0] == sum1.inputs[1]);
  CHECK(g.shape(g.heads[0]) == Shape{2, 3});

  // An explicit default attribute compares equal to an omitted one; random and aux-state ops
  // never merge.
  Graph h;
  ValueRef y = var(h, "data");
  ValueRef b1 = op(h, "bn1", "BatchNorm", {y, var(h, "g"), var(h, "b"), var(h, "m"), var(h, "v")});
  ValueRef b2 = op(h, "bn2", "BatchNorm", {y, var(h, "g2"), var(h, "b2"), var(h, "m2"), var(h, "v2")});
  ValueRef f1 = op(h, "flat1", "Flatten", {b1});
  ValueRef c1 = op(h, "clip1", "clip", {y}, {{"a_min", 0.0}, {"a_max", 1.0}});
  ValueRef c2 = op(h, "clip2", "clip", {y}, {{"a_min", 0.0}, {"a_max", 1.0}});
  ValueRef l1 = op(h, "lrelu1", "LeakyReLU", {f1}, {{"act_type", std::string("leaky")}});
  ValueRef l2 = op(h, "lrelu2", "LeakyReLU", {f1});
  ValueRef k1 = op(h, "scale1", "_mul_scalar", {y}, {{"scalar", 1.0}});
  ValueRef k2 = op(h, "scale2", "_mul_scalar", {y});  // scalar defaults to 1.0
  h.heads = {b2, c1, c2, l1, l2, k1, k2};
  infer_with(h, {{"data", {2, 3, 4}}});
  CHECK(cse(h) == 2);  // clips, scales; LeakyReLU is kRandom (rrelu), BatchNorm has aux states
  CHECK(count_op(h, "clip") == 1);
  CHECK(count_op(h, "_mul_scalar") == 1);
  CHECK(count_op(h, "BatchNorm") == 2);
  CHECK(count_op(h, "LeakyReLU") == 2);
  CHECK(h.heads[1] == h.heads[2]);
}

TEST_CASE("dce drops a dead branch and its parameters, keeps graph inputs") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef label = var(g, "label");
  ValueRef live = op(g, "relu", "Activation", {x}, kRelu);
  ValueRef dead_fc = op(g, "dead_fc", "FullyConnected", {label, var(g, "dead_w"), var(g, "dead_b")},
                        {{"num_hidden", int64_t{4}}});
  op(g, "dead_exp", "exp", {dead_fc});
  var(g, "unused_input");
  g.heads = {live};
  infer_with(g, {{"data", {2, 3}}, {"label", {2, 5}}, {"unused_input", {1}}});
  REQUIRE(g.nodes.size() == 8);

  CHECK(dce(g) == 4);  // dead_fc, dead_exp, dead_w, dead_b
  verify(g);
  CHECK(g.find("dead_fc") < 0);
  CHECK(g.find("dead_exp") < 0);
  CHECK(g.find("dead_w") < 0);
  CHECK(g.find("dead_b") < 0);
  CHECK(g.find("label") >= 0);  // a graph input: the caller may still bind it
  CHECK(g.find("unused_input") >= 0);
  CHECK(g.shape(g.heads[0]) == Shape{2, 3});
  CHECK(dce(g) == 0);

  // Other passes remove only what they killed: CSE leaves an unrelated dead branch alone.
  Graph h;
  ValueRef y = var(h, "data");
  op(h, "dead", "exp", {y});
  h.heads = {op(h, "a", "Activation", {y}, kRelu), op(h, "b", "Activation", {y}, kRelu)};
  infer_with(h, {{"data", {3}}});
  CHECK(cse(h) == 1);
  CHECK(h.find("dead") >= 0);
  CHECK(h.find("b") < 0);
}

TEST_CASE("constant folding: a positional-encoding chain becomes one constant with the kernels' values") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef pos = op(g, "pos", "_arange", {}, {{"start", 0.0}, {"stop", 16.0}});
  ValueRef scaled = op(g, "scaled", "_mul_scalar", {pos}, {{"scalar", 0.25}});
  ValueRef pe = op(g, "pe", "sin", {scaled});
  g.heads = {op(g, "out", "broadcast_add", {x, pe})};
  infer_with(g, {{"data", {2, 16}}});
  Graph original = g;

  TensorMap tensors;
  FoldResult r = constant_fold(g, kernel_evaluator(), tensors);
  verify(g);
  CHECK(r.folded_nodes == 3);
  REQUIRE(r.constants == std::vector<std::string>{"pe_const"});
  CHECK(count_op(g, "_arange") == 0);
  CHECK(count_op(g, "_mul_scalar") == 0);
  CHECK(count_op(g, "sin") == 0);
  CHECK(count_ops(g) == 1);
  int c = g.find("pe_const");
  REQUIRE(c >= 0);
  CHECK(g.nodes[c].is_variable());
  CHECK(g.nodes[c].hidden.at("__const__") == "1");
  CHECK(g.nodes[c].out_shapes[0] == Shape{16});
  const HostTensor& t = tensors.at("pe_const");
  REQUIRE(t.shape() == std::vector<int64_t>{16});
  for (int64_t i = 0; i < 16; ++i) CHECK(t.data<float>()[i] == doctest::Approx(std::sin(0.25 * i)).epsilon(1e-6));

  std::mt19937 rng(3);
  TensorMap vars{{"data", random_tensor({2, 16}, rng, -1, 1)}};
  auto want = run(original, vars);
  for (auto& [k, v] : tensors) vars[k] = v;
  CHECK(compare(run(g, vars), want) <= 1e-6);

  // A second fold finds nothing new; the size cap and training-mode params keep things.
  CHECK(constant_fold(g, kernel_evaluator(), tensors).folded_nodes == 0);
  Graph capped = original;
  TensorMap none;
  CHECK(constant_fold(capped, kernel_evaluator(), none, ConstantFoldOptions().max_size(32)).folded_nodes == 0);
  CHECK(count_op(capped, "sin") == 1);
}

TEST_CASE("constant folding: frozen parameters fold, random ops and data never do") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef w = var(g, "w");
  ValueRef b = var(g, "b");
  ValueRef w2 = op(g, "w_scaled", "_mul_scalar", {w}, {{"scalar", 2.0}});
  ValueRef fc = op(g, "fc", "FullyConnected", {x, w2, b}, {{"num_hidden", int64_t{3}}});
  ValueRef ones = op(g, "ones", "_ones", {}, {{"shape", std::vector<int64_t>{2, 3}}});
  ValueRef drop = op(g, "drop", "Dropout", {ones}, {{"p", 0.5}});
  g.heads = {op(g, "out", "elemwise_add", {fc, drop})};
  infer_with(g, {{"data", {2, 4}}, {"w", {3, 4}}});
  Graph original = g;
  std::mt19937 rng(5);
  TensorMap params{{"w", random_tensor({3, 4}, rng, -1, 1)}, {"b", random_tensor({3}, rng, -1, 1)}};

  Graph unfrozen = g;
  TensorMap p2 = params;
  CHECK(constant_fold(unfrozen, kernel_evaluator(), p2, ConstantFoldOptions().params(false)).folded_nodes == 0);

  FoldResult r = constant_fold(g, kernel_evaluator(), params);
  verify(g);
  CHECK(r.constants == std::vector<std::string>{"w_scaled_const"});
  CHECK(g.find("w") < 0);  // read only by the folded node
  CHECK(g.find("b") >= 0);
  CHECK(count_op(g, "Dropout") == 1);  // random: never folded
  CHECK(count_op(g, "_ones") == 1);    // a source read directly stays a (cheap) kernel
  CHECK(count_op(g, "FullyConnected") == 1);

  TensorMap vars = params;
  vars["data"] = random_tensor({2, 4}, rng, -1, 1);
  CHECK(compare(run(g, vars), run(original, vars)) <= 1e-6);
}

TEST_CASE("simplify: x*1, transposes, reshapes, Dropout and scalar chains") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef one = op(g, "times_one", "_mul_scalar", {x}, {{"scalar", 1.0}});
  ValueRef t1 = op(g, "t1", "transpose", {one}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
  ValueRef t2 = op(g, "t2", "transpose", {t1}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
  ValueRef r1 = op(g, "r1", "Reshape", {t2}, {{"shape", std::vector<int64_t>{6, 4}}});
  ValueRef r2 = op(g, "r2", "Reshape", {r1}, {{"shape", std::vector<int64_t>{-1}}});
  ValueRef r3 = op(g, "r3", "Reshape", {r2}, {{"shape", std::vector<int64_t>{24}}});
  ValueRef drop = op(g, "drop", "Dropout", {r3}, {{"p", 0.3}});
  ValueRef m1 = op(g, "m1", "_mul_scalar", {drop}, {{"scalar", 2.0}});
  ValueRef m2 = op(g, "m2", "_mul_scalar", {m1}, {{"scalar", 3.0}});
  ValueRef m3 = op(g, "m3", "_div_scalar", {m2}, {{"scalar", 4.0}});
  ValueRef p1 = op(g, "p1", "_plus_scalar", {m3}, {{"scalar", 1.0}});
  ValueRef p2 = op(g, "p2", "_minus_scalar", {p1}, {{"scalar", 3.0}});
  ValueRef zero = op(g, "plus_zero", "_plus_scalar", {p2}, {{"scalar", 0.0}});
  g.heads = {zero};
  infer_with(g, {{"data", {2, 3, 4}}});
  Graph original = g;
  REQUIRE(count_ops(g) == 13);

  Graph training = g;
  simplify(training, AlgebraOptions().train(true));
  CHECK(count_op(training, "Dropout") == 1);

  CHECK(simplify(g) > 0);
  verify(g);
  // data -> Reshape(24) -> _mul_scalar(1.5) -> _plus_scalar(-2)
  CHECK(count_ops(g) == 3);
  CHECK(count_op(g, "transpose") == 0);
  CHECK(count_op(g, "Dropout") == 0);
  REQUIRE(count_op(g, "Reshape") == 1);
  const Node* rs = first_op(g, "Reshape");
  CHECK(rs->inputs[0].node == g.find("data"));
  CHECK(rs->attr_view().tuple("shape") == std::vector<int64_t>{24});
  REQUIRE(count_op(g, "_mul_scalar") == 1);
  CHECK(first_op(g, "_mul_scalar")->attr_view().f("scalar") == doctest::Approx(1.5));
  REQUIRE(count_op(g, "_plus_scalar") == 1);
  CHECK(first_op(g, "_plus_scalar")->attr_view().f("scalar") == doctest::Approx(-2.0));
  CHECK(count_op(g, "_div_scalar") == 0);
  CHECK(g.shape(g.heads[0]) == Shape{24});
  CHECK(simplify(g) == 0);

  std::mt19937 rng(9);
  TensorMap vars{{"data", random_tensor({2, 3, 4}, rng, -1, 1)}};
  CHECK(compare(run(g, vars), run(original, vars)) <= 1e-6);
}

TEST_CASE("simplify: composed transposes and shared intermediates") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef t1 = op(g, "t1", "transpose", {x}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
  ValueRef t2 = op(g, "t2", "transpose", {t1}, {{"axes", std::vector<int64_t>{0, 2, 1}}});
  ValueRef m1 = op(g, "m1", "_mul_scalar", {x}, {{"scalar", 2.0}});
  ValueRef m2 = op(g, "m2", "_mul_scalar", {m1}, {{"scalar", 3.0}});  // m1 has another reader
  ValueRef same = op(g, "same", "transpose", {m2}, {{"axes", std::vector<int64_t>{0, 1, 2}}});
  g.heads = {t2, same, m1};
  infer_with(g, {{"data", {2, 3, 4}}});
  Graph original = g;

  simplify(g);
  verify(g);
  REQUIRE(count_op(g, "transpose") == 1);
  const Node* t = first_op(g, "transpose");
  CHECK(t->name == "t2");
  CHECK(t->inputs[0].node == g.find("data"));
  CHECK(t->attr_view().tuple("axes") == std::vector<int64_t>{1, 2, 0});  // p[j] = t1[t2[j]]
  CHECK(count_op(g, "_mul_scalar") == 2);  // not folded: m1 is also an output
  CHECK(g.shape(g.heads[0]) == Shape{3, 4, 2});

  std::mt19937 rng(11);
  TensorMap vars{{"data", random_tensor({2, 3, 4}, rng, -1, 1)}};
  CHECK(compare(run(g, vars), run(original, vars)) <= 1e-6);
}

TEST_CASE("fold-batchnorm: Convolution and FullyConnected weights absorb the BatchNorm") {
  for (bool fix_gamma : {false, true}) {
    CAPTURE(fix_gamma);
    Graph g;
    ValueRef x = var(g, "data");
    ValueRef conv = op(g, "conv", "Convolution", {x, var(g, "conv_weight")},
                       {{"kernel", std::vector<int64_t>{3, 3}}, {"pad", std::vector<int64_t>{1, 1}},
                        {"num_filter", int64_t{4}}, {"no_bias", true}});
    ValueRef bn1 = op(g, "bn1", "BatchNorm",
                      {conv, var(g, "bn1_gamma"), var(g, "bn1_beta"), var(g, "bn1_moving_mean"), var(g, "bn1_moving_var")},
                      {{"fix_gamma", fix_gamma}, {"eps", 1e-5}});
    ValueRef relu = op(g, "relu", "Activation", {bn1}, kRelu);
    ValueRef fc = op(g, "fc", "FullyConnected", {relu, var(g, "fc_weight"), var(g, "fc_bias")},
                     {{"num_hidden", int64_t{5}}});
    ValueRef bn2 = op(g, "bn2", "BatchNorm",
                      {fc, var(g, "bn2_gamma"), var(g, "bn2_beta"), var(g, "bn2_moving_mean"), var(g, "bn2_moving_var")},
                      {{"fix_gamma", fix_gamma}});
    g.heads = {bn2};
    infer_with(g, {{"data", {2, 3, 6, 6}}});
    Graph original = g;
    std::mt19937 rng(13);
    TensorMap params;
    fill_random(g, params, rng);
    TensorMap vars = params;
    vars.erase("data");
    HostTensor data = random_tensor({2, 3, 6, 6}, rng, -1, 1);

    CHECK(fold_batchnorm(g, vars) == 2);
    verify(g);
    CHECK(count_op(g, "BatchNorm") == 0);
    const Node& c = g.nodes[g.find("conv")];
    CHECK_FALSE(c.attr_view().b("no_bias"));
    REQUIRE(c.inputs.size() == 3);
    CHECK(g.nodes[c.inputs[1].node].name == "conv_weight_bnfold");
    CHECK(g.nodes[c.inputs[2].node].name == "conv_bias_bnfold");
    CHECK(g.nodes[g.find("fc")].inputs[1].node == g.find("fc_weight_bnfold"));
    CHECK(g.find("conv_weight") < 0);
    CHECK(g.find("bn1_moving_var") < 0);
    CHECK(g.heads[0].node == g.find("fc"));
    const HostTensor& w0 = params.at("conv_weight");
    const HostTensor& w1 = vars.at("conv_weight_bnfold");
    double diff = 0;
    for (int64_t i = 0; i < w0.numel(); ++i) diff = std::max(diff, double(std::fabs(w0.data<float>()[i] - w1.data<float>()[i])));
    CHECK(diff > 1e-3);

    params["data"] = vars["data"] = data;
    CHECK(compare(run(g, vars), run(original, params)) <= 1e-4);
  }
}

TEST_CASE("fold-batchnorm: ResNet-18 loses all 20 BatchNorms and keeps its outputs") {
  auto path = test::shared_model("djl_resnet18_v1-symbol.json");
  if (!path) return;
  Graph g = load_json_file(*path);
  infer_with(g, {{"data", {1, 3, 224, 224}}});
  REQUIRE(count_op(g, "BatchNorm") == 20);
  std::mt19937 rng(17);
  TensorMap vars;
  fill_random(g, vars, rng);
  vars["data"] = random_tensor({1, 3, 224, 224}, rng, -1, 1);
  Graph original = g;
  TensorMap folded = vars;
  CHECK(fold_batchnorm(g, folded) == 20);
  verify(g);
  CHECK(count_op(g, "BatchNorm") == 0);
  CHECK(g.names_with_role(VarRole::AuxState).empty());
  CHECK(g.find("resnetv10_conv0_weight") < 0);  // replaced by resnetv10_conv0_weight_bnfold
  CHECK(g.find("resnetv10_conv0_weight_bnfold") >= 0);
  CHECK(g.names_with_role(VarRole::Parameter).size() == 42);  // 20 convs + dense, weight and bias
  CHECK(g.shape(g.heads[0]) == Shape{1, 1000});
  double err = compare(run(g, folded), run(original, vars));
  MESSAGE("ResNet-18 BatchNorm folding: " << original.nodes.size() << " -> " << g.nodes.size()
                                          << " nodes, max relative error " << err);
  CHECK(err <= 1e-4);
}

namespace {
struct ModelCase {
  std::string file;
  std::map<std::string, Shape> inputs;
  std::map<std::string, std::pair<float, float>> ranges;  // integer-valued inputs
  bool rnn = false;
};
}  // namespace

TEST_CASE("optimize_graph on every shared model: compiled outputs unchanged") {
  std::vector<ModelCase> cases = {
      {"djl_mlp-symbol.json", {{"data", {2, 784}}}, {}},
      {"djl_resnet18_v1-symbol.json", {{"data", {1, 3, 224, 224}}}, {}},
      {"mms_squeezenet_v1.1-symbol.json", {{"data", {1, 3, 224, 224}}}, {}},
      {"djl_static_bert_qa-symbol.json",
       {{"data0", {1, 384}}, {"data1", {1, 384}}, {"data2", {1}}},
       {{"data0", {0, 30000}}, {"data1", {0, 2}}, {"data2", {100, 384}}}},
      {"mms_lstm_ptb-symbol.json", {{"data", {35, 20}}, {"softmax_label", {35, 20}}}, {{"data", {0, 10000}}}, true},
      {"mxnet_save_000800.json", {{"data", {4, 10}}}, {}},
      {"go_test-symbol.json", {{"data", {3}}, {"softmax_label", {3}}}, {}},
      {"sm_dummy_model-symbol.json", {{"data", {5, 2}}}, {}},
  };
  if (const char* only = std::getenv("HGC_TEST_MODEL"))  // one model, for debugging
    std::erase_if(cases, [&](const ModelCase& c) { return c.file.find(only) == std::string::npos; });
  for (const ModelCase& mc : cases) {
    CAPTURE(mc.file);
    auto path = test::shared_model(mc.file);
    if (!path) continue;
    Graph g = load_json_file(*path);
    infer_with(g, mc.inputs);
    if (mc.rnn) {
      expand_rnn(g);
      infer_with(g, mc.inputs);
    }
    std::mt19937 rng(23);
    TensorMap inputs, params;
    for (const auto& [name, shape] : mc.inputs) {
      auto r = mc.ranges.count(name) ? mc.ranges.at(name) : std::make_pair(-1.f, 1.f);
      HostTensor t = random_tensor(shape.dims(), rng, r.first, r.second);
      if (mc.ranges.count(name))
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::floor(t.data<float>()[i]);
      inputs[name] = t;
    }
    fill_random(g, params, rng);
    for (const auto& [name, t] : inputs) params.erase(name);
    TensorMap all = params;
    for (const auto& [name, t] : inputs) all[name] = t;
    auto want = run(g, all);

    Graph opt = g;
    optimize_graph(opt, SimplifyOptions(), &params, kernel_evaluator());
    verify(opt);
    REQUIRE(opt.heads.size() == g.heads.size());
    for (size_t k = 0; k < g.heads.size(); ++k) CHECK(opt.shape(opt.heads[k]) == g.shape(g.heads[k]));
    for (const auto& [name, t] : inputs) CHECK(opt.find(name) >= 0);
    for (const auto& [name, t] : params) all[name] = t;
    double err = compare(run(opt, all), want);
    MESSAGE(mc.file << ": " << g.nodes.size() << " nodes (" << count_ops(g) << " ops) -> " << opt.nodes.size()
                    << " nodes (" << count_ops(opt) << " ops): " << op_diff(g, opt) << "; max relative error " << err);
    CHECK(err <= 1e-4);
  }
}

TEST_CASE("optimize_graph in training mode keeps Dropout and BatchNorm; passes run from a PassManager") {
  Graph g;
  ValueRef x = var(g, "data");
  ValueRef fc = op(g, "fc", "FullyConnected", {x, var(g, "w"), var(g, "b")}, {{"num_hidden", int64_t{4}}});
  ValueRef bn = op(g, "bn", "BatchNorm", {fc, var(g, "gamma"), var(g, "beta"), var(g, "mean"), var(g, "var")});
  ValueRef drop = op(g, "drop", "Dropout", {bn});
  g.heads = {op(g, "out", "_mul_scalar", {drop}, {{"scalar", 1.0}})};
  infer_with(g, {{"data", {2, 3}}});
  std::mt19937 rng(29);
  TensorMap params;
  fill_random(g, params, rng);
  params.erase("data");

  Graph train = g;
  TensorMap p1 = params;
  optimize_graph(train, SimplifyOptions().train(true), &p1, kernel_evaluator());
  CHECK(count_op(train, "Dropout") == 1);
  CHECK(count_op(train, "BatchNorm") == 1);
  CHECK(count_op(train, "_mul_scalar") == 0);

  PassManager pm;
  pm.add(make_infer_pass({{{"data", {2, 3}}}, {}, true}));
  TensorMap p2 = params;
  for (auto& p : make_optimize_passes(SimplifyOptions(), &p2, kernel_evaluator())) pm.add(std::move(p));
  CHECK(pm.pass_names() == std::vector<std::string>{"infer", "dce", "simplify", "constant-fold", "fold-batchnorm", "cse"});
  std::ostringstream os;
  pm.print_after("fold-batchnorm", &os);
  pm.run(g);
  CHECK(os.str().find("IR after fold-batchnorm") != std::string::npos);
  CHECK(count_ops(g) == 1);  // fc with the folded weights
  CHECK(p2.count("w_bnfold"));
}

TEST_CASE("hgc dump --after=<pass> prints the IR after a simplification pass") {
  auto path = test::shared_model("mms_squeezenet_v1.1-symbol.json");
  if (!path) return;
  std::string dir = test::temp_dir();
  auto dump = [&](const std::string& pass) {
    std::string out = dir + "/after_" + pass + ".txt";
    std::string cmd = std::string(HGC_TOOL) + " dump " + *path + " --shape data=1x3x224x224 --after=" + pass +
                      " -o " + out + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return read_file(out, "test");
  };
  std::string dce_text = dump("dce"), simplify_text = dump("simplify");
  CHECK(dce_text.find("IR after dce") != std::string::npos);
  CHECK(dce_text.find("Dropout") != std::string::npos);
  CHECK(simplify_text.find("IR after simplify") != std::string::npos);
  CHECK(simplify_text.find("Dropout") == std::string::npos);
  CHECK(dump("cse").find("IR after cse") != std::string::npos);
  std::filesystem::remove_all(dir);
}
