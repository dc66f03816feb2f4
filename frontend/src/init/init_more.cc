// The initializers of init_more.h. Orthogonal and Bilinear compute on the host (a one-off
// fill of one parameter) and copy the result in.
#include "hgc/frontend/init/init_more.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "hgc/base/error.h"

namespace hgc::gluon::init {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void check_float(const std::string& name, const NDArray& arr, const char* who) {
  if (!dtype_is_float(arr.dtype()))
    fail("gluon", who, " cannot initialize parameter '", name, "' of dtype ", dtype_name(arr.dtype()));
}

void put_host(NDArray& arr, const std::vector<double>& v) {
  std::vector<float> f(v.begin(), v.end());
  arr.assign(nd::array(f, arr.shape()).astype(arr.dtype()));
}

std::string strip_prefix(const std::string& n) {
  if (n.rfind("arg:", 0) == 0 || n.rfind("aux:", 0) == 0) return n.substr(4);
  return n;
}

}  // namespace

std::shared_ptr<Initializer> loads(const std::string& text) {
  if (text.empty() || text[0] != '[') return create(text);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail("gluon", "initializer text '", text, "' is not JSON: ", e.what());
  }
  if (!j.is_array() || j.empty() || !j[0].is_string()) fail("gluon", "initializer text '", text, "' is not [name, {kwargs}]");
  std::string name = j[0];
  nlohmann::json kw = j.size() > 1 ? j[1] : nlohmann::json::object();
  auto num = [&](const char* k, double d) { return kw.contains(k) ? kw[k].get<double>() : d; };
  if (name == "constant") return std::make_shared<Constant>(num("value", 0));
  if (name == "uniform") return std::make_shared<Uniform>(num("scale", 0.07));
  if (name == "normal") return std::make_shared<Normal>(num("sigma", 0.01));
  if (name == "orthogonal")
    return std::make_shared<Orthogonal>(num("scale", 1.414), kw.value("rand_type", std::string("uniform")));
  if (name == "lstmbias") return std::make_shared<LSTMBias>(num("forget_bias", 1.0));
  if (name == "bilinear") return std::make_shared<Bilinear>();
  if (name == "xavier") {
    auto x = std::make_shared<Xavier>(num("magnitude", 3));
    x->rnd_type(kw.value("rnd_type", std::string("uniform"))).factor_type(kw.value("factor_type", std::string("avg")));
    return x;
  }
  if (name == "msraprelu") return std::make_shared<MSRAPrelu>(kw.value("factor_type", std::string("avg")), num("slope", 0.25));
  return create(name);
}

void initialize(const Initializer& init, const InitDesc& desc, NDArray& arr) {
  auto it = desc.attrs.find("__init__");
  if (it != desc.attrs.end() && !it->second.empty()) {
    loads(it->second)->init_weight(desc.name, arr);
    return;
  }
  const std::string& n = desc.name;
  if (ends_with(n, "weight")) init.init_weight(n, arr);
  else if (ends_with(n, "bias") || ends_with(n, "beta") || ends_with(n, "min")) arr.fill_(0);
  else if (ends_with(n, "gamma") || ends_with(n, "max")) arr.fill_(1);
  else
    fail("gluon", "Unknown initialization pattern for '", n,
         "': names end in weight, bias, gamma, beta, min or max, or carry an __init__ attribute");
}

// ---- Load ----

Load::Load(std::map<std::string, NDArray> params, std::shared_ptr<Initializer> default_init)
    : default_(std::move(default_init)) {
  for (auto& [k, v] : params) params_[strip_prefix(k)] = v;
}
Load::Load(const std::string& path, std::shared_ptr<Initializer> default_init)
    : Load(nd::load_dict(path), std::move(default_init)) {}

void Load::init_weight(const std::string& name, NDArray& arr) const {
  auto it = params_.find(name);
  if (it == params_.end()) {
    if (!default_)
      fail("gluon", "Load: cannot initialize '", name, "': not found in the loaded params and no default initializer");
    default_->init_weight(name, arr);
    return;
  }
  if (it->second.shape() != arr.shape()) {
    std::ostringstream a, b;
    for (auto d : arr.shape()) a << d << ",";
    for (auto d : it->second.shape()) b << d << ",";
    fail("gluon", "Load: parameter '", name, "' cannot be initialized from loading: shape mismatch, target (", a.str(),
         ") vs loaded (", b.str(), ")");
  }
  arr.assign(it->second.astype(arr.dtype()));
}

// ---- Mixed ----

