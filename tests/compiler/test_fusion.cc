// Operation folding: chains of generated kernels become one `_hgc_fused` kernel group, the
// group is an op in the IR (dumps and JSON see it), and fused code computes what the
// reference evaluator does.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/jit.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/fuse.h"
#include "reference/reference.h"

using namespace hgc;

namespace {

// BERT's GELU: fc -> x / sqrt(2) -> erf -> + 1 -> * x -> * 0.5, then a residual add.
const char* kGelu = R"J({"nodes": [
  {"op": "null", "name": "data", "inputs": []},
  {"op": "null", "name": "w", "inputs": []},
  {"op": "null", "name": "b", "inputs": []},
  {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "16"}, "inputs": [[0,0,0],[1,0,0],[2,0,0]]},
  {"op": "_div_scalar", "name": "div", "attrs": {"scalar": "1.4142135623730951"}, "inputs": [[3,0,0]]},
  {"op": "erf", "name": "erf", "inputs": [[4,0,0]]},
  {"op": "_plus_scalar", "name": "plus", "attrs": {"scalar": "1.0"}, "inputs": [[5,0,0]]},
  {"op": "elemwise_mul", "name": "mul", "inputs": [[3,0,0],[6,0,0]]},
  {"op": "_mul_scalar", "name": "half", "attrs": {"scalar": "0.5"}, "inputs": [[7,0,0]]},
  {"op": "null", "name": "res", "inputs": []},
  {"op": "elemwise_add", "name": "add", "inputs": [[8,0,0],[9,0,0]]},
  {"op": "softmax", "name": "sm", "attrs": {"axis": "-1"}, "inputs": [[10,0,0]]}],
  "heads": [[11,0,0]], "attrs": {"mxnet_version": ["int", 10500]}})J";

std::map<std::string, HostTensor> random_vars(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::map<std::string, HostTensor> v;
  for (int id : g.variable_ids()) {
    HostTensor t(DType::f32, g.nodes[id].out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    v[g.nodes[id].name] = t;
  }
  return v;
}

void check_equal(const std::vector<HostTensor>& got, const std::vector<HostTensor>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k)
    for (int64_t i = 0; i < want[k].numel(); ++i)
      REQUIRE(got[k].data<float>()[i] == doctest::Approx(want[k].data<float>()[i]).epsilon(1e-4).scale(1e-5));
}

}  // namespace

TEST_CASE("fusion: the GELU chain, residual add and softmax become one kernel group") {
  Graph g = load_json(kGelu);
  infer(g, {{{"data", {4, 8}}, {"res", {4, 16}}}, {}, true});
  FuseReport rep;
  Graph f = prepare(g, CompileOptions(), &rep);
  verify(f);
  REQUIRE(rep.groups.size() == 1);
  CHECK(rep.groups[0].name == "sm");
  CHECK(rep.groups[0].members == std::vector<std::string>{"div", "erf", "plus", "mul", "half", "add", "sm"});
  CHECK(rep.kernels_before == 7);
  CHECK(rep.kernels_after == 1);
  // The fc output feeds two members: it stays a library call and an input of the group.
  int sm = f.find("sm");
  REQUIRE(sm >= 0);
  CHECK(f.nodes[sm].op_name == "_hgc_fused");
  CHECK(f.nodes[sm].inputs.size() == 2);
  CHECK(f.find("erf") < 0);
  // A fused group is an op: it round-trips through JSON with its members.
  Graph again = load_json(save_json(f));
  infer(again, {{{"data", {4, 8}}, {"res", {4, 16}}, {"w", {16, 8}}, {"b", {16}}}, {}, true});
  CHECK(again.nodes[again.find("sm")].subgraphs.at(0)->nodes.size() == 9);  // 2 inputs + 7 members

  auto vars = random_vars(g, 3);
  check_equal(compile(g)->run(vars), ref::evaluate(g, vars));
  check_equal(compile(g, CompileOptions().fusion(false))->run(vars), ref::evaluate(g, vars));
  // One kernel: the emitted module holds a single function.
  std::string mlir = emit_mlir(g);
  CHECK(mlir.find("func.func @k0") != std::string::npos);
  CHECK(mlir.find("func.func @k1") == std::string::npos);
}

