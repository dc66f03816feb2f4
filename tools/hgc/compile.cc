// `hgc compile`: a model JSON to MLIR, LLVM IR, a kernel object or a standalone program.
// The program is the model's kernels compiled ahead of time (compile_to_object), its plan
// and parameters serialized (plan_io.h) and embedded as a data blob, and a kernel table the
// linker fills, linked with the prebuilt driver main (runtime/aot_main.cc, libhgc_aot.a),
// the hgc runtime and OpenBLAS by the system C++ compiler: no MLIR or LLVM at run time.
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

#include "cli.h"
#include "commands.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/jit.h"
#include "hgc/ir/error.h"
#include "hgc/ir/files.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/expand_rnn.h"
#include "hgc/runtime/plan_io.h"

namespace hgc::cli {
namespace fs = std::filesystem;

static const char* kCompileHelp = R"(usage: hgc compile MODEL-symbol.json --shape NAME=DIMS ... -o OUT [options]

Compiles the model ahead of time. --emit=exe (default) writes a standalone program:
  OUT --input data=in.npy [--output out.npy] [--repeat N]
which needs neither hgc's compiler nor MLIR/LLVM (only the C++ runtime and OpenBLAS).

options:
  --shape NAME=DIMS       shape of a data input, e.g. data=1x512 (repeatable)
  --params FILE           MXNet .params baked into the program; without it parameters are
                          seeded uniform [-0.1, 0.1) like `hgc run` (aux: moving_var 1, else 0)
  --seed N                seed for those parameters (default 0)
  -o, --output OUT        the file to write
  --emit=KIND             exe (default), obj (kernel object), mlir, llvm (LLVM IR)
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

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_compile(Args& args) {
  std::string model, params_path, out, emit = "exe", cpu = "x86-64-v3";
  std::vector<std::string> shape_args;
  int opt = 3;
  bool fuse = true, plan = true;
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
      if (emit != "exe" && emit != "obj" && emit != "mlir" && emit != "llvm")
        fail("cli", "compile: --emit takes exe, obj, mlir or llvm, got '", emit, "'");
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
  PendingOutput output(out);  // before the work: an unwritable path fails fast
  auto t0 = std::chrono::steady_clock::now();

  Graph g = load_json_file(model);
  InferOptions io;
  for (const std::string& s : shape_args) {
    auto [name, shape] = parse_shape_arg(s);
    io.shapes[name] = shape;
  }
  std::map<std::string, HostTensor> bound;
  if (!params_path.empty()) {
    bound = load_params_by_name(params_path);
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
  if (expand_rnn(g) > 0) infer(g, io);
  std::map<std::string, HostTensor> frozen;  // parameters and aux states; data stays input
  for (int id : g.variable_ids())
    if (g.role(id) != VarRole::Input && bound.count(g.nodes[id].name)) frozen[g.nodes[id].name] = bound[g.nodes[id].name];

  CompileOptions co = CompileOptions().opt(opt).cpu(cpu).fusion(fuse).plan(plan);
  AotPlan aot = plan_aot(g, co, frozen);
  JitOptions jo = JitOptions().opt(opt).cpu(cpu);
  if (emit == "mlir") {
    output.write(aot.mlir);
  } else if (emit == "llvm") {
    output.write(aot.mlir.empty() ? std::string() : lower_to_llvm_ir(aot.mlir, jo));
  } else if (emit == "obj") {
    if (aot.mlir.empty()) fail("cli", "compile: the model has no generated kernels, so no object to emit");
    output.write(compile_to_object(aot.mlir, jo));
  } else {
    TempDir work;
    std::string blob = save_plan(*aot.exe);
    write_bytes(work.path / "plan.bin", blob);
    auto tc = std::chrono::steady_clock::now();
    std::string objs;
    if (!aot.mlir.empty()) {
      write_bytes(work.path / "kernels.o", compile_to_object(aot.mlir, jo));
      objs = shell_quote((work.path / "kernels.o").string());
    }
    double codegen_ms = ms_since(tc);
    std::string name = model_name(model);
    write_bytes(work.path / "main.cc", driver_source(aot.kernels, work.path / "plan.bin", name));
    auto tl = std::chrono::steady_clock::now();
    std::string cmd = shell_quote(find_cxx()) + " -O1 " + HGC_AOT_LDFLAGS + " -o " + shell_quote(output.temp.string()) +
                      " " + shell_quote((work.path / "main.cc").string()) + " " + objs + " " +
                      shell_quote(HGC_AOT_LIB) + " " + shell_quote(HGC_RUNTIME_LIB) + " " + shell_quote(HGC_IR_LIB) +
                      " " + shell_quote(HGC_OPENBLAS_LIB) + " -lpthread -lm -ldl > " +
                      shell_quote((work.path / "link.log").string()) + " 2>&1";
    if (int rc = std::system(cmd.c_str()); rc != 0) {
      std::ifstream log(work.path / "link.log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      fail("cli", "compile: linking the program failed (exit ", rc, "):\n", cmd, "\n", text);
    }
    double link_ms = ms_since(tl);
    output.commit();
    std::cout << "compiled " << name << ": " << aot.exe->steps.size() << " steps, " << aot.kernels.size()
              << " kernels, plan " << blob.size() << " bytes -> " << out << " (" << fs::file_size(out)
              << " bytes) in " << std::fixed << std::setprecision(1) << ms_since(t0) << " ms (codegen " << codegen_ms
              << " ms, link " << link_ms << " ms)\n";
    return 0;
  }
  output.commit();
  std::cout << "wrote " << out << " (" << emit << ", " << fs::file_size(out) << " bytes) in " << std::fixed
            << std::setprecision(1) << ms_since(t0) << " ms\n";
  return 0;
}

}  // namespace hgc::cli
