// `hgc compile` end to end: standalone programs built from model JSON run away from the
// build tree, need no MLIR/LLVM, and compute what `hgc run` (JIT) computes; the plan
// serialization they embed round-trips and refuses truncated or hostile bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <cstring>

#include "hgc/compiler/compile.h"
#include "hgc/base/files.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/op.h"
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"
#include "support/compile_util.h"
#include "support/shell.h"

using namespace hgc;
namespace fs = std::filesystem;

namespace {

using test::Shell;
using test::hgc_tool;
using test::sh;
using namespace hgc::test;

struct EndToEnd {
  std::string exe;  // the program, copied away from the build tree
  std::string dir, params, input;
  double compile_ms = 0;
};

// Compiles `model` for data of `shape` with seeded params, copies the program into a fresh
// folder, runs it there and checks it against `hgc run` on the same input and params.
EndToEnd compile_and_compare(const std::string& model, const std::vector<int64_t>& shape, const std::string& tag) {
  EndToEnd r;
  r.dir = fresh_dir("compile-" + tag);
  Graph g = inferred(model, shape);
  r.params = r.dir + "/model.params";
  write_params(g, random_params(g, 7), r.params);
  r.input = r.dir + "/in.npy";
  save_npy(r.input, random_input(shape, 11));
  std::string built = r.dir + "/built";
  auto t0 = std::chrono::steady_clock::now();
  Shell c = hgc_tool("compile " + model + " --params " + r.params + " --shape data=" + dims_arg(shape) + " -o " + built);
  r.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  INFO(c.out);
  REQUIRE(c.code == 0);
  // Run it away from the build tree: a folder of its own, as its working directory.
  std::string away = fresh_dir("away-" + tag);
  r.exe = away + "/" + tag;
  fs::copy_file(built, r.exe);
  fs::copy_file(r.input, away + "/in.npy");
  Shell run = sh("cd " + away + " && ./" + tag + " --input data=in.npy --output out.npy");
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK(run.out.find("output 0: ") != std::string::npos);
  Shell ref = hgc_tool("run " + model + " --params " + r.params + " --input data=" + r.input + " --output " + r.dir +
                       "/ref.npy");
  INFO(ref.out);
  REQUIRE(ref.code == 0);
  HostTensor got = load_npy(away + "/out.npy"), want = load_npy(r.dir + "/ref.npy");
  CHECK(rel_diff(got, want) <= 1e-5);
  Shell ldd = sh("ldd " + r.exe);
  INFO(ldd.out);
  CHECK(ldd.code == 0);
  CHECK(ldd.out.find("libMLIR") == std::string::npos);
  CHECK(ldd.out.find("libLLVM") == std::string::npos);
  CHECK(ldd.out.find("not found") == std::string::npos);
  return r;
}

const std::string kMlp = test::source_path("models/mlp/straight_dope_mlp-symbol.json");

}  // namespace

TEST_CASE("hgc compile: the project's MLP runs standalone and equals hgc run; figures") {
  EndToEnd b1 = compile_and_compare(kMlp, {1, 512}, "mlp1");
  EndToEnd b64 = compile_and_compare(kMlp, {64, 512}, "mlp64");
  // Figures for the issue (no thresholds): compile time, size, AOT vs JIT latency.
  auto latency = [](const EndToEnd& e, int batch) {
    double aot = median_ms(sh(e.exe + " --input data=" + e.input + " --repeat 200").out);
    double jit = median_ms(hgc_tool("run " + kMlp + " --params " + e.params + " --input data=" + e.input + " --time 200").out);
    MESSAGE("MLP batch " << batch << ": compiled program " << aot << " ms, hgc run (JIT) " << jit << " ms (median of 200)");
    CHECK(aot > 0);
    CHECK(jit > 0);
  };
  MESSAGE("MLP hgc compile (batch 1): " << b1.compile_ms << " ms wall, executable " << fs::file_size(b1.exe) << " bytes");
  // The program links the runtime and base libraries (and oneDNN/OpenBLAS), never the IR
  // library or MLIR/LLVM: no graph, op-registry, inference or JSON symbols in it.
  test::Shell nm = sh("nm -C " + b1.exe);
  REQUIRE(nm.code == 0);
  CHECK(nm.out.find("hgc::Executable::run") != std::string::npos);
  for (const char* ir : {"hgc::Graph::", "hgc::OpRegistry", "hgc::OpDef", "hgc::infer(", "hgc::load_json", "hgc::AttrView", "mlir::", "llvm::"})
    CHECK_MESSAGE(nm.out.find(ir) == std::string::npos, "the AOT program contains " << ir << " symbols");
  test::Shell ldd = sh("ldd " + b1.exe);
  CHECK(ldd.out.find("libMLIR") == std::string::npos);
  CHECK(ldd.out.find("libLLVM") == std::string::npos);
  latency(b1, 1);
  latency(b64, 64);
}

