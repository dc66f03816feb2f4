// The CPU JIT: kernels written as the lowering writes them (memref arguments wrapped by
// bufferization.to_tensor, linalg on tensors, materialize_in_destination), run on real data
// and compared with plain C++ loops; the calling convention; errors; timings.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hgc/compiler/jit.h"
#include "hgc/base/error.h"

using namespace hgc;

namespace {

// out = tanh(a * b + 1), elementwise over a dynamic size.
const char* kFused = R"mlir(
#id1 = affine_map<(d0) -> (d0)>
func.func @fused(%a: memref<?xf32>, %b: memref<?xf32>, %out: memref<?xf32>)
    attributes {llvm.emit_c_interface} {
  %ta = bufferization.to_tensor %a restrict : memref<?xf32>
  %tb = bufferization.to_tensor %b restrict : memref<?xf32>
  %to = bufferization.to_tensor %out restrict writable : memref<?xf32>
  %r = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%ta, %tb : tensor<?xf32>, tensor<?xf32>) outs(%to : tensor<?xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %m, %one : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<?xf32>
  bufferization.materialize_in_destination %r in restrict writable %out
      : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}
)mlir";

// out[i, j] = x[i, j] + bias[j]: a row vector broadcast over every row.
const char* kBroadcastAdd = R"mlir(
#bid2 = affine_map<(d0, d1) -> (d0, d1)>
#bcol = affine_map<(d0, d1) -> (d1)>
func.func @bcast_add(%x: memref<?x?xf32>, %bias: memref<?xf32>, %out: memref<?x?xf32>)
    attributes {llvm.emit_c_interface} {
  %tx = bufferization.to_tensor %x restrict : memref<?x?xf32>
  %tb = bufferization.to_tensor %bias restrict : memref<?xf32>
  %to = bufferization.to_tensor %out restrict writable : memref<?x?xf32>
  %r = linalg.generic {indexing_maps = [#bid2, #bcol, #bid2], iterator_types = ["parallel", "parallel"]}
      ins(%tx, %tb : tensor<?x?xf32>, tensor<?xf32>) outs(%to : tensor<?x?xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  bufferization.materialize_in_destination %r in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}
)mlir";

// Row-wise softmax: max reduction, exp-sum reduction, divide. The two row temporaries are
// allocated by bufferization and freed by the deallocation pipeline.
const char* kSoftmax = R"mlir(
#sid2 = affine_map<(d0, d1) -> (d0, d1)>
#srow = affine_map<(d0, d1) -> (d0)>
func.func @softmax(%x: memref<?x?xf32>, %out: memref<?x?xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %tx = bufferization.to_tensor %x restrict : memref<?x?xf32>
  %to = bufferization.to_tensor %out restrict writable : memref<?x?xf32>
  %n = tensor.dim %tx, %c0 : tensor<?x?xf32>
  %e0 = tensor.empty(%n) : tensor<?xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<?xf32>) -> tensor<?xf32>
  %mx = linalg.generic {indexing_maps = [#sid2, #srow], iterator_types = ["parallel", "reduction"]}
      ins(%tx : tensor<?x?xf32>) outs(%mx0 : tensor<?xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %v, %acc : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#sid2, #srow, #srow], iterator_types = ["parallel", "reduction"]}
      ins(%tx, %mx : tensor<?x?xf32>, tensor<?xf32>) outs(%s0 : tensor<?xf32>) {
  ^bb0(%v: f32, %m: f32, %acc: f32):
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    %a = arith.addf %e, %acc : f32
    linalg.yield %a : f32
  } -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [#sid2, #srow, #srow, #sid2], iterator_types = ["parallel", "parallel"]}
      ins(%tx, %mx, %sum : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%to : tensor<?x?xf32>) {
  ^bb0(%v: f32, %m: f32, %s: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    %q = arith.divf %e, %s : f32
    linalg.yield %q : f32
  } -> tensor<?x?xf32>
  bufferization.materialize_in_destination %r in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}
)mlir";

// One input, four outputs: the f32 math functions hgc lowers by polynomial approximation.
const char* kUnaryMath = R"mlir(
#uid1 = affine_map<(d0) -> (d0)>
func.func @unary_math(%x: memref<?xf32>, %tanh: memref<?xf32>, %erf: memref<?xf32>,
                      %exp: memref<?xf32>, %log: memref<?xf32>) attributes {llvm.emit_c_interface} {
  %tx = bufferization.to_tensor %x restrict : memref<?xf32>
  %t1 = bufferization.to_tensor %tanh restrict writable : memref<?xf32>
  %t2 = bufferization.to_tensor %erf restrict writable : memref<?xf32>
  %t3 = bufferization.to_tensor %exp restrict writable : memref<?xf32>
  %t4 = bufferization.to_tensor %log restrict writable : memref<?xf32>
  %r:4 = linalg.generic {indexing_maps = [#uid1, #uid1, #uid1, #uid1, #uid1],
                         iterator_types = ["parallel"]}
      ins(%tx : tensor<?xf32>) outs(%t1, %t2, %t3, %t4 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  ^bb0(%v: f32, %o1: f32, %o2: f32, %o3: f32, %o4: f32):
    %a = math.tanh %v : f32
    %b = math.erf %v : f32
    %c = math.exp %v : f32
    %abs = math.absf %v : f32
    %d = math.log %abs : f32
    linalg.yield %a, %b, %c, %d : f32, f32, f32, f32
  } -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
  bufferization.materialize_in_destination %r#0 in restrict writable %tanh : (tensor<?xf32>, memref<?xf32>) -> ()
  bufferization.materialize_in_destination %r#1 in restrict writable %erf : (tensor<?xf32>, memref<?xf32>) -> ()
  bufferization.materialize_in_destination %r#2 in restrict writable %exp : (tensor<?xf32>, memref<?xf32>) -> ()
  bufferization.materialize_in_destination %r#3 in restrict writable %log : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}
)mlir";

MemRefDesc<1> desc1(float* p, int64_t n) { return {p, p, 0, {n}, {1}}; }
MemRefDesc<2> desc2(float* p, int64_t rows, int64_t cols) {
  return {p, p, 0, {rows, cols}, {cols, 1}};
}

// Packs memref arguments the way jit.h documents: args[i] -> (pointer to descriptor i).
void call_memrefs(PackedKernel k, std::vector<void*> descriptors) {
  std::vector<void*> args;
  for (void*& d : descriptors) args.push_back(&d);
  k(args.data());
}

std::vector<float> random_vector(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace

TEST_CASE("jit: fused elementwise tanh(a * b + 1) over a dynamic size") {
  auto jm = jit_compile(kFused);
  REQUIRE(jm->kernel_names() == std::vector<std::string>{"fused"});
  for (int64_t n : {1, 7, 1003}) {
    CAPTURE(n);
    auto a = random_vector(n, -2, 2, 1), b = random_vector(n, -2, 2, 2);
    std::vector<float> out(n, -99.f);
    auto da = desc1(a.data(), n), db = desc1(b.data(), n), dout = desc1(out.data(), n);
    call_memrefs(jm->lookup("fused"), {&da, &db, &dout});
    double max_err = 0;
    for (int64_t i = 0; i < n; ++i)
      max_err = std::max(max_err, std::abs(double(out[i]) - std::tanh(double(a[i]) * b[i] + 1.0)));
    CHECK(max_err < 2e-6);  // tanh approximation + float rounding of a*b+1
  }
  // A sub-range of a larger buffer: for identity-layout memrefs (memref<?xf32>) MLIR takes
  // the offset as statically 0 and ignores the descriptor's offset field, so callers move
  // the aligned pointer instead (see jit.h).
  std::vector<float> a(20, 0.5f), b(20, 2.f), out(20, -1.f);
  auto da = desc1(a.data() + 5, 10), db = desc1(b.data() + 5, 10), dout = desc1(out.data() + 5, 10);
  call_memrefs(jm->lookup("fused"), {&da, &db, &dout});
  CHECK(out[4] == -1.f);
  CHECK(out[5] == doctest::Approx(std::tanh(2.0)).epsilon(1e-6));
  CHECK(out[14] == doctest::Approx(std::tanh(2.0)).epsilon(1e-6));
  CHECK(out[15] == -1.f);
}

TEST_CASE("jit: 2-D add with a row vector broadcast over every row") {
  auto jm = jit_compile(kBroadcastAdd);
  const int64_t rows = 37, cols = 53;
  auto x = random_vector(rows * cols, -5, 5, 3), bias = random_vector(cols, -1, 1, 4);
  std::vector<float> out(rows * cols, 0.f);
  auto dx = desc2(x.data(), rows, cols), dout = desc2(out.data(), rows, cols);
  auto db = desc1(bias.data(), cols);
  call_memrefs(jm->lookup("bcast_add"), {&dx, &db, &dout});
  int mismatches = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mismatches += out[i * cols + j] != x[i * cols + j] + bias[j];
  CHECK(mismatches == 0);  // one f32 add per element: bit-exact
}

TEST_CASE("jit: row-wise softmax with reductions and temporaries") {
  auto jm = jit_compile(kSoftmax);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {17, 129}, {64, 1000}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    auto x = random_vector(rows * cols, -20, 20, 5);
    std::vector<float> out(rows * cols, 0.f);
    auto dx = desc2(x.data(), rows, cols), dout = desc2(out.data(), rows, cols);
    call_memrefs(jm->lookup("softmax"), {&dx, &dout});
    double max_err = 0, worst_row_sum = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const float* r = &x[i * cols];
      double m = -INFINITY, s = 0, row_sum = 0;
      for (int64_t j = 0; j < cols; ++j) m = std::max(m, double(r[j]));
      for (int64_t j = 0; j < cols; ++j) s += std::exp(r[j] - m);
      for (int64_t j = 0; j < cols; ++j) {
        max_err = std::max(max_err, std::abs(out[i * cols + j] - std::exp(r[j] - m) / s));
        row_sum += out[i * cols + j];
      }
      worst_row_sum = std::max(worst_row_sum, std::abs(row_sum - 1));
    }
    CHECK(max_err < 1e-6);  // probabilities: absolute error vs a double-precision reference
    CHECK(worst_row_sum < 1e-5);
  }
}

TEST_CASE("jit: polynomial approximations of tanh, erf, exp, log vs std::") {
  auto jm = jit_compile(kUnaryMath);
  // x in [-10, 10], never exactly 0 (log |x|).
  const int64_t n = 200000;
  std::vector<float> x(n), t(n), e(n), ex(n), lg(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -10.f + 20.f * (float(i) + 0.5f) / float(n);
  auto dx = desc1(x.data(), n), dt = desc1(t.data(), n), de = desc1(e.data(), n),
       dex = desc1(ex.data(), n), dlg = desc1(lg.data(), n);
  call_memrefs(jm->lookup("unary_math"), {&dx, &dt, &de, &dex, &dlg});
  double tanh_err = 0, erf_err = 0, exp_rel = 0, log_err = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i];
    tanh_err = std::max(tanh_err, std::abs(t[i] - std::tanh(v)));
    erf_err = std::max(erf_err, std::abs(e[i] - std::erf(v)));
    exp_rel = std::max(exp_rel, std::abs(ex[i] - std::exp(v)) / std::exp(v));
    log_err = std::max(log_err, std::abs(lg[i] - std::log(std::abs(v))));
  }
  MESSAGE("polynomial approximation max error on [-10, 10] (f32 kernel vs double std::): tanh abs ",
          tanh_err, ", erf abs ", erf_err, ", exp rel ", exp_rel, ", log|x| abs ", log_err);
  CHECK(tanh_err < 1e-6);
  CHECK(erf_err < 1e-6);
  CHECK(exp_rel < 1e-6);
  CHECK(log_err < 1e-6);
  // And really without libm: the optimized IR calls no tanhf/erff/expf/logf.
  std::string ir = lower_to_llvm_ir(kUnaryMath);
  for (const char* fn : {"@tanhf", "@erff", "@expf", "@logf", "@llvm.exp.", "@llvm.log."}) {
    CAPTURE(fn);
    CHECK(ir.find(fn) == std::string::npos);
  }
}

TEST_CASE("jit: calling convention for scalars, results and vector code") {
  // A scalar argument is packed as a pointer to the scalar; a scalar result goes into one
  // extra slot after the arguments. No llvm.emit_c_interface here: hgc adds it.
  auto jm = jit_compile(R"mlir(
func.func @sum_scaled(%alpha: f32, %x: memref<?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?xf32>
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
    %v = memref.load %x[%i] : memref<?xf32>
    %a = arith.addf %acc, %v : f32
    scf.yield %a : f32
  }
  %r = arith.mulf %s, %alpha : f32
  return %r : f32
}
func.func @vtanh(%a: memref<?xf32>, %o: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %pad = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c8 {
    %v = vector.transfer_read %a[%i], %pad : memref<?xf32>, vector<8xf32>
    %t = math.tanh %v : vector<8xf32>
    vector.transfer_write %t, %o[%i] : vector<8xf32>, memref<?xf32>
  }
  return
}
)mlir");
  CHECK(jm->kernel_names() == std::vector<std::string>{"sum_scaled", "vtanh"});
  std::vector<float> x = {1, 2, 3, 4};
  auto dx = desc1(x.data(), 4);
  float alpha = 0.5f, result = 0;
  void* px = &dx;
  void* args[] = {&alpha, &px, &result};
  jm->lookup("sum_scaled")(args);
  CHECK(result == 5.f);

  // 21 elements: two full vectors and a masked tail of 5.
  std::vector<float> a = random_vector(21, -3, 3, 6), o(24, 42.f);
  auto da = desc1(a.data(), 21), dout = desc1(o.data(), 21);
  call_memrefs(jm->lookup("vtanh"), {&da, &dout});
  for (int i = 0; i < 21; ++i) CHECK(o[i] == doctest::Approx(std::tanh(a[i])).epsilon(2e-6));
  CHECK(o[21] == 42.f);  // the tail mask kept the write inside the memref
  CHECK(packed_symbol_name("vtanh") == "_mlir__mlir_ciface_vtanh");

  // f64 math has no polynomial approximation: it falls back to libm (tanh here).
  auto f64 = jit_compile(R"mlir(
func.func @tanh64(%x: f64) -> f64 {
  %r = math.tanh %x : f64
  return %r : f64
})mlir");
  double in = 0.3, res = 0;
  void* args64[] = {&in, &res};
  f64->lookup("tanh64")(args64);
  CHECK(res == std::tanh(0.3));
}

TEST_CASE("jit: concurrent compiles (one MLIR context and LLVM context per module)") {
  std::vector<std::shared_ptr<JitModule>> modules(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < modules.size(); ++i)
    threads.emplace_back([&modules, i] { modules[i] = jit_compile(i % 2 ? kSoftmax : kFused); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < modules.size(); ++i) CHECK(modules[i]->contains(i % 2 ? "softmax" : "fused"));
  std::vector<float> x = {0, 0, 0, 0}, out(4);
  auto dx = desc2(x.data(), 1, 4), dout = desc2(out.data(), 1, 4);
  call_memrefs(modules[1]->lookup("softmax"), {&dx, &dout});
  CHECK(out[3] == doctest::Approx(0.25));
}

TEST_CASE("jit: errors carry MLIR's diagnostics") {
  auto message_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      CHECK(e.component() == "compiler");
      return e.what();
    }
    FAIL("no hgc::Error thrown");
    return "";
  };
  // Syntax error: position and MLIR's text.
  std::string m = message_of([] {
    jit_compile("func.func @k(%a: f32) -> f32 {\n  %s = arith.addf %a %a : f32\n  return %s : f32\n}");
  });
  CHECK(m.find("cannot parse") != std::string::npos);
  CHECK(m.find("kernel.mlir:2:") != std::string::npos);
  CHECK(m.find(" error: ") != std::string::npos);
  CHECK(m.find("arith.addf %a %a") != std::string::npos);  // the source line, with a caret
  MESSAGE("syntax error reads: ", m);
  // Type error: an operand used with two types.
  m = message_of([] {
    jit_compile(R"mlir(
func.func @k(%a: f32, %b: i32) -> f32 {
  %s = arith.addf %a, %b : f32
  return %s : f32
})mlir");
  });
  CHECK(m.find("kernel.mlir:3:") != std::string::npos);
  CHECK(m.find("expects different type than prior uses") != std::string::npos);
  // Verifier error: linalg.generic with a missing indexing map.
  m = message_of([] {
    lower_to_llvm_ir(R"mlir(
func.func @k(%a: memref<?xf32>) {
  linalg.generic {indexing_maps = [], iterator_types = ["parallel"]} outs(%a : memref<?xf32>) {
  ^bb0(%o: f32):
    linalg.yield %o : f32
  }
  return
})mlir");
  });
  CHECK(m.find("kernel.mlir:3:3: error: 'linalg.generic' op expected the number of indexing_map")
        != std::string::npos);
  // A pass failure: an op no pass lowers (a tensor result crossing the function boundary).
  m = message_of([] {
    jit_compile(R"mlir(
func.func @k(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
})mlir");
  });
  CHECK(m.find("kernel.mlir:2:1: error: 'func.func' was not lowered to the LLVM dialect")
        != std::string::npos);
  MESSAGE("pass failure reads: ", m);
  // Bad options and missing kernels.
  m = message_of([] { jit_compile(kFused, JitOptions().cpu("no-such-cpu")); });
  CHECK(m.find("unknown target CPU 'no-such-cpu'") != std::string::npos);
  m = message_of([] { jit_compile(kFused, JitOptions().opt(7)); });
  CHECK(m.find("opt_level") != std::string::npos);
  auto jm = jit_compile(kFused, JitOptions().opt(0));
  m = message_of([&] { jm->lookup("nope"); });
  CHECK(m.find("no kernel 'nope'") != std::string::npos);
  CHECK(m.find("fused") != std::string::npos);
  CHECK_FALSE(jm->contains("nope"));
}

TEST_CASE("jit: opt levels, named CPUs, LLVM IR and object files") {
  std::string module = std::string(kFused) + kBroadcastAdd + kSoftmax;
  const int64_t n = 1003;
  auto a = random_vector(n, -2, 2, 7), b = random_vector(n, -2, 2, 8);
  std::vector<float> ref(n);
  for (int64_t i = 0; i < n; ++i) ref[i] = std::tanh(a[i] * b[i] + 1.f);
  for (int level : {0, 1, 3}) {
    CAPTURE(level);
    auto jm = jit_compile(module, JitOptions().opt(level));
    MESSAGE("jit_compile of 3 kernels (fused, bcast_add, softmax) at O", level, ": ",
            jm->compile_ms(), " ms (MLIR parse + pipeline ", jm->mlir_ms(), " ms, LLVM opt + codegen ",
            jm->llvm_ms(), " ms)");
    std::vector<float> out(n);
    auto da = desc1(a.data(), n), db = desc1(b.data(), n), dout = desc1(out.data(), n);
    call_memrefs(jm->lookup("fused"), {&da, &db, &dout});
    for (int64_t i = 0; i < n; i += 97) CHECK(out[i] == doctest::Approx(ref[i]).epsilon(1e-5));
  }
  // A named baseline CPU (runs on any x86-64) gives the same results.
  auto base = jit_compile(kFused, JitOptions().cpu("x86-64"));
  std::vector<float> out(n);
  auto da = desc1(a.data(), n), db = desc1(b.data(), n), dout = desc1(out.data(), n);
  call_memrefs(base->lookup("fused"), {&da, &db, &dout});
  for (int64_t i = 0; i < n; i += 97) CHECK(out[i] == doctest::Approx(ref[i]).epsilon(1e-5));

  std::string ir = lower_to_llvm_ir(kFused, JitOptions().cpu("x86-64-v3"));
  CHECK(ir.find("define void @_mlir__mlir_ciface_fused(ptr") != std::string::npos);
  CHECK(ir.find("define void @_mlir_ciface_fused(ptr") != std::string::npos);
  CHECK(ir.find("\"target-cpu\"=\"x86-64-v3\"") != std::string::npos);
  CHECK(ir.find("target triple") != std::string::npos);

  auto t0 = std::chrono::steady_clock::now();
  std::string obj = compile_to_object(module, JitOptions().cpu("x86-64-v3"));
  double obj_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("compile_to_object of the same 3 kernels (O3, x86-64-v3, PIC): ", obj_ms, " ms, ",
          obj.size(), " bytes");
  REQUIRE(obj.size() > 64);
  CHECK(obj.compare(0, 4, "\x7f" "ELF") == 0);
  for (const char* sym : {"_mlir__mlir_ciface_fused", "_mlir_ciface_softmax", "bcast_add"}) {
    CAPTURE(sym);
    CHECK(obj.find(sym) != std::string::npos);  // in the string table
  }
}