TEST_CASE("kernels write their outputs in place: no temporary, no copy") {
  // Fusion turns unread outs operands into tensor.empty; unless those are eliminated into the
  // output arguments, each kernel mallocs a temporary and copies it out (a 64 MB mapping per
  // call at 16M floats).
  Graph g = load_json(R"J({"nodes": [{"op": "null", "name": "a", "inputs": []},
    {"op": "null", "name": "b", "inputs": []},
    {"op": "elemwise_mul", "name": "m", "inputs": [[0,0,0],[1,0,0]]},
    {"op": "tanh", "name": "t", "inputs": [[2,0,0]]},
    {"op": "elemwise_add", "name": "y", "inputs": [[3,0,0],[0,0,0]]}],
    "heads": [[4,0,0]], "attrs": {"mxnet_version": ["int", 10500]}})J");
  infer(g, {{{"a", {64, 33}}, {"b", {64, 33}}}, {}, true});
  std::string ir = lower_to_llvm_ir(emit_mlir(g));
  CHECK(ir.find("@malloc") == std::string::npos);
  CHECK(ir.find("memrefCopy") == std::string::npos);
  CHECK(ir.find("llvm.memcpy") == std::string::npos);
  auto gv = random_vars(g, 5);
  check_equal(compile(g)->run(gv), ref::evaluate(g, gv));
  // Two outputs of one shape: each gets its own slice (one shared temporary would hand both
  // the last slice).
  Graph s = load_json(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
    {"op": "SliceChannel", "name": "sc", "attrs": {"num_outputs": "3", "axis": "0", "squeeze_axis": "True"},
     "inputs": [[0,0,0]]}], "heads": [[1,0,0],[1,1,0],[1,2,0]], "attrs": {"mxnet_version": ["int", 10500]}})J");
  infer(s, {{{"x", {3, 5}}}, {}, true});
  ir = lower_to_llvm_ir(emit_mlir(s));
  CHECK(ir.find("@malloc") == std::string::npos);
  auto vars = random_vars(s, 7);
  check_equal(compile(s)->run(vars), ref::evaluate(s, vars));
}

TEST_CASE("fusion stops at graph outputs, shared producers and library calls") {
  Graph g = load_json(kGelu);
  g.heads.push_back({g.find("erf"), 0});  // erf is now also an output: it must be materialized
  infer(g, {{{"data", {2, 8}}, {"res", {2, 16}}}, {}, true});
  FuseReport rep;
  Graph f = prepare(g, CompileOptions(), &rep);
  verify(f);
  bool erf_border = false;
  for (const auto& [name, why] : rep.borders) erf_border = erf_border || (name == "erf" && why == "is a graph output");
  CHECK(erf_border);
  CHECK(f.find("erf") >= 0);
  auto vars = random_vars(g, 5);
  check_equal(compile(g)->run(vars), ref::evaluate(g, vars));
  Graph off = prepare(g, CompileOptions().fusion(false));
  CHECK(off.nodes.size() == g.nodes.size());
}

TEST_CASE("fusion: a mean feeding a broadcasting consumer (x - mean(x, keepdims)) is computed once per row") {
  // The mean's scaling step used to read and write its own destination; fused into the
  // broadcasting subtraction it was applied again for every column of the row.
  Graph g;
  int x = g.add_variable("x");
  int m = g.add_node("mean", "m", {{x, 0}}, {{"axis", std::vector<int64_t>{1}}, {"keepdims", true}});
  int s = g.add_node("broadcast_sub", "s", {{x, 0}, {m, 0}}, {});
  g.heads = {{s, 0}};
  infer(g, {{{"x", {3, 5}}}, {}, true});
  FuseReport rep;
  prepare(g, CompileOptions(), &rep);
  REQUIRE(rep.groups.size() == 1);
  CHECK(rep.groups[0].members == std::vector<std::string>{"m", "s"});
  auto vars = random_vars(g, 5);
  check_equal(compile(g)->run(vars), ref::evaluate(g, vars));
  check_equal(compile(g, CompileOptions().fusion(false))->run(vars), ref::evaluate(g, vars));
}

namespace {

// Runs `exe` on copies of `given` with its output written over input `alias` (as the
// optimizer's in-place updates do); returns the output.
HostTensor run_in_place(const Executable& exe, const std::map<std::string, HostTensor>& given, const std::string& alias) {
  std::map<std::string, HostTensor> vars;  // HostTensor copies share storage: copy the bytes
  for (const auto& [n, t] : given) {
    vars[n] = HostTensor(t.dtype(), t.shape());
    std::memcpy(vars[n].raw(), t.raw(), t.nbytes());
  }
  std::vector<const void*> in;
  for (const std::string& n : exe.input_names) in.push_back(vars.at(n).raw());
  std::vector<char> arena(static_cast<size_t>(exe.arena_bytes) + 64);
  exe.execute(in, {vars.at(alias).raw()}, arena.data());
  return vars.at(alias);
}

}  // namespace

