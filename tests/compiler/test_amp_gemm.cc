// AMP's GEMMs (issue 20, speed): a bfloat16 GEMM whose result AMP casts back to float32 writes
// float32 itself (fuse.h gemm_widens: no separate cast kernel, the float32 accumulators kept),
// and products big enough for several threads run as row blocks on the pool. Values: within
// bfloat16 error of float32, and at least as close as the rounded bfloat16 result.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "hgc/runtime/thread_pool.h"

using namespace hgc;

namespace {

// data (M, K) -> FullyConnected(N) -> softmax: AMP casts fc's bfloat16 output back to float32.
Graph fc_softmax(int64_t M, int64_t N, int64_t K) {
  Graph g;
  int x = g.add_variable("data"), w = g.add_variable("w"), b = g.add_variable("b");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  int f = g.add_node("FullyConnected", "fc", {{x, 0}, {w, 0}, {b, 0}},
                     {{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), std::to_string(N))}});
  int s = g.add_node("softmax", "sm", {{f, 0}});
  g.heads = {{s, 0}, {f, 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{M, K}}, {"w", Shape{N, K}}, {"b", Shape{N}}};
  infer(g, io);
  return g;
}

std::map<std::string, HostTensor> random_inputs(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::map<std::string, HostTensor> vars;
  for (const Node& n : g.nodes) {
    if (!n.is_variable()) continue;
    HostTensor t(DType::f32, n.out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[n.name] = t;
  }
  return vars;
}

// Largest |a - b| over (largest |b| + 1).
double worst_rel(const HostTensor& a, const HostTensor& b) {
  double w = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.data<float>()[i], y = b.data<float>()[i];
    w = std::max(w, std::fabs(x - y)), scale = std::max(scale, std::fabs(y));
  }
  return w / (scale + 1);
}

}  // namespace

TEST_CASE("amp gemm: a bfloat16 FullyConnected cast back to float32 writes float32, no cast kernel") {
  // 256 x 128 x 512: 2^24 multiply-adds, several row blocks on a pool of two or more threads.
  Graph g = fc_softmax(256, 128, 512);
  auto vars = random_inputs(g, 21);
  auto f32 = compile(g);
  auto amp = compile(g, CompileOptions().mixed_precision(DType::bf16));
  int widened = 0, casts = 0;
  for (const Step& s : amp->steps) {
    if (s.call.kind == "fully_connected_bf16" && !s.args.empty() && amp->buffers[s.args.back()].dtype == DType::f32)
      ++widened;
    if (!s.library && s.label.find("fc_amp_cast_float32") != std::string::npos) ++casts;
  }
  CHECK(widened == 1);
  CHECK(casts == 0);
  std::vector<HostTensor> want = f32->run(vars), got = amp->run(vars);
  REQUIRE(got.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    REQUIRE(got[k].dtype() == DType::f32);
    // inputs rounded to bfloat16 (2^-9 relative each), 512 products summed in float32
    CHECK(worst_rel(got[k], want[k]) <= 0.03);
    CHECK(worst_rel(got[k], want[k]) > 0);  // it did run in bfloat16
  }
  // The float32 accumulators are kept: some outputs are not bfloat16 values.
  int not_bf16 = 0;
  for (int64_t i = 0; i < got[1].numel(); ++i) {
    uint32_t u;
    std::memcpy(&u, &got[1].data<float>()[i], 4);
    not_bf16 += (u & 0xFFFFu) != 0;
  }
  CHECK(not_bf16 > 0);
  // Serial (one primitive call) and row-blocked runs compute the same dot products.
  std::vector<HostTensor> serial;
  {
    ThreadPool::Serial one;
    serial = amp->run(vars);
  }
  CHECK(std::memcmp(serial[1].raw(), got[1].raw(), got[1].nbytes()) == 0);
}

TEST_CASE("amp gemm: products past 2^28 multiply-adds run in blocks across the pool and are not paired") {
  // Large bfloat16 products run as column blocks (N > M) or row blocks (a transposed too) of
  // single-threaded primitives on the pool, as float32's sgemm does: in W5's training step
  // oneDNN's own OpenMP partition of 20108x600x500 (a transposed) took 29 ms against 17 ms in
  // blocks. The plan must see that they fill the cores: paired with another step, each ran on
  // one thread (library_cost in plan.cc). Values: within bfloat16 error of float32, and one
  // serial call's up to the float32 accumulation order (oneDNN blocks K by the block's shape:
  // not bit for bit, unlike the row blocks of smaller products above).
  Graph g;
  int x = g.add_variable("data"), w = g.add_variable("w"), b = g.add_variable("b"), w2 = g.add_variable("w2"),
      at = g.add_variable("at"), rhs = g.add_variable("rhs");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  const OpDef& dot = OpRegistry::global().get("dot");
  AttrMap hidden{{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), "2048")}};
  // 64 x 2048 x 2048 = 2^28: column blocks. Two of them on one input: independent steps.
  int f1 = g.add_node("FullyConnected", "fc1", {{x, 0}, {w, 0}, {b, 0}}, hidden);
  int f2 = g.add_node("FullyConnected", "fc2", {{x, 0}, {w2, 0}, {b, 0}}, hidden);
  // at^T (2048 x 2048) . rhs (2048 x 64): row blocks of a transposed a.
  int d = g.add_node("dot", "d", {{at, 0}, {rhs, 0}}, {{"transpose_a", parse_attr(*dot.attr_spec("transpose_a"), "True")}});
  g.heads = {{g.add_node("softmax", "s1", {{f1, 0}}), 0}, {g.add_node("softmax", "s2", {{f2, 0}}), 0},
             {g.add_node("softmax", "s3", {{d, 0}}), 0}};
  InferOptions io;
  io.shapes = {{"data", Shape{64, 2048}}, {"w", Shape{2048, 2048}}, {"w2", Shape{2048, 2048}}, {"b", Shape{2048}},
               {"at", Shape{2048, 2048}}, {"rhs", Shape{2048, 64}}};
  infer(g, io);
  auto vars = random_inputs(g, 9);
  auto f32 = compile(g);
  auto amp = compile(g, CompileOptions().mixed_precision(DType::bf16));
  int gemms = 0;
  for (const Step& s : amp->steps)
    if (s.call.kind == "fully_connected_bf16" || s.call.kind == "matmul_bf16") {
      ++gemms;
      CHECK_MESSAGE(!s.with_next, s.label);
    }
  CHECK(gemms == 3);
  for (size_t i = 1; i < amp->steps.size(); ++i)
    if (amp->steps[i - 1].with_next) {
      const std::string& k = amp->steps[i].call.kind;
      const bool gemm = k == "fully_connected_bf16" || k == "matmul_bf16";
      CHECK_MESSAGE(!gemm, amp->steps[i].label);
    }
  std::vector<HostTensor> want = f32->run(vars), got = amp->run(vars), serial;
  {
    ThreadPool::Serial one;
    serial = amp->run(vars);
  }
  REQUIRE(got.size() == 3);
  for (size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(worst_rel(got[k], want[k]) <= 0.03);
    CHECK(worst_rel(got[k], serial[k]) <= 1e-5);
  }
}
