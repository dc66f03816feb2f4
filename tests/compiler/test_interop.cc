// Inter-op parallelism (issue 16): independent steps that cannot fill the cores alone run side
// by side (Step::with_next, compiler/src/plan.cc). The plan pairs a convolution layer's data
// gradient with its weight gradient where neither runs as blocks of images on the pool (a
// batch of one), keeps every buffer of a pair apart from the other's, and the pair computes
// what the serial run computes, bit for bit, also with three callers at once. Where they do run
// as blocks (a batch of 16 on a pool of several threads) they run one after the other.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"
#include "support/concurrent_run.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::check_three_callers;
using test::relative_max_diff;
using test::same_bits;
HostTensor tensor(std::vector<int64_t> shape, uint32_t seed) { return test::random_tensor(std::move(shape), seed); }

// LeNet's second convolution backward: dx, dW and db from the output gradient.
Graph conv_backward(int64_t batch) {
  Graph g;
  int og = g.add_variable("og"), w = g.add_variable("w"), x = g.add_variable("x");
  AttrMap win{{"kernel", std::vector<int64_t>{5, 5}}, {"num_group", int64_t(1)}};
  int dw = g.add_node("_hgc_conv_weight_grad", "dw", {{og, 0}, {x, 0}}, win);
  win["output_size"] = std::vector<int64_t>{12, 12};
  int dx = g.add_node("_hgc_conv_data_grad", "dx", {{og, 0}, {w, 0}}, win);
  // A consumer of dx (as the pooling gradient below it), so dx lands in the arena.
  int r = g.add_node("relu", "r", {{dx, 0}}, {});
  int db = g.add_node("sum", "db", {{og, 0}}, {{"axis", std::vector<int64_t>{0, 2, 3}}});
  g.heads = {{r, 0}, {dw, 0}, {db, 0}};
  infer(g, {{{"og", Shape{batch, 50, 8, 8}}, {"w", Shape{50, 20, 5, 5}}, {"x", Shape{batch, 20, 12, 12}}}, {}});
  return g;
}

// The step running library call `kind` (it may carry a fused epilogue).
int step_of(const Executable& e, const std::string& kind) {
  for (size_t s = 0; s < e.steps.size(); ++s)
    if (e.steps[s].call.kind == kind) return static_cast<int>(s);
  return -1;
}

}  // namespace

TEST_CASE("inter-op: a layer's data and weight gradients run side by side, apart in memory, bit for bit") {
  Graph g = conv_backward(1);
  auto exe = compile(g, CompileOptions());
  int dx = step_of(*exe, "conv_data_grad"), dw = step_of(*exe, "conv_weight_grad");
  REQUIRE(dx >= 0);
  REQUIRE(dw >= 0);
  // The two convolutions are one group: adjacent, the first linked to the second.
  CHECK(std::abs(dx - dw) == 1);
  int first = std::min(dx, dw);
  CHECK(exe->steps[first].with_next);
  CHECK(!exe->steps[first + 1].with_next);
  // No arena buffer one member touches overlaps one the other touches.
  auto root = [&](int id) {
    while (exe->buffers[id].kind == BufferKind::View) id = exe->buffers[id].view_of;
    return id;
  };
  auto arena_of = [&](int s) {
    std::vector<std::pair<int64_t, int64_t>> r;
    for (int id : exe->steps[s].args) {
      const BufferInfo& b = exe->buffers[root(id)];
      if (b.kind == BufferKind::Arena) r.push_back({b.offset, b.offset + static_cast<int64_t>(b.nbytes())});
    }
    return r;
  };
  for (auto [a0, a1] : arena_of(first))
    for (auto [b0, b1] : arena_of(first + 1)) CHECK((a1 <= b0 || b1 <= a0));
  // The order of the rest still computes: every step reads only what an earlier step wrote.
  std::vector<bool> written(exe->buffers.size(), false);
  for (const BufferInfo& b : exe->buffers)
    if (b.kind == BufferKind::Input || b.kind == BufferKind::Constant) written[&b - exe->buffers.data()] = true;
  for (const Step& st : exe->steps) {
    for (size_t k = 0; k + 1 < st.args.size(); ++k) CHECK(written[root(st.args[k])]);
    written[root(st.args.back())] = true;
  }

  std::vector<HostTensor> in{tensor({1, 50, 8, 8}, 1), tensor({50, 20, 5, 5}, 2), tensor({1, 20, 12, 12}, 3)};
  std::vector<HostTensor> par = exe->run(in), ser;
  {
    ThreadPool::Serial one;
    ser = exe->run(in);
  }
  REQUIRE(par.size() == 3);
  for (size_t k = 0; k < par.size(); ++k) CHECK(same_bits(par[k], ser[k]));
  // Against the same gradients computed one op per executable.
  Graph lone = conv_backward(1);
  lone.heads = {lone.heads[1]};
  auto dw_only = compile(lone, CompileOptions());
  CHECK(dw_only->steps.size() == 1);
  std::vector<HostTensor> alone;
  {
    ThreadPool::Serial one;
    alone = dw_only->run({{"og", in[0]}, {"w", in[1]}, {"x", in[2]}});
  }
  CHECK(same_bits(alone[0], par[1]));
  check_three_callers(*exe, in, par, 3);
}