TEST_CASE("hgc compile: a program loads OpenBLAS and oneDNN at its first call into them, and computes right") {
  // y = x . w^T + b at 1 x 1024 -> 2048: a matrix-vector product past fully_connected's own
  // loops (library.cc), so OpenBLAS's sgemv; the MLP at batch 64 runs oneDNN's packed
  // primitives, at batch 1 neither library (runtime/aot_lazy.cc).
  Graph g;
  int data = g.add_variable("data"), w = g.add_variable("w"), b = g.add_variable("b");
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  int y = g.add_node("FullyConnected", "fc", {{data, 0}, {w, 0}, {b, 0}},
                     {{"num_hidden", parse_attr(*fc.attr_spec("num_hidden"), "2048")}});
  g.heads.push_back({y, 0});
  std::string d = fresh_dir("lazy-libs");
  save_json_file(g, d + "/m-symbol.json");
  constexpr int64_t K = 1024, N = 2048;
  HostTensor wt = random_input({N, K}, 3), bt = random_input({N}, 4), x = random_input({1, K}, 5);
  save_params(d + "/m.params", ParamList{{"arg:w", wt}, {"arg:b", bt}});
  save_npy(d + "/x.npy", x);
  Shell c = hgc_tool("compile " + d + "/m-symbol.json --params " + d + "/m.params --shape data=1x1024 -o " + d + "/prog");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  std::vector<double> want(N);
  double scale = 0;
  for (int64_t j = 0; j < N; ++j) {
    double acc = bt.data<float>()[j];
    for (int64_t k = 0; k < K; ++k) acc += double(x.data<float>()[k]) * wt.data<float>()[j * K + k];
    want[j] = acc;
    scale = std::max(scale, std::abs(acc));
  }
  // Which libraries each run loaded, as the dynamic loader reports them.
  auto loaded = [](const std::string& cmd) {
    Shell r = sh("LD_DEBUG=files " + cmd + " 2>&1");
    INFO(r.out);
    REQUIRE(r.code == 0);
    return std::make_pair(r.out.find("file=libopenblas") != std::string::npos,
                          r.out.find("file=libdnnl") != std::string::npos);
  };
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    auto [blas, dnnl] = loaded(d + "/prog --input " + d + "/x.npy --output " + d + "/y.npy --threads " + std::to_string(threads));
    CHECK(blas);
    CHECK_FALSE(dnnl);
    HostTensor got = load_npy(d + "/y.npy");
    REQUIRE(got.shape() == std::vector<int64_t>{1, N});
    double worst = 0;
    for (int64_t j = 0; j < N; ++j) worst = std::max(worst, std::abs(got.data<float>()[j] - want[j]));
    CHECK(worst <= 1e-5 * scale);
  }
  EndToEnd b1 = compile_and_compare(kMlp, {1, 512}, "lazy1");
  EndToEnd b64 = compile_and_compare(kMlp, {64, 512}, "lazy64");
  auto [blas1, dnnl1] = loaded(b1.exe + " --input " + b1.input + " --threads 2");
  CHECK_FALSE(blas1);
  CHECK_FALSE(dnnl1);
  auto [blas64, dnnl64] = loaded(b64.exe + " --input " + b64.input + " --threads 2 --repeat 3");
  CHECK_FALSE(blas64);
  CHECK(dnnl64);
#if defined(__x86_64__)
  // The libraries are not the program's dependencies: nothing loads them at its start.
  for (const std::string& exe : {d + "/prog", b64.exe}) {
    Shell ldd = sh("ldd " + exe);
    INFO(ldd.out);
    CHECK(ldd.out.find("libopenblas") == std::string::npos);
    CHECK(ldd.out.find("libdnnl") == std::string::npos);
  }
#endif
  fs::remove_all(d);
}

TEST_CASE("hgc compile: shared djl_mlp and ResNet-18 run standalone and equal hgc run") {
  if (auto m = test::shared_model("djl_mlp-symbol.json")) compile_and_compare(*m, {1, 784}, "djl_mlp");
  if (auto m = test::shared_model("djl_resnet18_v1-symbol.json")) {
    EndToEnd r = compile_and_compare(*m, {1, 3, 224, 224}, "resnet18");
    MESSAGE("ResNet-18 hgc compile: " << r.compile_ms << " ms, executable " << fs::file_size(r.exe) << " bytes");
  }
}

