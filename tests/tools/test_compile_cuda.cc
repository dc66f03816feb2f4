// `hgc compile --target=cuda`: the program embeds the GpuPlan (PTX + parameters), links no
// CUDA library, and runs on GPU 0 through the dlopen'ed runtime. Without a driver (the build
// machines) it stops with the driver's reason, exit 1; on a GPU it equals the CPU program.
// The GpuPlan bytes it embeds round-trip and refuse truncated input. Needs the CUDA
// toolkit's libdevice to compile PTX (skips with a message otherwise).
#include <doctest/doctest.h>

#include <filesystem>

#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_plan.h"
#include "hgc/runtime/tensor_io.h"
#include "support/compile_util.h"
#include "support/paths.h"
#include "support/ptx_check.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;
namespace fs = std::filesystem;

namespace {

const char* kMlp = "models/mlp/straight_dope_mlp-symbol.json";

}  // namespace

TEST_CASE("gpu plan io: a GpuPlan round-trips through bytes; truncated or foreign bytes are hgc::Errors") {
  if (!gpu_toolkit_present()) return;
  Graph g = inferred(source_path(kMlp), {4, 784});
  GpuPlan p = gpu::compile_to_ptx(g, CompileOptions(), {}, random_params(g, 3));
  REQUIRE(p.exe);
  REQUIRE(!p.kernels.empty());
  p.library_kernels[1] = p.kernels[0].name;  // the map travels too (a convolution model has one)
  std::string bytes = save_gpu_plan(p);
  GpuPlan q = load_gpu_plan(bytes, "mlp.gpuplan");
  CHECK(q.chips == p.chips);
  CHECK(q.library_kernels == p.library_kernels);
  CHECK(save_gpu_kernels(q.kernels) == save_gpu_kernels(p.kernels));
  REQUIRE(q.exe->steps.size() == p.exe->steps.size());
  for (size_t i = 0; i < p.exe->steps.size(); ++i) {
    CHECK(q.exe->steps[i].kernel_name == p.exe->steps[i].kernel_name);
    CHECK(q.exe->steps[i].call.kind == p.exe->steps[i].call.kind);
    CHECK(q.exe->steps[i].args == p.exe->steps[i].args);
  }
  REQUIRE(q.exe->constants.size() == p.exe->constants.size());
  for (size_t i = 0; i < p.exe->constants.size(); ++i) CHECK(rel_diff(q.exe->constants[i], p.exe->constants[i]) == 0);
  CHECK(q.exe->arena_bytes == p.exe->arena_bytes);
  CHECK(q.exe->input_names == p.exe->input_names);
  // The loaded steps have no CPU code: running them on the CPU is an error, not a crash.
  CHECK_THROWS_WITH_AS(q.exe->run({random_input({4, 784}, 1)}), doctest::Contains("only device code"), Error);

  CHECK_THROWS_WITH_AS(load_gpu_plan(bytes.substr(0, bytes.size() / 2), "half.gpuplan"),
                       doctest::Contains("half.gpuplan"), Error);
  CHECK_THROWS_WITH_AS(load_gpu_plan("HGCPLAN" + bytes, "cpu.plan"), doctest::Contains("not a GPU plan"), Error);
  CHECK_THROWS_AS(load_gpu_plan(bytes + "x", "long.gpuplan"), Error);
  p.library_kernels[99] = p.kernels[0].name;  // a step the plan does not have
  CHECK_THROWS_WITH_AS(load_gpu_plan(save_gpu_plan(p), "bad.gpuplan"), doctest::Contains("step 99"), Error);
}

TEST_CASE("hgc compile --target=cuda: a program without CUDA link dependencies; equals the CPU program on a GPU") {
  if (!gpu_toolkit_present()) return;
  std::string model = source_path(kMlp), dir = fresh_dir("compile-cuda");
  std::vector<int64_t> shape = {8, 784};
  Graph g = inferred(model, shape);
  write_params(g, random_params(g, 7), dir + "/mlp.params");
  save_npy(dir + "/in.npy", random_input(shape, 11));
  std::string common = "compile " + model + " --params " + dir + "/mlp.params --shape data=8x784 -o ";

  Shell bad = hgc_tool(common + dir + "/x --target=tpu");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("--target is cpu or cuda") != std::string::npos);
  Shell lib = hgc_tool(common + dir + "/x.a --target=cuda --emit=lib");
  CHECK(lib.code == 1);
  CHECK(lib.out.find("--target=cuda writes a program") != std::string::npos);

  Shell c = hgc_tool(common + dir + "/mlp_cuda --target=cuda");
  INFO(c.out);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("for cuda") != std::string::npos);
  REQUIRE(fs::exists(dir + "/mlp_cuda"));
  Shell ldd = sh("ldd " + dir + "/mlp_cuda");
  INFO(ldd.out);
  CHECK(ldd.code == 0);
  for (const char* lib_name : {"libcuda", "libcudart", "libcublas", "libMLIR", "libLLVM", "not found"})
    CHECK_MESSAGE(ldd.out.find(lib_name) == std::string::npos, lib_name);
  // The PTX travels inside the program.
  Shell ptx = sh("grep -c '.target sm_90' " + dir + "/mlp_cuda");
  CHECK(ptx.code == 0);

  Shell run = sh(dir + "/mlp_cuda --input data=" + dir + "/in.npy --output " + dir + "/gpu.npy");
  INFO(run.out);
  if (!cuda::available()) {
    MESSAGE("SKIP GPU run of the compiled program: " << cuda::unavailable_reason());
    CHECK(run.code == 1);
    CHECK(run.out.find("[cuda]") != std::string::npos);
    CHECK(run.out.find(cuda::unavailable_reason()) != std::string::npos);
    CHECK(run.out.find("internal error") == std::string::npos);
    CHECK(!fs::exists(dir + "/gpu.npy"));
    // With the host-memory fake driver (tests/fake_cuda) the program opens the "device" and
    // parses its embedded plan; it stops at loading the PTX, which the fake cannot run.
    Shell fake = sh("LD_LIBRARY_PATH=" HGC_FAKE_CUDA_DIR " " + dir + "/mlp_cuda --input data=" + dir + "/in.npy");
    INFO(fake.out);
    CHECK(fake.code == 1);
    CHECK(fake.out.find("[cuda]") != std::string::npos);
    CHECK(fake.out.find("the fake CUDA driver runs no kernels") != std::string::npos);
    return;
  }
  REQUIRE(run.code == 0);
  CHECK(run.out.find("steps on GPU 0 (sm_") != std::string::npos);
  Shell cpu = hgc_tool(common + dir + "/mlp_cpu");
  REQUIRE(cpu.code == 0);
  Shell ref = sh(dir + "/mlp_cpu --input data=" + dir + "/in.npy --output " + dir + "/cpu.npy");
  REQUIRE(ref.code == 0);
  CHECK(rel_diff(load_npy(dir + "/gpu.npy"), load_npy(dir + "/cpu.npy")) <= 1e-4);
  Shell timed = sh(dir + "/mlp_cuda --input data=" + dir + "/in.npy --repeat 20");
  CHECK(timed.code == 0);
  CHECK(median_ms(timed.out) > 0);
}
