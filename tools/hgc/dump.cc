// `hgc dump`: load a model JSON, infer shapes, and print it as text, canonical JSON or dot.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "model_load.h"
#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/printer.h"
#include "hgc/compiler/imperative.h"
#include "hgc/passes/fuse.h"
#include "hgc/passes/pass.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/pipeline.h"
#include "hgc/passes/simplify.h"

namespace hgc::cli {

static const char* kDumpHelp = R"(usage: hgc dump MODEL-symbol.json [options]

Loads an MXNet symbol JSON file (any era), infers shapes and dtypes, and prints the graph.

options:
  --shape NAME=DIMS     input shape, e.g. --shape data=1x3x224x224 (repeatable); '?' for a
                        dynamic dim (data=?x3x224x224): dims that depend on it print as "?"
  --params FILE         MXNet .params file; parameter shapes/dtypes come from it
  --format text|json|dot
                        text (default): one line per node and a summary
                        json: canonical MXNet JSON (E2, sorted attributes)
                        dot:  Graphviz (render with `dot -Tsvg`)
  --explain             kernels before/after fusion, the kernel groups and why each stopped,
                        activation memory without/with planning, bytes folded (needs --shape)
  --after PASS          print the IR after the named pass (or "all"): infer, then the
                        simplification pipeline dce, simplify, constant-fold (frozen
                        --params too), fold-batchnorm (needs --params), cse
  -o, --output FILE     write to FILE instead of standard output
  -h, --help            this text
Without --shape, shapes that cannot be inferred print as "?".
)";

namespace {

std::string mib(int64_t b) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << b / 1048576.0 << " MiB";
  return os.str();
}

// The compiler's view: kernels before/after fusion, the groups and where they stopped, the
// arena without and with planning, bytes folded into constants.
std::string explanation(const Graph& g, const std::map<std::string, HostTensor>* params) {
  Explanation x = explain(g, CompileOptions(), params);
  std::ostringstream os;
  os << "nodes: " << x.nodes_before << " -> " << x.nodes_after << " after simplification and fusion\n"
     << "kernels: " << x.kernels_before << " generated-kernel ops -> " << x.kernels_after << " kernels ("
     << x.unique_kernels << " distinct); " << x.steps << " steps incl. library calls\n"
     << "kernel groups (" << x.groups.size() << "):\n";
  for (const auto& [name, members] : x.groups) {
    os << "  " << name << ":";
    for (const auto& m : members) os << " " << m;
    os << "\n";
  }
  os << "fusion stopped at (" << x.borders.size() << "):\n";
  for (const auto& [name, why] : x.borders) os << "  " << name << ": " << why << "\n";
  double pct = x.unfused_naive_arena_bytes ? 100.0 * x.planned_arena_bytes / x.unfused_naive_arena_bytes : 0;
  os << "activation memory: " << mib(x.unfused_naive_arena_bytes) << " one buffer per value, "
     << mib(x.naive_arena_bytes) << " after fusion, " << mib(x.planned_arena_bytes) << " planned (" << std::fixed
     << std::setprecision(1) << pct << "%)\n"
     << "constants folded: " << mib(x.folded_constant_bytes) << "\n\nmemory plan:\n" << x.plan_table;
  return os.str();
}

}  // namespace

int cmd_dump(Args& args) {
  std::string model, format = "text", params_path, after, output;
  bool explain_it = false;
  InferOptions opts;
  while (!args.done()) {
    if (args.flag("-h") || args.flag("--help")) {
      std::cout << kDumpHelp;
      return 0;
    } else if (args.option("--shape")) {
      auto [name, shape] = parse_shape_arg(args.value(), true);
      opts.shapes[name] = shape;
    } else if (args.option("--params")) {
      params_path = args.value();
    } else if (args.option("--format")) {
      format = args.value();
    } else if (args.option("--after")) {
      after = args.value();
    } else if (args.flag("--explain")) {
      explain_it = true;
    } else if (args.option("-o") || args.option("--output")) {
      output = args.value();
    } else if (args.peek().rfind("-", 0) == 0) {
      fail("cli", "dump: unknown option '", args.peek(), "' (see hgc dump --help)");
    } else if (model.empty()) {
      model = args.positional();
    } else {
      fail("cli", "dump: more than one model given ('", model, "', '", args.peek(), "')");
    }
  }
  if (model.empty()) fail("cli", "dump: no model file given (see hgc dump --help)");
  if (format != "text" && format != "json" && format != "dot")
    fail("cli", "dump: --format must be text, json or dot, got '", format, "'");

  // Complete inference is required only when the user told us the input shapes.
  // '?' dims (--shape data=?x784) stay symbolic: what depends on them prints as "?".
  bool user_shapes = !opts.shapes.empty();
  for (const auto& [n, s] : opts.shapes) user_shapes = user_shapes && s.known();
  std::map<std::string, HostTensor> params;
  Graph g = load_model(model, opts, params);
  if (!params_path.empty()) {
    params = load_params_by_name(params_path);
    add_param_shapes(g, params, opts);
  }
  opts.require_complete = user_shapes;
  PassManager pm;
  pm.add(make_infer_pass(opts));
  // The compile pipeline itself (compiler/pipeline.h), so --after shows what compile() makes;
  // with --params (or an ONNX model's initializers) the parameters are frozen as `hgc run`
  // and `hgc compile` freeze them.
  if (!after.empty() && after != "infer")
    for (auto& p : compile_passes(CompileOptions(), params.empty() ? nullptr : &params)) pm.add(std::move(p));
  std::ostringstream passes_out;
  // Text shows the IR after the named pass; json and dot show the graph after the whole
  // pipeline (so `--after=all --format=dot` draws the kernel groups).
  if (!after.empty() && format == "text") pm.print_after(after, &passes_out);
  pm.run(g);

  std::string text;
  if (explain_it) {
    if (!opts.require_complete) fail("cli", "dump: --explain needs the input shapes (--shape)");
    text = explanation(g, params.empty() ? nullptr : &params);
  } else if (!after.empty() && format == "text") text = passes_out.str();
  else if (format == "json") text = save_json(g) + "\n";
  else if (format == "dot") text = print_dot(g);
  else text = print_text(g);
  if (output.empty()) std::cout << text;
  else write_file_atomic(output, text, "cli");
  return 0;
}

}  // namespace hgc::cli
