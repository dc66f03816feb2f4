// Optimizer-update graphs (frontend/src/optim): flat arrays of symbolic length, scalars (1,),
// outputs written over their inputs.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/compiler/jit.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/fuse.h"
#include "reference/reference.h"
#include "../../compiler/src/plan.h"

using namespace hgc;

namespace {

// Adam as the optimizer writes it (optimizer_rules.cc): outputs mean, var, weight.
Graph adam_graph(int64_t len) {
  Graph g;
  auto var = [&](const char* n) { return ValueRef{g.add_variable(n), 0}; };
  ValueRef w = var("weight"), gr = var("grad"), m = var("mean"), v = var("var");
  ValueRef lr = var("lr"), wd = var("wd"), rs = var("rescale"), b1 = var("beta1"), ob1 = var("one_minus_beta1"),
           b2 = var("beta2"), ob2 = var("one_minus_beta2"), eps = var("epsilon");
  int k = 0;
  auto op = [&](const char* o, std::vector<ValueRef> in) {
    return ValueRef{g.add_node(o, std::string(o) + std::to_string(k++), in), 0};
  };
  ValueRef gg = op("broadcast_add", {op("broadcast_mul", {gr, rs}), op("broadcast_mul", {w, wd})});
  ValueRef m2 = op("broadcast_add", {op("broadcast_mul", {m, b1}), op("broadcast_mul", {gg, ob1})});
  ValueRef v2 = op("broadcast_add", {op("broadcast_mul", {v, b2}), op("broadcast_mul", {op("square", {gg}), ob2})});
  ValueRef w2 = op("broadcast_sub", {w, op("broadcast_div", {op("broadcast_mul", {m2, lr}),
                                                               op("broadcast_add", {op("sqrt", {v2}), eps})})});
  g.heads = {m2, v2, w2};
  InferOptions o;
  for (const char* a : {"weight", "grad", "mean", "var"}) o.shapes[a] = Shape{len};
  for (const char* s : {"lr", "wd", "rescale", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "epsilon"})
    o.shapes[s] = Shape{1};
  infer(g, o);
  return g;
}

}  // namespace

TEST_CASE("update kernels: a symbolic-length Adam update writes its outputs directly, vectorized") {
  // Its kernels read the length off their arguments (memref.dim) and broadcast one-element
  // scalars; neither may keep them from writing over their inputs directly: the temporary
  // they fell back to (malloc + fill + copy per call) made W5d's 1-thread updates 3.5x slower.
  auto dyn = DynamicGraph::create(adam_graph(16), adam_graph(17), CompileOptions().aliasing(true));
  REQUIRE(dyn->dynamic());
  CompileOptions opts = CompileOptions().aliasing(true);
  Graph at = prepare(adam_graph(1000), opts);
  std::string mlir = plan_steps(at, StepPlanOptions::from(opts).with_symbolic(&dyn->symbolic()).only_module(true)).module;
  std::string ir = lower_to_llvm_ir(mlir);
  if (const char* d = std::getenv("HGC_TEST_DUMP")) std::ofstream(d) << mlir;
  CHECK(ir.find("@malloc") == std::string::npos);
  CHECK(ir.find("llvm.memcpy") == std::string::npos);
  CHECK(ir.find("llvm.loop.parallel_accesses") != std::string::npos);
  // Multi-output fusion (aliasing compiles): one kernel writes mean, var and weight, reading
  // every array once (it was four: the decayed gradient, mean, var, weight).
  size_t kernels = 0;
  for (size_t at = mlir.find("func.func @"); at != std::string::npos; at = mlir.find("func.func @", at + 1)) ++kernels;
  CHECK(kernels == 1);
  CHECK(ir.find("x float>") != std::string::npos);  // vectorized
}

