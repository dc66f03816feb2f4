// A compiled graph's parallel steps (GEMM blocks and row-split kernels on the thread pool)
// against the same executable run serially (ThreadPool::Serial), and one Executable run by
// three callers at once: every caller gets the single caller's bits (issue 16).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/profile.h"
#include "hgc/runtime/thread_pool.h"
#include "support/concurrent_run.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::check_three_callers;
using test::same_bits;
HostTensor tensor(std::vector<int64_t> shape, uint32_t seed) { return test::random_tensor(std::move(shape), seed); }

double max_abs_diff(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.shape() == b.shape());
  double e = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    e = std::max(e, std::abs(double(a.data<float>()[i]) - double(b.data<float>()[i])));
  return e;
}

// `exe` run on the pool and on one thread (ThreadPool::Serial): every output has the same bits
// both ways. Returns the pool's outputs.
std::vector<HostTensor> run_both_ways(const Executable& exe, const std::vector<HostTensor>& in) {
  std::vector<HostTensor> par = exe.run(in), ser;
  {
    ThreadPool::Serial one;
    ser = exe.run(in);
  }
  REQUIRE(par.size() == ser.size());
  for (size_t k = 0; k < par.size(); ++k) CHECK(same_bits(par[k], ser[k]));
  return par;
}

// (256, 512) . (512, 512)^T + b -> relu -> * y -> softmax, compiled: a GEMM cut into blocks
// and 2^17-element kernels split into row chunks. Outputs: the softmax, the product.
std::shared_ptr<const Executable> gemm_softmax(bool fuse) {
  Graph g;
  int x = g.add_variable("x"), w = g.add_variable("w"), b = g.add_variable("b"), y = g.add_variable("y");
  int fc = g.add_node("FullyConnected", "fc", {{x, 0}, {w, 0}, {b, 0}}, {{"num_hidden", int64_t(512)}});
  int r = g.add_node("relu", "act", {{fc, 0}}, {});
  int m = g.add_node("elemwise_mul", "mul", {{r, 0}, {y, 0}}, {});
  int s = g.add_node("softmax", "sm", {{m, 0}}, {});
  g.heads.push_back({s, 0});
  g.heads.push_back({m, 0});
  infer(g, {{{"x", Shape{256, 512}}, {"w", Shape{512, 512}}, {"b", Shape{512}}, {"y", Shape{256, 512}}}, {}});
  CompileOptions o;
  o.fuse = fuse;
  return compile(g, o);
}

}  // namespace

TEST_CASE("compiled graph: parallel steps equal the serial run; three concurrent callers get the same bits") {
  for (bool fuse : {false, true}) {
    CAPTURE(fuse);
    auto exe = gemm_softmax(fuse);
    if (!fuse) {
      bool split = false;
      for (const Step& st : exe->steps) split = split || st.split;
      CHECK(split);  // the unfused elementwise kernels run in row chunks
    }
    std::vector<HostTensor> in{tensor({256, 512}, 1), tensor({512, 512}, 2), tensor({512}, 3), tensor({256, 512}, 4)};
    std::vector<HostTensor> par = exe->run(in), ser;
    {
      ThreadPool::Serial one;
      ser = exe->run(in);
    }
    REQUIRE(par.size() == 2);
    // The product's sums may be ordered differently (|fc| <= 513 here); the rest is exact.
    CHECK(max_abs_diff(par[1], ser[1]) <= 1e-6 * 513);
    CHECK(max_abs_diff(par[0], ser[0]) <= 1e-6);
    check_three_callers(*exe, in, par, 4);
  }
}