Mixed::Mixed(std::vector<std::string> patterns, std::vector<std::shared_ptr<Initializer>> initializers)
    : patterns_(std::move(patterns)), inits_(std::move(initializers)) {
  if (patterns_.size() != inits_.size())
    fail("gluon", "Mixed: ", patterns_.size(), " patterns for ", inits_.size(), " initializers");
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (!inits_[i]) fail("gluon", "Mixed: initializer ", i, " is null");
    try {
      std::regex r(patterns_[i]);
    } catch (const std::regex_error& e) {
      fail("gluon", "Mixed: pattern '", patterns_[i], "' is not a regex: ", e.what());
    }
  }
}
void Mixed::init_weight(const std::string& name, NDArray& arr) const {
  for (size_t i = 0; i < patterns_.size(); ++i)
    if (std::regex_match(name, std::regex(patterns_[i]))) {
      inits_[i]->init_weight(name, arr);
      return;
    }
  fail("gluon", "Mixed: parameter '", name, "' did not match any pattern; add \".*\" as a catch-all");
}

// ---- Orthogonal ----

Orthogonal::Orthogonal(double scale, std::string rand_type) : scale_(scale), rand_type_(std::move(rand_type)) {
  if (rand_type_ != "uniform" && rand_type_ != "normal")
    fail("gluon", "Orthogonal: rand_type '", rand_type_, "' is not uniform or normal");
}
void Orthogonal::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "Orthogonal");
  if (arr.ndim() < 2) fail("gluon", "Orthogonal cannot initialize vector '", name, "': it needs at least 2-D");
  int64_t nout = arr.shape()[0], nin = arr.size() / nout;
  NDArray r = rand_type_ == "uniform" ? nd::random::uniform(-1, 1, {nout, nin}, DType::f64)
                                      : nd::random::normal(0, 1, {nout, nin}, DType::f64);
  std::vector<double> m = r.to_vector<double>();
  // Orthonormalize the k = min(nout, nin) vectors along the longer side: rows when nout <= nin.
  bool rows = nout <= nin;
  int64_t k = rows ? nout : nin, len = rows ? nin : nout;
  auto at = [&](int64_t vec, int64_t i) -> double& { return rows ? m[vec * nin + i] : m[i * nin + vec]; };
  for (int64_t a = 0; a < k; ++a) {
    for (int64_t b = 0; b < a; ++b) {
      double dot = 0;
      for (int64_t i = 0; i < len; ++i) dot += at(a, i) * at(b, i);
      for (int64_t i = 0; i < len; ++i) at(a, i) -= dot * at(b, i);
    }
    double nrm = 0;
    for (int64_t i = 0; i < len; ++i) nrm += at(a, i) * at(a, i);
    nrm = std::sqrt(nrm);
    if (nrm < 1e-12) fail("gluon", "Orthogonal: degenerate random matrix for '", name, "'");
    for (int64_t i = 0; i < len; ++i) at(a, i) /= nrm;
  }
  for (double& v : m) v *= scale_;
  put_host(arr, m);
}
std::string Orthogonal::dumps() const {
  std::ostringstream os;
  os << "[\"orthogonal\", {\"scale\": " << scale_ << ", \"rand_type\": \"" << rand_type_ << "\"}]";
  return os.str();
}

// ---- Bilinear, LSTMBias ----

void Bilinear::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "Bilinear");
  if (arr.ndim() != 4) fail("gluon", "Bilinear initializes 4-D deconvolution weights; '", name, "' is ", arr.ndim(), "-D");
  const auto& s = arr.shape();
  double f = std::ceil(double(s[3]) / 2), c = (2 * f - 1 - std::fmod(f, 2)) / (2 * f);
  std::vector<double> w(size_t(arr.size()));
  for (int64_t i = 0; i < arr.size(); ++i) {
    double x = double(i % s[3]), y = double((i / s[3]) % s[2]);
    w[i] = (1 - std::abs(x / f - c)) * (1 - std::abs(y / f - c));
  }
  put_host(arr, w);
}

void LSTMBias::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "LSTMBias");
  if (arr.ndim() != 1 || arr.shape()[0] % 4 != 0)
    fail("gluon", "LSTMBias: '", name, "' must be a vector of 4 * hidden biases");
  int64_t h = arr.shape()[0] / 4;
  std::vector<double> v(size_t(arr.size()), 0.0);
  for (int64_t i = h; i < 2 * h; ++i) v[i] = forget_bias_;
  put_host(arr, v);
}
std::string LSTMBias::dumps() const {
  std::ostringstream os;
  os << "[\"lstmbias\", {\"forget_bias\": " << forget_bias_ << "}]";
  return os.str();
}

}  // namespace hgc::gluon::init
