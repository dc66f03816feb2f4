// The on-disk kernel cache: load_object round trips and refuses bad objects; a second
// compile of a graph is a disk hit with the same results; corrupt entries are detected,
// ignored and rewritten; an unwritable folder does not break compilation; concurrent
// compiles into one empty folder both succeed; and a second `hgc run` process starts warm.
// Times are printed (MESSAGE), never asserted.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/compiler/jit.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/ir/infer.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;
namespace fs = std::filesystem;

namespace {

// y[i] = 2 * x[i]
const char* kDouble = R"mlir(
#id1 = affine_map<(d0) -> (d0)>
func.func @twice(%x: memref<?xf32>, %y: memref<?xf32>) attributes {llvm.emit_c_interface} {
  %tx = bufferization.to_tensor %x restrict : memref<?xf32>
  %ty = bufferization.to_tensor %y restrict writable : memref<?xf32>
  %r = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%tx : tensor<?xf32>) outs(%ty : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  bufferization.materialize_in_destination %r in restrict writable %y
      : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}
)mlir";

// A fresh, empty folder, removed (with everything in it) at the end of the test.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> n{0};
    fs::path d = fs::path(test::temp_dir()) / ("kernel-cache-" + tag + "-" + std::to_string(n++));
    fs::remove_all(d);
    fs::create_directories(d);
    path = d.string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
  operator const std::string&() const { return path; }
};

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  return out;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// out = sigmoid(tanh(a + b) * a): three generated kernels, values checkable by hand.
struct SmallGraph {
  Graph g;
  std::map<std::string, HostTensor> inputs;
  std::vector<float> want;

  SmallGraph() {
    int a = g.add_variable("a"), b = g.add_variable("b");
    int s = g.add_node("elemwise_add", "add", {{a, 0}, {b, 0}}, {});
    int t = g.add_node("tanh", "tanh", {{s, 0}}, {});
    int m = g.add_node("elemwise_mul", "mul", {{t, 0}, {a, 0}}, {});
    int o = g.add_node("sigmoid", "out", {{m, 0}}, {});
    g.heads.push_back({o, 0});
    InferOptions io;
    io.shapes["a"] = Shape{4, 33};
    io.shapes["b"] = Shape{4, 33};
    infer(g, io);
    HostTensor ta(DType::f32, {4, 33}), tb(DType::f32, {4, 33});
    for (int64_t i = 0; i < ta.numel(); ++i) {
      float x = 0.05f * static_cast<float>(i % 37) - 0.9f, y = 0.5f - 0.02f * static_cast<float>(i % 11);
      ta.data<float>()[i] = x;
      tb.data<float>()[i] = y;
      want.push_back(1.f / (1.f + std::exp(-std::tanh(x + y) * x)));
    }
    inputs = {{"a", ta}, {"b", tb}};
  }

  // Compiles (timed) and runs; checks the values.
  std::vector<float> run(const CompileOptions& o, double* ms = nullptr) {
    auto t0 = std::chrono::steady_clock::now();
    auto exe = compile(g, o);
    if (ms) *ms = ms_since(t0);
    std::vector<HostTensor> out = exe->run(inputs);
    REQUIRE(out.size() == 1);
    std::vector<float> got(out[0].data<float>(), out[0].data<float>() + out[0].numel());
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(std::fabs(got[i] - want[i]) < 1e-5f);
    return got;
  }

  std::string key(const CompileOptions& o) const {
    return kernel_cache_key(emit_mlir(g), JitOptions().opt(o.opt_level).cpu(o.target_cpu));
  }
};

// The memory cache off, so every compile reaches the disk cache in `dir`.
CompileOptions disk_only(const std::string& dir) { return CompileOptions().cache(false).cache_folder(dir); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

using Run = test::Shell;
Run run_tool(const std::string& env, const std::string& args) { return test::hgc_tool(args, env); }

// Runs module `jm`'s kernel "twice" over {1, 2, 3, -4.5, 0}.
std::vector<float> run_twice(const std::shared_ptr<JitModule>& jm) {
  std::vector<float> x = {1, 2, 3, -4.5f, 0}, y(5, -1);
  MemRefDesc<1> dx{x.data(), x.data(), 0, {5}, {1}}, dy{y.data(), y.data(), 0, {5}, {1}};
  void* px = &dx;
  void* py = &dy;
  void* args[] = {&px, &py};
  jm->lookup("twice")(args);
  return y;
}

}  // namespace