TEST_CASE("inter-op: gradients that run as blocks of images fill the cores alone: no pair") {
  // Batch 16 of the same layer: on a pool of several threads each convolution runs as blocks
  // of images (lib::conv_threads > 1) and the two run one after the other: paired, each on one
  // thread, they read the whole output gradient on both cores (LeNet's step was slower so). On
  // a one-thread pool they still pair.
  Graph g = conv_backward(16);
  auto exe = compile(g, CompileOptions());
  int dx = step_of(*exe, "conv_data_grad"), dw = step_of(*exe, "conv_weight_grad");
  REQUIRE(dx >= 0);
  REQUIRE(dw >= 0);
  const bool blocks = lib::conv_threads(lib::conv_shape_from_params(exe->steps[dx].call.params)) > 1;
  CHECK(blocks == (ThreadPool::global().size() > 1));
  CHECK(exe->steps[std::min(dx, dw)].with_next == !blocks);
  if (blocks) CHECK(!exe->steps[std::max(dx, dw)].with_next);
  std::vector<HostTensor> in{tensor({16, 50, 8, 8}, 1), tensor({50, 20, 5, 5}, 2), tensor({16, 20, 12, 12}, 3)};
  std::vector<HostTensor> par = exe->run(in), ser;
  {
    ThreadPool::Serial one;
    ser = exe->run(in);
  }
  REQUIRE(par.size() == 3);
  // dx (through the relu) image by image: the same bits; dW sums the blocks' partial sums in
  // block order: the serial call's value to rounding; db (a sum under the row-sum grain) whole.
  CHECK(same_bits(par[0], ser[0]));
  CHECK(same_bits(par[2], ser[2]));
  CHECK(relative_max_diff(par[1], ser[1]) <= 1e-5);
  // Three callers: a call that finds the pool busy runs its blocks itself, in the same blocks.
  check_three_callers(*exe, in, par, 3);
}

TEST_CASE("inter-op: steps that depend on each other or are too small stay apart") {
  // A chain (each step reads the last) has nothing to pair; a tiny graph neither.
  Graph g;
  int x = g.add_variable("x");
  int a = g.add_node("relu", "a", {{x, 0}}, {});
  int b = g.add_node("sigmoid", "b", {{a, 0}}, {});
  int c = g.add_node("tanh", "c", {{b, 0}}, {});
  g.heads = {{c, 0}};
  infer(g, {{{"x", Shape{64, 64}}}, {}});
  CompileOptions o;
  o.fuse = false;
  auto exe = compile(g, o);
  for (const Step& st : exe->steps) CHECK(!st.with_next);
}

TEST_CASE("inter-op: a convolution's batch runs as blocks of images on the pool, bit for bit") {
  // Forward and data gradient compute image by image: on a pool of several threads the batch
  // is cut into one-thread blocks (runtime/src/library_conv.cc). The serial run (one call over
  // the whole batch) gets the same bits: its one-thread decision serves the blocks too.
  Graph g;
  int x = g.add_variable("x"), w = g.add_variable("w"), b = g.add_variable("b");
  AttrMap conv{{"kernel", std::vector<int64_t>{3, 3}}, {"num_filter", int64_t(24)}, {"pad", std::vector<int64_t>{1, 1}}};
  int y = g.add_node("Convolution", "conv", {{x, 0}, {w, 0}, {b, 0}}, conv);
  AttrMap win{{"kernel", std::vector<int64_t>{3, 3}}, {"pad", std::vector<int64_t>{1, 1}},
              {"output_size", std::vector<int64_t>{14, 14}}};
  int dx = g.add_node("_hgc_conv_data_grad", "dx", {{y, 0}, {w, 0}}, win);  // after the forward
  // The weight gradient sums over the batch: its blocks' partial sums are added after, so
  // it matches the serial call to rounding (dx as its data: it runs after dx, not beside it).
  int dw = g.add_node("_hgc_conv_weight_grad", "dw", {{y, 0}, {dx, 0}}, {{"kernel", std::vector<int64_t>{3, 3}}, {"pad", std::vector<int64_t>{1, 1}}});
  g.heads = {{y, 0}, {dx, 0}, {dw, 0}};
  infer(g, {{{"x", Shape{30, 6, 14, 14}}, {"w", Shape{24, 6, 3, 3}}, {"b", Shape{24}}}, {}});
  auto exe = compile(g, CompileOptions());
  std::vector<HostTensor> in{tensor({30, 6, 14, 14}, 4), tensor({24, 6, 3, 3}, 5), tensor({24}, 6)};
  std::vector<HostTensor> par = exe->run(in), ser;
  {
    ThreadPool::Serial one;
    ser = exe->run(in);
  }
  REQUIRE(par.size() == 3);
  CHECK(same_bits(par[0], ser[0]));
  CHECK(same_bits(par[1], ser[1]));
  CHECK(relative_max_diff(par[2], ser[2]) <= 1e-5);
  // The same pool gives the same bits on every run.
  CHECK(same_bits(exe->run(in)[2], par[2]));
  // And the forward's values: one output element by its definition.
  const float* xv = in[0].data<float>();
  const float* wv = in[1].data<float>();
  for (int64_t n : {0, 17, 29}) {
    double want = in[2].data<float>()[5];
    for (int64_t c = 0; c < 6; ++c)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          int64_t r = 4 + i - 1, q = 7 + j - 1;
          want += double(xv[((n * 6 + c) * 14 + r) * 14 + q]) * wv[((5 * 6 + c) * 3 + i) * 3 + j];
        }
    CHECK(std::abs(par[0].data<float>()[((n * 24 + 5) * 14 + 4) * 14 + 7] - want) < 1e-4);
  }
}
