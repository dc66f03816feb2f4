// Micro-benchmarks of the runtime's building blocks, each next to its natural baseline in
// the same process: imperative dispatch overhead, generated (and fused) elementwise kernels
// vs memcpy (GB/s), FullyConnected through the compiled graph vs a raw OpenBLAS sgemm (GFLOP/s).
//
//   ./build/bench/hgc_bench_ops --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstring>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/ir/infer.h"

using namespace hgc;

namespace {

HostTensor filled(std::vector<int64_t> shape, float v) {
  HostTensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
  return t;
}

// Per-op dispatch: a tiny op through invoke (graph build + infer + cached kernel call).
void BM_DispatchRelu(benchmark::State& st) {
  HostTensor x = filled({1, 16}, 1.f);
  invoke("relu", {}, {x});
  for (auto _ : st) benchmark::DoNotOptimize(invoke("relu", {}, {x}));
}
BENCHMARK(BM_DispatchRelu)->UseRealTime();

// A compiled one-node graph: what a hybridized call pays per node at run time.
std::shared_ptr<const Executable> one_op(const std::string& op, const AttrMap& attrs, std::vector<Shape> shapes) {
  Graph g;
  std::vector<ValueRef> in;
  InferOptions io;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string n = "x" + std::to_string(i);
    in.push_back({g.add_variable(n), 0});
    io.shapes[n] = shapes[i];
  }
  int id = g.add_node(op, "y", in, attrs);
  g.heads.push_back({id, 0});
  infer(g, io);
  return compile(g);
}

void BM_ElementwiseAddGraph(benchmark::State& st) {
  int64_t n = st.range(0);
  auto exe = one_op("elemwise_add", {}, {Shape{n}, Shape{n}});
  HostTensor a = filled({n}, 1.f), b = filled({n}, 2.f), c(DType::f32, {n});
  std::vector<char> arena(exe->arena_bytes + 64);
  exe->execute({a.raw(), b.raw()}, {c.raw()}, arena.data());  // first touch of the output and arena pages, untimed
  for (auto _ : st) exe->execute({a.raw(), b.raw()}, {c.raw()}, arena.data());
  st.SetBytesProcessed(st.iterations() * n * 4 * 3);
}
BENCHMARK(BM_ElementwiseAddGraph)->Arg(1 << 12)->Arg(1 << 16)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime();

// relu(a * b + c) as three graph nodes that fusion makes one kernel: 3 reads + 1 write per
// element, so its GB/s next to memcpy's says how close the fused loop gets to streaming.
void BM_FusedChainGraph(benchmark::State& st) {
  int64_t n = st.range(0);
  Graph g;
  InferOptions io;
  std::vector<ValueRef> in;
  for (const char* name : {"a", "b", "c"}) {
    in.push_back({g.add_variable(name), 0});
    io.shapes[name] = Shape{n};
  }
  int m = g.add_node("elemwise_mul", "m", {in[0], in[1]}, {});
  int a = g.add_node("elemwise_add", "s", {{m, 0}, in[2]}, {});
  int r = g.add_node("relu", "y", {{a, 0}}, {});
  g.heads.push_back({r, 0});
  infer(g, io);
  auto exe = compile(g);
  HostTensor x = filled({n}, 1.f), y = filled({n}, 2.f), z = filled({n}, -1.f), out(DType::f32, {n});
  std::vector<char> arena(exe->arena_bytes + 64);
  exe->execute({x.raw(), y.raw(), z.raw()}, {out.raw()}, arena.data());  // first touch of the output and arena pages, untimed
  for (auto _ : st) exe->execute({x.raw(), y.raw(), z.raw()}, {out.raw()}, arena.data());
  st.SetBytesProcessed(st.iterations() * n * 4 * 4);
  st.counters["kernels"] = static_cast<double>(exe->steps.size());
}
BENCHMARK(BM_FusedChainGraph)->Arg(1 << 16)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime();

void BM_Memcpy(benchmark::State& st) {  // baseline: 1 read + 1 write stream
  int64_t n = st.range(0);
  HostTensor a = filled({n}, 1.f), c(DType::f32, {n});
  std::memcpy(c.raw(), a.raw(), n * 4);  // first touch, untimed
  for (auto _ : st) std::memcpy(c.raw(), a.raw(), n * 4);
  st.SetBytesProcessed(st.iterations() * n * 4 * 2);
}
BENCHMARK(BM_Memcpy)->Arg(1 << 12)->Arg(1 << 16)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime();

