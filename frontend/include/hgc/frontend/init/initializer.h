// Initializers: how a Parameter's first values are drawn (MXNet's mx.init), from the one
// global generator that nd::random::seed() seeds.
//
//   using namespace hgc::gluon;
//   nd::random::seed(1);
//   net->collect_params().initialize(init::Xavier().magnitude(2.24));
//   auto p = params.get("w", ParamOptions().shape({5, 5}).init(init::Normal(0.01)));
//   init::Constant(3).dumps() == "[\"constant\", {\"value\": 3.0}]"
#pragma once
#include <memory>
#include <string>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon {

class Initializer {
 public:
  virtual ~Initializer() = default;
  // Fills `arr` (float dtype, final shape) in place; `name` is the parameter's, for errors.
  virtual void init_weight(const std::string& name, NDArray& arr) const = 0;
  // MXNet's `__init__` attribute text: "zeros", "ones", or "[\"xavier\", {...}]".
  virtual std::string dumps() const = 0;
  virtual std::shared_ptr<Initializer> clone() const = 0;
};

namespace init {

// Gluon's Xavier: scale = sqrt(magnitude / factor), factor from fan_in/fan_out
// (fan_in = shape[1] * prod(shape[2:]), fan_out = shape[0] * prod(shape[2:])).
class Xavier : public Initializer {
 public:
  Xavier() = default;
  explicit Xavier(double magnitude) : magnitude_(magnitude) {}
  Xavier& rnd_type(std::string t);     // "uniform" (default) | "gaussian"
  Xavier& factor_type(std::string t);  // "avg" (default) | "in" | "out"
  Xavier& magnitude(double m) { magnitude_ = m; return *this; }
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Xavier>(*this); }

 private:
  std::string rnd_type_ = "uniform", factor_type_ = "avg";
  double magnitude_ = 3;
};

// MXNet's MSRAPrelu (He et al. for PReLU nets): Xavier with rnd_type gaussian, magnitude
// 2 / (1 + slope^2), so sigma = sqrt(2 / ((1 + slope^2) * factor)), factor from
// factor_type ("avg" default, "in", "out") as in Xavier.
class MSRAPrelu : public Xavier {
 public:
  explicit MSRAPrelu(std::string factor_type = "avg", double slope = 0.25);
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<MSRAPrelu>(*this); }

 private:
  std::string factor_type_;
  double slope_;
};

// Uniform in [-scale, scale] (Gluon's default initializer is Uniform(0.07)).
class Uniform : public Initializer {
 public:
  explicit Uniform(double scale = 0.07) : scale_(scale) {}
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Uniform>(*this); }

 private:
  double scale_;
};

// Normal(0, sigma).
class Normal : public Initializer {
 public:
  explicit Normal(double sigma = 0.01) : sigma_(sigma) {}
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Normal>(*this); }

 private:
  double sigma_;
};

class Constant : public Initializer {
 public:
  explicit Constant(double value) : value_(value) {}
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Constant>(*this); }

 protected:
  double value_;
};

class Zero : public Constant {
 public:
  Zero() : Constant(0) {}
  std::string dumps() const override { return "zeros"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Zero>(*this); }
};

class One : public Constant {
 public:
  One() : Constant(1) {}
  std::string dumps() const override { return "ones"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<One>(*this); }
};

// Gluon's string spellings: "zeros", "ones", "xavier", "msraprelu", "uniform", "normal".
std::shared_ptr<Initializer> create(const std::string& name);

}  // namespace init
}  // namespace hgc::gluon
