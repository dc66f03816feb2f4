// The main() of standalone programs made by `hgc compile --emit=exe` (static library
// hgc_aot). `hgc compile` links it with the model's kernel object and a generated source
// that provides the symbols below: the serialized plan (plan_io.h, parameters included) and
// a table of the kernels' packed entry points filled in by the linker. No MLIR/LLVM here.
// A program compiled with --target=cuda embeds a GpuPlan instead (PTX, no kernel table) and
// runs it on GPU 0 through the dlopen'ed CUDA runtime (cuda.h): it links no CUDA library and,
// where no driver or device exists, stops with the reason (exit 1).
//
//   ./mlp --input data=in.npy --output out.npy --repeat 100
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_executable.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/stable_buffers.h"
#include "hgc/runtime/tensor_io.h"
#include "hgc/runtime/thread_pool.h"

#include "aot_symbols.h"

namespace {

const char* kHelp = R"(usage: %s --input NAME=FILE.npy ... [options]

Runs the compiled model %s on .npy inputs (one --input per model input; with a single
input, --input FILE.npy is enough) and prints each output's shape and sum.

options:
  --input NAME=FILE.npy   an input (repeatable)
  --output FILE.npy       write the first output (with several outputs: FILE-K.npy)
  --repeat N              run N more times and print the median latency
  --threads N             threads that split large kernels (default: the cores, or
                          HGC_NUM_THREADS)
  --params FILE           the parameters (MXNet .params), for a program compiled with
                          --params-beside (default: the program's path + ".params")
  -h, --help              this text
)";

double checksum(const hgc::HostTensor& t) {
  double s = 0;
  if (t.dtype() != hgc::DType::f32) return 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.data<float>()[i];
  return s;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
  return r + (s.size() == 1 ? ",)" : ")");
}

int run(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string output;
  std::string params;
  int repeat = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) return a.substr(eq + 1);
      if (i + 1 >= argc) hgc::fail("cli", a, " needs a value");
      return argv[++i];
    };
    auto is = [&](const char* name) { return a == name || a.rfind(std::string(name) + "=", 0) == 0; };
    if (a == "-h" || a == "--help") {
      std::printf(kHelp, argv[0], hgc_model_name);
      return 0;
    } else if (is("--input")) {
      inputs.push_back(value());
    } else if (is("--params")) {
      params = value();
      if (!hgc_params_beside) hgc::fail("cli", "--params: this program's parameters are embedded in it");
    } else if (is("--threads")) {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 4096) hgc::fail("cli", "--threads takes a count >= 1, got '", v, "'");
      hgc::ThreadPool::configure(static_cast<int>(n));
    } else if (is("--output")) {
      output = value();
    } else if (is("--repeat")) {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 1000000) hgc::fail("cli", "--repeat takes a count, got '", v, "'");
      repeat = static_cast<int>(n);
    } else {
      hgc::fail("cli", "unknown argument '", a, "' (see --help)");
    }
  }
  // A CPU program calls OpenBLAS rarely if at all: its idle threads would spin beside the pool.
  if (!hgc_target_cuda) hgc::lib::park_blas_threads();
  std::map<std::string, hgc::HostTensor> bound;
  // Read where it lies (no copy: 0.66 MB of weights for the W1 MLP, ~1 ms of a start-up).
  const std::string_view blob(hgc_plan_blob, static_cast<size_t>(hgc_plan_blob_end - hgc_plan_blob));
  std::shared_ptr<const hgc::Executable> exe;
  std::unique_ptr<hgc::GpuExecutable> gpu;
  if (hgc_target_cuda) {
    // The device first: without a driver, say so before reading any input.
    auto dev = hgc::cuda::Device::open(0);
    gpu = std::make_unique<hgc::GpuExecutable>(hgc::load_gpu_plan(std::string(blob), "the embedded GPU plan"), dev);
    exe = std::shared_ptr<const hgc::Executable>(std::shared_ptr<const hgc::Executable>(), &gpu->plan());
  } else {
    std::map<std::string, hgc::PackedKernel> table;
    for (int k = 0; k < hgc_aot_kernel_count; ++k) table[hgc_aot_kernels[k].name] = hgc_aot_kernels[k].fn;
    exe = hgc::load_plan(blob, "the embedded plan", [&](const std::string& name) {
      auto it = table.find(name);
      return it == table.end() ? nullptr : it->second;
    });
  }
  auto run_once = [&] { return gpu ? gpu->run(bound) : exe->run(bound); };

  std::vector<std::unique_ptr<hgc::stable::Announcement>> stable;  // ends before `bound` goes
  if (hgc_params_beside) {
    if (params.empty()) {
      char self[4096];
      ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
      params = (n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv[0])) + ".params";
    }
    for (auto& [pname, t] : hgc::load_params(params)) {
      std::string n = hgc::strip_param_prefix(pname);
      if (exe->input_index(n) < 0) continue;
      bound[n] = t;
      // Never written here: library calls may keep packed forms (stable_buffers.h).
      if (t.nbytes() > 0) stable.push_back(hgc::stable::announce(bound[n].raw(), bound[n].nbytes()));
    }
  }
  std::vector<std::string> data;  // inputs the parameters file does not provide
  for (const std::string& n : exe->input_names)
    if (!bound.count(n)) data.push_back(n);
  for (const std::string& a : inputs) {
    auto eq = a.find('=');
    std::string name = eq == std::string::npos ? "" : a.substr(0, eq);
    if (name.empty()) {
      if (data.size() != 1)
        hgc::fail("cli", "--input ", a, ": the model has ", data.size(), " inputs; write NAME=FILE.npy");
      name = data[0];
    }
    bound[name] = hgc::load_npy(eq == std::string::npos ? a : a.substr(eq + 1));
  }
  for (const std::string& n : exe->input_names)
    if (!bound.count(n)) {
      const hgc::BufferInfo& b = exe->buffers[exe->input_buffers[exe->input_index(n)]];
      hgc::fail("cli", "input '", n, "' ", shape_text(b.shape), " ", hgc::dtype_name(b.dtype),
                " was not given (--input ", n, "=FILE.npy)",
                hgc_params_beside ? std::string(" nor found in ") + params : std::string());
    }
  std::vector<hgc::HostTensor> out = run_once();
  if (gpu)
    std::cout << hgc_model_name << ": " << exe->steps.size() << " steps on GPU 0 (" << gpu->chip() << ")\n";
  else
    std::cout << hgc_model_name << ": " << exe->steps.size() << " steps, " << hgc::ThreadPool::global().size()
              << " threads\n";
  for (size_t k = 0; k < out.size(); ++k)
    std::cout << "output " << k << ": " << out[k].describe() << "  sum=" << std::setprecision(6) << checksum(out[k])
              << "\n";
  if (!output.empty()) {
    if (out.size() == 1) {
      hgc::save_npy(output, out[0]);
    } else {
      std::string base = output.size() > 4 && output.substr(output.size() - 4) == ".npy"
                             ? output.substr(0, output.size() - 4) : output;
      for (size_t k = 0; k < out.size(); ++k) hgc::save_npy(base + "-" + std::to_string(k) + ".npy", out[k]);
    }
  }
  if (repeat > 0) {
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      run_once();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "median latency over " << repeat << " runs: " << std::setprecision(4) << ms[ms.size() / 2]
              << " ms\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const hgc::Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": internal error: " << e.what() << "\n";
    return 3;
  }
}
