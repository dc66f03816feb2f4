// Optimizer-update graphs (frontend/src/optim): flat arrays of symbolic length, scalars (1,),
// outputs written over their inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "hgc/base/attrs.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/compiler/jit.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/fuse.h"
#include "reference/reference.h"
#include "../../compiler/src/plan.h"

using namespace hgc;

namespace {

// Every variable of g filled with values in [0.01, 1) drawn from a generator seeded `seed`.
std::map<std::string, HostTensor> random_vars(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.01f, 1.f);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids()) {
    HostTensor t(DType::f32, g.nodes[id].out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[g.nodes[id].name] = t;
  }
  return vars;
}

// Adam as the optimizer writes it (optimizer_rules.cc): outputs mean, var, weight; with
// `low`, also the new weight rounded to bfloat16 (AMP's copy, written by the same kernel).
Graph adam_graph(int64_t len, bool low = false) {
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
  if (low) {
    AttrMap to{{"dtype", parse_attr(*OpRegistry::global().get("Cast").attr_spec("dtype"), "bfloat16")}};
    g.heads.push_back(ValueRef{g.add_node("Cast", "weight_low", {w2}, to), 0});
  }
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
  std::map<std::string, HostTensor> vars = random_vars(g, 7);
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

namespace {

uint16_t f32_to_bf16(float f) {  // round to nearest even, as the Cast kernels do
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

}  // namespace

TEST_CASE("update kernels: an update that also writes the weight's bfloat16 copy stays one vectorized in-place loop") {
  // AMP's Trainer has the update write each weight's bfloat16 copy too (a Cast head of
  // another dtype). Its loops must still merge into one that writes every output directly:
  // left apart, each output recomputed the update into a malloc'ed temporary, scalar and
  // copied out (W5's update kernel 80x slower than the float32 one).
  auto dyn = DynamicGraph::create(adam_graph(16, true), adam_graph(17, true), CompileOptions().aliasing(true));
  REQUIRE(dyn->dynamic());
  CompileOptions opts = CompileOptions().aliasing(true);
  Graph at = prepare(adam_graph(1000, true), opts);
  std::string mlir = plan_steps(at, StepPlanOptions::from(opts).with_symbolic(&dyn->symbolic()).only_module(true)).module;
  std::string ir = lower_to_llvm_ir(mlir);
  if (const char* d = std::getenv("HGC_TEST_DUMP")) std::ofstream(d) << mlir << "\n\n" << ir;
  size_t kernels = 0;
  for (size_t at = mlir.find("func.func @"); at != std::string::npos; at = mlir.find("func.func @", at + 1)) ++kernels;
  CHECK(kernels == 1);
  CHECK(mlir.find("xbf16>") != std::string::npos);
  CHECK(ir.find("@malloc") == std::string::npos);
  CHECK(ir.find("llvm.memcpy") == std::string::npos);
  CHECK(ir.find("llvm.loop.parallel_accesses") != std::string::npos);
  CHECK(ir.find("x float>") != std::string::npos);  // vectorized, the bfloat16 stores too
  CHECK(ir.find("x i16>") != std::string::npos);
}

TEST_CASE("update kernels: the bfloat16 copy an update writes is bit for bit the Cast of its new weight") {
  CompileOptions opts = CompileOptions().aliasing(true);
  auto dyn = DynamicGraph::create(adam_graph(16, true), adam_graph(17, true), opts);
  const int64_t n = 1003;
  Graph g = adam_graph(n, true);
  auto exe = dyn->instantiate(g).exe;
  CHECK(exe->steps.size() == 1);
  // A separately compiled Cast, the kernel AMP ran before on the new weights.
  Graph cg;
  AttrMap to{{"dtype", parse_attr(*OpRegistry::global().get("Cast").attr_spec("dtype"), "bfloat16")}};
  cg.heads = {ValueRef{cg.add_node("Cast", "c", {ValueRef{cg.add_variable("x"), 0}}, to), 0}};
  infer(cg, {{{"x", {n}}}, {}, true});
  auto cast = compile(cg);
  // Random values; then lr = 0, where the weight comes out unchanged, so its special values
  // reach the rounding: ties (to even, both ways), subnormals (a converter that flushes
  // them would differ), the largest finite float (rounds to infinity), -0, NaN.
  const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x3f80ffffu, 0x3f807fffu, 0x00008000u,
                              0x00018000u, 0x807fffffu, 0x00000001u, 0x7f7fffffu, 0x80000000u, 0x7fc00001u};
  for (bool zero_lr : {false, true}) {
    CAPTURE(zero_lr);
    std::map<std::string, HostTensor> vars = random_vars(g, 9);
    if (zero_lr) {
      vars.at("lr").data<float>()[0] = 0;
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(vars.at("weight").data<float>() + i, &special[i % std::size(special)], 4);
    }
    std::vector<HostTensor> want = ref::evaluate(g, vars);
    HostTensor w0(DType::f32, {n});
    std::memcpy(w0.raw(), vars.at("weight").raw(), w0.nbytes());
    HostTensor low(DType::bf16, {n});
    std::vector<const void*> in;
    for (const std::string& nm : exe->input_names) in.push_back(vars.at(nm).raw());
    std::vector<void*> out{vars.at("mean").raw(), vars.at("var").raw(), vars.at("weight").raw(), low.raw()};
    std::vector<char> arena(static_cast<size_t>(exe->arena_bytes) + 64);
    exe->execute(in, out, arena.data());  // mean, var and weight over their inputs
    const std::string names[] = {"mean", "var", "weight"};
    for (int k = 0; k < 3; ++k) {
      CAPTURE(names[k]);
      int bad = 0;
      for (int64_t i = 0; i < n; ++i) {
        float a = vars.at(names[k]).data<float>()[i], b = want[k].data<float>()[i];
        bool ok = a == b || a == doctest::Approx(b).epsilon(1e-6).scale(1) || (std::isnan(a) && std::isnan(b));
        if (!ok && bad++ == 0) MESSAGE("first difference at ", i, ": ", a, " vs ", b);
      }
      CHECK(bad == 0);
    }
    const HostTensor& w = vars.at("weight");
    if (zero_lr) CHECK(std::memcmp(w.raw(), w0.raw(), w.nbytes()) == 0);
    HostTensor cast_w = cast->run({{"x", w}})[0];
    int differ = 0, not_rne = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint16_t got = low.data<uint16_t>()[i];
      differ += got != cast_w.data<uint16_t>()[i];
      float f = w.data<float>()[i];
      not_rne += std::isnan(f) ? (got & 0x7f80) != 0x7f80 || (got & 0x7f) == 0 : got != f32_to_bf16(f);
    }
    CHECK(differ == 0);
    CHECK(not_rne == 0);
  }
}
