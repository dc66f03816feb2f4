// `hgc onnx-test DIR`: runs one ONNX backend test (DIR/model.onnx with test_data_set_N/
// input_K.pb and output_K.pb) through hgc and compares the outputs at ONNX's tolerances.
// Prints one line "PASS", "FAIL: why" or "UNSUPPORTED(category): why"; exit 0, 1 or 4.
// scripts/onnx_conformance.sh runs it once per test in its own process.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "hgc/compiler/compile.h"
#include "hgc/base/error.h"
#include "hgc/ir/verify.h"
#include "model_load.h"

namespace hgc::cli {
namespace {

namespace fs = std::filesystem;

const char* kHelp = R"(usage: hgc onnx-test TEST_DIR [options]

Runs an ONNX backend test: TEST_DIR/model.onnx on every TEST_DIR/test_data_set_N/input_K.pb,
compares with output_K.pb (|hgc - expected| <= atol + rtol * |expected|).

options:
  --rtol X   relative tolerance (default 1e-3, as ONNX's backend runner)
  --atol X   absolute tolerance (default 1e-7)
  -O N       LLVM optimization level (default 1)
Prints PASS, FAIL: ... or UNSUPPORTED(dtype|sequence-or-optional|training): ...;
exits 0, 1 or 4.
)";

std::vector<std::string> files_with_prefix(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0 || n.size() < prefix.size() + 4 || n.substr(n.size() - 3) != ".pb") continue;
    try {
      found.push_back({std::stoi(n.substr(prefix.size())), e.path().string()});
    } catch (...) {
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> r;
  for (auto& f : found) r.push_back(f.second);
  return r;
}

// Compares one output; returns "" when equal within tolerance.
std::string compare(const HostTensor& got, const OnnxTensor& want, double rtol, double atol) {
  if (got.shape() != want.shape)
    return "shape " + Shape(got.shape()).str() + ", expected " + Shape(want.shape).str();
  OnnxTensor g;
  g.dtype = got.dtype();
  g.shape = got.shape();
  g.bytes.assign(static_cast<const char*>(got.raw()), got.nbytes());
  bool exact = !dtype_is_float(want.dtype);
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = g.as_double(i), b = want.as_double(i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (std::isinf(b) && a == b) continue;
    double err = std::fabs(a - b);
    bool ok = exact ? (a == b) : err <= atol + rtol * std::fabs(b);
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, err);
    }
  }
  if (!bad) return "";
  return std::to_string(bad) + " of " + std::to_string(want.numel()) + " values differ (first at " +
         std::to_string(first) + ": " + std::to_string(g.as_double(first)) + " vs " +
         std::to_string(want.as_double(first)) + ", max abs error " + std::to_string(worst) + ")";
}

int run_test(const std::string& dir, double rtol, double atol, int opt) {
  fs::path root(dir);
  if (!fs::exists(root / "model.onnx")) fail("onnx-test", dir, ": no model.onnx");
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) fail("onnx-test", dir, ": no test_data_set_N folder");
  for (const fs::path& set : sets) {
    std::vector<std::string> in_files = files_with_prefix(set, "input_"), out_files = files_with_prefix(set, "output_");
    // Read the model once without shapes so that non-tensor inputs are classified before
    // their files (SequenceProto, OptionalProto) are misread as tensors.
    std::vector<std::string> names = read_onnx_input_names((root / "model.onnx").string());
    std::vector<OnnxTensor> inputs;
    for (const std::string& f : in_files) inputs.push_back(read_onnx_tensor_file(f));
    // ONNX's test data holds bfloat16 values as their uint16 bits (numpy has no bfloat16).
    std::vector<DType> in_types = read_onnx_dtypes((root / "model.onnx").string()),
                       out_types = read_onnx_dtypes((root / "model.onnx").string(), true);
    for (size_t k = 0; k < inputs.size() && k < in_types.size(); ++k)
      if (inputs[k].dtype == DType::u16 && in_types[k] == DType::bf16) inputs[k].dtype = DType::bf16;
    if (inputs.size() != names.size())
      fail("onnx-test", set.string(), ": ", inputs.size(), " input files for ", names.size(), " model inputs");
    InferOptions io;
    std::map<std::string, HostTensor> bound;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const std::string& name = names[k];
      io.shapes[name] = Shape(inputs[k].shape);
      io.dtypes[name] = inputs[k].dtype;
      bound[name] = to_host(inputs[k]);
    }
    std::map<std::string, HostTensor> params;
    OnnxReadOptions ro;
    ro.shapes = io.shapes;
    for (size_t k = 0; k < inputs.size(); ++k) ro.values[names[k]] = inputs[k];
    OnnxModel m = read_onnx_file((root / "model.onnx").string(), ro);
    Graph g = std::move(m.graph);
    for (auto& [k, v] : m.params) params[k] = to_host(v);
    for (auto& [k, s] : m.infer_options().shapes)
      if (!io.shapes.count(k)) io.shapes[k] = s;
    for (auto& [k, d] : m.infer_options().dtypes)
      if (!io.dtypes.count(k)) io.dtypes[k] = d;
    infer(g, io);
    verify(g);
    std::map<std::string, HostTensor> frozen;
    for (auto& [k, v] : params) {
      bound[k] = v;
      int id = g.find(k);
      if (id >= 0 && g.role(id) != VarRole::Input) frozen[k] = v;
    }
    auto exe = compile(g, CompileOptions().opt(opt), frozen);
    std::vector<HostTensor> out = exe->run(bound);
    if (out.size() != out_files.size())
      fail("onnx-test", set.string(), ": hgc gives ", out.size(), " outputs, the test has ", out_files.size());
    for (size_t k = 0; k < out.size(); ++k) {
      OnnxTensor want = read_onnx_tensor_file(out_files[k]);
      if (want.dtype == DType::u16 && k < out_types.size() && out_types[k] == DType::bf16) want.dtype = DType::bf16;
      std::string d = compare(out[k], want, rtol, atol);
      if (!d.empty()) {
        std::cout << "FAIL: " << set.filename().string() << " output " << k << ": " << d << "\n";
        return 1;
      }
    }
  }
  std::cout << "PASS\n";
  return 0;
}

}  // namespace

int cmd_onnx_test(Args& args) {
  std::string dir;
  double rtol = 1e-3, atol = 1e-7;
  int opt = 1;
  while (!args.done()) {
    if (args.flag("-h") || args.flag("--help")) {
      std::cout << kHelp;
      return 0;
    } else if (args.option("--rtol")) {
      rtol = std::stod(args.value());
    } else if (args.option("--atol")) {
      atol = std::stod(args.value());
    } else if (args.option("-O")) {
      opt = std::stoi(args.value());
    } else if (args.peek().rfind("-", 0) == 0) {
      fail("cli", "onnx-test: unknown option '", args.peek(), "'");
    } else if (dir.empty()) {
      dir = args.positional();
    } else {
      fail("cli", "onnx-test: more than one test folder given");
    }
  }
  if (dir.empty()) fail("cli", "onnx-test: no test folder given (see hgc onnx-test --help)");
  try {
    return run_test(dir, rtol, atol, opt);
  } catch (const OnnxUnsupported& e) {
    std::cout << "UNSUPPORTED(" << onnx_unsupported_name(e.kind()) << "): " << e.what() << "\n";
    return 4;
  } catch (const std::exception& e) {
    std::string m = e.what();
    std::replace(m.begin(), m.end(), '\n', ' ');
    std::cout << "FAIL: " << m << "\n";
    return 1;
  }
}

}  // namespace hgc::cli
