// `hgc compile --emit=lib|asm`, `--params-beside` and the program's `--threads`: a C
// program linked against the generated library runs the MLP from 4 threads at once with
// the results of single-threaded calls and of `hgc run`.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "hgc/base/files.h"
#include "support/compile_util.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;
namespace fs = std::filesystem;

namespace {

const std::string kMlp = source_path("models/mlp/straight_dope_mlp-symbol.json");
constexpr int kThreads = 4;

// The C program: metadata and error checks, single-threaded reference runs of each of the 4
// inputs (written to argv[2]), 4 threads x 50 concurrent runs compared bit for bit with
// them, and the median latency of one call.
const char* kProgram = R"(#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mlp.h"

#define T 4
#define REP 50
static float* in[T];
static float* ref[T];
static long n_in, n_out;
static int mismatches, failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}
static void* worker(void* arg) {
  long t = (long)arg;
  float* out = malloc(n_out * sizeof(float));
  for (int r = 0; r < REP; ++r) {
    const float* ins[] = {in[t]};
    float* outs[] = {out};
    int rc = model_run(ins, outs);
    pthread_mutex_lock(&mu);
    if (rc != 0) ++failures;
    else if (memcmp(out, ref[t], n_out * sizeof(float)) != 0) ++mismatches;
    pthread_mutex_unlock(&mu);
  }
  free(out);
  return NULL;
}
int main(int argc, char** argv) {
  int64_t dims[8];
  int nd = model_input_shape(0, dims);
  printf("model=%s inputs=%d name=%s ndim=%d shape=%lldx%lld dtype=%s\n", model_name(), model_num_inputs(),
         model_input_name(0), nd, (long long)dims[0], (long long)dims[1], model_input_dtype(0));
  nd = model_output_shape(0, dims);
  printf("outputs=%d name=%s ndim=%d shape=%lldx%lld dtype=%s\n", model_num_outputs(), model_output_name(0),
         model_output_ndim(0), (long long)dims[0], (long long)dims[1], model_output_dtype(0));
  if (model_input_name(7) == NULL && strstr(model_last_error(), "out of range")) printf("bad index: ok\n");
  if (model_run(NULL, NULL) == 3 && strstr(model_last_error(), "null")) printf("null args: ok\n");
  n_in = model_input_size(0) / sizeof(float);
  n_out = model_output_size(0) / sizeof(float);
  FILE* f = fopen(argv[1], "rb");
  FILE* g = fopen(argv[2], "wb");
  if (!f || !g) return 2;
  for (int t = 0; t < T; ++t) {
    in[t] = malloc(n_in * sizeof(float));
    ref[t] = malloc(n_out * sizeof(float));
    if (fread(in[t], sizeof(float), n_in, f) != (size_t)n_in) return 2;
    const float* ins[] = {in[t]};
    float* outs[] = {ref[t]};
    if (model_run(ins, outs) != 0) {
      fprintf(stderr, "model_run: %s\n", model_last_error());
      return 1;
    }
    fwrite(ref[t], sizeof(float), n_out, g);
  }
  fclose(f);
  fclose(g);
  pthread_t th[T];
  for (long t = 0; t < T; ++t) pthread_create(&th[t], NULL, worker, (void*)t);
  for (int t = 0; t < T; ++t) pthread_join(th[t], NULL);
  printf("concurrent: %d runs, mismatches=%d failures=%d\n", T * REP, mismatches, failures);
  double ms[200];
  float* out = malloc(n_out * sizeof(float));
  for (int r = 0; r < 200; ++r) {
    const float* ins[] = {in[0]};
    float* outs[] = {out};
    double t0 = now_ms();
    model_run(ins, outs);
    ms[r] = now_ms() - t0;
  }
  qsort(ms, 200, sizeof(double), cmp);
  printf("median latency over 200 runs: %.4f ms\n", ms[100]);
  free(out);
  for (int t = 0; t < T; ++t) free(in[t]), free(ref[t]);
  return 0;
}
)";

std::string link_line(const std::string& header) {
  std::string h = read_file(header, "test");
  auto p = h.find("HGC_LINK: ");
  REQUIRE(p != std::string::npos);
  return h.substr(p + 10, h.find('\n', p) - p - 10);
}