TEST_CASE("load_object runs compile_to_object's code and refuses bad objects") {
  std::string obj = compile_to_object(kDouble);
  auto jm = load_object(obj, {"twice"});
  REQUIRE(jm->contains("twice"));
  CHECK(jm->kernel_names() == std::vector<std::string>{"twice"});
  CHECK(run_twice(jm) == std::vector<float>{2, 4, 6, -9, 0});
  MESSAGE("load_object: " << jm->compile_ms() << " ms for a " << obj.size() << "-byte object");

  CHECK_THROWS_AS(load_object("not an object at all", {"twice"}), Error);
  CHECK_THROWS_AS(load_object(std::string(4096, '\0'), {"twice"}), Error);
  CHECK_THROWS_AS(load_object(obj.substr(0, obj.size() / 3), {"twice"}), Error);
  try {
    load_object(obj, {"twice", "thrice"});
    FAIL("a missing kernel must throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("thrice") != std::string::npos);
  }

  // The target id names the CPU and the LLVM version; a named CPU is itself.
  std::string native = host_target_id(), v3 = host_target_id(JitOptions().cpu("x86-64-v3"));
  CHECK(native.find("llvm ") != std::string::npos);
  CHECK(v3.find("x86-64-v3") != std::string::npos);
  CHECK(native != v3);
  CHECK_THROWS_AS(host_target_id(JitOptions().cpu("no-such-cpu")), Error);
}

// load_object links every object in one shared ORC session, each in a dylib of its own: two
// modules may define the same kernel name, each serves its own code, and releasing one (its
// dylib removed) leaves the others running; a failed load leaves nothing behind that breaks
// the next; loads from several threads at once all link.
TEST_CASE("load_object: modules share one linker, not their kernel names") {
  std::string square = kDouble;
  square.replace(square.find("arith.addf %v, %v"), std::strlen("arith.addf %v, %v"), "arith.mulf %v, %v");
  const std::string twice_obj = compile_to_object(kDouble), square_obj = compile_to_object(square);
  auto* run = &run_twice;
  const std::vector<float> doubled = {2, 4, 6, -9, 0}, squared = {1, 4, 9, 20.25f, 0};
  auto a = load_object(twice_obj, {"twice"});
  auto b = load_object(square_obj, {"twice"});
  auto c = load_object(twice_obj, {"twice"});  // the same object again: a module of its own
  const bool own_code = a->lookup("twice") != b->lookup("twice") && a->lookup("twice") != c->lookup("twice");
  CHECK(own_code);
  CHECK(run(a) == doubled);
  CHECK(run(b) == squared);
  CHECK(run(c) == doubled);
  a.reset();  // its code freed; the others stay
  CHECK(run(b) == squared);
  CHECK(run(c) == doubled);
  CHECK_THROWS_AS(load_object(square_obj, {"twice", "thrice"}), Error);
  CHECK(run(load_object(square_obj, {"twice"})) == squared);

  std::vector<std::shared_ptr<JitModule>> loaded(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < loaded.size(); ++i)
    threads.emplace_back([&, i] { loaded[i] = load_object(i % 2 ? square_obj : twice_obj, {"twice"}); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < loaded.size(); ++i) CHECK(run(loaded[i]) == (i % 2 ? squared : doubled));
}

TEST_CASE("DiskCache: put/get round trip, key check, stats") {
  TempDir dir("kv");
  DiskCache c(dir);
  CHECK_FALSE(c.get("k1").has_value());
  CHECK(c.put("k1", std::string("payload\0with nul", 16)));
  auto v = c.get("k1");
  REQUIRE(v.has_value());
  CHECK(*v == std::string("payload\0with nul", 16));
  // Another key stored at k1's file name (a hash collision) is a miss, not k1's payload.
  fs::copy_file(c.path_for("k1"), c.path_for("k2"));
  CHECK_FALSE(c.get("k2").has_value());
  CHECK_FALSE(fs::exists(c.path_for("k2")));
  DiskCache::Stats s = c.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.corrupt == 1);
  CHECK(s.writes == 1);
  // Empty payloads and a disabled cache.
  CHECK(c.put("empty", ""));
  CHECK(c.get("empty") == std::string());
  DiskCache off("");
  CHECK_FALSE(off.enabled());
  CHECK_FALSE(off.put("k", "v"));
  CHECK_FALSE(off.get("k").has_value());
  // Pruning drops the least recently used entries first.
  c.put("big1", std::string(10000, 'a'));
  c.put("big2", std::string(10000, 'b'));
  fs::last_write_time(c.path_for("big1"), fs::file_time_type::clock::now() - std::chrono::hours(2));
  c.prune(15000);
  CHECK_FALSE(fs::exists(c.path_for("big1")));
  CHECK(fs::exists(c.path_for("big2")));
}

TEST_CASE("disk cache: the second compile of a graph is a disk hit, with the same results") {
  TempDir dir("hit");
  DiskCache& dc = DiskCache::at(dir);
  SmallGraph sg;
  CompileOptions o = disk_only(dir);
  double cold = 0, warm = 0;
  std::vector<float> first = sg.run(o, &cold);
  DiskCache::Stats s1 = dc.stats();
  CHECK(s1.misses == 1);
  CHECK(s1.hits == 0);
  CHECK(s1.writes == 1);
  std::vector<float> second = sg.run(o, &warm);
  DiskCache::Stats s2 = dc.stats();
  CHECK(s2.hits == 1);
  CHECK(s2.misses == 1);
  CHECK(s2.writes == 1);
  CHECK(first == second);  // the same object code: bit-identical results
  // One entry, named after the key; no temp files left.
  auto files = files_in(dir);
  REQUIRE(files.size() == 1);
  CHECK(dir.path + "/" + files[0] == dc.path_for(sg.key(o)));
  MESSAGE("in-process, " << sg.g.nodes.size() - 2 << " kernels in one module: cold compile " << cold
                         << " ms, disk-warm load " << warm << " ms (" << cold / warm << "x)");

  // Disabled per compile: no disk traffic.
  sg.run(o.disk(false));
  CHECK(dc.stats().hits == 1);
  CHECK(dc.stats().misses == 1);
  // Another opt level is another key.
  sg.run(disk_only(dir).opt(1));
  CHECK(dc.stats().misses == 2);
  CHECK(files_in(dir).size() == 2);
}

TEST_CASE("disk cache: corrupt entries are detected, ignored and rewritten") {
  TempDir dir("corrupt");
  DiskCache& dc = DiskCache::at(dir);
  SmallGraph sg;
  CompileOptions o = disk_only(dir);
  sg.run(o);
  std::string path = dc.path_for(sg.key(o));
  REQUIRE(fs::exists(path));
  const std::string good = read_file(path, "test");

  struct Damage {
    const char* what;
    std::string bytes;
  };
  std::string flipped_payload = good, flipped_magic = good, flipped_key = good;
  flipped_payload[good.size() - 100] ^= 0x40;
  flipped_magic[0] ^= 0x01;
  flipped_key[40] ^= 0x01;
  for (const Damage& d : {Damage{"truncated to half", good.substr(0, good.size() / 2)},
                          Damage{"truncated by one byte", good.substr(0, good.size() - 1)},
                          Damage{"header only", good.substr(0, 16)}, Damage{"empty", ""},
                          Damage{"a payload byte flipped", flipped_payload}, Damage{"magic flipped", flipped_magic},
                          Damage{"a key byte flipped", flipped_key}, Damage{"one byte longer", good + "x"}}) {
    CAPTURE(d.what);
    write_bytes(path, d.bytes);
    DiskCache::Stats before = dc.stats();
    sg.run(o);  // correct results: the bad entry was not used
    DiskCache::Stats after = dc.stats();
    CHECK(after.corrupt == before.corrupt + 1);
    CHECK(after.misses == before.misses + 1);
    CHECK(after.hits == before.hits);
    CHECK(after.writes == before.writes + 1);
    CHECK(read_file(path, "test") == good);  // rewritten (the same object: deterministic)
    sg.run(o);
    CHECK(dc.stats().hits == after.hits + 1);
  }

  // An intact entry whose payload is not a loadable object: load_object refuses it, the
  // compile goes on, and the entry is replaced.
  REQUIRE(dc.put(sg.key(o), "intact header, but no ELF object inside"));
  DiskCache::Stats before = dc.stats();
  sg.run(o);
  DiskCache::Stats after = dc.stats();
  CHECK(after.corrupt == before.corrupt + 1);
  CHECK(after.hits == before.hits);
  CHECK(read_file(path, "test") == good);
}

TEST_CASE("disk cache: an unwritable folder does not break compilation") {
  SmallGraph sg;
  // A folder that cannot be created (its parent is a file): even root cannot write there.
  TempDir parent("unwritable");
  std::string file = parent.path + "/a-file";
  write_bytes(file, "not a folder");
  std::string dir = file + "/kernels";
  DiskCache& dc = DiskCache::at(dir);
  sg.run(disk_only(dir));
  sg.run(disk_only(dir));
  CHECK(dc.stats().write_failures == 2);
  CHECK(dc.stats().writes == 0);
  CHECK(dc.stats().hits == 0);
  // A read-only folder (meaningful when not root; root writes anyway).
  TempDir ro("readonly");
  fs::permissions(ro.path, fs::perms::owner_read | fs::perms::owner_exec);
  sg.run(disk_only(ro));
  DiskCache::Stats s = DiskCache::at(ro).stats();
  CHECK(s.writes + s.write_failures == 1);
  fs::permissions(ro.path, fs::perms::owner_all);
}

TEST_CASE("disk cache: concurrent compiles of one graph into one empty folder") {
  TempDir dir("threads");
  DiskCache& dc = DiskCache::at(dir);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      try {
        SmallGraph sg;  // each thread its own graph object; the same kernels
        auto exe = compile(sg.g, disk_only(dir));
        auto out = exe->run(sg.inputs);
        results[i].assign(out[0].data<float>(), out[0].data<float>() + out[0].numel());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  SmallGraph sg;
  for (int i = 0; i < kThreads; ++i) {
    CAPTURE(i);
    CHECK(errors[i].empty());
    REQUIRE(results[i].size() == sg.want.size());
    for (size_t k = 0; k < sg.want.size(); ++k) REQUIRE(std::fabs(results[i][k] - sg.want[k]) < 1e-5f);
  }
  DiskCache::Stats s = dc.stats();
  CHECK(s.hits + s.misses == kThreads);
  CHECK(s.corrupt == 0);
  CHECK(s.write_failures == 0);
  CHECK(files_in(dir) == std::vector<std::string>{fs::path(dc.path_for(sg.key(disk_only(dir)))).filename().string()});
  auto again = DiskCache::at(dir).get(sg.key(disk_only(dir)));
  CHECK(again.has_value());
}

TEST_CASE("disk cache: imperative kernels go through it too") {
  TempDir dir("imperative");
  DiskCache& dc = DiskCache::at(dir);
  CompileOptions o = CompileOptions().cache_folder(dir);
  HostTensor x(DType::f32, {3, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.25f * static_cast<float>(i) - 1.f;
  clear_kernel_cache();
  auto t0 = std::chrono::steady_clock::now();
  HostTensor a = invoke("Activation", {{"act_type", "softrelu"}}, {x}, o)[0];
  double cold = ms_since(t0);
  CHECK(dc.stats().misses == 1);
  CHECK(dc.stats().writes == 1);
  clear_kernel_cache();  // as if in a new process: only the disk knows the kernel
  t0 = std::chrono::steady_clock::now();
  HostTensor b = invoke("Activation", {{"act_type", "softrelu"}}, {x}, o)[0];
  double warm = ms_since(t0);
  CHECK(dc.stats().hits == 1);
  CHECK(kernel_cache_stats().misses == 1);  // a miss of the in-memory cache, served from disk
  for (int64_t i = 0; i < x.numel(); ++i) {
    CHECK(a.data<float>()[i] == b.data<float>()[i]);
    CHECK(a.data<float>()[i] == doctest::Approx(std::log1p(std::exp(x.data<float>()[i]))).epsilon(1e-5));
  }
  MESSAGE("imperative Activation(softrelu): cold compile " << cold << " ms, disk-warm load " << warm << " ms");
  clear_kernel_cache();
}

TEST_CASE("disk cache: a second hgc process starts warm") {
  std::string model = test::source_path("models/mlp/straight_dope_mlp-symbol.json");
  REQUIRE(fs::exists(model));
  TempDir dir("process");
  std::string env = "HGC_CACHE_DIR='" + dir.path + "'";
  std::string args = "run '" + model + "' --input data=1x512:random";
  std::regex compiled(R"(compiled (\d+) steps in ([0-9.]+) ms)");
  auto compile_ms = [&](const Run& r) {
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(r.out, m, compiled), r.out);
    return std::stod(m[2]);
  };
  Run cold = run_tool(env, args);
  REQUIRE_MESSAGE(cold.code == 0, cold.out);
  CHECK(files_in(dir).size() == 1);
  Run warm = run_tool(env, args);
  REQUIRE_MESSAGE(warm.code == 0, warm.out);
  // The same output lines (sum, first values): the same object code ran.
  CHECK(cold.out.substr(cold.out.find("output")) == warm.out.substr(warm.out.find("output")));
  CHECK(files_in(dir).size() == 1);
  double c = compile_ms(cold), w = compile_ms(warm);
  MESSAGE("across processes (hgc run, Straight Dope MLP, data=1x512): cold " << c << " ms, warm " << w << " ms ("
                                                                             << c / w << "x)");
  // HGC_CACHE_DIR="" turns the disk cache off: nothing written anywhere we can see, still runs.
  Run off = run_tool("HGC_CACHE_DIR=", args);
  CHECK_MESSAGE(off.code == 0, off.out);
}
