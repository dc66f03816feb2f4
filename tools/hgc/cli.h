// Shared command-line helpers for the hgc subcommands.
#pragma once
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc::cli {

// "data=1x3x224x224", "data=(1,3,224,224)" or "data=1,3,224,224" -> {"data", Shape}.
// "data=1x784" -> ("data", (1, 784)). With `allow_unknown`, '?' dims parse as unknown
// (Shape::kUnknownDim, printed "?"); else they are an error naming the option.
std::pair<std::string, Shape> parse_shape_arg(const std::string& arg, bool allow_unknown = false);

// Simple argv walker: flags as "--name value" or "--name=value".
class Args {
 public:
  Args(int argc, char** argv, int first);
  bool done() const { return i_ >= args_.size(); }
  const std::string& peek() const { return args_[i_]; }
  // True when the next token is `--name` / `--name=...`; then value() gives its value.
  bool flag(const std::string& name);
  bool option(const std::string& name);  // flag that takes a value
  std::string value();
  std::string positional();

 private:
  std::vector<std::string> args_;
  size_t i_ = 0;
  std::string pending_;
  bool has_pending_ = false;
  std::string current_;
};

// Loads a .params file and returns it keyed by variable name (arg:/aux: stripped).
std::map<std::string, HostTensor> load_params_by_name(const std::string& path);

// Adds the shapes and dtypes of `params` to `opts`, and after inference checks every
// parameter against the graph (names the parameter and both shapes on mismatch).
void add_param_shapes(const Graph& g, const std::map<std::string, HostTensor>& params,
                      InferOptions& opts);

// A seeded uniform [lo, hi) float32 tensor.
HostTensor random_tensor(const std::vector<int64_t>& shape, std::mt19937& rng, float lo, float hi);

// Binds the variables of the inferred `g` that `bound` lacks, in node order: parameters
// seeded uniform [-0.1, 0.1), aux states 1 (moving_var) or 0, and with `data_too` data
// inputs as zeros (with a note). `hgc run` and `hgc compile` share it, so one seed gives
// both the same parameters.
void bind_missing(const Graph& g, std::map<std::string, HostTensor>& bound, std::mt19937& rng, bool data_too);

}  // namespace hgc::cli
