// `hgc convert`: MXNet symbol JSON + .params -> ONNX, and ONNX -> MXNet JSON + .params.
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "hgc/base/error.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/runtime/tensor_io.h"
#include "model_load.h"

namespace hgc::cli {

static const char* kConvertHelp = R"(usage: hgc convert MODEL-symbol.json --params FILE --shape NAME=DIMS... -o OUT.onnx [--opset N]
       hgc convert MODEL.onnx [--shape NAME=DIMS...] -o PREFIX

The first form writes an ONNX model (checked with onnx::checker's full check); the input
shapes fix the graph (ONNX's shape-free export is not produced). The second writes
PREFIX-symbol.json and PREFIX-0000.params (initializers as arg:/aux: arrays).
)";

static OnnxTensor to_onnx(const HostTensor& t) {
  OnnxTensor o;
  o.dtype = t.dtype();
  o.shape = t.shape();
  o.bytes.assign(static_cast<const char*>(t.raw()), t.nbytes());
  return o;
}

int cmd_convert(Args& args) {
  std::string model, params_path, out;
  int64_t opset = 17;
  InferOptions io;
  while (!args.done()) {
    if (args.flag("-h") || args.flag("--help")) {
      std::cout << kConvertHelp;
      return 0;
    } else if (args.option("--params")) {
      params_path = args.value();
    } else if (args.option("--shape")) {
      auto [n, s] = parse_shape_arg(args.value());
      io.shapes[n] = s;
    } else if (args.option("-o") || args.option("--output")) {
      out = args.value();
    } else if (args.option("--opset")) {
      opset = std::stoll(args.value());
    } else if (args.peek().rfind("-", 0) == 0) {
      fail("cli", "convert: unknown option '", args.peek(), "' (see hgc convert --help)");
    } else if (model.empty()) {
      model = args.positional();
    } else {
      fail("cli", "convert: more than one model given");
    }
  }
  if (model.empty() || out.empty()) fail("cli", "convert: a model and -o OUT are needed (see hgc convert --help)");
  std::map<std::string, HostTensor> params;
  if (is_onnx_path(model)) {
    Graph g = load_model(model, io, params);
    save_json_file(g, out + "-symbol.json");
    ParamList list;
    for (int id : g.variable_ids()) {
      auto p = params.find(g.nodes[id].name);
      if (p == params.end()) continue;
      list.emplace_back((g.role(id) == VarRole::AuxState ? "aux:" : "arg:") + p->first, p->second);
    }
    save_params(out + "-0000.params", list);
    std::cout << "wrote " << out << "-symbol.json and " << out << "-0000.params (" << list.size() << " arrays)\n";
    return 0;
  }
  Graph g = load_model(model, io, params);
  if (!params_path.empty()) {
    params = load_params_by_name(params_path);
    add_param_shapes(g, params, io);
  }
  infer(g, io);
  verify(g);
  std::map<std::string, OnnxTensor> values;
  for (int id : g.variable_ids()) {
    const std::string& n = g.nodes[id].name;
    if (auto p = params.find(n); p != params.end()) values[n] = to_onnx(p->second);
    else if (g.role(id) != VarRole::Input) fail("cli", "convert: parameter '", n, "' is not in ", params_path.empty() ? "(no --params)" : params_path);
  }
  write_onnx_file(out, g, values, opset);
  std::cout << "wrote " << out << " (opset " << opset << ", " << values.size() << " initializers)\n";
  return 0;
}

}  // namespace hgc::cli