TEST_CASE("update kernels: the symbolic Adam update run over its own inputs equals the reference") {
  CompileOptions opts = CompileOptions().aliasing(true);
  auto dyn = DynamicGraph::create(adam_graph(16), adam_graph(17), opts);
  Graph g = adam_graph(1003);
  auto exe = dyn->instantiate(g).exe;
  CHECK(exe->steps.size() == 1);
  CHECK(exe->arena_bytes == 0);  // the decayed gradient stays in registers
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.01f, 1.f);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids()) {
    HostTensor t(DType::f32, g.nodes[id].out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[g.nodes[id].name] = t;
  }
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  std::vector<const void*> in;
  for (const std::string& n : exe->input_names) in.push_back(vars.at(n).raw());
  std::vector<void*> out{vars.at("mean").raw(), vars.at("var").raw(), vars.at("weight").raw()};
  std::vector<char> arena(static_cast<size_t>(exe->arena_bytes) + 64);
  exe->execute(in, out, arena.data());
  const char* names[] = {"mean", "var", "weight"};
  for (int k = 0; k < 3; ++k) {
    CAPTURE(names[k]);
    int bad = 0;
    for (int64_t i = 0; i < want[k].numel(); ++i)
      bad += !(vars.at(names[k]).data<float>()[i] == doctest::Approx(want[k].data<float>()[i]).epsilon(1e-6).scale(1));
    CHECK(bad == 0);
  }
}

TEST_CASE("update kernels: multi-output groups stay convex and keep every value another node reads") {
  // a = x * y is read by c = exp(a) (same iteration space), by softmax (not a group member
  // here) and by b = a + softmax(a), and is a graph output. {a, c} may merge into one kernel
  // with outputs a and c; b may not join them (the path a -> softmax -> b leaves the group),
  // and softmax, listed before c, must come after the group in the rewritten graph.
  Graph g;
  int x = g.add_variable("x"), y = g.add_variable("y");
  int a = g.add_node("broadcast_mul", "a", {{x, 0}, {y, 0}}, {});
  int s = g.add_node("softmax", "s", {{a, 0}}, {});
  int b = g.add_node("broadcast_add", "b", {{a, 0}, {s, 0}}, {});
  int c = g.add_node("exp", "c", {{a, 0}}, {});
  g.heads = {{b, 0}, {c, 0}, {a, 0}};
  infer(g, {{{"x", {4, 5}}, {"y", {4, 5}}}, {}, true});
  auto vars = std::map<std::string, HostTensor>{};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const char* n : {"x", "y"}) {
    HostTensor t(DType::f32, {4, 5});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[n] = t;
  }
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  FuseOptions o;
  o.fusible = [](const Node& n) { return n.op && (n.op->has(kElementwise) || n.op->has(kBroadcast)); };
  o.multi_output = true;
  Graph f = g;
  FuseReport rep = fuse(f, o);
  verify(f);
  REQUIRE(rep.groups.size() == 1);
  CHECK(rep.groups[0].members == std::vector<std::string>{"a", "c"});
  int group = -1, soft = -1;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    if (f.nodes[i].op_name == "_hgc_fused") group = static_cast<int>(i);
    if (f.nodes[i].name == "s") soft = static_cast<int>(i);
  }
  REQUIRE(group >= 0);
  CHECK(f.nodes[group].out_shapes.size() == 2);
  CHECK(soft > group);
  std::vector<HostTensor> got = ref::evaluate(f, vars);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k)
    for (int64_t i = 0; i < want[k].numel(); ++i) CHECK(got[k].data<float>()[i] == want[k].data<float>()[i]);
  // Compiled, the two-output kernel gives the same values.
  auto exe = compile(f, CompileOptions().simplify(false));
  std::vector<HostTensor> run = exe->run(vars);
  for (size_t k = 0; k < run.size(); ++k)
    for (int64_t i = 0; i < want[k].numel(); ++i)
      CHECK(run[k].data<float>()[i] == doctest::Approx(want[k].data<float>()[i]).epsilon(1e-6));
}
