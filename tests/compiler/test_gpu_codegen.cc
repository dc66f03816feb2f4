// GPU code generation without a GPU: every kernel group of the project MLP and of every fp32
// shared model lowers to PTX for sm_80 and sm_90, and the CUDA toolkit's ptxas accepts each
// kernel (skipped with a message when ptxas is absent). Nothing here runs on a device; see
// tests/runtime/test_cuda.cc for the execution tests.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <array>
#include <tuple>

#include "hgc/compiler/gpu.h"
#include "hgc/compiler/jit.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/kernel_abi.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/tensor_io.h"
#include "support/op_cases.h"
#include "support/paths.h"

using namespace hgc;

namespace {

std::string ptxas_path() {
  try {
    std::string tk = gpu::toolkit_path();
    if (std::filesystem::exists(tk + "/bin/ptxas")) return tk + "/bin/ptxas";
  } catch (const Error&) {
  }
  return {};
}

bool have_libdevice() {
  try {
    gpu::toolkit_path();
    return true;
  } catch (const Error& e) {
    MESSAGE("SKIP: " << e.what());
    return false;
  }
}

// ptxas's verdict on one PTX text ("" when accepted, else its messages).
std::string ptxas(const std::string& exe, const std::string& ptx, const std::string& chip, const std::string& tag) {
  std::string dir = test::temp_dir();
  std::string file = dir + "/" + tag + "_" + chip + ".ptx", log = file + ".log";
  std::ofstream(file) << ptx;
  std::string cmd = exe + " -arch=" + chip + " " + file + " -o /dev/null > " + log + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(file);
  std::filesystem::remove(log);
  return rc == 0 ? std::string() : "rc " + std::to_string(rc) + ": " + text;
}

// The parameter types of `entry` in `ptx` (".u64", ".f32", ...), in order.
std::vector<std::string> entry_params(const std::string& ptx, const std::string& entry) {
  std::vector<std::string> types;
  size_t at = ptx.find(".entry " + entry + "(");
  if (at == std::string::npos) return types;
  size_t end = ptx.find(')', at);
  for (size_t p = ptx.find(".param ", at); p != std::string::npos && p < end; p = ptx.find(".param ", p + 1)) {
    size_t t = p + 7;
    types.push_back(ptx.substr(t, ptx.find(' ', t) - t));
  }
  return types;
}

// What runtime/cuda.h's pack_params passes must be what the kernel declares: as many 8-byte
// slots as parameters, each 64-bit where the kernel takes a pointer or index, 32-bit scalars
// where it takes one.
void check_abi(const GpuKernel& k, const GpuLaunch& l, const std::string& ptx) {
  std::vector<std::string> types = entry_params(ptx, l.entry);
  std::vector<cuda::DevicePtr> args(64, 0x1000), temps(k.temp_bytes.size(), 0x2000);
  std::vector<uint64_t> slots = cuda::pack_params(l, args, temps);
  REQUIRE(types.size() == slots.size());
  size_t i = 0;
  for (const GpuOperand& o : l.operands) {
    if (o.kind == GpuOperand::Kind::Arg || o.kind == GpuOperand::Kind::Temp) {
      for (size_t j = 0; j < 3 + 2 * o.sizes.size(); ++j, ++i) CHECK(types[i] == ".u64");
    } else {
      CHECK(types[i].substr(2) == std::to_string(o.bits));
      ++i;
    }
  }
}

// Every step of the plan is a library call, a view or a kernel the GPU plan has; every
// kernel has PTX for both chips that ptxas accepts (`ptxas_chips`: the ones to assemble).
// Returns the number of launches checked.
int check_plan(const GpuPlan& p, const std::string& model,
               const std::set<std::string>& ptxas_chips = {"sm_80", "sm_90"}) {
  CAPTURE(model);
  REQUIRE(p.exe);
  std::set<std::string> used;
  for (const Step& s : p.exe->steps) {
    if (!s.call.empty()) CHECK((s.call.kind == "fully_connected" || s.call.kind == "matmul" ||
                                s.call.kind == "batch_matmul" || s.call.kind == "convolution"));
    if (!s.kernel_name.empty()) {
      used.insert(s.kernel_name);
      const GpuKernel* k = p.find(s.kernel_name);
      REQUIRE_MESSAGE(k, "kernel " << s.kernel_name << " of step " << s.label << " has no GPU code");
      // Only a step over an empty tensor may launch nothing (its loops fold away).
      bool empty = false;
      for (int id : s.args)
        for (int64_t d : p.exe->buffers[id].shape) empty = empty || d == 0;
      CHECK((empty || !k->launches.empty()));
    }
  }
  for (const auto& [step, name] : p.library_kernels) {
    CHECK(p.exe->steps.at(step).call.kind == "convolution");
    used.insert(name);
  }
  CHECK(used.size() == p.kernels.size());
  std::string exe = ptxas_path();
  if (exe.empty()) MESSAGE("SKIP ptxas checks: no ptxas in the CUDA toolkit (set CUDA_HOME)");
  int launches = 0;
  for (const GpuKernel& k : p.kernels) {
    for (const GpuLaunch& l : k.launches) {
      CAPTURE(k.name);
      CAPTURE(l.entry);
      ++launches;
      CHECK(l.block[0] * l.block[1] * l.block[2] <= 1024);
      CHECK(l.grid[0] >= 1);
      for (const GpuOperand& o : l.operands)
        if (o.kind == GpuOperand::Kind::Arg || o.kind == GpuOperand::Kind::Temp) CHECK(o.sizes.size() == o.strides.size());
      for (const std::string chip : {"sm_80", "sm_90"}) {
        REQUIRE(l.ptx.count(chip));
        const std::string& ptx = l.ptx.at(chip);
        CHECK(ptx.find(".entry " + l.entry) != std::string::npos);
        CHECK(ptx.find(".target " + chip) != std::string::npos);
        CHECK(ptx.find('\0') == std::string::npos);
        check_abi(k, l, ptx);
        // libdevice is linked: no unresolved math calls are left for ptxas to reject.
        CHECK(ptx.find(".extern .func __nv_") == std::string::npos);
        if (!exe.empty() && ptxas_chips.count(chip)) CHECK_MESSAGE(ptxas(exe, ptx, chip, k.name + "_" + l.entry).empty(), ptxas(exe, ptx, chip, "again"));
      }
    }
  }
  return launches;
}

struct ModelCase {
  const char* file;
  const char* params;
  std::map<std::string, Shape> inputs;
};

}  // namespace

