#include "cli.h"

#include <iostream>

#include "hgc/base/error.h"

namespace hgc::cli {

std::pair<std::string, Shape> parse_shape_arg(const std::string& arg, bool allow_unknown) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("cli", "--shape expects NAME=DIMS like data=1x3x224x224, got '", arg, "'");
  std::string name = arg.substr(0, eq), dims = arg.substr(eq + 1);
  std::vector<size_t> unknown;  // '?' dims (symbolic: any size)
  {
    std::string d;
    size_t k = 0;
    for (size_t i = 0; i < dims.size(); ++i) {
      char c = dims[i];
      if (c == 'x' || c == 'X') {
        ++k;
        d += ',';
      } else if (c == '?') {
        unknown.push_back(k);
        d += '0';
      } else {
        d += c;
      }
    }
    dims = d;
  }
  if (!unknown.empty() && !allow_unknown)
    fail("cli", "--shape ", name, ": '?' (a dynamic dim) in '", arg.substr(eq + 1),
         "' is accepted by hgc dump only so far; give every dim a size");
  std::vector<int64_t> v;
  try {
    v = parse_int_tuple(dims);
  } catch (const Error&) {
    fail("cli", "--shape ", name, ": cannot parse dims '", arg.substr(eq + 1), "'");
  }
  for (int64_t d : v)
    if (d < 0) fail("cli", "--shape ", name, ": negative dim in '", arg.substr(eq + 1), "'");
  for (size_t k : unknown)
    if (k < v.size()) v[k] = Shape::kUnknownDim;
  return {name, Shape(v)};
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
}

bool Args::flag(const std::string& name) {
  if (done()) return false;
  const std::string& a = args_[i_];
  if (a == name) {
    ++i_;
    has_pending_ = false;
    current_ = name;
    return true;
  }
  if (a.rfind(name + "=", 0) == 0) {
    pending_ = a.substr(name.size() + 1);
    has_pending_ = true;
    current_ = name;
    ++i_;
    return true;
  }
  return false;
}

bool Args::option(const std::string& name) { return flag(name); }

std::string Args::value() {
  if (has_pending_) {
    has_pending_ = false;
    return pending_;
  }
  if (done()) fail("cli", current_, " needs a value");
  return args_[i_++];
}

std::string Args::positional() { return args_[i_++]; }

std::map<std::string, HostTensor> load_params_by_name(const std::string& path) {
  std::map<std::string, HostTensor> out;
  for (auto& [name, t] : load_params(path)) {
    if (name.empty()) fail("cli", path, ": parameters must be saved with names (a dict)");
    out[strip_param_prefix(name)] = t;
  }
  return out;
}

void add_param_shapes(const Graph& g, const std::map<std::string, HostTensor>& params,
                      InferOptions& opts) {
  for (const auto& [name, t] : params) {
    int id = g.find(name);
    if (id < 0 || !g.nodes[id].is_variable())
      fail("cli", "parameter '", name, "' from the params file is not a variable of the graph");
    if (!t.defined()) continue;
    opts.shapes[name] = Shape(t.shape());
    opts.dtypes[name] = t.dtype();
  }
}

HostTensor random_tensor(const std::vector<int64_t>& shape, std::mt19937& rng, float lo, float hi) {
  HostTensor t(DType::f32, shape);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

void bind_missing(const Graph& g, std::map<std::string, HostTensor>& bound, std::mt19937& rng, bool data_too) {
  for (int id : g.variable_ids()) {
    const Node& v = g.nodes[id];
    if (bound.count(v.name)) continue;
    VarRole role = g.role(id);
    const auto& shape = v.out_shapes[0].dims();
    if (role == VarRole::Parameter && (v.out_dtypes[0] == DType::i8 || v.out_dtypes[0] == DType::u8)) {
      // int8 weights of a quantized graph (_sg_mkldnn_fully_connected without channel_wise_quantize)
      HostTensor t(v.out_dtypes[0], shape);
      std::uniform_int_distribution<int> u(v.out_dtypes[0] == DType::i8 ? -127 : 0, v.out_dtypes[0] == DType::i8 ? 127 : 255);
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (v.out_dtypes[0] == DType::i8) t.data<int8_t>()[i] = static_cast<int8_t>(u(rng));
        else t.data<uint8_t>()[i] = static_cast<uint8_t>(u(rng));
      }
      bound[v.name] = t;
    } else if (role == VarRole::Parameter) {
      bound[v.name] = random_tensor(shape, rng, -0.1f, 0.1f);
    } else if (role == VarRole::AuxState) {
      bool is_var = v.name.find("var") != std::string::npos;
      HostTensor t(DType::f32, shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = is_var ? 1.f : 0.f;
      bound[v.name] = t;
    } else if (data_too) {
      std::cerr << "note: input '" << v.name << "' not given; using zeros " << v.out_shapes[0].str() << "\n";
      bound[v.name] = HostTensor(v.out_dtypes[0], shape);
    }
  }
}

}  // namespace hgc::cli