TEST_CASE("hgc compile: --emit=mlir|llvm|obj write the intermediate forms") {
  std::string d = fresh_dir("compile-emit");
  for (const char* kind : {"mlir", "llvm", "obj"}) {
    CAPTURE(kind);
    std::string out = d + "/mlp." + kind;
    Shell r = hgc_tool("compile " + kMlp + " --shape data=1x512 --emit=" + kind + " -O2 -o " + out);
    INFO(r.out);
    REQUIRE(r.code == 0);
    std::string text = read_file(out, "test");
    if (std::string(kind) == "mlir") CHECK(text.find("func.func @k0") != std::string::npos);
    if (std::string(kind) == "llvm") CHECK(text.find("_mlir__mlir_ciface_k0") != std::string::npos);
    if (std::string(kind) == "obj") CHECK(text.compare(0, 4, "\x7f" "ELF") == 0);
  }
  Shell bad = hgc_tool("compile " + kMlp + " --shape data=1x512 --emit=bogus -o " + d + "/x");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("--emit takes") != std::string::npos);
}

TEST_CASE("hgc compile: clear errors, nothing half-written") {
  std::string d = fresh_dir("compile-errors");
  auto nothing_left = [&] {
    for (const auto& e : fs::directory_iterator(d))
      CHECK_MESSAGE(e.path().filename().string().find("out") == std::string::npos, "left behind: " << e.path());
  };
  SUBCASE("unknown op") {
    std::string model = d + "/bad-symbol.json";
    std::ofstream(model) << R"({"nodes": [{"op": "null", "name": "data", "inputs": []},
      {"op": "NoSuchOp", "name": "weird", "inputs": [[0, 0, 0]]}], "arg_nodes": [0], "heads": [[1, 0, 0]]})";
    Shell r = hgc_tool("compile " + model + " --shape data=1x4 -o " + d + "/out");
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("NoSuchOp") != std::string::npos);
    nothing_left();
  }
  SUBCASE("missing shapes") {
    Shell r = hgc_tool("compile " + kMlp + " -o " + d + "/out");
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("--shape") != std::string::npos);
    CHECK(r.out.find("data") != std::string::npos);
    nothing_left();
  }
  SUBCASE("params that don't match the graph") {
    Graph g = inferred(kMlp, {1, 512});
    auto p = random_params(g, 1);
    p["hybridsequential0_dense0_weight"] = HostTensor(DType::f32, {256, 100});
    write_params(g, p, d + "/bad.params");
    Shell r = hgc_tool("compile " + kMlp + " --params " + d + "/bad.params --shape data=1x512 -o " + d + "/out");
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("hybridsequential0_dense0_weight") != std::string::npos);
    CHECK(r.out.find("100") != std::string::npos);
    nothing_left();
  }
  SUBCASE("unwritable output path") {
    std::string out = d + "/no-such-folder/out";
    Shell r = hgc_tool("compile " + kMlp + " --shape data=1x512 -o " + out);
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("cannot write output") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    nothing_left();
  }
  SUBCASE("a failed compile keeps an existing output") {
    std::ofstream(d + "/out") << "old";
    Shell r = hgc_tool("compile " + kMlp + " -o " + d + "/out");
    CHECK(r.code == 1);
    CHECK(read_file(d + "/out", "test") == "old");
    fs::remove(d + "/out");
    nothing_left();
  }
  SUBCASE("the program names a missing input") {
    std::string exe = d + "/prog";
    REQUIRE(hgc_tool("compile " + kMlp + " --shape data=1x512 -o " + exe).code == 0);
    Shell r = sh(exe);
    CHECK(r.code == 1);
    CHECK(r.out.find("input 'data' (1, 512) float32 was not given") != std::string::npos);
    save_npy(d + "/wrong.npy", random_input({1, 7}, 0));
    r = sh(exe + " --input data=" + d + "/wrong.npy");
    CHECK(r.code == 1);
    CHECK(r.out.find("compiled for (1, 512)") != std::string::npos);
  }
}

namespace {
// The MLP compiled in process with frozen params, and a resolver over its JIT kernels.
struct InProcess {
  std::shared_ptr<const Executable> exe;
  KernelResolver resolve;
  HostTensor x;
};
InProcess mlp_in_process() {
  Graph g = inferred(kMlp, {4, 512});
  InProcess r;
  r.exe = compile(g, CompileOptions(), random_params(g, 3));
  auto exe = r.exe;
  r.resolve = [exe](const std::string& name) -> PackedKernel {
    for (const Step& s : exe->steps)
      if (s.kernel_name == name) return s.kernel;
    return nullptr;
  };
  r.x = random_input({4, 512}, 5);
  return r;
}
}  // namespace

