// `hgc run`: load a model, bind inputs and parameters, compile through MLIR/LLVM, execute.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <random>

#include "cli.h"
#include "commands.h"
#include "model_load.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_executable.h"

namespace hgc::cli {

static const char* kRunHelp = R"(usage: hgc run MODEL-symbol.json|MODEL.onnx [options]

Compiles the model through MLIR/LLVM for this CPU (or to PTX for a CUDA GPU) and runs it
once (or --time N times).

options:
  --input NAME=FILE.npy   an input from a .npy file (repeatable)
  --input NAME=DIMS:random
                          a seeded uniform [0, 1) input of shape DIMS, e.g. data=1x784:random
  --params FILE           MXNet .params; without it parameters are seeded uniform
                          [-0.1, 0.1) (aux states: moving_var 1, others 0)
  --seed N                seed for random inputs and parameters (default 0)
  --output FILE.npy       write the first output (with several outputs: FILE-K.npy)
  --time N                run N more times and print the median latency
  -O N                    LLVM optimization level 0..3 (default 3)
  --device cpu|cuda       where to run (default cpu). cuda: kernels as PTX (sm_80/sm_90,
                          through MLIR's NVVM path), GEMMs on cuBLAS, on GPU 0; needs the
                          CUDA driver at run time
  --no-fuse               no kernel groups (one kernel per op)
  --no-optimize           no graph simplification (DCE, CSE, constant/BatchNorm folding)
  -h, --help              this text
Inputs nobody gave (e.g. a loss label) are zeros of their inferred shape.
)";

namespace {

double checksum(const HostTensor& t) {
  double s = 0;
  if (t.dtype() != DType::f32) return NAN;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.data<float>()[i];
  return s;
}

}  // namespace

int cmd_run(Args& args) {
  std::string model, params_path, output;
  std::vector<std::string> input_args;
  int repeat = 0, opt = 3;
  bool fuse = true, optimize = true;
  std::string device = "cpu";
  unsigned seed = 0;
  while (!args.done()) {
    if (args.flag("-h") || args.flag("--help")) {
      std::cout << kRunHelp;
      return 0;
    } else if (args.option("--input")) {
      input_args.push_back(args.value());
    } else if (args.option("--params")) {
      params_path = args.value();
    } else if (args.option("--output")) {
      output = args.value();
    } else if (args.option("--time")) {
      repeat = std::stoi(args.value());
    } else if (args.option("--seed")) {
      seed = static_cast<unsigned>(std::stoul(args.value()));
    } else if (args.flag("--no-fuse")) {
      fuse = false;
    } else if (args.flag("--no-optimize")) {
      optimize = false;
    } else if (args.option("--device")) {
      device = args.value();
      if (device != "cpu" && device != "cuda") fail("cli", "run: --device is cpu or cuda, got '", device, "'");
    } else if (args.option("-O")) {
      opt = std::stoi(args.value());
    } else if (args.peek().rfind("-", 0) == 0) {
      fail("cli", "run: unknown option '", args.peek(), "' (see hgc run --help)");
    } else if (model.empty()) {
      model = args.positional();
    } else {
      fail("cli", "run: more than one model given");
    }
  }
  if (model.empty()) fail("cli", "run: no model file given (see hgc run --help)");
  std::mt19937 rng(seed);
  std::map<std::string, HostTensor> bound;
  InferOptions io;
  for (const std::string& a : input_args) {
    auto eq = a.find('=');
    if (eq == std::string::npos) fail("cli", "--input expects NAME=FILE.npy or NAME=DIMS:random, got '", a, "'");
    std::string name = a.substr(0, eq), what = a.substr(eq + 1);
    HostTensor t;
    if (what.size() > 7 && what.compare(what.size() - 7, 7, ":random") == 0) {
      auto [n, shape] = parse_shape_arg(name + "=" + what.substr(0, what.size() - 7));
      t = random_tensor(shape.dims(), rng, 0.f, 1.f);
    } else {
      t = load_npy(what);
    }
    io.shapes[name] = Shape(t.shape());
    io.dtypes[name] = t.dtype();
    bound[name] = t;
  }
  std::map<std::string, HostTensor> model_params;
  Graph g = load_model(model, io, model_params);  // after the inputs: ONNX folds with their shapes
  for (auto& [k, v] : model_params) bound.emplace(k, v);
  if (!params_path.empty()) {
    auto params = load_params_by_name(params_path);
    add_param_shapes(g, params, io);
    for (auto& [k, v] : params) bound[k] = v;
  }
  infer(g, io);
  verify(g);
  bind_missing(g, bound, rng, true);
  auto t0 = std::chrono::steady_clock::now();
  // Parameters and aux states are frozen into the executable (predict mode): constant and
  // BatchNorm folding see them; the data inputs stay inputs.
  std::map<std::string, HostTensor> frozen;
  for (int id : g.variable_ids())
    if (g.role(id) != VarRole::Input && bound.count(g.nodes[id].name)) frozen[g.nodes[id].name] = bound[g.nodes[id].name];
  // The compile pipeline (compiler/pipeline.h) expands RNN nodes, simplifies and fuses.
  CompileOptions copts = CompileOptions().opt(opt).fusion(fuse).simplify(optimize).on(device == "cuda" ? Target::cuda : Target::cpu);
  std::shared_ptr<const Executable> exe;
  std::shared_ptr<GpuExecutable> gexe;
  if (copts.target == Target::cuda) {
    GpuPlan plan = gpu::compile_to_ptx(g, copts, frozen);
    gexe = std::make_shared<GpuExecutable>(std::move(plan), cuda::Device::open(0));
  } else {
    exe = compile(g, copts, frozen);
  }
  auto run_once = [&] { return gexe ? gexe->run(bound) : exe->run(bound); };
  double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<HostTensor> out = run_once();
  size_t steps = gexe ? gexe->plan().steps.size() : exe->steps.size();
  std::cout << "compiled " << steps << " steps" << (gexe ? " for " + gexe->chip() : std::string()) << " in " << std::fixed << std::setprecision(1) << compile_ms
            << " ms\n";
  for (size_t k = 0; k < out.size(); ++k) {
    std::cout << "output " << k << ": " << out[k].describe() << "  sum=" << std::setprecision(6) << checksum(out[k]);
    if (out[k].dtype() == DType::f32 && out[k].numel()) {
      std::cout << "  first=[";
      for (int64_t i = 0; i < std::min<int64_t>(4, out[k].numel()); ++i) std::cout << (i ? ", " : "") << out[k].data<float>()[i];
      std::cout << (out[k].numel() > 4 ? ", ...]" : "]");
    }
    std::cout << "\n";
  }
  if (!output.empty()) {
    if (out.size() == 1) save_npy(output, out[0]);
    else
      for (size_t k = 0; k < out.size(); ++k) {
        std::string base = output.size() > 4 && output.substr(output.size() - 4) == ".npy" ? output.substr(0, output.size() - 4) : output;
        save_npy(base + "-" + std::to_string(k) + ".npy", out[k]);
      }
  }
  if (repeat > 0) {
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      auto a = std::chrono::steady_clock::now();
      run_once();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "median latency over " << repeat << " runs: " << std::setprecision(4) << ms[ms.size() / 2] << " ms\n";
  }
  return 0;
}

}  // namespace hgc::cli