TEST_CASE("gpu codegen: the project MLP lowers to PTX that ptxas accepts (sm_80, sm_90)") {
  if (!have_libdevice()) return;
  Graph g = load_json_file(test::source_path("models/mlp/straight_dope_mlp-symbol.json"));
  InferOptions io;
  io.shapes["data"] = Shape({64, 784});
  infer(g, io);
  GpuPlan p = gpu::compile_to_ptx(g);
  CHECK(p.chips == std::vector<std::string>{"sm_80", "sm_90"});
  int n = check_plan(p, "straight_dope_mlp");
  CHECK(n >= 1);
  // The dense layers are cuBLAS calls, not generated kernels.
  int library = 0;
  for (const Step& s : p.exe->steps) library += s.call.empty() ? 0 : 1;
  CHECK(library == 3);
}

TEST_CASE("gpu codegen: every fp32 shared model lowers to PTX that ptxas accepts") {
  if (!have_libdevice()) return;
  const std::vector<ModelCase> cases = {
      {"djl_mlp-symbol.json", nullptr, {{"data", {2, 784}}}},
      {"mxnet_save_000800.json", nullptr, {{"data", {4, 10}}}},
      {"sm_dummy_model-symbol.json", "sm_dummy_model-0000.params", {{"data", {3, 2}}}},
      {"go_test-symbol.json", "go_test-0001.params", {{"data", {5}}, {"softmax_label", {5}}}},
      {"mms_squeezenet_v1.1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}},
      {"djl_resnet18_v1-symbol.json", nullptr, {{"data", {1, 3, 224, 224}}}},
      {"mms_lstm_ptb-symbol.json", nullptr, {{"data", {5, 4}}, {"softmax_label", {5, 4}}}},
      {"djl_static_bert_qa-symbol.json", nullptr, {{"data0", {1, 384}}, {"data1", {1, 384}}, {"data2", {1}}}},
  };
  if (HGC_SANITIZE_BUILD) MESSAGE("sanitizer build: BERT-base is left to the release pass");
  for (const auto& mc : cases) {
    if (HGC_SANITIZE_BUILD && std::string(mc.file).find("bert") != std::string::npos) continue;
    std::string file = mc.file;
    CAPTURE(file);
    auto path = test::shared_model(mc.file);
    if (!path) return;
    Graph g = load_json_file(*path);
    InferOptions io;
    io.shapes = mc.inputs;
    if (mc.params) {
      auto pp = test::shared_model(mc.params);
      if (!pp) return;
      for (auto& [name, t] : load_params(*pp)) io.shapes[strip_param_prefix(name)] = Shape(t.shape());
    }
    infer(g, io);
    GpuPlan p = gpu::compile_to_ptx(g);  // the pipeline expands a fused RNN
    int n = check_plan(p, mc.file);
    MESSAGE(file << ": " << p.kernels.size() << " kernel groups, " << n << " launches checked");
  }
}

TEST_CASE("gpu codegen: every differential-test op lowers to PTX that ptxas accepts") {
  if (!have_libdevice()) return;
  std::mt19937 rng(42);
  int kernels = 0, library = 0, seen = 0;
  // Under the sanitizers every fourth case (the release pass lowers them all).
  const int stride = HGC_SANITIZE_BUILD ? 4 : 1;
  if (stride > 1) MESSAGE("sanitizer build: a sample of every " << stride << "th case");
  for (auto list : {test::unary_cases, test::binary_cases, test::reduction_cases, test::movement_cases, test::library_cases,
                    test::int_cases, test::linalg_cases, test::resize_cases})
    for (const test::Case& c : list()) {
      std::string what = c.op + " " + (c.shapes.empty() ? std::string("()") : c.shapes[0].str()) + " " + dtype_name(c.dtype);
      CAPTURE(what);
      test::CaseGraph cg = test::case_graph(c, rng);  // drawn for every case: the sample's inputs stay the same
      if (seen++ % stride != 0) continue;
      try {
        GpuPlan p = gpu::compile_to_ptx(cg.g);
        check_plan(p, what, {"sm_90"});  // ~500 kernels: one ptxas run each keeps this under a minute
        kernels += static_cast<int>(p.kernels.size());
        for (const Step& s : p.exe->steps) library += s.call.empty() ? 0 : 1;
      } catch (const Error& e) {
        FAIL_CHECK(what << ": " << std::string(e.what()));
      }
    }
  MESSAGE(kernels << " kernel groups and " << library << " library calls");
  CHECK(kernels > 200 / stride);
}

TEST_CASE("gpu codegen: a full reduction and a transposed elementwise op map to device launches only") {
  if (!have_libdevice()) return;
  // A full reduction (no parallel dim: wrapped into a one-thread launch) and an elementwise
  // op reading its input transposed.
  const std::string text = R"(
func.func @full_sum(%a: memref<8x16xf32>, %o: memref<1xf32>) {
  %x = bufferization.to_tensor %a restrict : memref<8x16xf32>
  %d = bufferization.to_tensor %o restrict writable : memref<1xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%d : tensor<1xf32>) -> tensor<1xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (0)>],
                       iterator_types = ["reduction", "reduction"]}
       ins(%x : tensor<8x16xf32>) outs(%f : tensor<1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  bufferization.materialize_in_destination %r in restrict writable %o : (tensor<1xf32>, memref<1xf32>) -> ()
  return
}
func.func @exp_t(%a: memref<4x3xf32>, %o: memref<3x4xf32>) {
  %x = bufferization.to_tensor %a restrict : memref<4x3xf32>
  %d = bufferization.to_tensor %o restrict writable : memref<3x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
       ins(%x : tensor<4x3xf32>) outs(%d : tensor<3x4xf32>) {
  ^bb0(%v: f32, %u: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  } -> tensor<3x4xf32>
  bufferization.materialize_in_destination %r in restrict writable %o : (tensor<3x4xf32>, memref<3x4xf32>) -> ()
  return
}
)";
  // By default the full reduction is one block: the fill, then 128 threads over the 8x16
  // elements (both dims linearized) combined with shuffles.
  auto blocks = gpu::lower_module_to_ptx(text);
  REQUIRE(blocks.size() == 2);
  REQUIRE(blocks[0].launches.size() == 2);
  CHECK(blocks[0].launches[1].grid[0] == 1);
  CHECK(blocks[0].launches[1].block[0] == 128);
  CHECK(blocks[0].launches[1].ptx.at("sm_90").find("shfl.sync") != std::string::npos);
  gpu::GpuOptions seq;
  seq.block_reductions = false;
  auto ks = gpu::lower_module_to_ptx(text, seq);
  REQUIRE(ks.size() == 2);
  CHECK(ks[0].name == "full_sum");
  // Without block reductions the one-element fill and the reduction loops are both
  // sequential: one single-thread launch.
  REQUIRE(ks[0].launches.size() == 1);
  const GpuLaunch& red = ks[0].launches[0];
  CHECK(red.grid[0] * red.grid[1] * red.grid[2] == 1);
  CHECK(red.block[0] * red.block[1] * red.block[2] == 1);
  CHECK(ks[0].temp_bytes.empty());
  // Outlining orders kernel parameters by first use, not by argument: find them by index.
  REQUIRE(red.operands.size() == 2);
  const GpuOperand& in = red.operands[0].index == 0 ? red.operands[0] : red.operands[1];
  const GpuOperand& out = red.operands[0].index == 0 ? red.operands[1] : red.operands[0];
  CHECK(in.kind == GpuOperand::Kind::Arg);
  CHECK(in.index == 0);
  CHECK(in.sizes == std::vector<int64_t>{8, 16});
  CHECK(in.strides == std::vector<int64_t>{16, 1});
  CHECK(out.index == 1);
  CHECK(out.sizes == std::vector<int64_t>{1});
  // 12 elements: one block of 32 threads (the block size shrinks to the work), written
  // straight into the output (no scratch and copy).
  REQUIRE(ks[1].launches.size() == 1);
  CHECK(ks[1].temp_bytes.empty());
  const GpuLaunch& ex = ks[1].launches[0];
  CHECK(ex.grid[0] == 1);
  CHECK(ex.block[0] == 32);
  CHECK(ex.ptx.at("sm_90").find("ex2.approx") != std::string::npos);  // libdevice's expf
}