TEST_CASE("plan serialization round-trips an executable exactly") {
  InProcess p = mlp_in_process();
  std::string blob = save_plan(*p.exe);
  auto back = load_plan(blob, "blob", p.resolve);
  CHECK(save_plan(*back) == blob);
  REQUIRE(back->steps.size() == p.exe->steps.size());
  bool library = false;
  for (const Step& s : back->steps) library = library || !s.call.empty();
  CHECK(library);  // the dense layers are library calls, rebuilt from their description
  HostTensor a = p.exe->run({{"data", p.x}})[0], b = back->run({{"data", p.x}})[0];
  REQUIRE(a.nbytes() == b.nbytes());
  CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

TEST_CASE("plan loading refuses truncated, corrupt and inconsistent bytes") {
  InProcess p = mlp_in_process();
  const std::string blob = save_plan(*p.exe);
  // Every cut of the header and step sections, and a spread of cuts through the constants.
  for (size_t n = 0; n < blob.size(); n += n < 2048 ? 1 : blob.size() / 97) {
    CAPTURE(n);
    CHECK_THROWS_AS(load_plan(blob.substr(0, n), "cut", p.resolve), Error);
  }
  CHECK_THROWS_WITH_AS(load_plan(blob + "x", "long", p.resolve), doctest::Contains("after the plan"), Error);
  std::string magic = blob;
  magic[0] = 'X';
  CHECK_THROWS_WITH_AS(load_plan(magic, "m", p.resolve), doctest::Contains("bad magic"), Error);
  std::string version = blob;
  version[8] = 9;
  CHECK_THROWS_WITH_AS(load_plan(version, "v", p.resolve), doctest::Contains("version"), Error);
  // Random byte flips in the structure: an hgc::Error or a plan that still checks out,
  // never a crash.
  std::mt19937 rng(1);
  for (int i = 0; i < 3000; ++i) {
    std::string b = blob;
    b[rng() % 2048 % b.size()] ^= static_cast<char>(1u << (rng() % 8));
    try {
      load_plan(b, "flip", p.resolve);
    } catch (const Error&) {
    }
  }
  auto mutated = [&](auto edit) {
    Executable e = *p.exe;
    edit(e);
    return save_plan(e);
  };
  CHECK_THROWS_WITH_AS(load_plan(mutated([](Executable& e) {
                                   for (BufferInfo& b : e.buffers)
                                     if (b.kind == BufferKind::Arena) b.offset = e.arena_bytes;
                                 }),
                                 "arena", p.resolve),
                       doctest::Contains("outside the arena"), Error);
  CHECK_THROWS_WITH_AS(load_plan(mutated([](Executable& e) {
                                   for (Step& s : e.steps)
                                     if (!s.call.empty()) s.call.params[0] *= 1000;
                                 }),
                                 "gemm", p.resolve),
                       doctest::Contains("the call needs"), Error);
  CHECK_THROWS_WITH_AS(load_plan(mutated([](Executable& e) { e.steps[0].args[0] = 999; }), "args", p.resolve),
                       doctest::Contains("refers to buffer 999"), Error);
  CHECK_THROWS_WITH_AS(load_plan(blob, "nokernels", [](const std::string&) -> PackedKernel { return nullptr; }),
                       doctest::Contains("is not in this program"), Error);
}

TEST_CASE("hgc compile: a parameter only data slots read (a positional table) is frozen from --params") {
  // data (2, 3) + pos (3,) broadcast: `pos` reaches no weight slot, so by role it looks like
  // an input; the --params file names it, so the program must embed it and ask only for data.
  Graph g;
  int data = g.add_variable("data"), pos = g.add_variable("pos");
  int y = g.add_node("broadcast_add", "y", {{data, 0}, {pos, 0}}, {});
  g.heads.push_back({y, 0});
  std::string d = test::temp_dir() + "/posparam";
  fs::create_directories(d);
  save_json_file(g, d + "/m-symbol.json");
  HostTensor p(DType::f32, {1, 3}), x(DType::f32, {2, 3});
  for (int i = 0; i < 3; ++i) p.data<float>()[i] = 10.f * static_cast<float>(i + 1);
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i);
  save_params(d + "/m.params", ParamList{{"arg:pos", p}});
  save_npy(d + "/x.npy", x);
  Shell c = hgc_tool("compile " + d + "/m-symbol.json --params " + d + "/m.params --shape data=2x3 -o " + d + "/prog");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  Shell r = sh(d + "/prog --input " + d + "/x.npy --output " + d + "/y.npy");  // one input: data
  REQUIRE_MESSAGE(r.code == 0, r.out);
  HostTensor out = load_npy(d + "/y.npy");
  REQUIRE(out.shape() == std::vector<int64_t>{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(out.data<float>()[i] == doctest::Approx(i + 10.0 * (i % 3 + 1)));
  fs::remove_all(d);
}
