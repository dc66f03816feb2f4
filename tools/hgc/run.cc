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
#include "hgc/runtime/tensor_io.h"
#include "hgc/runtime/library_call.h"
#include "hgc/compiler/jit.h"
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
                          Repeated for one name: one run per value, in order (other
                          inputs are shared by every run)
  --shape NAME=DIMS       '?' marks dims of an input that take any size (data=?x784): the
                          kernels are compiled once for every size there, and each run
                          uses its inputs' sizes (as `hgc compile --shape data=?x784`)
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

void print_outputs(const std::vector<HostTensor>& out) {
  for (size_t k = 0; k < out.size(); ++k) {
    std::cout << "output " << k << ": " << out[k].describe() << "  sum=" << std::setprecision(6) << checksum(out[k]);
    if (out[k].dtype() == DType::f32 && out[k].numel()) {
      std::cout << "  first=[";
      for (int64_t i = 0; i < std::min<int64_t>(4, out[k].numel()); ++i) std::cout << (i ? ", " : "") << out[k].data<float>()[i];
      std::cout << (out[k].numel() > 4 ? ", ...]" : "]");
    }
    std::cout << "\n";
  }
}

// OUT.npy, or OUT-K.npy for output K of several; `tag` ("-R" for run R of several) goes
// before that.
void save_outputs(const std::string& output, const std::vector<HostTensor>& out, const std::string& tag) {
  std::string base = output.size() > 4 && output.substr(output.size() - 4) == ".npy" ? output.substr(0, output.size() - 4) : output;
  if (out.size() == 1) save_npy(tag.empty() ? output : base + tag + ".npy", out[0]);
  else
    for (size_t k = 0; k < out.size(); ++k) save_npy(base + tag + "-" + std::to_string(k) + ".npy", out[k]);
}

// One executable for every size of the '?' dims (`raw`: the model before inference; `g`: it
// inferred at the first run's sizes): the plan of `hgc compile --shape data=?x...`
// (plan_aot_dynamic: kernels over symbolic dims, buffer dims and library parameters as
// polynomials of the sizes), its kernels JIT-compiled once.
std::shared_ptr<const Executable> compile_dynamic(const Graph& raw, const Graph& g,
                                                  const std::map<std::string, Shape>& dynamic_shapes,
                                                  const CompileOptions& copts,
                                                  const std::map<std::string, HostTensor>& frozen) {
  InferOptions dio;
  for (int id : g.variable_ids()) {
    const Node& v = g.nodes[id];
    auto d = dynamic_shapes.find(v.name);
    dio.shapes[v.name] = d != dynamic_shapes.end() ? d->second : v.out_shapes[0];
    dio.dtypes[v.name] = v.out_dtypes[0];
  }
  for (const auto& [name, shape] : dynamic_shapes)
    if (g.find(name) < 0) fail("cli", "run: --shape ", name, ": the model has no input '", name, "'");
  AotPlan aot = plan_aot_dynamic(raw, dio, copts, frozen);
  if (!aot.mlir.empty()) {
    auto jm = jit_compile(aot.mlir, JitOptions().opt(copts.opt_level).cpu(copts.target_cpu));
    for (Step& s : aot.exe->steps)
      if (!s.kernel_name.empty()) s.kernel = jm->lookup(s.kernel_name);
    aot.exe->code = jm;
  }
  for (Step& s : aot.exe->steps)
    if (!s.call.empty()) s.library = make_library(s.call);
  return aot.exe;
}

}  // namespace

int cmd_run(Args& args) {
  std::string model, params_path, output;
  std::vector<std::string> input_args, shape_args;
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
    } else if (args.option("--shape")) {
      shape_args.push_back(args.value());
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
  // '?' dims (--shape data=?x784): marked per input; the sizes come from the inputs.
  std::map<std::string, Shape> dynamic_shapes;
  for (const std::string& a : shape_args) {
    auto [name, shape] = parse_shape_arg(a, true);
    if (shape.known()) fail("cli", "run: --shape ", a, " has no '?' dim; give fixed sizes with --input");
    dynamic_shapes[name] = shape;
  }
  if (!dynamic_shapes.empty() && device == "cuda") fail("cli", "run: '?' dims (dynamic sizes) are for --device cpu only so far");
  std::map<std::string, HostTensor> bound;
  std::map<std::string, std::vector<HostTensor>> per_run;  // inputs given more than once
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
    if (auto d = dynamic_shapes.find(name); d != dynamic_shapes.end()) {
      const Shape& want = d->second;
      bool fits = want.ndim() == static_cast<int>(t.shape().size());
      for (int k = 0; fits && k < want.ndim(); ++k) fits = want[k] == Shape::kUnknownDim || want[k] == t.shape()[k];
      if (!fits)
        fail("cli", "run: input '", name, "' is ", t.describe(), ", which does not fit --shape ", name, "=",
             want.str());
    }
    if (!bound.count(name)) {
      io.shapes[name] = Shape(t.shape());
      io.dtypes[name] = t.dtype();
      bound[name] = t;
    }
    per_run[name].push_back(t);
  }
  for (const auto& [name, shape] : dynamic_shapes)
    if (!bound.count(name)) fail("cli", "run: --shape ", name, "=", shape.str(), " but no --input ", name, " gives its size");
  size_t runs = 1;
  for (const auto& [name, ts] : per_run)
    if (ts.size() > 1) {
      if (runs > 1 && ts.size() != runs)
        fail("cli", "run: inputs given several times must be given equally often ('", name, "': ", ts.size(), ", others: ", runs, ")");
      runs = ts.size();
    }
  std::map<std::string, HostTensor> model_params;
  Graph g = load_model(model, io, model_params);  // after the inputs: ONNX folds with their shapes
  const Graph raw = g;  // before inference: a dynamic plan re-infers it at other sizes
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
  } else if (!dynamic_shapes.empty()) {
    exe = compile_dynamic(raw, g, dynamic_shapes, copts, frozen);
  } else {
    exe = compile(g, copts, frozen);
  }
  double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  size_t steps = gexe ? gexe->plan().steps.size() : exe->steps.size();
  std::cout << "compiled " << steps << " steps" << (gexe ? " for " + gexe->chip() : std::string())
            << (dynamic_shapes.empty() ? "" : " for any size of the '?' dims") << " in " << std::fixed
            << std::setprecision(1) << compile_ms << " ms\n";
  auto inputs_of = [&](size_t r) {
    std::map<std::string, HostTensor> in = bound;
    for (const auto& [name, ts] : per_run) in[name] = ts.size() > 1 ? ts[r] : ts[0];
    return in;
  };
  std::map<std::string, HostTensor> last;
  for (size_t r = 0; r < runs; ++r) {
    last = inputs_of(r);
    std::vector<HostTensor> out = gexe ? gexe->run(last) : exe->run(last);
    if (runs > 1) {
      std::cout << "run " << r << ":";
      for (const auto& [name, ts] : per_run)
        if (ts.size() > 1) std::cout << " " << name << "=" << Shape(last[name].shape()).str();
      std::cout << "\n";
    }
    print_outputs(out);
    if (!output.empty()) save_outputs(output, out, runs > 1 ? "-" + std::to_string(r) : "");
  }
  auto run_once = [&] { return gexe ? gexe->run(last) : exe->run(last); };
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