namespace {

// One op over `rows` rows of 64 elements each (plus gamma, beta for LayerNorm), lowered for
// the GPU.
GpuPlan one_op_plan(const std::string& op, const std::map<std::string, std::string>& attrs, int64_t rows,
                    const gpu::GpuOptions& o) {
  test::Case c{op, attrs, {Shape({rows, 64})}};
  if (op == "LayerNorm") c.shapes = {Shape({rows, 64}), Shape({64}), Shape({64})};
  if (op == "Pooling") c.shapes = {Shape({1, rows, 8, 8})};  // 64 elements per (n, c)
  std::mt19937 rng(1);
  return gpu::compile_to_ptx(test::case_graph(c, rng).g, CompileOptions(), o);
}

}  // namespace

TEST_CASE("gpu codegen: reductions (sum, softmax, LayerNorm, global pooling) run one block per output with shuffles") {
  if (!have_libdevice()) return;
  const int64_t rows = 5;
  for (const auto& [op, attrs, want_block_launches] :
       std::vector<std::tuple<std::string, std::map<std::string, std::string>, int>>{
           {"sum", {{"axis", "1"}}, 1}, {"softmax", {}, 2}, {"LayerNorm", {}, 2}, {"max", {{"axis", "-1"}}, 1},
           {"Pooling", {{"global_pool", "True"}, {"pool_type", "avg"}, {"kernel", "(1, 1)"}}, 1}}) {
    CAPTURE(op);
    GpuPlan p = one_op_plan(op, attrs, rows, {});
    REQUIRE(p.kernels.size() == 1);
    int block = 0;
    for (const GpuLaunch& l : p.kernels[0].launches) {
      const std::string& ptx = l.ptx.at("sm_90");
      bool shuffles = ptx.find("shfl.sync") != std::string::npos;
      if (!shuffles) continue;
      // One block per output row, threads striding over its 64 elements; the partials meet
      // in shared memory after a barrier.
      ++block;
      CHECK(l.grid[0] == rows);
      CHECK(l.block[0] == 64);
      CHECK(ptx.find(".shared") != std::string::npos);
      CHECK(ptx.find("bar.sync") != std::string::npos);
    }
    CHECK(block == want_block_launches);
    // Without the block strategy: no shuffles, each reduction a sequential loop per thread.
    gpu::GpuOptions seq;
    seq.block_reductions = false;
    GpuPlan q = one_op_plan(op, attrs, rows, seq);
    for (const GpuLaunch& l : q.kernels[0].launches) CHECK(l.ptx.at("sm_90").find("shfl.sync") == std::string::npos);
  }
}

