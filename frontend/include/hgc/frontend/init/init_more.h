// More of mx.init: InitDesc and the name-pattern dispatch of Initializer.__call__, Load (from
// saved arrays), Mixed (by regex), Orthogonal, Bilinear (upsampling kernels) and LSTMBias.
//
//   using namespace hgc::gluon;
//   init::Mixed mixed({".*bias", ".*"}, {std::make_shared<init::Constant>(0.1),
//                                        std::make_shared<init::Orthogonal>()});
//   NDArray w = nd::zeros({4, 4});
//   mixed.init_weight("fc1_weight", w);           // orthogonal rows, scaled by 1.414
//   init::initialize(init::Xavier(), init::InitDesc("bn0_gamma"), g);   // gamma: ones
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/init/initializer.h"

namespace hgc::gluon::init {

// A variable's name with its attributes (e.g. "__init__": a dumps() text or an initializer
// name) and the initializer to fall back to (MXNet's InitDesc).
struct InitDesc {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::shared_ptr<Initializer> global_init;
  explicit InitDesc(std::string n, std::map<std::string, std::string> a = {},
                    std::shared_ptr<Initializer> g = nullptr)
      : name(std::move(n)), attrs(std::move(a)), global_init(std::move(g)) {}
};

// MXNet's Initializer.__call__(desc, arr): attrs["__init__"] names the initializer when set;
// else by the name's suffix: *weight -> init.init_weight, *bias, *beta, *min -> 0, *gamma,
// *max -> 1; any other name is an error.
void initialize(const Initializer& init, const InitDesc& desc, NDArray& arr);
// An initializer from a dumps() text ("zeros", "[\"constant\", {\"value\": 2.0}]", ...) or a
// plain name (init::create's names).
std::shared_ptr<Initializer> loads(const std::string& text);

// Initializes by name from saved arrays (names may carry "arg:"/"aux:"), falling back to
// default_init for names not there (an error without one). Shapes must match.
class Load : public Initializer {
 public:
  explicit Load(std::map<std::string, NDArray> params, std::shared_ptr<Initializer> default_init = nullptr);
  // From an nd::save'd .params file with names.
  explicit Load(const std::string& path, std::shared_ptr<Initializer> default_init = nullptr);
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override { return "[\"load\", {}]"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Load>(*this); }

 private:
  std::map<std::string, NDArray> params_;
  std::shared_ptr<Initializer> default_;
};

// The first initializer whose regex pattern matches the parameter's name (std::regex_match on
// the whole name, as Python's re.match plus a trailing ".*" would; use ".*" as a catch-all).
class Mixed : public Initializer {
 public:
  Mixed(std::vector<std::string> patterns, std::vector<std::shared_ptr<Initializer>> initializers);
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override { return "[\"mixed\", {}]"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Mixed>(*this); }

 private:
  std::vector<std::string> patterns_;
  std::vector<std::shared_ptr<Initializer>> inits_;
};

// Saxe et al.: a random (nout, nin) matrix (uniform in [-1, 1] or "normal") made orthonormal
// (rows when nout <= nin, else columns) and scaled; nout = shape[0], nin = prod(shape[1:]).
// MXNet takes U or V of an SVD; this orthonormalizes by modified Gram-Schmidt in double
// precision, which gives a matrix with the same orthogonality (not the same numbers).
class Orthogonal : public Initializer {
 public:
  explicit Orthogonal(double scale = 1.414, std::string rand_type = "uniform");
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Orthogonal>(*this); }

 private:
  double scale_;
  std::string rand_type_;
};

// Bilinear upsampling kernels for a 4-D Deconvolution weight: w[.., y, x] = (1 - |x / f - c|)
// (1 - |y / f - c|), f = ceil(shape[3] / 2), c = (2 f - 1 - f % 2) / (2 f).
class Bilinear : public Initializer {
 public:
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override { return "[\"bilinear\", {}]"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Bilinear>(*this); }
};

// An LSTM cell's biases (4 * hidden, gates i, f, c, o): zeros except forget_bias on the
// forget gate's quarter.
class LSTMBias : public Initializer {
 public:
  explicit LSTMBias(double forget_bias = 1.0) : forget_bias_(forget_bias) {}
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<LSTMBias>(*this); }

 private:
  double forget_bias_;
};

}  // namespace hgc::gluon::init
