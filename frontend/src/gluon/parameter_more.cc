// ParameterDict::items/get_constant/setattr and Parameter::row_sparse_data (dense rows).
#include <cstdlib>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/parameter.h"
#include "nd/detail.h"

namespace hgc::gluon {
namespace {

// Fills a constant parameter with its value (MXNet's Constant's private initializer).
class ValueInit : public Initializer {
 public:
  explicit ValueInit(NDArray v) : v_(std::move(v)) {}
  void init_weight(const std::string& name, NDArray& arr) const override {
    if (arr.shape() != v_.shape())
      fail("gluon", "constant '", name, "': value shape ", nd_detail::shape_str(v_.shape()), " vs parameter shape ",
           nd_detail::shape_str(arr.shape()));
    arr.assign(v_.astype(arr.dtype()));
  }
  std::string dumps() const override { return "[\"constant\", {}]"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<ValueInit>(*this); }

 private:
  NDArray v_;
};

}  // namespace

NDArray Parameter::row_sparse_data(const NDArray& row_id) const { return nd::take(data(), row_id, 0); }

std::vector<NDArray> Parameter::list_row_sparse_data(const NDArray& row_id) const {
  std::vector<NDArray> r;
  for (const NDArray& d : list_data()) r.push_back(nd::take(d, row_id.as_in_context(d.context()), 0));
  return r;
}

std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> ParameterDict::items() const {
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> r;
  for (const auto& p : params_) r.emplace_back(p->name(), p);
  return r;
}

std::shared_ptr<Parameter> ParameterDict::get_constant(const std::string& name, const NDArray& value) {
  if (!value.defined()) fail("gluon", "get_constant('", prefix_ + name, "'): the value is undefined");
  std::string full = prefix_ + name;
  if (contains(full) || (shared_ && shared_->contains(full))) {
    auto p = contains(full) ? (*this)[full] : (*shared_)[full];
    if (p->shape() != value.shape() || p->dtype() != value.dtype())
      fail("gluon", "constant '", full, "' exists with shape ", nd_detail::shape_str(p->shape()), " ",
           dtype_name(p->dtype()), ", not ", nd_detail::shape_str(value.shape()), " ", dtype_name(value.dtype()));
    if (!contains(full)) update(p);
    return p;
  }
  ParamOptions o = ParamOptions().shape(value.shape()).dtype(value.dtype()).grad_req("null");
  o.init_ = std::make_shared<ValueInit>(value.copy());
  return get(name, o);
}

void ParameterDict::setattr(const std::string& name, const std::string& value) {
  if (name == "grad_req") {
    if (value != "write" && value != "add" && value != "null")
      fail("gluon", "setattr: grad_req must be write, add or null, got '", value, "'");
    setattr_grad_req(value);
    return;
  }
  if (name == "lr_mult" || name == "wd_mult") {
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end) fail("gluon", "setattr: ", name, " needs a number, got '", value, "'");
    setattr(name, v);
    return;
  }
  fail("gluon", "setattr: unknown parameter attribute '", name, "' (grad_req, lr_mult, wd_mult)");
}

void ParameterDict::setattr(const std::string& name, double value) {
  if (name == "lr_mult") {
    for (const auto& p : params_) p->set_lr_mult(value);
  } else if (name == "wd_mult") {
    for (const auto& p : params_) p->set_wd_mult(value);
  } else {
    fail("gluon", "setattr: attribute '", name, "' does not take a number (lr_mult, wd_mult)");
  }
}

}  // namespace hgc::gluon