void BM_TanhGraph(benchmark::State& st) {
  int64_t n = st.range(0);
  auto exe = one_op("tanh", {}, {Shape{n}});
  HostTensor a = filled({n}, 0.3f), c(DType::f32, {n});
  std::vector<char> arena(exe->arena_bytes + 64);
  exe->execute({a.raw()}, {c.raw()}, arena.data());  // first touch of the output and arena pages, untimed
  for (auto _ : st) exe->execute({a.raw()}, {c.raw()}, arena.data());
  st.SetBytesProcessed(st.iterations() * n * 4 * 2);
}
BENCHMARK(BM_TanhGraph)->Arg(1 << 16)->Arg(1 << 20)->UseRealTime();

// The reduction-shaped nn ops at the attention shapes of the BST workload (W4): softmax over
// the 32 keys of (batch*heads, 32, 32) scores, LayerNorm over 32 channels; short rows, so the
// per-row cost counts as much as the per-element one.
void BM_SoftmaxGraph(benchmark::State& st) {
  int64_t rows = st.range(0), n = st.range(1);
  auto exe = one_op("softmax", {{"axis", int64_t(-1)}}, {Shape{rows, n}});
  HostTensor a(DType::f32, {rows, n}), c(DType::f32, {rows, n});
  for (int64_t i = 0; i < rows * n; ++i) a.data<float>()[i] = static_cast<float>((i * 7919) % 201) * 0.05f - 5.f;
  std::vector<char> arena(exe->arena_bytes + 64);
  exe->execute({a.raw()}, {c.raw()}, arena.data());  // first touch, untimed
  for (auto _ : st) exe->execute({a.raw()}, {c.raw()}, arena.data());
  st.SetItemsProcessed(st.iterations() * rows * n);
}
BENCHMARK(BM_SoftmaxGraph)->Args({8192, 32})->Args({256, 1024})->UseRealTime();

void BM_LayerNormGraph(benchmark::State& st) {
  int64_t rows = st.range(0), n = st.range(1);
  auto exe = one_op("LayerNorm", {}, {Shape{rows, n}, Shape{n}, Shape{n}});
  HostTensor a(DType::f32, {rows, n}), g = filled({n}, 1.5f), b = filled({n}, 0.25f), y(DType::f32, {rows, n});
  for (int64_t i = 0; i < rows * n; ++i) a.data<float>()[i] = static_cast<float>((i * 7919) % 201) * 0.05f - 5.f;
  std::vector<char> arena(exe->arena_bytes + 64);
  exe->execute({a.raw(), g.raw(), b.raw()}, {y.raw()}, arena.data());  // first touch, untimed
  for (auto _ : st) exe->execute({a.raw(), g.raw(), b.raw()}, {y.raw()}, arena.data());
  st.SetItemsProcessed(st.iterations() * rows * n);
}
BENCHMARK(BM_LayerNormGraph)->Args({1024, 32})->UseRealTime();

void BM_FullyConnectedGraph(benchmark::State& st) {
  int64_t m = st.range(0), k = st.range(1), n = st.range(2);
  auto exe = one_op("FullyConnected", {{"num_hidden", n}}, {Shape{m, k}, Shape{n, k}, Shape{n}});
  HostTensor x = filled({m, k}, 0.1f), w = filled({n, k}, 0.2f), b = filled({n}, 0.f), y(DType::f32, {m, n});
  std::vector<char> arena(exe->arena_bytes + 64);
  for (auto _ : st) exe->execute({x.raw(), w.raw(), b.raw()}, {y.raw()}, arena.data());
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * k * n * st.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_FullyConnectedGraph)->Args({64, 784, 256})->Args({500, 20108, 600})->Args({512, 512, 512})->UseRealTime();

void BM_RawSgemm(benchmark::State& st) {
  int64_t m = st.range(0), k = st.range(1), n = st.range(2);
  HostTensor x = filled({m, k}, 0.1f), w = filled({n, k}, 0.2f), y(DType::f32, {m, n});
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, x.data<float>(), k, w.data<float>(), k, 0.f,
                y.data<float>(), n);
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * k * n * st.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_RawSgemm)->Args({64, 784, 256})->Args({500, 20108, 600})->Args({512, 512, 512})->UseRealTime();

// oneDNN's sgemm, which the runtime's GEMMs call (runtime/src/gemm.h): with BM_RawSgemm, the
// ratio of the two libraries on this machine.
void BM_RawDnnlSgemm(benchmark::State& st) {
  int64_t m = st.range(0), k = st.range(1), n = st.range(2);
  HostTensor x = filled({m, k}, 0.1f), w = filled({n, k}, 0.2f), y(DType::f32, {m, n});
  for (auto _ : st)
    dnnl_sgemm('N', 'T', m, n, k, 1.f, x.data<float>(), k, w.data<float>(), k, 0.f, y.data<float>(), n);
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * k * n * st.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_RawDnnlSgemm)->Args({64, 784, 256})->Args({500, 20108, 600})->Args({512, 512, 512})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