TEST_CASE("compiled graph: fused groups and pooling over a symbolic batch run in row chunks, bit for bit") {
  // LeNet's pooling gradient: relu -> max pool 2x2 -> _backward_Pooling, times the relu mask.
  // Written over a symbolic batch (as a hybridized block's), the fused gradient group and
  // the lone pooling step are split by batch rows; each chunk computes exactly what the
  // serial call does for those rows.
  auto graph_at = [](int64_t batch) {
    Graph g;
    int x = g.add_variable("x"), og = g.add_variable("og");
    AttrMap pool{{"kernel", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{2, 2}}, {"pool_type", std::string("max")}};
    int r = g.add_node("relu", "r", {{x, 0}}, {});
    int p = g.add_node("Pooling", "pool", {{r, 0}}, pool);
    int bp = g.add_node("_backward_Pooling", "bp", {{og, 0}, {r, 0}, {p, 0}}, pool);
    int m = g.add_node("_greater_scalar", "m", {{x, 0}}, {{"scalar", 0.0}});
    int out = g.add_node("broadcast_mul", "out", {{bp, 0}, {m, 0}}, {});
    g.heads = {{out, 0}, {p, 0}};
    infer(g, {{{"x", Shape{batch, 32, 24, 24}}, {"og", Shape{batch, 32, 12, 12}}}, {}});
    return g;
  };
  auto dyn = DynamicGraph::create(graph_at(16), graph_at(17), CompileOptions());
  REQUIRE(dyn->dynamic());
  for (int64_t batch : {16, 2}) {
    CAPTURE(batch);
    auto inst = dyn->instantiate(graph_at(batch));
    int split_groups = 0, split_pools = 0;
    for (const Step& st : inst.exe->steps) {
      if (!st.split) continue;
      split_groups += st.label.find("bp") != std::string::npos || st.label.find("out") != std::string::npos;
      split_pools += st.label.find("pool") != std::string::npos;
    }
    // At 2 every operand is under the grain (2^16 elements; a pooling's work is its input's).
    CHECK(split_groups + split_pools == (batch == 16 ? 2 : 0));
    std::vector<HostTensor> in{tensor({batch, 32, 24, 24}, 5), tensor({batch, 32, 12, 12}, 6)};
    std::vector<HostTensor> par = run_both_ways(*inst.exe, in);
    REQUIRE(par.size() == 2);
    // And the values: each window's gradient lands on its first maximum where x > 0.
    const float* x = in[0].data<float>();
    const float* g = in[1].data<float>();
    const float* got = par[0].data<float>();
    int64_t wrong = 0;
    for (int64_t nc = 0; nc < batch * 32; ++nc)
      for (int64_t i = 0; i < 12; ++i)
        for (int64_t j = 0; j < 12; ++j) {
          int64_t first = -1;
          float best = 0;
          for (int64_t t = 0; t < 4; ++t) {
            float v = std::max(0.0f, x[nc * 576 + (2 * i + t / 2) * 24 + 2 * j + t % 2]);
            if (first < 0 || v > best) first = t, best = v;
          }
          for (int64_t t = 0; t < 4; ++t) {
            int64_t at = nc * 576 + (2 * i + t / 2) * 24 + 2 * j + t % 2;
            float want = t == first && x[at] > 0 ? g[nc * 144 + i * 12 + j] : 0.0f;
            wrong += got[at] != want;
          }
        }
    CHECK(wrong == 0);
  }
}