TEST_CASE("gpu codegen: bad input and a missing toolkit are hgc::Errors") {
  CHECK_THROWS_WITH_AS(gpu::lower_module_to_ptx("func.func @k( {"), doctest::Contains("cannot parse"), Error);
  gpu::GpuOptions o;
  o.chips.clear();
  CHECK_THROWS_WITH_AS(gpu::lower_module_to_ptx("", o), doctest::Contains("at least one chip"), Error);
  if (std::getenv("CUDA_HOME") || std::getenv("CUDA_PATH") || std::getenv("CUDA_ROOT")) return;
  gpu::GpuOptions bad;
  bad.toolkit = "/nonexistent/cuda";
  // /usr/local/cuda is still tried after the explicit folder; only check the message when
  // no toolkit exists at all.
  if (!std::filesystem::exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"))
    CHECK_THROWS_WITH_AS(gpu::toolkit_path(bad), doctest::Contains("libdevice"), Error);
  else
    CHECK(gpu::toolkit_path(bad) == "/usr/local/cuda");
}

TEST_CASE("gpu codegen: the direct convolution kernel equals im2col + OpenBLAS (checked on the CPU JIT)") {
  // {nsp, N, C, O, groups, has_bias, in0, in1, out0, out1, k0, k1, s0, s1, p0, p1, d0, d1}
  auto conv = [](int nsp, int64_t N, int64_t C, int64_t O, int64_t G, bool bias, std::array<int64_t, 2> in,
                 std::array<int64_t, 2> k, std::array<int64_t, 2> st, std::array<int64_t, 2> pad, std::array<int64_t, 2> dil) {
    std::vector<int64_t> q = {nsp, N, C, O, G, bias ? 1 : 0, in[0], in[1], 0, 0, k[0], k[1], st[0], st[1], pad[0], pad[1], dil[0], dil[1]};
    for (int d = 0; d < 2; ++d) q[8 + d] = d < nsp ? (in[d] + 2 * pad[d] - dil[d] * (k[d] - 1) - 1) / st[d] + 1 : 1;
    return q;
  };
  const std::vector<std::vector<int64_t>> cases = {
      conv(2, 2, 3, 4, 1, true, {6, 6}, {3, 3}, {1, 1}, {0, 0}, {1, 1}),
      conv(2, 1, 4, 4, 2, false, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {2, 1}),
      conv(2, 2, 3, 5, 1, true, {4, 4}, {1, 1}, {1, 1}, {0, 0}, {1, 1}),
      conv(1, 2, 3, 2, 1, true, {9, 1}, {3, 1}, {1, 1}, {1, 0}, {1, 1}),
  };
  std::mt19937 rng(9);
  for (const auto& q : cases) {
    CAPTURE(q[0]);
    CAPTURE(q[4]);
    lib::ConvShape s{};
    s.nsp = static_cast<int>(q[0]);
    s.N = q[1], s.C = q[2], s.O = q[3], s.groups = q[4];
    for (int d = 0; d < 2; ++d)
      s.in[d] = q[6 + d], s.out[d] = q[8 + d], s.k[d] = q[10 + d], s.stride[d] = q[12 + d], s.pad[d] = q[14 + d],
      s.dilate[d] = q[16 + d];
    std::vector<int64_t> xs = {s.N, s.C}, ws = {s.O, s.C / s.groups}, ys = {s.N, s.O};
    for (int d = 0; d < s.nsp; ++d) xs.push_back(s.in[d]), ws.push_back(s.k[d]), ys.push_back(s.out[d]);
    HostTensor x = test::fill(Shape(xs), test::kAny, rng), w = test::fill(Shape(ws), test::kAny, rng),
               b = test::fill(Shape({s.O}), test::kAny, rng);
    HostTensor want(DType::f32, ys), got(DType::f32, ys);
    std::vector<float> work(static_cast<size_t>(lib::convolution_workspace(s)));
    lib::convolution(s, x.data<float>(), w.data<float>(), q[5] ? b.data<float>() : nullptr, want.data<float>(), work.data());
    auto jm = jit_compile(gpu::convolution_kernel("conv", q));
    MemRefArg dx(x.raw(), xs), dw(w.raw(), ws), db(b.raw(), {s.O}), dy(got.raw(), ys);
    std::vector<void*> d = {dx.get(), dw.get()};
    if (q[5]) d.push_back(db.get());
    d.push_back(dy.get());
    std::vector<void*> args;
    for (void*& p : d) args.push_back(&p);
    jm->lookup("conv")(args.data());
    for (int64_t i = 0; i < want.numel(); ++i)
      REQUIRE(got.data<float>()[i] == doctest::Approx(want.data<float>()[i]).epsilon(1e-4).scale(1));
  }
  CHECK_THROWS_WITH_AS(gpu::convolution_kernel("c", {1, 2}), doctest::Contains("18 parameters"), Error);
}

TEST_CASE("gpu codegen: PTX goes through the on-disk kernel cache like CPU code") {
  if (!have_libdevice()) return;
  std::string dir = test::temp_dir() + "/gpu-cache";
  std::filesystem::remove_all(dir);
  Graph g = load_json_file(test::source_path("models/mlp/straight_dope_mlp-symbol.json"));
  InferOptions io;
  io.shapes["data"] = Shape({4, 784});
  infer(g, io);
  CompileOptions o = CompileOptions().cache_folder(dir);
  DiskCache& dc = DiskCache::at(dir);
  auto before = dc.stats();
  GpuPlan first = gpu::compile_to_ptx(g, o);
  auto mid = dc.stats();
  CHECK(mid.misses == before.misses + 1);
  CHECK(mid.writes == before.writes + 1);
  GpuPlan second = gpu::compile_to_ptx(g, o);
  CHECK(dc.stats().hits == mid.hits + 1);
  CHECK(save_gpu_kernels(second.kernels) == save_gpu_kernels(first.kernels));
  // A damaged entry is a miss: recompiled and rewritten, same code.
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::resize_file(e.path(), 40);
  GpuPlan third = gpu::compile_to_ptx(g, o);
  CHECK(save_gpu_kernels(third.kernels) == save_gpu_kernels(first.kernels));
  // Other GPU options are other entries.
  gpu::GpuOptions seq;
  seq.block_reductions = false;
  auto s0 = dc.stats();
  gpu::compile_to_ptx(g, o, seq);
  CHECK(dc.stats().misses == s0.misses + 1);
  // Disk cache off: nothing read or written.
  auto s1 = dc.stats();
  gpu::compile_to_ptx(g, CompileOptions().cache_folder(dir).disk(false));
  CHECK(dc.stats().hits == s1.hits);
  CHECK(dc.stats().misses == s1.misses);
  std::filesystem::remove_all(dir);
}

// For the frontend's GPU tests (support/ptx_check.h): their files cannot include gpu.h.
namespace hgc::test {
int check_gpu_plan(const GpuPlan& p, const std::string& what, const std::set<std::string>& ptxas_chips) {
  return check_plan(p, what, ptxas_chips);
}
bool gpu_toolkit_present() { return have_libdevice(); }
}  // namespace hgc::test
