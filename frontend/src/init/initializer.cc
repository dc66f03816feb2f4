// Initializers (mx.init): each fills a parameter's array from nd::random's global generator.
#include "hgc/frontend/init/initializer.h"

#include <cmath>
#include <sstream>

#include "hgc/base/error.h"

namespace hgc::gluon::init {
namespace {

std::string num(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

void check_float(const std::string& name, const NDArray& arr, const char* who) {
  if (!dtype_is_float(arr.dtype()))
    fail("gluon", who, " cannot initialize parameter '", name, "' of dtype ", dtype_name(arr.dtype()));
}

}  // namespace

Xavier& Xavier::rnd_type(std::string t) {
  if (t != "uniform" && t != "gaussian") fail("gluon", "Xavier: rnd_type '", t, "' is not uniform or gaussian");
  rnd_type_ = std::move(t);
  return *this;
}

Xavier& Xavier::factor_type(std::string t) {
  if (t != "avg" && t != "in" && t != "out") fail("gluon", "Xavier: factor_type '", t, "' is not avg, in or out");
  factor_type_ = std::move(t);
  return *this;
}

void Xavier::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "Xavier");
  const auto& s = arr.shape();
  if (s.size() < 2)
    fail("gluon", "Xavier initializer cannot be applied to vector ", name, ". It requires at least 2D.");
  double hw = 1;
  for (size_t i = 2; i < s.size(); ++i) hw *= static_cast<double>(s[i]);
  double fan_in = s[1] * hw, fan_out = s[0] * hw;
  double factor = factor_type_ == "avg" ? (fan_in + fan_out) / 2 : factor_type_ == "in" ? fan_in : fan_out;
  double scale = std::sqrt(magnitude_ / factor);
  arr.assign(rnd_type_ == "uniform" ? nd::random::uniform(-scale, scale, s, arr.dtype())
                                    : nd::random::normal(0, scale, s, arr.dtype()));
}

std::string Xavier::dumps() const {
  return "[\"xavier\", {\"rnd_type\": \"" + rnd_type_ + "\", \"factor_type\": \"" + factor_type_ +
         "\", \"magnitude\": " + num(magnitude_) + "}]";
}

MSRAPrelu::MSRAPrelu(std::string factor_type, double slope) : factor_type_(factor_type), slope_(slope) {
  rnd_type("gaussian");
  this->factor_type(std::move(factor_type));
  magnitude(2.0 / (1.0 + slope * slope));
}

std::string MSRAPrelu::dumps() const {
  return "[\"msraprelu\", {\"factor_type\": \"" + factor_type_ + "\", \"slope\": " + num(slope_) + "}]";
}

void Uniform::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "Uniform");
  arr.assign(nd::random::uniform(-scale_, scale_, arr.shape(), arr.dtype()));
}
std::string Uniform::dumps() const { return "[\"uniform\", {\"scale\": " + num(scale_) + "}]"; }

void Normal::init_weight(const std::string& name, NDArray& arr) const {
  check_float(name, arr, "Normal");
  arr.assign(nd::random::normal(0, sigma_, arr.shape(), arr.dtype()));
}
std::string Normal::dumps() const { return "[\"normal\", {\"sigma\": " + num(sigma_) + "}]"; }

void Constant::init_weight(const std::string&, NDArray& arr) const { arr.fill_(value_); }
std::string Constant::dumps() const { return "[\"constant\", {\"value\": " + num(value_) + "}]"; }

std::shared_ptr<Initializer> create(const std::string& name) {
  if (name == "zeros" || name == "zero") return std::make_shared<Zero>();
  if (name == "ones" || name == "one") return std::make_shared<One>();
  if (name == "xavier") return std::make_shared<Xavier>();
  if (name == "msraprelu") return std::make_shared<MSRAPrelu>();
  if (name == "uniform") return std::make_shared<Uniform>();
  if (name == "normal") return std::make_shared<Normal>();
  fail("gluon", "unknown initializer '", name, "' (known: zeros, ones, xavier, msraprelu, uniform, normal)");
}

}  // namespace hgc::gluon::init