TEST_CASE("compiled graph: softmax rows split by batch rows, never across the softmax axis") {
  // Attention scores (batch x heads, L, L): softmax over the last axis splits by rows of axis
  // 0 (the same bits as serially); over axis 0 it must not, since every row reads all others.
  for (int64_t axis : {-1, 0}) {
    CAPTURE(axis);
    auto graph_at = [axis](int64_t rows) {
      Graph g;
      int x = g.add_variable("x");
      int s = g.add_node("softmax", "sm", {{x, 0}}, {{"axis", axis}});
      g.heads = {{s, 0}};
      infer(g, {{{"x", Shape{rows, 21, 21}}}, {}});
      return g;
    };
    auto dyn = DynamicGraph::create(graph_at(200), graph_at(201), CompileOptions());
    REQUIRE(dyn->dynamic());
    auto inst = dyn->instantiate(graph_at(180));
    bool split = false;
    for (const Step& st : inst.exe->steps) split = split || st.split;
    CHECK(split == (axis == -1));
    std::vector<HostTensor> in{tensor({180, 21, 21}, 9)};
    std::vector<HostTensor> par = inst.exe->run(in), ser;
    {
      ThreadPool::Serial one;
      ser = inst.exe->run(in);
    }
    CHECK(same_bits(par[0], ser[0]));
    // Rows sum to one along the softmax axis.
    const float* p = par[0].data<float>();
    double worst = 0;
    if (axis == -1) {
      for (int64_t r = 0; r < 180 * 21; ++r) {
        double sum = 0;
        for (int64_t j = 0; j < 21; ++j) sum += p[r * 21 + j];
        worst = std::max(worst, std::abs(sum - 1));
      }
    } else {
      for (int64_t c = 0; c < 21 * 21; ++c) {
        double sum = 0;
        for (int64_t r = 0; r < 180; ++r) sum += p[r * 441 + c];
        worst = std::max(worst, std::abs(sum - 1));
      }
    }
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("compiled graph: which symbolic graphs may run as row chunks of their batch") {
  // batch_split_refusal: every op must compute row r from row r; one symbolic size only.
  auto refusal = [](const std::function<void(Graph&, int)>& body) {
    auto at = [&](int64_t batch) {
      Graph g;
      int x = g.add_variable("x");
      body(g, x);
      InferOptions o{{{"x", Shape{batch, 16}}}, {}};
      for (const Node& n : g.nodes)
        if (n.name == "seed") o.shapes["seed"] = Shape{1}, o.dtypes["seed"] = DType::i64;
      infer(g, o);
      return g;
    };
    auto dyn = DynamicGraph::create(at(8), at(9), CompileOptions());
    REQUIRE(dyn->dynamic());
    int64_t cost = 0;
    std::string why = batch_split_refusal(dyn->symbolic(), &cost);
    CHECK(why == dyn->batch_split_refusal());
    return std::make_pair(why, cost);
  };
  auto mlp = [](Graph& g, int x) {
    int w = g.add_variable("w"), b = g.add_variable("b");
    int fc = g.add_node("FullyConnected", "fc", {{x, 0}, {w, 0}, {b, 0}}, {{"num_hidden", int64_t(32)}});
    int r = g.add_node("Activation", "act", {{fc, 0}}, {{"act_type", std::string("relu")}});
    g.heads = {{g.add_node("softmax", "sm", {{r, 0}}, {{"axis", int64_t(-1)}}), 0}};
  };
  auto [ok, cost] = refusal(mlp);
  CHECK(ok.empty());
  CHECK(cost >= 16 * 32);  // at least the GEMM's multiply-adds per row
  // A softmax over the batch axis, a mean over it (batch statistics) and random draws mix rows.
  CHECK(!refusal([](Graph& g, int x) { g.heads = {{g.add_node("softmax", "sm", {{x, 0}}, {{"axis", int64_t(0)}}), 0}}; })
             .first.empty());
  CHECK(!refusal([](Graph& g, int x) {
           int m = g.add_node("mean", "m", {{x, 0}}, {{"axis", std::vector<int64_t>{0}}, {"keepdims", true}});
           g.heads = {{g.add_node("broadcast_sub", "d", {{x, 0}, {m, 0}}, {}), 0}};
         }).first.empty());
  CHECK(!refusal([](Graph& g, int x) {
           int u = g.add_node("_random_uniform_like", "u", {{x, 0}, {g.add_variable("seed"), 0}}, {});
           g.heads = {{g.add_node("elemwise_mul", "d", {{x, 0}, {u, 0}}, {}), 0}};
         }).first.empty());
  // Rows of a batch-wide sum are no rows of the batch.
  CHECK(!refusal([](Graph& g, int x) { g.heads = {{g.add_node("sum", "s", {{x, 0}}, {{"axis", std::vector<int64_t>{1}}}), 0}, {g.add_node("sum", "t", {{x, 0}}, {}), 0}}; })
             .first.empty());
}

TEST_CASE("compiled graph: L2Normalization over a symbolic batch splits by rows, with its norm output") {
  // MultiVAE's input normalization: each row scaled to unit length. Both outputs (the rows and
  // their norms) are cut by the same batch rows; the bits equal the serial call's.
  for (const char* mode : {"instance", "channel"}) {
    CAPTURE(mode);
    auto graph_at = [mode](int64_t rows) {
      Graph g;
      int x = g.add_variable("x");
      int l = g.add_node("L2Normalization", "l2", {{x, 0}}, {{"mode", std::string(mode)}});
      g.heads = {{l, 0}, {l, 1}};
      infer(g, {{{"x", Shape{rows, 3, 4000}}}, {}});
      return g;
    };
    auto dyn = DynamicGraph::create(graph_at(64), graph_at(65), CompileOptions());
    REQUIRE(dyn->dynamic());
    auto inst = dyn->instantiate(graph_at(50));
    CHECK(dyn->specialized_kernels().empty());  // written over the symbolic batch
    bool split = false;
    for (const Step& st : inst.exe->steps) split = split || st.split;
    CHECK(split);  // the plan is the same at every pool size; a 1-thread pool runs it serially
    std::vector<HostTensor> in{tensor({50, 3, 4000}, 11)};
    std::vector<HostTensor> par = run_both_ways(*inst.exe, in);
    REQUIRE(par.size() == 2);
    // instance: one norm per row over 3 x 4000; channel: one per (row, position) over 3.
    const float* x = in[0].data<float>();
    const float* y = par[0].data<float>();
    const bool inst_mode = std::string(mode) == "instance";
    double worst = 0;
    for (int64_t r = 0; r < 50; ++r)
      for (int64_t j = 0; j < (inst_mode ? 1 : 4000); ++j) {
        double ss = 0, ys = 0;
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t k = inst_mode ? 0 : j; k < (inst_mode ? 4000 : j + 1); ++k) {
            int64_t at = (r * 3 + c) * 4000 + k;
            ss += double(x[at]) * x[at];
            ys += double(y[at]) * y[at];
          }
        worst = std::max(worst, std::abs(ys - ss / (ss + 1e-10)));
      }
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("compiled graph: dense layers on constant weights run as whole-forward row blocks, bit for bit") {
  // W1b's MLP: 64 rows through Dense(256, relu), Dense(128, relu), Dense(2), its weights baked
  // in and the plan loaded as an AOT program loads it (constants announced: packed weights).
  Graph g;
  int x = g.add_variable("x");
  int h = x;
  const int64_t widths[] = {256, 128, 2};
  std::map<std::string, Shape> shapes{{"x", Shape{64, 512}}};
  std::map<std::string, HostTensor> frozen;
  int64_t in_w = 512;
  for (int l = 0; l < 3; ++l) {
    std::string wn = "w" + std::to_string(l), bn = "b" + std::to_string(l);
    int w = g.add_variable(wn), b = g.add_variable(bn);
    h = g.add_node("FullyConnected", "fc" + std::to_string(l), {{h, 0}, {w, 0}, {b, 0}}, {{"num_hidden", widths[l]}});
    if (l < 2) h = g.add_node("relu", "act" + std::to_string(l), {{h, 0}}, {});
    shapes[wn] = Shape{widths[l], in_w};
    shapes[bn] = Shape{widths[l]};
    frozen[wn] = tensor({widths[l], in_w}, 10 + l);
    frozen[bn] = tensor({widths[l]}, 20 + l);
    in_w = widths[l];
  }
  g.heads.push_back({h, 0});
  infer(g, {shapes, {}});
  auto jit = compile(g, CompileOptions(), frozen);
  int rows_free = 0;  // the relu epilogues are written for any row count
  for (const Step& st : jit->steps)
    if (!st.epilogue_rows.empty()) {
      ++rows_free;
      REQUIRE(st.epilogue_rows.size() == st.epilogue_args.size());
      CHECK(st.epilogue_rows.back());
    }
  CHECK(rows_free == 2);
  KernelResolver resolve = [jit](const std::string& name) -> PackedKernel {
    for (const Step& st : jit->steps)
      if (st.kernel_name == name) return st.kernel;
    return nullptr;
  };
  const std::string blob = save_plan(*jit);
  auto exe = load_plan(blob, "w1b", resolve);
  CHECK(save_plan(*exe) == blob);  // Step::epilogue_rows survive the round trip
  std::vector<HostTensor> in{tensor({64, 512}, 1)};
  exe->run(in);  // the first call at these weights runs them unpacked
  profile::reset();
  profile::enable(true);
  std::vector<HostTensor> par = run_both_ways(*exe, in);
  profile::enable(false);
  std::ostringstream rep;
  profile::report(rep);
  profile::reset();
  if (ThreadPool::global().size() > 1)
    CHECK(rep.str().find("row blocks") != std::string::npos);  // it did run as row blocks
  else
    MESSAGE("a 1-thread pool: the row blocks are not exercised here");
  // Against the executable compiled in process (weights unannounced: sgemm, another summation
  // order): the same function.
  std::vector<HostTensor> ref;
  {
    ThreadPool::Serial one;
    ref = jit->run(in);
  }
  double scale = 1;
  for (int64_t i = 0; i < ref[0].numel(); ++i) scale = std::max(scale, std::abs(double(ref[0].data<float>()[i])));
  CHECK(max_abs_diff(par[0], ref[0]) <= 1e-5 * 512 * scale);
  // Three callers at once: every one gets the single caller's bits.
  check_three_callers(*exe, in, {par[0]}, 20);
}

TEST_CASE("compiled graph: row reductions and broadcast_like over a symbolic batch split by rows; batch sums never") {
  // MultiVAE's loss and its gradient: log_softmax's gradient g - exp(y) * sum(g, 1) (a fused
  // group holding a row sum), a row sum without keepdims, broadcast_like of per-row values
  // times the clicks. Each is row r from row r and runs in row chunks; a sum over the batch
  // axis reads every row and must not be cut as those are (a bias gradient far smaller than
  // its input runs as row sums instead: the next test case; this one's 3000 columns from 50
  // rows are no such).
  const int64_t n = 3000;
  auto graph_at = [&](int64_t rows) {
    Graph g;
    int y = g.add_variable("y"), og = g.add_variable("og"), x = g.add_variable("x"), h = g.add_variable("h");
    AttrMap keep{{"axis", std::vector<int64_t>{1}}, {"keepdims", true}};
    int e = g.add_node("exp", "e", {{y, 0}}, {});
    int s = g.add_node("sum", "s", {{og, 0}}, keep);
    int es = g.add_node("broadcast_mul", "es", {{e, 0}, {s, 0}}, {});
    int lsg = g.add_node("broadcast_sub", "lsg", {{og, 0}, {es, 0}}, {});
    int rowsum = g.add_node("sum", "rowsum", {{x, 0}}, {{"axis", std::vector<int64_t>{-1}}});
    int bl = g.add_node("broadcast_like", "bl", {{h, 0}, {x, 0}}, {});
    int blx = g.add_node("broadcast_mul", "blx", {{bl, 0}, {x, 0}}, {});
    int colsum = g.add_node("sum", "colsum", {{og, 0}}, {{"axis", std::vector<int64_t>{0}}});
    g.heads = {{lsg, 0}, {rowsum, 0}, {blx, 0}, {colsum, 0}};
    infer(g, {{{"y", Shape{rows, n}}, {"og", Shape{rows, n}}, {"x", Shape{rows, n}}, {"h", Shape{rows, 1}}}, {}});
    return g;
  };
  for (bool fuse : {false, true}) {
    CAPTURE(fuse);
    CompileOptions o;
    o.fuse = fuse;
    auto dyn = DynamicGraph::create(graph_at(64), graph_at(65), o);
    REQUIRE(dyn->dynamic());
    const int64_t rows = 50;
    auto inst = dyn->instantiate(graph_at(rows));
    int split = 0;
    for (const Step& st : inst.exe->steps) {
      CAPTURE(st.label);
      if (st.label.find("colsum") != std::string::npos) CHECK(!st.split);
      if (st.kernel_name.empty()) continue;
      split += st.split;
    }
    // Fused: the gradient group, the row sum and the broadcast group; unfused, every step but
    // the batch sum.
    CHECK(split == (fuse ? 3 : 7));
    std::vector<HostTensor> in{tensor({rows, n}, 21), tensor({rows, n}, 22), tensor({rows, n}, 23), tensor({rows, 1}, 24)};
    std::vector<HostTensor> par = run_both_ways(*inst.exe, in);
    REQUIRE(par.size() == 4);
    const float *y = in[0].data<float>(), *og = in[1].data<float>(), *x = in[2].data<float>(), *h = in[3].data<float>();
    double worst = 0;
    std::vector<double> col(n, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0, xs = 0;
      for (int64_t j = 0; j < n; ++j) s += og[r * n + j], xs += x[r * n + j], col[j] += og[r * n + j];
      worst = std::max(worst, std::abs(par[1].data<float>()[r] - xs) / (1 + std::abs(xs)));
      for (int64_t j = 0; j < n; ++j) {
        int64_t at = r * n + j;
        double want = og[at] - std::exp(double(y[at])) * s;
        worst = std::max(worst, std::abs(par[0].data<float>()[at] - want) / (1 + std::abs(want)));
        worst = std::max(worst, std::abs(par[2].data<float>()[at] - double(h[r]) * x[at]));
      }
    }
    for (int64_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(par[3].data<float>()[j] - col[j]) / (1 + std::abs(col[j])));
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("compiled graph: a bias gradient over a symbolic batch runs as row sums: the same bits at every thread count") {
  // LeNet's first convolution's bias gradient: the sum of the output gradient over the batch
  // and the pixels. Written over a symbolic batch, it is cut into Step::kRowSumChunks chunks of
  // rows, each summed into a buffer of its own, added in chunk order: the pool, a Serial
  // scope, a saved and loaded plan and three callers at once all give one set of bits, within
  // 1e-6 of the exact sum's magnitude.
  auto graph_at = [](int64_t batch) {
    Graph g;
    int og = g.add_variable("og");
    int db = g.add_node("sum", "db", {{og, 0}}, {{"axis", std::vector<int64_t>{0, 2, 3}}});
    g.heads = {{db, 0}};
    infer(g, {{{"og", Shape{batch, 20, 24, 24}}}, {}});
    return g;
  };
  auto dyn = DynamicGraph::create(graph_at(64), graph_at(65), CompileOptions());
  REQUIRE(dyn->dynamic());
  for (int64_t batch : {64, 13, 3}) {
    CAPTURE(batch);
    auto inst = dyn->instantiate(graph_at(batch));
    REQUIRE(inst.exe->steps.size() == 1);
    const Step& st = inst.exe->steps[0];
    // At 3 the input is under the grain (2^16 elements): one call.
    CHECK(st.row_sum() == (batch != 3));
    std::vector<HostTensor> in{tensor({batch, 20, 24, 24}, 31)};
    std::vector<HostTensor> par = run_both_ways(*inst.exe, in);
    const float* x = in[0].data<float>();
    for (int64_t c = 0; c < 20; ++c) {
      double want = 0, mag = 0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t i = 0; i < 576; ++i) want += x[(n * 20 + c) * 576 + i], mag += std::abs(x[(n * 20 + c) * 576 + i]);
      CHECK(std::abs(par[0].data<float>()[c] - want) <= 1e-6 * mag);
    }
    if (!st.row_sum()) continue;
    KernelResolver resolve = [&](const std::string& name) -> PackedKernel {
      return name == st.kernel_name ? st.kernel : nullptr;
    };
    const std::string blob = save_plan(*inst.exe);
    auto loaded = load_plan(blob, "bias gradient", resolve);
    CHECK(save_plan(*loaded) == blob);
    CHECK(same_bits(loaded->run(in)[0], par[0]));
    check_three_callers(*inst.exe, in, {par[0]}, 10);
  }
}

TEST_CASE("compiled graph: a plan measures the pool against one thread on its first calls, the same bits every call") {
  // gemm_softmax unfused: a GEMM cut into blocks and row-split kernels, both of which the
  // one-thread way runs cut the same way on the caller (ThreadPool::Inline).
  auto build = [] { return gemm_softmax(false); };
  std::vector<HostTensor> in{tensor({256, 512}, 1), tensor({512, 512}, 2), tensor({512}, 3), tensor({256, 512}, 4)};
  auto exe = build();
  REQUIRE(exe->steps.size() >= 2);
  CHECK(exe->pool_way() == Executable::PoolWay::Measuring);
  const std::vector<HostTensor> want = exe->run(in);
  if (ThreadPool::global().size() == 1) {
    CHECK(exe->run(in).size() == want.size());
    CHECK(exe->pool_way() == Executable::PoolWay::Measuring);  // nothing to choose
    MESSAGE("SKIP: a one-thread pool has no second way to measure");
    return;
  }
  int calls = 1;
  for (; exe->pool_way() == Executable::PoolWay::Measuring && calls < 40; ++calls) {
    std::vector<HostTensor> got = exe->run(in);
    for (size_t k = 0; k < want.size(); ++k) CHECK(same_bits(got[k], want[k]));
  }
  CHECK(exe->pool_way() != Executable::PoolWay::Measuring);
  CHECK(calls <= 15);  // 2 warm-up and 5 timed calls each way at most
  for (size_t k = 0; k < want.size(); ++k) CHECK(same_bits(exe->run(in)[k], want[k]));
  // A copy measures again; three callers measuring at once get the same bits too.
  Executable copy = *exe;
  CHECK(copy.pool_way() == Executable::PoolWay::Measuring);
  auto fresh = build();
  check_three_callers(*fresh, in, want, 6);
  CHECK(fresh->pool_way() != Executable::PoolWay::Measuring);
}