TEST_CASE("in-place kernels: an elementwise update writes over its input directly, in vectorized parallel loops") {
  // SGD's update, w - lr * (g * rescale + w * wd), with the output on w's memory: one
  // elementwise generic reading w where it writes, so its loops carry no dependence through
  // memory. It must write w directly (no temporary + copy) with llvm.loop.parallel_accesses,
  // so the vectorizer needs no overlap check (which w == out would fail).
  Graph g = load_json(R"J({"nodes": [{"op": "null", "name": "w", "inputs": []},
    {"op": "null", "name": "g", "inputs": []}, {"op": "null", "name": "lr", "inputs": []},
    {"op": "null", "name": "rescale", "inputs": []}, {"op": "null", "name": "wd", "inputs": []},
    {"op": "broadcast_mul", "name": "m1", "inputs": [[1,0,0],[3,0,0]]},
    {"op": "broadcast_mul", "name": "m2", "inputs": [[0,0,0],[4,0,0]]},
    {"op": "broadcast_add", "name": "a1", "inputs": [[5,0,0],[6,0,0]]},
    {"op": "broadcast_mul", "name": "m3", "inputs": [[7,0,0],[2,0,0]]},
    {"op": "broadcast_sub", "name": "s", "inputs": [[0,0,0],[8,0,0]]}],
    "heads": [[9,0,0]], "attrs": {"mxnet_version": ["int", 10500]}})J");
  infer(g, {{{"w", {37, 129}}, {"g", {37, 129}}, {"lr", {1, 1}}, {"rescale", {1, 1}}, {"wd", {1, 1}}}, {}, true});
  std::string ir = lower_to_llvm_ir(emit_mlir(g, CompileOptions().aliasing(true)));
  CHECK(ir.find("@malloc") == std::string::npos);
  CHECK(ir.find("llvm.memcpy") == std::string::npos);
  CHECK(ir.find("llvm.loop.parallel_accesses") != std::string::npos);
  CHECK(ir.find("x float>") != std::string::npos);  // vectorized
  auto vars = random_vars(g, 11);
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  auto exe = compile(g, CompileOptions().aliasing(true));
  check_equal({run_in_place(*exe, vars, "w")}, want);
  check_equal({run_in_place(*exe, vars, "g")}, want);  // the output on another input
}

TEST_CASE("in-place kernels: a kernel reading an aliased input at other positions keeps its temporary") {
  // w - transpose(w) with the output on w: element (i, j) reads w[j, i], which an earlier
  // iteration may already have overwritten. The kernel must compute into a temporary and
  // copy, and no loop may be declared parallel.
  Graph g;
  int w = g.add_variable("w");
  int t = g.add_node("transpose", "t", {{w, 0}}, {});
  int s = g.add_node("elemwise_sub", "s", {{w, 0}, {t, 0}}, {});
  g.heads = {{s, 0}};
  infer(g, {{{"w", {24, 24}}}, {}, true});
  std::string ir = lower_to_llvm_ir(emit_mlir(g, CompileOptions().aliasing(true)));
  CHECK(ir.find("llvm.loop.parallel_accesses") == std::string::npos);
  for (size_t at = ir.find("\ndefine "); at != std::string::npos; at = ir.find("\ndefine ", at + 1))
    CHECK(ir.substr(at, ir.find('\n', at + 1) - at).find("ptr noalias") == std::string::npos);  // may alias
  auto vars = random_vars(g, 12);
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  check_equal({run_in_place(*compile(g, CompileOptions().aliasing(true)), vars, "w")}, want);
}

TEST_CASE("noalias kernels: max pooling and its tiled gradient vectorize") {
  // A kernel whose outputs never share memory with its arguments gets `noalias` pointers, so
  // the short rows of a 2x2 window need no run-time overlap check (which LLVM's cost model
  // refused: scalar loops), and the tiled gradient's 2-trip tap loop is unrolled into an
  // interleaved access group. Both must come out as vector code, with the reference values.
  Graph g = load_json(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
    {"op": "null", "name": "og", "inputs": []},
    {"op": "Pooling", "name": "p", "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max"}, "inputs": [[0,0,0]]},
    {"op": "_backward_Pooling", "name": "bp", "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max"},
     "inputs": [[1,0,0],[0,0,0],[2,0,0]]}],
    "heads": [[2,0,0],[3,0,0]], "attrs": {"mxnet_version": ["int", 10500]}})J");
  infer(g, {{{"x", {4, 3, 24, 24}}, {"og", {4, 3, 12, 12}}}, {}, true});
  CompileOptions unfused;
  unfused.fuse = false;
  std::string ir = lower_to_llvm_ir(emit_mlir(g, unfused));
  size_t kernels = 0, marked = 0;
  for (size_t at = ir.find("\ndefine "); at != std::string::npos; at = ir.find("\ndefine ", at + 1)) {
    std::string head = ir.substr(at, ir.find('\n', at + 1) - at);
    if (head.find("_mlir_") != std::string::npos) continue;  // the packed and C wrappers
    ++kernels;
    marked += head.find("ptr noalias") != std::string::npos;
  }
  CHECK(kernels >= 2);
  CHECK(marked == kernels);
  CHECK(ir.find("x float>") != std::string::npos);
  auto vars = random_vars(g, 21);
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  auto exe = compile(g, unfused);
  check_equal(exe->run(vars), want);
}