std::string c_compiler() {
  for (const char* cc : {"cc", "clang-19", "clang", "gcc"}) {
    Shell r = sh(std::string("command -v ") + cc);
    if (r.code == 0) return cc;
  }
  FAIL("no C compiler on PATH");
  return "";
}

// Compiles the MLP to `lib` in `dir`, builds the C program against it and runs it there.
Shell build_and_run(const std::string& dir, const std::string& lib, const std::string& params) {
  Shell c = hgc_tool("compile " + kMlp + " --params " + params + " --shape data=1x512 --emit=lib -o " + dir + "/" + lib);
  INFO(c.out);
  REQUIRE(c.code == 0);
  REQUIRE(fs::exists(dir + "/mlp.h"));
  std::ofstream(dir + "/prog.c") << kProgram;
  Shell b = sh("cd " + dir + " && " + c_compiler() + " -O1 -c -I. prog.c -o prog.o && " + link_line(dir + "/mlp.h"));
  INFO(b.out);
  REQUIRE(b.code == 0);
  Shell r = sh("cd " + dir + " && ./prog inputs.raw refs.raw");
  INFO(r.out);
  REQUIRE(r.code == 0);
  return r;
}

}  // namespace

TEST_CASE("hgc compile --emit=lib: a C program runs the MLP from 4 threads, equal to hgc run") {
  std::string d = fresh_dir("compile-lib"), so = fresh_dir("compile-lib-so");
  Graph g = inferred(kMlp, {1, 512});
  std::string params = d + "/mlp.params";
  write_params(g, random_params(g, 5), params);
  std::vector<HostTensor> inputs;
  {
    std::ofstream raw(d + "/inputs.raw", std::ios::binary);
    for (int t = 0; t < kThreads; ++t) {
      inputs.push_back(random_input({1, 512}, 100 + t));
      raw.write(static_cast<const char*>(inputs.back().raw()), static_cast<std::streamsize>(inputs.back().nbytes()));
    }
  }
  fs::copy_file(d + "/inputs.raw", so + "/inputs.raw");
  Shell r = build_and_run(d, "mlp.a", params);
  CHECK(r.out.find("model=straight_dope_mlp inputs=1 name=data ndim=2 shape=1x512 dtype=float32") != std::string::npos);
  CHECK(r.out.find("outputs=1 name=hybridsequential0_dense2_fwd_output ndim=2 shape=1x2 dtype=float32") !=
        std::string::npos);
  CHECK(r.out.find("bad index: ok") != std::string::npos);
  CHECK(r.out.find("null args: ok") != std::string::npos);
  CHECK(r.out.find("concurrent: 200 runs, mismatches=0 failures=0") != std::string::npos);
  std::string refs = read_file(d + "/refs.raw", "test");
  REQUIRE(refs.size() == kThreads * 2 * sizeof(float));
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    std::string in = d + "/in" + std::to_string(t) + ".npy", want = d + "/want" + std::to_string(t) + ".npy";
    save_npy(in, inputs[t]);
    Shell j = hgc_tool("run " + kMlp + " --params " + params + " --input data=" + in + " --output " + want);
    INFO(j.out);
    REQUIRE(j.code == 0);
    HostTensor got(DType::f32, {1, 2});
    std::memcpy(got.raw(), refs.data() + t * got.nbytes(), got.nbytes());
    CHECK(rel_diff(got, load_npy(want)) <= 1e-5);
  }
  // The shared library: same results, no MLIR/LLVM needed.
  Shell s = build_and_run(so, "mlp.so", params);
  CHECK(s.out.find("concurrent: 200 runs, mismatches=0 failures=0") != std::string::npos);
  CHECK(read_file(so + "/refs.raw", "test") == refs);
  Shell ldd = sh("ldd " + so + "/mlp.so && ldd " + so + "/prog");
  INFO(ldd.out);
  CHECK(ldd.out.find("libMLIR") == std::string::npos);
  CHECK(ldd.out.find("libLLVM") == std::string::npos);
  CHECK(ldd.out.find("not found") == std::string::npos);
  double jit = median_ms(hgc_tool("run " + kMlp + " --params " + params + " --input data=" + d + "/in0.npy --time 200").out);
  MESSAGE("MLP batch 1: library model_run " << median_ms(r.out) << " ms (static), " << median_ms(s.out)
                                            << " ms (shared), hgc run (JIT) " << jit << " ms (median of 200)");
}

