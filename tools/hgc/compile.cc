// `hgc compile`: a model JSON to MLIR, LLVM IR, a kernel object or a standalone program.
// The program is the model's kernels compiled ahead of time (compile_to_object), its plan
// and parameters serialized (plan_io.h) and embedded as a data blob, and a kernel table the
// linker fills, linked with the prebuilt driver main (runtime/aot_main.cc, libhgc_aot.a),
// the hgc runtime and OpenBLAS by the system C++ compiler: no MLIR or LLVM at run time.
// --target=cuda embeds a GpuPlan (PTX for sm_80/sm_90, gpu_plan.h) instead of a kernel
// object; the same driver main runs it through the dlopen'ed CUDA runtime.
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <set>

#include "aot_paths.h"
#include "cli.h"
#include "commands.h"
#include "model_load.h"
#include "compile_lib.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/gpu.h"
#include "hgc/compiler/jit.h"
#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/runtime/gpu_plan.h"
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc::cli {
namespace fs = std::filesystem;

static const char* kCompileHelp = R"(usage: hgc compile MODEL-symbol.json --shape NAME=DIMS ... -o OUT [options]

Compiles the model ahead of time. --emit=exe (default) writes a standalone program:
  OUT --input data=in.npy [--output out.npy] [--repeat N] [--threads N] [--params FILE]
which needs neither hgc's compiler nor MLIR/LLVM (only the C++ runtime and OpenBLAS).
--emit=lib writes a static (OUT.a) or shared (OUT.so) library and its C header (OUT.h):
  int model_run(const float* const* inputs, float* const* outputs); model_input_name(i), ...

options:
  --shape NAME=DIMS       shape of a data input, e.g. data=1x512 (repeatable); '?' marks a
                          dynamic dim (data=?x784): the program takes any size there
  --params FILE           MXNet .params baked into the program; without it parameters are
                          seeded uniform [-0.1, 0.1) like `hgc run` (aux: moving_var 1, else 0)
  --seed N                seed for those parameters (default 0)
  -o, --output OUT        the file to write
  --emit=KIND             exe (default), lib (OUT.a or OUT.so, plus OUT.h), obj (kernel
                          object), asm (kernel assembly), mlir, llvm (LLVM IR)
  --embed-params          parameters inside the program or library (default)
  --params-beside         (exe) parameters in OUT.params (MXNet format) beside the program,
                          read at start; the program's --params FILE reads another file
  --target=cpu|cuda       where the program runs (default cpu). cuda: kernels as PTX for
                          sm_80/sm_90 (needs the CUDA toolkit's libdevice here), GEMMs on
                          cuBLAS, on GPU 0; the program links no CUDA library and needs the
                          driver only when run. --emit=exe or mlir only
  --target-cpu=CPU        x86-64-v3 (default, so the program moves), native, or an LLVM CPU
  -O N, -ON               LLVM optimization level 0..3 (default 3)
  --no-fuse               no kernel groups (one kernel per op)
  --no-plan               no arena reuse (one block per intermediate)
  -h, --help              this text
)";

namespace {

// A folder of intermediate files, removed with everything in it however we leave.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("hgc-compile-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A file at `path` that disappears unless commit() renames it over the real output: a
// failed compile leaves nothing half-written. Created up front, so an unwritable output
// path fails before any compiling.
struct PendingOutput {
  fs::path final_path, temp;
  bool done = false;
  explicit PendingOutput(const std::string& out) : final_path(out) {
    if (out.empty()) fail("cli", "compile: no output given (-o OUT)");
    if (fs::is_directory(final_path)) fail("cli", "compile: output '", out, "' is a directory");
    temp = final_path;
    temp += ".hgc-tmp-" + std::to_string(::getpid());
    std::ofstream probe(temp, std::ios::binary);
    if (!probe) fail("cli", "compile: cannot write output '", out, "' (", std::strerror(errno), ")");
  }
  ~PendingOutput() {
    std::error_code ec;
    if (!done) fs::remove(temp, ec);
  }
  void write(const std::string& bytes) {
    std::ofstream f(temp, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) fail("cli", "compile: writing ", temp.string(), " failed");
  }
  void commit() {
    std::error_code ec;
    fs::rename(temp, final_path, ec);
    if (ec) fail("cli", "compile: cannot write output '", final_path.string(), "': ", ec.message());
    done = true;
  }
};

std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

// The C++ compiler driver that links programs: the one hgc was built with, else the first
// of clang++-19, clang++, c++, g++ on PATH.
std::string find_cxx() {
  if (fs::exists(HGC_AOT_CXX)) return HGC_AOT_CXX;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin";
  for (const char* name : {"clang++-19", "clang++", "c++", "g++"}) {
    size_t b = 0;
    while (b <= dirs.size()) {
      size_t e = dirs.find(':', b);
      if (e == std::string::npos) e = dirs.size();
      fs::path p = fs::path(dirs.substr(b, e - b)) / name;
      if (!dirs.substr(b, e - b).empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
      b = e + 1;
    }
  }
  fail("cli", "compile: no C++ compiler found to link the program (tried ", HGC_AOT_CXX,
       ", clang++-19, clang++, c++, g++)");
}

std::string model_name(const std::string& path) {
  std::string n = fs::path(path).filename().string();
  for (const char* suffix : {"-symbol.json", ".json"})
    if (n.size() > std::strlen(suffix) && n.compare(n.size() - std::strlen(suffix), std::string::npos, suffix) == 0) {
      n.resize(n.size() - std::strlen(suffix));
      break;
    }
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
  return n;
}

// The generated translation unit: the kernel table (filled by the linker from the kernel
// object) and the plan blob, included byte for byte by the assembler (.incbin: no giant
// array literal for the compiler to parse).
std::string driver_source(const std::vector<std::string>& kernels, const fs::path& blob, const std::string& name) {
  std::string s = "// Generated by hgc compile for " + name + ".\nextern \"C\" {\n";
  s += "typedef void (*HgcPacked)(void**);\nstruct HgcAotKernel { const char* name; HgcPacked fn; };\n";
  for (const std::string& k : kernels) s += "void " + packed_symbol_name(k) + "(void**);\n";
  s += "extern const HgcAotKernel hgc_aot_kernels[] = {\n";
  for (const std::string& k : kernels) s += "  {\"" + k + "\", " + packed_symbol_name(k) + "},\n";
  s += "  {nullptr, nullptr}};\n";
  s += "extern const int hgc_aot_kernel_count = " + std::to_string(kernels.size()) + ";\n";
  s += "extern const char hgc_model_name[] = \"" + name + "\";\n}\n";
  std::string p = blob.string();
  if (p.find_first_of("\"\\\n") != std::string::npos)
    fail("cli", "compile: the temporary folder ", p, " has a quote, backslash or newline in its name");
  s += "__asm__(\".section .rodata.hgc_plan,\\\"a\\\",@progbits\\n.balign 64\\n"
       ".globl hgc_plan_blob\\nhgc_plan_blob:\\n.incbin \\\"" + p + "\\\"\\n"
       ".globl hgc_plan_blob_end\\nhgc_plan_blob_end:\\n.byte 0\\n.previous\\n\");\n";
  return s;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) fail("cli", "compile: cannot write ", p.string());
}

// What a '?' dim is while the parameters get their shapes (any size would do).
constexpr int64_t kDynamicStandIn = 16;

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_compile(Args& args) {
  std::string model, params_path, out, emit = "exe", cpu = "x86-64-v3", target = "cpu";
  std::vector<std::string> shape_args;
  int opt = 3;
  bool fuse = true, plan = true, beside = false;
  unsigned seed = 0;
  while (!args.done()) {
    const std::string& a = args.peek();
    if (args.flag("-h") || args.flag("--help")) {
      std::cout << kCompileHelp;
      return 0;
    } else if (a.size() == 3 && a.rfind("-O", 0) == 0 && a[2] >= '0' && a[2] <= '3') {
      opt = a[2] - '0';
      args.positional();
    } else if (args.option("-O")) {
      std::string v = args.value();
      if (v.size() != 1 || v[0] < '0' || v[0] > '3') fail("cli", "compile: -O takes 0..3, got '", v, "'");
      opt = v[0] - '0';
    } else if (args.option("--shape")) {
      shape_args.push_back(args.value());
    } else if (args.option("--params")) {
      params_path = args.value();
    } else if (args.option("-o") || args.option("--output")) {
      out = args.value();
    } else if (args.option("--emit")) {
      emit = args.value();
      if (emit != "exe" && emit != "lib" && emit != "obj" && emit != "asm" && emit != "mlir" && emit != "llvm")
        fail("cli", "compile: --emit takes exe, lib, obj, asm, mlir or llvm, got '", emit, "'");
    } else if (args.flag("--params-beside")) {
      beside = true;
    } else if (args.flag("--embed-params")) {
      beside = false;
    } else if (args.option("--target")) {
      target = args.value();
      if (target != "cpu" && target != "cuda") fail("cli", "compile: --target is cpu or cuda, got '", target, "'");
    } else if (args.option("--target-cpu")) {
      cpu = args.value();
    } else if (args.option("--seed")) {
      seed = static_cast<unsigned>(std::stoul(args.value()));
    } else if (args.flag("--no-fuse")) {
      fuse = false;
    } else if (args.flag("--no-plan")) {
      plan = false;
    } else if (a.rfind("-", 0) == 0) {
      fail("cli", "compile: unknown option '", a, "' (see hgc compile --help)");
    } else if (model.empty()) {
      model = args.positional();
    } else {
      fail("cli", "compile: more than one model given");
    }
  }
  if (model.empty()) fail("cli", "compile: no model file given (see hgc compile --help)");
  if (beside && emit != "exe") fail("cli", "compile: --params-beside applies to --emit=exe only");
  bool cuda = target == "cuda";
  if (cuda && emit != "exe" && emit != "mlir")
    fail("cli", "compile: --target=cuda writes a program (--emit=exe) or the kernel MLIR (--emit=mlir), not --emit=",
         emit);
  bool shared_lib = emit == "lib" && out.size() > 3 && out.compare(out.size() - 3, 3, ".so") == 0;
  if (emit == "lib" && !shared_lib && !(out.size() > 2 && out.compare(out.size() - 2, 2, ".a") == 0))
    fail("cli", "compile: --emit=lib writes OUT.a (static) or OUT.so (shared); got '", out, "'");
  PendingOutput output(out);  // before the work: an unwritable path fails fast
  std::unique_ptr<PendingOutput> side;  // OUT.h of a library, OUT.params beside a program
  if (emit == "lib") side = std::make_unique<PendingOutput>(out.substr(0, out.rfind('.')) + ".h");
  if (beside) side = std::make_unique<PendingOutput>(out + ".params");
  auto t0 = std::chrono::steady_clock::now();

  InferOptions io;
  // '?' dims (--shape data=?x784): one program for every size there. The graph is first
  // inferred at a stand-in size (parameters get their shapes and seeds), then planned over
  // the '?' dims by plan_aot_dynamic.
  std::map<std::string, Shape> dynamic_shapes;
  for (const std::string& s : shape_args) {
    auto [name, shape] = parse_shape_arg(s, true);
    if (!shape.known()) {
      dynamic_shapes[name] = shape;
      std::vector<int64_t> d = shape.dims();
      for (int64_t& x : d)
        if (x == Shape::kUnknownDim) x = kDynamicStandIn;
      shape = Shape(d);
    }
    io.shapes[name] = shape;
  }
  if (!dynamic_shapes.empty() && cuda) fail("cli", "compile: '?' dims (dynamic sizes) are for --target=cpu only so far");
  std::map<std::string, HostTensor> bound;
  std::map<std::string, HostTensor> model_params;
  Graph g = load_model(model, io, model_params);
  const Graph raw = g;  // before inference: plan_aot_dynamic re-infers it at other sizes
  std::set<std::string> from_file;
  if (!params_path.empty()) {
    bound = load_params_by_name(params_path);
    for (const auto& kv : bound) from_file.insert(kv.first);
    // Where the data shapes alone determine the graph, name a parameter that disagrees
    // with it (inference with the parameters would name only the consuming node).
    Graph probe = g;
    bool inferred = true;
    try {
      infer(probe, io);
    } catch (const Error&) {
      inferred = false;
    }
    for (const auto& [name, t] : bound) {
      int id = probe.find(name);
      if (!inferred || id < 0 || !t.defined()) continue;
      const Node& v = probe.nodes[id];
      if (v.out_shapes[0].known() && (v.out_shapes[0].dims() != t.shape() || v.out_dtypes[0] != t.dtype()))
        fail("cli", "compile: parameter '", name, "' in ", params_path, " is ", t.describe(), ", the graph needs ",
             v.out_shapes[0].str(), " ", dtype_name(v.out_dtypes[0]));
    }
    add_param_shapes(g, bound, io);
  }
  for (auto& [k, v] : model_params) bound.emplace(k, v);
  try {
    infer(g, io);
  } catch (const Error& e) {
    std::string inputs;
    for (int id : g.variable_ids())
      if (g.role(id) == VarRole::Input && !io.shapes.count(g.nodes[id].name)) inputs += " " + g.nodes[id].name;
    if (inputs.empty()) throw;
    fail("cli", "compile: no --shape given for input(s):", inputs, " (e.g. --shape data=1x512); ", e.what());
  }
  verify(g);
  std::mt19937 rng(seed);
  bind_missing(g, bound, rng, false);
  // Parameters and aux states (roles read on the model's graph: the pipeline's RNN expansion
  // feeds an RNN's packed parameters to slicing ops); data stays input.
  // A variable the --params file names is a parameter too where only data slots read it
  // (a positional table added to embeddings): Gluon exported it as arg:, so it is frozen.
  std::map<std::string, HostTensor> frozen;
  for (int id : g.variable_ids()) {
    const std::string& n = g.nodes[id].name;
    if ((g.role(id) != VarRole::Input || from_file.count(n)) && bound.count(n)) frozen[n] = bound[n];
  }
  CompileOptions co = CompileOptions().opt(opt).cpu(cpu).fusion(fuse).plan(plan).on(cuda ? Target::cuda : Target::cpu);
  // Beside the program, parameters stay inputs of the plan, bound from the file at start.
  AotPlan aot;
  GpuPlan gplan;
  double ptx_ms = 0;
  if (cuda) {
    auto tp = std::chrono::steady_clock::now();
    gplan = gpu::compile_to_ptx(g, co, beside ? std::map<std::string, HostTensor>() : frozen);
    aot.exe = gplan.exe;
    aot.mlir = gplan.mlir;
    ptx_ms = ms_since(tp);
  } else if (!dynamic_shapes.empty()) {
    InferOptions dio = io;
    for (const auto& [n, shape] : dynamic_shapes) dio.shapes[n] = shape;
    for (int id : g.variable_ids()) {  // every other variable at the shape inference found
      const Node& v = g.nodes[id];
      if (!dynamic_shapes.count(v.name)) dio.shapes[v.name] = v.out_shapes[0];
    }
    aot = plan_aot_dynamic(raw, dio, co, beside ? std::map<std::string, HostTensor>() : frozen);
  } else {
    aot = plan_aot(g, co, beside ? std::map<std::string, HostTensor>() : frozen);
  }
  JitOptions jo = JitOptions().opt(opt).cpu(cpu);
  if (emit == "mlir") {
    output.write(aot.mlir);
  } else if (emit == "llvm") {
    output.write(aot.mlir.empty() ? std::string() : lower_to_llvm_ir(aot.mlir, jo));
  } else if (emit == "obj") {
    if (aot.mlir.empty()) fail("cli", "compile: the model has no generated kernels, so no object to emit");
    output.write(compile_to_object(aot.mlir, jo));
  } else if (emit == "asm") {
    if (aot.mlir.empty()) fail("cli", "compile: the model has no generated kernels, so no assembly to emit");
    output.write(compile_to_assembly(aot.mlir, jo));
  } else {
    TempDir work;
    std::string blob = cuda ? save_gpu_plan(gplan) : save_plan(*aot.exe);
    write_bytes(work.path / "plan.bin", blob);
    auto tc = std::chrono::steady_clock::now();
    std::string objs;
    if (!cuda && !aot.mlir.empty()) {
      write_bytes(work.path / "kernels.o", compile_to_object(aot.mlir, jo));
      objs = shell_quote((work.path / "kernels.o").string());
    }
    double codegen_ms = cuda ? ptx_ms : ms_since(tc);
    std::string name = model_name(model);
    std::string glue = driver_source(aot.kernels, work.path / "plan.bin", name);
    glue += "extern \"C\" const int hgc_params_beside = " + std::string(beside ? "1" : "0") + ";\n";
    glue += "extern \"C\" const int hgc_target_cuda = " + std::string(cuda ? "1" : "0") + ";\n";
    std::vector<std::string> heads;
    for (const ValueRef& h : g.heads)
      heads.push_back(g.nodes[h.node].name + "_output" + (g.nodes[h.node].out_shapes.size() > 1 ? std::to_string(h.index) : ""));
    if (emit == "lib") glue += output_names_source(heads);
    write_bytes(work.path / "main.cc", glue);
    auto q = [](const fs::path& p) { return shell_quote(p.string()); };
    std::string cxx = shell_quote(find_cxx()), log = " > " + q(work.path / "link.log") + " 2>&1";
    std::string libs = q(aot_archive(AotArchive::runtime)) + " " + q(aot_archive(AotArchive::base)) + " " + q(HGC_OPENBLAS_LIB) + " " + q(HGC_DNNL_LIB) +
                       " -lpthread -lm -ldl";
    std::vector<std::string> cmds;
    if (emit == "exe") {
      // A program reaches OpenBLAS and oneDNN through stubs that load each at its first call
      // (runtime/aot_lazy.cc): a start that needs neither does not pay their ~11 ms.
      std::string exe_libs = aot_has_lazy_libs() ? q(aot_archive(AotArchive::runtime)) + " " +
                                                       q(aot_archive(AotArchive::base)) + " " +
                                                       q(aot_archive(AotArchive::lazy)) + " -lpthread -lm -ldl"
                                                 : libs;
      cmds.push_back(cxx + " -O1 " + HGC_AOT_LDFLAGS + " -o " + q(output.temp) + " " + q(work.path / "main.cc") + " " +
                     objs + " " + q(aot_archive(AotArchive::main)) + " " + exe_libs + log);
    } else if (shared_lib) {
      write_bytes(work.path / "exports.map", "{ global: model_*; local: *; };\n");
      cmds.push_back(cxx + " -O1 -shared -fPIC " + HGC_AOT_LDFLAGS + " -Wl,-soname," + shell_quote(fs::path(out).filename().string()) + " -Wl,--version-script=" +
                     q(work.path / "exports.map") + " -o " + q(output.temp) + " " + q(work.path / "main.cc") + " " +
                     objs + " -Wl,--whole-archive " + q(aot_archive(AotArchive::c_api)) + " -Wl,--no-whole-archive " + libs + log);
    } else {
      // One archive holding the model, the C API and the hgc runtime (an MRI script: no
      // names to clash when members of different archives share one).
      cmds.push_back(cxx + " -O1 -fPIC -c -o " + q(work.path / "glue.o") + " " + q(work.path / "main.cc") + log);
      std::string mri = "CREATE " + (work.path / "lib.a").string() + "\nADDMOD " + (work.path / "glue.o").string() +
                        "\n" + (objs.empty() ? "" : "ADDMOD " + (work.path / "kernels.o").string() + "\n") +
                        "ADDLIB " + aot_archive(AotArchive::c_api) + "\nADDLIB " + aot_archive(AotArchive::runtime) + "\nADDLIB " + aot_archive(AotArchive::base) +
                        "\nSAVE\nEND\n";
      write_bytes(work.path / "lib.mri", mri);
      cmds.push_back(shell_quote(HGC_AR) + " -M < " + q(work.path / "lib.mri") + log);
    }
    auto tl = std::chrono::steady_clock::now();
    for (const std::string& cmd : cmds)
      if (int rc = std::system(cmd.c_str()); rc != 0) {
        std::ifstream f(work.path / "link.log");
        std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        fail("cli", "compile: linking the ", emit == "exe" ? "program" : "library", " failed (exit ", rc, "):\n", cmd,
             "\n", text);
      }
    if (emit == "lib" && !shared_lib) {
      std::ifstream f(work.path / "lib.a", std::ios::binary);
      output.write(std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()));
    }
    double link_ms = ms_since(tl);
    if (emit == "lib") {
      std::string file = fs::path(out).filename().string();
      // The driver hgc itself links with: a sanitizer build's runtime must match its compiler.
      std::string link = find_cxx() + " -o prog prog.o " + (shared_lib ? "./" + file + " -Wl,-rpath,'$ORIGIN'" : file) +
                         " " + HGC_AOT_LDFLAGS + " " + HGC_OPENBLAS_LIB + " " + HGC_DNNL_LIB + " -lpthread -lm -ldl";
      side->write(c_header(*aot.exe, heads, name, link));
    } else if (beside) {
      ParamList list;
      for (const auto& [pname, t] : frozen)
        list.push_back({(g.role(g.find(pname)) == VarRole::AuxState ? "aux:" : "arg:") + pname, t});
      side->write(save_params_bytes(list));
    }
    output.commit();
    if (side) side->commit();
    std::cout << "compiled " << name << (cuda ? " for cuda" : "") << ": " << aot.exe->steps.size() << " steps, "
              << (cuda ? gplan.kernels.size() : aot.kernels.size()) << (cuda ? " PTX kernels, plan " : " kernels, plan ") << blob.size() << " bytes -> " << out << " (" << fs::file_size(out)
              << " bytes" << (side ? ", and " + side->final_path.string() : "") << ") in " << std::fixed
              << std::setprecision(1) << ms_since(t0) << " ms (codegen " << codegen_ms << " ms, link " << link_ms
              << " ms)\n";
    return 0;
  }
  output.commit();
  std::cout << "wrote " << out << " (" << emit << ", " << fs::file_size(out) << " bytes) in " << std::fixed
            << std::setprecision(1) << ms_since(t0) << " ms\n";
  return 0;
}

}  // namespace hgc::cli