TEST_CASE("hgc compile --emit=lib refuses an output that is neither .a nor .so") {
  std::string d = fresh_dir("compile-lib-bad");
  Shell r = hgc_tool("compile " + kMlp + " --shape data=1x512 --emit=lib -o " + d + "/mlp.lib");
  CHECK(r.code == 1);
  CHECK(r.out.find("OUT.a") != std::string::npos);
  CHECK(fs::is_empty(d));
}

TEST_CASE("hgc compile --emit=asm writes the kernels' assembly") {
  std::string d = fresh_dir("compile-asm");
  Shell r = hgc_tool("compile " + kMlp + " --shape data=1x512 --emit=asm -o " + d + "/mlp.s");
  INFO(r.out);
  REQUIRE(r.code == 0);
  std::string text = read_file(d + "/mlp.s", "test");
  CHECK(text.find(".globl\tk0") != std::string::npos);
  CHECK(text.find("_mlir__mlir_ciface_k0:") != std::string::npos);
}

TEST_CASE("hgc compile --params-beside: parameters in OUT.params, --params and --threads") {
  std::string d = fresh_dir("compile-beside"), away = fresh_dir("compile-beside-away");
  Graph g = inferred(kMlp, {2, 512});
  std::string params = d + "/mlp.params";
  write_params(g, random_params(g, 9), params);
  save_npy(d + "/in.npy", random_input({2, 512}, 4));
  Shell c = hgc_tool("compile " + kMlp + " --params " + params + " --shape data=2x512 --params-beside -o " + d + "/mlp");
  INFO(c.out);
  REQUIRE(c.code == 0);
  REQUIRE(fs::exists(d + "/mlp.params"));
  Shell e = hgc_tool("compile " + kMlp + " --params " + params + " --shape data=2x512 --embed-params -o " + d + "/emb");
  REQUIRE(e.code == 0);
  CHECK(fs::file_size(d + "/mlp") + 500000 < fs::file_size(d + "/emb"));  // ~650 KB of weights
  fs::copy_file(d + "/mlp", away + "/mlp");
  fs::copy_file(d + "/mlp.params", away + "/mlp.params");
  Shell ref = hgc_tool("run " + kMlp + " --params " + params + " --input data=" + d + "/in.npy --output " + d + "/ref.npy");
  REQUIRE(ref.code == 0);
  Shell r = sh("cd " + away + " && ./mlp --input " + d + "/in.npy --output out.npy --threads 2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(rel_diff(load_npy(away + "/out.npy"), load_npy(d + "/ref.npy")) <= 1e-5);
  CHECK(r.out.find(" steps, 2 threads") != std::string::npos);
  // --params FILE reads another file; a missing one is a clear error.
  fs::rename(away + "/mlp.params", away + "/other.params");
  Shell missing = sh(away + "/mlp --input " + d + "/in.npy");
  CHECK(missing.code == 1);
  CHECK(missing.out.find("mlp.params") != std::string::npos);
  Shell other = sh(away + "/mlp --input " + d + "/in.npy --params " + away + "/other.params --output " + away + "/o2.npy");
  INFO(other.out);
  REQUIRE(other.code == 0);
  CHECK(rel_diff(load_npy(away + "/o2.npy"), load_npy(d + "/ref.npy")) <= 1e-5);
  Shell bad = sh(d + "/emb --input " + d + "/in.npy --threads 0");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("--threads") != std::string::npos);
  Shell embedded = sh(d + "/emb --input " + d + "/in.npy --params " + params);
  CHECK(embedded.code == 1);
  CHECK(embedded.out.find("embedded") != std::string::npos);
  Shell lib = hgc_tool("compile " + kMlp + " --shape data=2x512 --emit=lib --params-beside -o " + d + "/x.a");
  CHECK(lib.code == 1);
  CHECK(lib.out.find("--emit=exe only") != std::string::npos);
}
