// Gradient checks: every op with a gradient rule against central finite differences on
// random inputs (float64 where the op's kernels take it, float32 with a looser tolerance for
// the OpenBLAS ops). The last case enumerates the rule table, so a rule added without a
// check here fails the suite.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/contrib_detection.h"
#include "hgc/frontend/nd/contrib_sketch.h"
#include "hgc/frontend/nd/resize_ops.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/nd/array_ops.h"
#include "hgc/frontend/nd/linalg.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "hgc/ir/op.h"

using namespace hgc;

namespace {

std::set<std::string>& checked() {
  static std::set<std::string> s;
  return s;
}

using Fn = std::function<NDArray(const std::vector<NDArray>&)>;

NDArray rand_array(const std::vector<int64_t>& shape, DType dt, double lo, double hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(u(gen));
  NDArray f = nd::array(v, shape);
  if (dt == DType::f64) {  // full double precision, not float32 values widened
    NDArray d = f.astype(DType::f64);
    std::mt19937 g2(seed + 7);
    for (int64_t i = 0; i < n; ++i) static_cast<double*>(d.data_ptr())[i] = u(g2);
    return d;
  }
  return f;
}

double elem(const NDArray& x, int64_t i) {
  return x.dtype() == DType::f64 ? static_cast<double*>(x.data_ptr())[i] : static_cast<float*>(x.data_ptr())[i];
}
void set_elem(const NDArray& x, int64_t i, double v) {
  if (x.dtype() == DType::f64) static_cast<double*>(x.data_ptr())[i] = v;
  else static_cast<float*>(x.data_ptr())[i] = static_cast<float>(v);
}

// sum(f(xs) * w) in double, w a fixed random weighting (so every output element matters).
double objective(const Fn& f, const std::vector<NDArray>& xs, const NDArray& w) {
  NDArray y = f(xs);
  std::vector<double> yv = y.to_vector<double>(), wv = w.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < yv.size(); ++i) s += yv[i] * wv[i];
  return s;
}

// Checks d objective / d xs[i] for each i in `wrt` (default: all).
void check_grad(const std::string& op, const Fn& f, std::vector<NDArray> xs, std::vector<size_t> wrt = {},
                double eps = 1e-6, double tol = 1e-6) {
  checked().insert(op);
  if (wrt.empty())
    for (size_t i = 0; i < xs.size(); ++i) wrt.push_back(i);
  for (size_t i : wrt) xs[i].attach_grad();
  NDArray y, w;
  {
    auto rec = autograd::record();
    y = f(xs);
  }
  w = rand_array(y.shape(), y.dtype(), -1, 1, 99);
  y.backward(w);
  std::vector<NDArray> plain;
  for (const NDArray& x : xs) plain.push_back(x.detach());
  for (size_t i : wrt) {
    NDArray g = xs[i].grad();
    REQUIRE(g.shape() == xs[i].shape());
    for (int64_t k = 0; k < xs[i].size(); ++k) {
      double v = elem(plain[i], k);
      set_elem(plain[i], k, v + eps);
      double up = objective(f, plain, w);
      set_elem(plain[i], k, v - eps);
      double down = objective(f, plain, w);
      set_elem(plain[i], k, v);
      double num = (up - down) / (2 * eps), ana = elem(g, k);
      INFO(op, ": input ", i, " element ", k, " analytic ", ana, " numeric ", num);
      CHECK(std::abs(ana - num) <= tol * (1 + std::abs(num)));
    }
  }
}

constexpr DType f64 = DType::f64;
constexpr DType f32 = DType::f32;
NDArray r64(std::vector<int64_t> s, double lo = -1, double hi = 1, uint32_t seed = 1) { return rand_array(s, f64, lo, hi, seed); }
NDArray r32(std::vector<int64_t> s, double lo = -1, double hi = 1, uint32_t seed = 1) { return rand_array(s, f32, lo, hi, seed); }
NDArray op1(const std::string& op, const AttrMap& a, const NDArray& x) { return nd::op(op, a, {x}); }

}  // namespace

TEST_CASE("gradcheck: unary math (float64)") {
  struct U {
    const char* op;
    double lo, hi;
  };
  for (U u : std::vector<U>{{"negative", -1, 1}, {"_copy", -1, 1}, {"exp", -1, 1}, {"expm1", -1, 1},
                            {"log", 0.5, 2}, {"log1p", 0.1, 1}, {"log2", 0.5, 2}, {"log10", 0.5, 2},
                            {"sqrt", 0.5, 2}, {"rsqrt", 0.5, 2}, {"square", -1, 1}, {"reciprocal", 0.5, 2},
                            {"abs", 0.1, 1}, {"sigmoid", -2, 2}, {"tanh", -2, 2}, {"relu", 0.1, 1},
                            {"softsign", -2, 2}, {"sin", -2, 2}, {"cos", -2, 2}, {"sinh", -1, 1},
                            {"cosh", -1, 1}, {"erf", -1, 1}}) {
    std::string op = u.op;
    check_grad(op, [op](auto& x) { return op1(op, {}, x[0]); }, {r64({2, 3}, u.lo, u.hi)});
  }
  // relu and abs away from their kink, on both sides
  check_grad("relu", [](auto& x) { return nd::relu(x[0]); }, {nd::array({-1.5f, -0.5f, 0.5f, 2}).astype(f64)});
  check_grad("clip", [](auto& x) { return nd::clip(x[0], -0.5, 0.5); },
             {nd::array({-1.5f, -0.25f, 0.25f, 2}).astype(f64)});
  check_grad("Cast", [](auto& x) { return x[0].astype(f32); }, {r64({3})}, {}, 1e-3, 1e-3);
}

TEST_CASE("gradcheck: binary, broadcasting and scalar ops (float64)") {
  for (const char* k : {"add", "sub", "mul", "div", "maximum", "minimum"}) {
    std::string op = std::string("broadcast_") + k;
    check_grad(op, [op](auto& x) { return nd::op(op, {}, {x[0], x[1]}); }, {r64({2, 3}), r64({1, 3}, 0.5, 1.5, 2)});
    check_grad(op, [op](auto& x) { return nd::op(op, {}, {x[0], x[1]}); }, {r64({3}, 0.5, 1.5, 3), r64({2, 1, 3}, -1, 1, 4)});
    std::string ew = std::string(k == std::string("maximum") || k == std::string("minimum") ? "_" : "elemwise_") + k;
    check_grad(ew, [ew](auto& x) { return nd::op(ew, {}, {x[0], x[1]}); }, {r64({2, 3}), r64({2, 3}, 0.5, 1.5, 2)});
  }
  check_grad("broadcast_power", [](auto& x) { return nd::power(x[0], x[1]); }, {r64({2, 3}, 0.5, 2), r64({3}, -1, 2, 5)});
  check_grad("_power", [](auto& x) { return nd::op("_power", {}, {x[0], x[1]}); }, {r64({4}, 0.5, 2), r64({4}, -1, 2, 5)});
  // mod: MXNet's gradients 1 and -floor(a / b) (not zero); a/b kept away from the integers
  // where the floor jumps, incl. negative operands (floor, not truncation).
  {
    NDArray a = nd::array({-3.7f, -1.2f, 0.3f, 2.9f, 5.1f, 7.9f}, {2, 3}).astype(f64);
    NDArray b = nd::array({1.5f, -2.2f, 0.7f, -1.7f, 2.3f, 3.1f}, {2, 3}).astype(f64);
    check_grad("_mod", [](auto& x) { return nd::op("_mod", {}, {x[0], x[1]}); }, {a, b});
    check_grad("broadcast_mod", [](auto& x) { return nd::op("broadcast_mod", {}, {x[0], x[1]}); },
               {a, nd::array({1.5f, -2.2f, 0.7f}, {1, 3}).astype(f64)});
    check_grad("_mod_scalar", [](auto& x) { return op1("_mod_scalar", {{"scalar", 1.3}}, x[0]); }, {a});
    check_grad("_rmod_scalar", [](auto& x) { return op1("_rmod_scalar", {{"scalar", 4.1}}, x[0]); }, {b});
    // The analytic values themselves (MXNet: d/da = 1, d/db = -floor(a / b)).
    NDArray p = nd::array({7, -7}).astype(f64), q = nd::array({2, 2}).astype(f64);
    p.attach_grad();
    q.attach_grad();
    NDArray y;
    {
      auto rec = autograd::record();
      y = nd::op("_mod", {}, {p, q});
    }
    y.backward();
    CHECK(p.grad().to_vector<double>() == std::vector<double>{1, 1});
    CHECK(q.grad().to_vector<double>() == std::vector<double>{-3, 4});
  }
  check_grad("add_n", [](auto& x) { return nd::op("add_n", {{"num_args", int64_t(3)}}, {x[0], x[1], x[2]}); },
             {r64({2, 2}), r64({2, 2}, -1, 1, 2), r64({2, 2}, -1, 1, 3)});
  for (const char* op : {"_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
                         "_rdiv_scalar", "_power_scalar", "_rpower_scalar", "_maximum_scalar", "_minimum_scalar"}) {
    std::string o = op;
    check_grad(o, [o](auto& x) { return op1(o, {{"scalar", 1.7}}, x[0]); }, {r64({2, 3}, 0.5, 3)});
  }
}

TEST_CASE("gradcheck: reductions (float64)") {
  NDArray x = r64({2, 3, 4});
  check_grad("sum", [](auto& v) { return nd::sum(v[0]); }, {x});
  check_grad("sum", [](auto& v) { return nd::sum(v[0], {1}); }, {r64({2, 3, 4})});
  check_grad("sum", [](auto& v) { return nd::sum(v[0], {0, 2}, true); }, {r64({2, 3, 4})});
  check_grad("sum", [](auto& v) { return nd::sum(v[0], {1}, false, true); }, {r64({2, 3, 4})});
  check_grad("mean", [](auto& v) { return nd::mean(v[0], {-1}); }, {r64({2, 3, 4})});
  check_grad("mean", [](auto& v) { return nd::mean(v[0]); }, {r64({2, 3})});
  check_grad("max", [](auto& v) { return nd::max(v[0], {1}); }, {r64({2, 5})});
  check_grad("min", [](auto& v) { return nd::min(v[0], {0}, true); }, {r64({3, 2})});
}

TEST_CASE("gradcheck: softmax family, activations (float64)") {
  check_grad("softmax", [](auto& v) { return nd::softmax(v[0]); }, {r64({2, 5})});
  check_grad("softmax", [](auto& v) { return nd::softmax(v[0], 0); }, {r64({3, 2})});
  check_grad("softmax", [](auto& v) { return op1("softmax", {{"temperature", 2.0}}, v[0]); }, {r64({2, 4})});
  check_grad("log_softmax", [](auto& v) { return nd::log_softmax(v[0]); }, {r64({2, 5})});
  check_grad("log_softmax", [](auto& v) { return nd::log_softmax(v[0], 1); }, {r64({2, 3, 2})});
  // Every act_type the op record accepts, so a new choice without a rule fails here.
  for (const std::string& a : OpRegistry::global().get("Activation").attr_spec("act_type")->choices) {
    check_grad("Activation", [a](auto& v) { return op1("Activation", {{"act_type", a}}, v[0]); },
               {nd::array({-1.5f, -0.5f, 0.3f, 1.2f, 2, -2}, {2, 3}).astype(f64)});
  }
  for (const char* act : {"leaky", "elu"}) {
    std::string a = act;
    check_grad("LeakyReLU", [a](auto& v) { return op1("LeakyReLU", {{"act_type", a}, {"slope", 0.1}}, v[0]); },
               {nd::array({-1.5f, -0.5f, 0.3f, 1.2f, 2, -2}, {2, 3}).astype(f64)});
  }
  check_grad("Dropout", [](auto& v) { return op1("Dropout", {{"p", 0.5}}, v[0]); }, {r64({2, 3})});
  for (int64_t axis : {-1, 1}) {
    auto ln = [axis](auto& v) { return nd::op("LayerNorm", {{"axis", axis}, {"eps", 1e-3}}, {v[0], v[1], v[2]}); };
    int64_t c = axis == -1 ? 4 : 3;
    check_grad("LayerNorm", ln, {r64({2, 3, 4}, -2, 2), r64({c}, 0.5, 1.5, 2), r64({c}, -1, 1, 3)});
  }
}

TEST_CASE("gradcheck: movement (float64)") {
  check_grad("Reshape", [](auto& v) { return v[0].reshape({3, -1}); }, {r64({2, 3})});
  check_grad("reshape_like", [](auto& v) { return nd::op("reshape_like", {}, {v[0], nd::zeros({3, 2}, f64)}); },
             {r64({2, 3})});
  check_grad("_np_reshape", [](auto& v) { return op1("_np_reshape", {{"newshape", std::vector<int64_t>{3, -1}}}, v[0]); }, {r64({2, 3})});
  check_grad("Flatten", [](auto& v) { return v[0].flatten(); }, {r64({2, 3, 2})});
  check_grad("expand_dims", [](auto& v) { return v[0].expand_dims(1); }, {r64({2, 3})});
  check_grad("squeeze", [](auto& v) { return v[0].squeeze(); }, {r64({2, 1, 3})});
  check_grad("transpose", [](auto& v) { return v[0].transpose(); }, {r64({2, 3})});
  check_grad("transpose", [](auto& v) { return v[0].transpose({1, 2, 0}); }, {r64({2, 3, 4})});
  check_grad("SwapAxis", [](auto& v) { return nd::swapaxes(v[0], 0, 2); }, {r64({2, 3, 4})});
  check_grad("broadcast_to", [](auto& v) { return nd::broadcast_to(v[0], {2, 3, 4}); }, {r64({3, 1})});
  check_grad("broadcast_like", [](auto& v) { return nd::op("broadcast_like", {}, {v[0], v[1]}); },
             {r64({1, 3}), r64({2, 3})}, {0});
  check_grad("Concat", [](auto& v) { return nd::concat({v[0], v[1]}, 1); }, {r64({2, 3}), r64({2, 2}, -1, 1, 2)});
  check_grad("slice_axis", [](auto& v) { return v[0].slice_axis(1, 1, 3); }, {r64({2, 4})});
  check_grad("slice_axis", [](auto& v) { return v[0].slice_axis(0, -2, std::nullopt); }, {r64({3, 2})});
  check_grad("where", [](auto& v) { return nd::where(v[0] > 0.0, v[1], v[2]); },
             {r64({2, 3}), r64({2, 3}, -1, 1, 2), r64({2, 3}, -1, 1, 3)}, {1, 2});
}

TEST_CASE("gradcheck: FullyConnected, dot, batch_dot, Embedding (float32)") {
  auto fc = [](bool flatten, bool no_bias) {
    return [=](auto& v) {
      AttrMap a{{"num_hidden", int64_t(3)}, {"flatten", flatten}, {"no_bias", no_bias}};
      std::vector<NDArray> in{v[0], v[1]};
      if (!no_bias) in.push_back(v[2]);
      return nd::op("FullyConnected", a, in);
    };
  };
  check_grad("FullyConnected", fc(true, false), {r32({2, 2, 2}), r32({3, 4}, -1, 1, 2), r32({3}, -1, 1, 3)}, {}, 1e-2, 2e-3);
  check_grad("FullyConnected", fc(false, true), {r32({2, 2, 4}), r32({3, 4}, -1, 1, 2)}, {}, 1e-2, 2e-3);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      std::vector<int64_t> sa = ta ? std::vector<int64_t>{4, 2} : std::vector<int64_t>{2, 4};
      std::vector<int64_t> sb = tb ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{4, 3};
      check_grad("dot", [=](auto& v) { return nd::dot(v[0], v[1], ta, tb); }, {r32(sa), r32(sb, -1, 1, 2)}, {}, 1e-2, 2e-3);
      std::vector<int64_t> ba{2}, bb{2};
      ba.insert(ba.end(), sa.begin(), sa.end());
      bb.insert(bb.end(), sb.begin(), sb.end());
      check_grad("batch_dot", [=](auto& v) { return nd::batch_dot(v[0], v[1], ta, tb); }, {r32(ba), r32(bb, -1, 1, 2)},
                 {}, 1e-2, 2e-3);
    }
  NDArray idx = nd::array({0, 2, 2, 3}, {2, 2});
  check_grad("Embedding",
             [](auto& v) { return nd::op("Embedding", {{"input_dim", int64_t(4)}, {"output_dim", int64_t(3)}}, {v[0], v[1]}); },
             {idx, r32({4, 3})}, {1}, 1e-2, 2e-3);
}

TEST_CASE("gradcheck: Convolution 2-D and 1-D, stride 1 (float32)") {
  auto conv = [](std::vector<int64_t> pad, bool no_bias) {
    return [=](auto& v) {
      AttrMap a{{"kernel", std::vector<int64_t>{2, 3}}, {"pad", pad}, {"num_filter", int64_t(3)}, {"no_bias", no_bias}};
      std::vector<NDArray> in{v[0], v[1]};
      if (!no_bias) in.push_back(v[2]);
      return nd::op("Convolution", a, in);
    };
  };
  check_grad("Convolution", conv({0, 0}, false), {r32({2, 2, 4, 5}), r32({3, 2, 2, 3}, -1, 1, 2), r32({3}, -1, 1, 3)},
             {}, 1e-2, 3e-3);
  check_grad("Convolution", conv({1, 2}, true), {r32({1, 2, 3, 4}), r32({3, 2, 2, 3}, -1, 1, 2)}, {}, 1e-2, 3e-3);
  // 1-D (NCW), as Conv1D calls it.
  for (int64_t pad : {0, 1}) {
    auto conv1 = [pad](auto& v) {
      AttrMap a{{"kernel", std::vector<int64_t>{3}}, {"pad", std::vector<int64_t>{pad}}, {"num_filter", int64_t(2)},
                {"layout", std::string("NCW")}};
      return nd::op("Convolution", a, {v[0], v[1], v[2]});
    };
    check_grad("Convolution", conv1, {r32({2, 3, 6}), r32({2, 3, 3}, -1, 1, 2), r32({2}, -1, 1, 3)}, {}, 1e-2, 3e-3);
  }
}

TEST_CASE("gradcheck: Convolution and Deconvolution with stride, padding, dilation, groups; 1-D; im2col/col2im (float32)") {
  using V = std::vector<int64_t>;
  auto conv = [](AttrMap a) {
    return [a](auto& v) {
      std::vector<NDArray> in{v[0], v[1]};
      if (v.size() > 2) in.push_back(v[2]);
      return nd::op("Convolution", a, in);
    };
  };
  check_grad("Convolution",
             conv({{"kernel", V{3, 2}}, {"stride", V{2, 1}}, {"pad", V{1, 1}}, {"dilate", V{1, 2}},
                   {"num_filter", int64_t(4)}}),
             {r32({2, 3, 6, 5}), r32({4, 3, 3, 2}, -1, 1, 2), r32({4}, -1, 1, 3)}, {}, 1e-2, 3e-3);
  check_grad("Convolution",  // two groups, stride larger than the kernel, pad beyond it
             conv({{"kernel", V{2, 2}}, {"stride", V{3, 3}}, {"pad", V{2, 0}}, {"num_filter", int64_t(4)},
                   {"num_group", int64_t(2)}, {"no_bias", true}}),
             {r32({2, 4, 5, 7}), r32({4, 2, 2, 2}, -1, 1, 2)}, {}, 1e-2, 3e-3);
  check_grad("Convolution",  // depthwise
             conv({{"kernel", V{3, 3}}, {"pad", V{1, 1}}, {"num_filter", int64_t(3)}, {"num_group", int64_t(3)}}),
             {r32({1, 3, 4, 4}), r32({3, 1, 3, 3}, -1, 1, 2), r32({3}, -1, 1, 3)}, {}, 1e-2, 3e-3);
  check_grad("Convolution", conv({{"kernel", V{3}}, {"stride", V{2}}, {"pad", V{1}}, {"num_filter", int64_t(2)}}),
             {r32({2, 3, 9}), r32({2, 3, 3}, -1, 1, 2), r32({2}, -1, 1, 3)}, {}, 1e-2, 3e-3);
  auto deconv = [](AttrMap a) {
    return [a](auto& v) {
      std::vector<NDArray> in{v[0], v[1]};
      if (v.size() > 2) in.push_back(v[2]);
      return nd::op("Deconvolution", a, in);
    };
  };
  check_grad("Deconvolution",
             deconv({{"kernel", V{3, 3}}, {"stride", V{2, 2}}, {"pad", V{1, 1}}, {"adj", V{1, 0}},
                     {"num_filter", int64_t(3)}, {"no_bias", false}}),
             {r32({2, 2, 3, 4}), r32({2, 3, 3, 3}, -1, 1, 2), r32({3}, -1, 1, 3)}, {}, 1e-2, 3e-3);
  check_grad("Deconvolution",  // groups, dilation, a target shape
             deconv({{"kernel", V{2, 3}}, {"stride", V{2, 1}}, {"dilate", V{1, 2}}, {"num_filter", int64_t(4)},
                     {"num_group", int64_t(2)}, {"target_shape", V{5, 6}}}),
             {r32({1, 4, 3, 4}), r32({4, 2, 2, 3}, -1, 1, 2)}, {}, 1e-2, 3e-3);
  check_grad("Deconvolution", deconv({{"kernel", V{3}}, {"stride", V{2}}, {"num_filter", int64_t(2)}}),
             {r32({2, 3, 4}), r32({3, 2, 3}, -1, 1, 2)}, {}, 1e-2, 3e-3);
  AttrMap win{{"kernel", V{3, 2}}, {"stride", V{2, 1}}, {"pad", V{1, 0}}, {"dilate", V{1, 2}}};
  check_grad("im2col", [win](auto& v) { return nd::op("im2col", win, {v[0]}); }, {r32({2, 2, 5, 5})}, {}, 1e-2, 2e-3);
  AttrMap back = win;
  back["output_size"] = V{5, 5};  // blocks: 3 x 3
  check_grad("col2im", [back](auto& v) { return nd::op("col2im", back, {v[0]}); }, {r32({2, 12, 9})}, {}, 1e-2, 2e-3);
}

TEST_CASE("gradcheck: Pooling max/avg/sum, global, strides unlike the kernel, padding (float64)") {
  using V = std::vector<int64_t>;
  auto pool = [](AttrMap a) { return [a](auto& v) { return nd::op("Pooling", a, {v[0]}); }; };
  for (const char* t : {"max", "avg", "sum"}) {
    std::string type = t;
    check_grad("Pooling", pool({{"kernel", V{2, 2}}, {"stride", V{2, 2}}, {"pool_type", type}}), {r64({2, 2, 4, 5})});
    check_grad("Pooling", pool({{"kernel", V{3, 3}}, {"stride", V{2, 2}}, {"pad", V{1, 1}}, {"pool_type", type}}),
               {r64({1, 2, 5, 6}, -1, 1, 2)});
    check_grad("Pooling", pool({{"kernel", V{2, 3}}, {"stride", V{3, 1}}, {"pad", V{0, 1}}, {"pool_type", type},
                                {"pooling_convention", std::string("full")}}),
               {r64({1, 2, 7, 5}, -1, 1, 3)});
    check_grad("Pooling", pool({{"global_pool", true}, {"pool_type", type}}), {r64({2, 3, 3, 4}, -1, 1, 4)});
    check_grad("Pooling", pool({{"kernel", V{3}}, {"stride", V{2}}, {"pool_type", type}}), {r64({2, 2, 8}, -1, 1, 5)});
  }
  check_grad("Pooling", pool({{"kernel", V{3, 2}}, {"pad", V{1, 1}}, {"pool_type", std::string("avg")},
                              {"count_include_pad", false}}),
             {r64({1, 2, 4, 4}, -1, 1, 6)});
}

namespace {

// Loss heads (kLoss) return the gradient of the loss they stand for, whatever gradient flows
// into them: check it against central differences of that loss, computed separately, with a
// random head gradient that must not matter.
void check_loss(const std::string& op, const Fn& head, const Fn& loss, std::vector<NDArray> xs, size_t wrt = 0,
                double eps = 1e-6, double tol = 1e-6) {
  checked().insert(op);
  xs[wrt].attach_grad();
  NDArray y;
  {
    auto rec = autograd::record();
    y = head(xs);
  }
  y.backward(rand_array(y.shape(), y.dtype(), -1, 1, 5));
  NDArray g = xs[wrt].grad();
  std::vector<NDArray> plain;
  for (const NDArray& x : xs) plain.push_back(x.detach());
  NDArray ones = nd::ones({1}, y.dtype());
  for (int64_t k = 0; k < xs[wrt].size(); ++k) {
    double v = elem(plain[wrt], k);
    set_elem(plain[wrt], k, v + eps);
    double up = objective(loss, plain, ones);
    set_elem(plain[wrt], k, v - eps);
    double down = objective(loss, plain, ones);
    set_elem(plain[wrt], k, v);
    double num = (up - down) / (2 * eps), ana = elem(g, k);
    INFO(op, ": element ", k, " analytic ", ana, " numeric ", num);
    CHECK(std::abs(ana - num) <= tol * (1 + std::abs(num)));
  }
}

}  // namespace

TEST_CASE("gradcheck: more unary math, hypot, hard_sigmoid, prod (float64)") {
  struct U {
    const char* op;
    double lo, hi;
  };
  for (U u : std::vector<U>{{"cbrt", 0.5, 2}, {"rcbrt", 0.5, 2}, {"tan", -1, 1},
                            {"arcsin", -0.8, 0.8}, {"arccos", -0.8, 0.8}, {"arctan", -2, 2}, {"arcsinh", -2, 2},
                            {"arccosh", 1.2, 3}, {"arctanh", -0.8, 0.8}, {"degrees", -1, 1}, {"radians", -1, 1},
                            {"_contrib_div_sqrt_dim", -1, 1}}) {
    std::string op = u.op;
    check_grad(op, [op](auto& x) { return op1(op, {}, x[0]); }, {r64({2, 4}, u.lo, u.hi)});
  }
  check_grad("hard_sigmoid", [](auto& v) { return op1("hard_sigmoid", {}, v[0]); },
             {nd::array({-3, -1, 0.5f, 1, 3.5f}).astype(f64)});
  for (const char* op : {"_hypot", "broadcast_hypot"}) {
    std::string o = op;
    std::vector<int64_t> sb = o == "_hypot" ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{1, 3};
    check_grad(o, [o](auto& v) { return nd::op(o, {}, {v[0], v[1]}); }, {r64({2, 3}, 0.5, 2), r64(sb, -2, -0.5, 2)});
  }
  check_grad("_hypot_scalar", [](auto& v) { return op1("_hypot_scalar", {{"scalar", 1.5}}, v[0]); }, {r64({3}, -2, 2)});
  check_grad("prod", [](auto& v) { return nd::prod(v[0], {1}); }, {r64({2, 3}, 0.5, 1.5)});
  check_grad("prod", [](auto& v) { return nd::prod(v[0]); }, {r64({2, 2}, -1.5, -0.5)});
}

TEST_CASE("gradcheck: softmin, SoftmaxActivation, LayerNorm, BatchNorm, L2Normalization (float64)") {
  check_grad("softmin", [](auto& v) { return op1("softmin", {{"axis", int64_t(1)}}, v[0]); }, {r64({2, 4})});
  check_grad("softmin", [](auto& v) { return op1("softmin", {{"temperature", 2.0}}, v[0]); }, {r64({3, 2})});
  for (const char* mode : {"instance", "channel"}) {
    std::string m = mode;
    check_grad("SoftmaxActivation", [m](auto& v) { return op1("SoftmaxActivation", {{"mode", m}}, v[0]); },
               {r64({2, 3, 2})});
  }
  for (int64_t axis : {-1, 1}) {
    check_grad("LayerNorm",
               [axis](auto& v) { return nd::op("LayerNorm", {{"axis", axis}}, {v[0], v[1], v[2]}); },
               {r64({2, 3, 4}), r64({axis == 1 ? 3 : 4}, 0.5, 1.5, 2), r64({axis == 1 ? 3 : 4}, -1, 1, 3)});
  }
  for (bool fix : {false, true}) {
    check_grad("BatchNorm",
               [fix](auto& v) {
                 return nd::op("BatchNorm", {{"fix_gamma", fix}, {"eps", 1e-3}}, {v[0], v[1], v[2], v[3], v[4]});
               },
               {r64({2, 3, 2}), r64({3}, 0.5, 1.5, 2), r64({3}, -1, 1, 3), r64({3}, -0.5, 0.5, 4), r64({3}, 0.5, 2, 5)},
               {0, 1, 2});
  }
  for (const char* mode : {"instance", "channel", "spatial"}) {
    std::string m = mode;
    check_grad("L2Normalization", [m](auto& v) { return op1("L2Normalization", {{"mode", m}}, v[0]); },
               {r64({2, 3, 2})});
  }
}

TEST_CASE("gradcheck: take, SequenceMask and movement: stack, split, broadcast_axis, slice, slice_like (float64)") {
  using V = std::vector<int64_t>;
  NDArray idx = nd::array({2, 0, 7, 2}, {2, 2});  // 7: clipped to the last row, or wrapped to 1 of 3
  // take's scatter is a GEMM (float32 only).
  check_grad("take", [idx](auto& v) { return nd::op("take", {}, {v[0], idx}); }, {r32({3, 2})}, {}, 1e-2, 2e-3);
  check_grad("take", [idx](auto& v) { return nd::op("take", {{"axis", int64_t(1)}}, {v[0], idx}); }, {r32({2, 3, 2})},
             {}, 1e-2, 2e-3);
  check_grad("take", [idx](auto& v) { return nd::op("take", {{"mode", std::string("wrap")}}, {v[0], idx}); },
             {r32({3})}, {}, 1e-2, 2e-3);
  NDArray lens = nd::array({1, 3});
  for (int64_t axis : {0, 1}) {
    AttrMap a{{"use_sequence_length", true}, {"axis", axis}, {"value", -5.0}};
    check_grad("SequenceMask", [a, lens](auto& v) { return nd::op("SequenceMask", a, {v[0], lens}); },
               {r64(axis == 0 ? V{3, 2, 2} : V{2, 3, 2})});
  }
  check_grad("SequenceMask", [](auto& v) { return op1("SequenceMask", {}, v[0]); }, {r64({3, 2})});
  check_grad("stack", [](auto& v) { return nd::stack({v[0], v[1], v[2]}, 1); },
             {r64({2, 3}), r64({2, 3}, -1, 1, 2), r64({2, 3}, -1, 1, 3)});
  for (bool squeeze : {false, true}) {  // the middle output unused: zeros there
    AttrMap a{{"num_outputs", int64_t(3)}, {"axis", int64_t(1)}, {"squeeze_axis", squeeze}};
    check_grad("SliceChannel", [a](auto& v) {
      auto parts = nd::op_all("SliceChannel", a, {v[0]});
      return parts[0] * 2.0 + parts[2];
    }, {r64({2, 3, 2})});
  }
  check_grad("broadcast_axis", [](auto& v) {
    return op1("broadcast_axis", {{"axis", V{0, 2}}, {"size", V{3, 2}}}, v[0]);
  }, {r64({1, 2, 1})});
  check_grad("slice", [](auto& v) {
    return op1("slice", {{"begin", std::string("(1, None, -3)")}, {"end", std::string("(None, 2, -1)")}}, v[0]);
  }, {r64({3, 4, 5})});
  check_grad("slice_like", [](auto& v) {
    return nd::op("slice_like", {{"axes", V{0, 2}}}, {v[0], nd::zeros({1, 9, 2}, f64)});
  }, {r64({3, 4, 5})});
}

TEST_CASE("gradcheck: tile, repeat, reverse, block moves, pick, gather_nd, norm, erfinv, Instance/GroupNorm") {
  using V = std::vector<int64_t>;
  check_grad("tile", [](auto& v) { return op1("tile", {{"reps", V{2, 1, 3}}}, v[0]); }, {r64({2, 3})});
  check_grad("repeat", [](auto& v) { return op1("repeat", {{"repeats", int64_t(2)}, {"axis", int64_t(1)}}, v[0]); },
             {r64({2, 3})});
  check_grad("repeat", [](auto& v) { return op1("repeat", {{"repeats", int64_t(3)}}, v[0]); }, {r64({2, 2})});
  check_grad("reverse", [](auto& v) { return op1("reverse", {{"axis", V{0, 2}}}, v[0]); }, {r64({2, 3, 2})});
  check_grad("depth_to_space", [](auto& v) { return op1("depth_to_space", {{"block_size", int64_t(2)}}, v[0]); },
             {r64({1, 8, 2, 3})});
  check_grad("space_to_depth", [](auto& v) { return op1("space_to_depth", {{"block_size", int64_t(2)}}, v[0]); },
             {r64({1, 2, 4, 2})});
  NDArray pidx = nd::array({3, 0, -1, 1}).astype(f64);  // 3 and -1: clipped / wrapped
  check_grad("pick", [pidx](auto& v) { return nd::op("pick", {}, {v[0], pidx}); }, {r64({4, 3})});
  check_grad("pick", [pidx](auto& v) {
    return nd::op("pick", {{"axis", int64_t(0)}, {"mode", std::string("wrap")}, {"keepdims", true}}, {v[0], pidx});
  }, {r64({3, 4})});
  // gather_nd's scatter is a GEMM (float32 only); a repeated index sums its gradients.
  NDArray gi = nd::array({1, 0, 1, -1, 0, 2}, {2, 3});
  check_grad("gather_nd", [gi](auto& v) { return nd::op("gather_nd", {}, {v[0], gi}); }, {r32({2, 3, 2})}, {}, 1e-2, 2e-3);
  check_grad("norm", [](auto& v) { return op1("norm", {}, v[0]); }, {r64({2, 3})});
  check_grad("norm", [](auto& v) { return op1("norm", {{"axis", V{1}}, {"keepdims", true}}, v[0]); }, {r64({2, 3, 2})});
  check_grad("norm", [](auto& v) { return op1("norm", {{"ord", int64_t(1)}, {"axis", V{0}}}, v[0]); },
             {nd::array({-1.5f, -0.5f, 0.3f, 1.2f, 2, -2}, {2, 3}).astype(f64)});
  check_grad("erfinv", [](auto& v) { return op1("erfinv", {}, v[0]); }, {r64({2, 3}, -0.9, 0.9)});
  // gamma / gammaln through digamma, on both sides of the reflection at 0.5 and between poles.
  check_grad("gamma", [](auto& v) { return op1("gamma", {}, v[0]); }, {r64({2, 3}, 0.2, 5)});
  check_grad("gamma", [](auto& v) { return op1("gamma", {}, v[0]); }, {r64({4}, -0.9, -0.1, 2)});
  check_grad("gammaln", [](auto& v) { return op1("gammaln", {}, v[0]); }, {r64({2, 3}, 0.1, 20)});
  check_grad("gammaln", [](auto& v) { return op1("gammaln", {}, v[0]); }, {r64({4}, -1.9, -1.1, 3)});
  // Known values: psi(1) = -Euler's gamma, psi(0.5) = -gamma - 2 ln 2, psi(-0.5) = psi(0.5) + 2.
  std::vector<double> psi = op1("_hgc_digamma", {}, nd::array({1.0f, 0.5f, -0.5f, 10.0f}, {4}).astype(f64)).to_vector<double>();
  const double eg = 0.57721566490153286;
  CHECK(std::abs(psi[0] + eg) < 1e-10);
  CHECK(std::abs(psi[1] + eg + 2 * std::log(2.0)) < 1e-10);
  CHECK(std::abs(psi[2] - (-eg - 2 * std::log(2.0) + 2)) < 1e-10);
  CHECK(std::abs(psi[3] - 2.251752589066721) < 1e-10);
  check_grad("InstanceNorm", [](auto& v) { return nd::op("InstanceNorm", {{"eps", 1e-3}}, {v[0], v[1], v[2]}); },
             {r64({2, 3, 4}, -2, 2), r64({3}, 0.5, 1.5, 2), r64({3}, -1, 1, 3)});
  check_grad("GroupNorm", [](auto& v) {
    return nd::op("GroupNorm", {{"num_groups", int64_t(2)}, {"eps", 1e-3}}, {v[0], v[1], v[2]});
  }, {r64({2, 4, 3}, -2, 2), r64({2}, 0.5, 1.5, 2), r64({2}, -1, 1, 3)});
}

TEST_CASE("gradcheck: topk values and sort scatter back; indices and masks carry none (float64)") {
  NDArray x = nd::array({0.3f, -1.2f, 2.5f, 0.9f, -0.4f, 1.7f, -2.2f, 0.1f}, {2, 4}).astype(f64);
  check_grad("topk", [](auto& v) { return op1("topk", {{"k", int64_t(2)}, {"ret_typ", std::string("value")}}, v[0]); }, {x});
  check_grad("topk", [](auto& v) {
    return nd::op_all("topk", {{"k", int64_t(1)}, {"axis", int64_t(0)}, {"ret_typ", std::string("both")},
                               {"is_ascend", true}}, {v[0]})[0];
  }, {x});
  check_grad("topk", [](auto& v) {
    return op1("topk", {{"k", int64_t(3)}, {"axis", AttrValue(std::monostate{})}, {"ret_typ", std::string("value")}}, v[0]);
  }, {x});
  check_grad("sort", [](auto& v) { return op1("sort", {}, v[0]); }, {x});
  check_grad("sort", [](auto& v) { return op1("sort", {{"axis", int64_t(0)}, {"is_ascend", false}}, v[0]); }, {x});
  // ret_typ indices: a zero gradient, as MXNet's.
  NDArray y = x.copy();
  y.attach_grad();
  NDArray r;
  {
    auto rec = autograd::record();
    r = op1("topk", {{"k", int64_t(2)}}, y) * 1.0;
  }
  r.backward();
  CHECK(nd::sum(nd::abs(y.grad())).asscalar<double>() == 0);
}

TEST_CASE("gradcheck: linalg ops, every flag (MXNet's la_op backward; float64)") {
  namespace la = nd::linalg;
  // Triangular operands: well conditioned (3 on the diagonal); their other triangle is
  // never read, so its numeric and analytic gradients are both zero.
  auto tri = [](std::vector<int64_t> s, uint32_t seed) { return r64(s, -1, 1, seed) + nd::eye(s.back(), 0, 0, f64) * 3.0; };
  check_grad("_linalg_gemm2", [](auto& v) { return la::gemm2(v[0], v[1]); }, {r64({3, 4}), r64({4, 5}, -1, 1, 2)});
  check_grad("_linalg_gemm2", [](auto& v) { return la::gemm2(v[0], v[1], true, true, 1.5); },
             {r64({2, 4, 3}), r64({2, 5, 4}, -1, 1, 2)});
  check_grad("_linalg_gemm2", [](auto& v) { return la::gemm2(v[0], v[1], false, true, 1.0, 0); },
             {r64({3, 2, 4}), r64({5, 2, 4}, -1, 1, 2)});
  check_grad("_linalg_gemm", [](auto& v) { return la::gemm(v[0], v[1], v[2], false, false, 0.5, -2.0); },
             {r64({2, 3, 4}), r64({2, 4, 2}, -1, 1, 2), r64({2, 3, 2}, -1, 1, 3)});
  check_grad("_linalg_gemm", [](auto& v) { return la::gemm(v[0], v[1], v[2], true, true); },
             {r64({4, 3}), r64({2, 4}, -1, 1, 2), r64({3, 2}, -1, 1, 3)});
  for (bool lower : {true, false}) {
    // potrf's gradient is the symmetric one: checked through A = X X^T, as MXNet's tests do.
    check_grad("_linalg_potrf", [lower](auto& v) { return la::potrf(la::syrk(v[0]), lower); }, {r64({2, 3, 5})});
    check_grad("_linalg_potri", [lower](auto& v) { return la::potri(v[0], lower); }, {tri({2, 3, 3}, 4)});
    for (bool tr : {false, true})
      for (bool right : {false, true}) {
        std::vector<int64_t> bs = right ? std::vector<int64_t>{2, 4, 3} : std::vector<int64_t>{2, 3, 4};
        check_grad("_linalg_trsm", [=](auto& v) { return la::trsm(v[0], v[1], tr, right, lower, 1.5); },
                   {tri({2, 3, 3}, 5), r64(bs, -1, 1, 6)});
        check_grad("_linalg_trmm", [=](auto& v) { return la::trmm(v[0], v[1], tr, right, lower, 1.5); },
                   {tri({2, 3, 3}, 5), r64(bs, -1, 1, 6)});
      }
  }
  check_grad("_linalg_syrk", [](auto& v) { return la::syrk(v[0]); }, {r64({3, 4})});
  check_grad("_linalg_syrk", [](auto& v) { return la::syrk(v[0], true, 0.5); }, {r64({2, 3, 4})});
  check_grad("_linalg_sumlogdiag", [](auto& v) { return la::sumlogdiag(v[0]); }, {r64({3, 3}, 0.5, 1.5)});
  check_grad("_linalg_sumlogdiag", [](auto& v) { return la::sumlogdiag(v[0]); }, {r64({2, 2, 3, 3}, 0.5, 1.5)});
  check_grad("_linalg_extractdiag", [](auto& v) { return la::extractdiag(v[0], 1); }, {r64({2, 4, 4})});
  check_grad("_linalg_makediag", [](auto& v) { return la::makediag(v[0], -1); }, {r64({2, 3})});
}

TEST_CASE("gradcheck: loss heads give the gradient of their loss (SoftmaxOutput, regressions, make_loss)") {
  NDArray label = nd::array({2, 0, 1}).astype(f64);
  auto ce = [](const NDArray& x, const NDArray& l, double scale) {  // -sum log softmax[label] * scale
    return -(nd::sum(nd::log_softmax(x, -1) * nd::one_hot(l, x.shape()[1], 1, 0, x.dtype()), {1}) * scale);
  };
  check_loss("SoftmaxOutput", [label](auto& v) { return nd::op("SoftmaxOutput", {}, {v[0], label}); },
             [label, ce](auto& v) { return nd::sum(ce(v[0], label, 1.0)); }, {r64({3, 4})});
  AttrMap a{{"grad_scale", 2.0}, {"normalization", std::string("batch")}};
  check_loss("SoftmaxOutput", [label, a](auto& v) { return nd::op("SoftmaxOutput", a, {v[0], label}); },
             [label, ce](auto& v) { return nd::sum(ce(v[0], label, 2.0 / 3)); }, {r64({3, 4})});
  // use_ignore: the row labelled 0 does not count; valid normalization divides by the 2 left.
  AttrMap ign{{"use_ignore", true}, {"ignore_label", 0.0}, {"normalization", std::string("valid")}};
  check_loss("SoftmaxOutput", [label, ign](auto& v) { return nd::op("SoftmaxOutput", ign, {v[0], label}); },
             [label, ce](auto& v) { return nd::sum(ce(v[0], label, 0.5) * (label != 0.0)); }, {r64({3, 4})});
  // multi_output: softmax over axis 1 at every position.
  NDArray ml = nd::array({0, 2, 1, 1, 0, 2}, {2, 3}).astype(f64);
  check_loss("SoftmaxOutput",
             [ml](auto& v) { return nd::op("SoftmaxOutput", {{"multi_output", true}}, {v[0], ml}); },
             [ml](auto& v) {
               NDArray target = nd::transpose(nd::one_hot(ml, 3, 1, 0, f64), {0, 2, 1});  // (2, 3 classes, 3)
               return -nd::sum(nd::log_softmax(v[0], 1) * target);
             }, {r64({2, 3, 3})});
  NDArray target = r64({2, 3}, -1, 1, 9), prob = r64({2, 3}, 0.1, 0.9, 8);
  check_loss("LinearRegressionOutput",
             [target](auto& v) { return nd::op("LinearRegressionOutput", {{"grad_scale", 3.0}}, {v[0], target}); },
             [target](auto& v) { return nd::sum(nd::square(v[0] - target)) * (0.5 * 3.0 / 3); }, {r64({2, 3})});
  check_loss("LogisticRegressionOutput", [prob](auto& v) { return nd::op("LogisticRegressionOutput", {}, {v[0], prob}); },
             [prob](auto& v) {
               NDArray p = nd::sigmoid(v[0]);
               return -nd::sum(prob * nd::log(p) + (1.0 - prob) * nd::log(1.0 - p)) / 3.0;
             },
             {r64({2, 3})});
  check_loss("MAERegressionOutput", [target](auto& v) { return nd::op("MAERegressionOutput", {}, {v[0], target}); },
             [target](auto& v) { return nd::sum(nd::abs(v[0] - target)) / 3.0; }, {r64({2, 3}, 2, 3)});
  check_loss("make_loss", [](auto& v) { return op1("make_loss", {}, v[0]); }, [](auto& v) { return nd::sum(v[0]); },
             {r64({2, 3})});
}

TEST_CASE("gradcheck: count_sketch scatters its gradient back through the hash (float64)") {
  NDArray small = nd::contrib::count_sketch(nd::array({1, 2, 3}, {1, 3}), nd::array({0, 2, 0}, {1, 3}),
                                            nd::array({1, -1, 1}, {1, 3}), 3);
  CHECK(small.to_vector<float>() == std::vector<float>{4, 0, -2});  // 1 + 3 into bucket 0, -2 into 2
  // Buckets 5 and -1 fall outside out_dim 5: those elements get no gradient. h and s are
  // constants (MXNet's hash tables).
  NDArray h = nd::array({0, 3, 3, 1, 5, 4, -1}, {1, 7}).astype(f64);
  NDArray s = nd::array({1, -1, 1, -1, 1, 1, -1}, {1, 7}).astype(f64);
  check_grad("_contrib_count_sketch", [h, s](auto& v) { return nd::contrib::count_sketch(v[0], h, s, 5); }, {r64({3, 7})});
  NDArray h4 = nd::array({2, 0, 1, 2}, {1, 4}).astype(f64), s4 = nd::array({-1, 1, 1, 1}, {1, 4}).astype(f64);
  check_grad("_contrib_count_sketch", [h4, s4](auto& v) { return nd::contrib::count_sketch(v[0], h4, s4, 3); },
             {r64({2, 1, 2, 4})});
}

TEST_CASE("gradcheck: box_nms passes the gradient back to the kept rows only (float32)") {
  // MXNet's documented backward: in_grad[record[r]] = out_grad[r]; suppressed rows get 0.
  NDArray x = nd::array({0, 0.5, 0.1, 0.1, 0.2, 0.2, 1, 0.4, 0.1, 0.1, 0.2, 0.2, 0, 0.3, 0.1, 0.1, 0.14, 0.14, 2, 0.6, 0.5,
                         0.5, 0.7, 0.8},
                        {4, 6});
  auto opts = nd::contrib::BoxNmsOptions().overlap_thresh(0.1).id_index(0).force_suppress(true);
  x.attach_grad();
  NDArray y;
  {
    auto rec = autograd::record();
    y = nd::contrib::box_nms(x, opts);
  }
  std::vector<float> og;
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 6; ++k) og.push_back(0.1f * (r + 1));
  y.backward(nd::array(og, {4, 6}));
  std::vector<float> want;
  for (float v : {0.2f, 0.f, 0.f, 0.1f})
    for (int k = 0; k < 6; ++k) want.push_back(v);
  std::vector<float> got = x.grad().to_vector<float>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(std::abs(got[i] - want[i]) < 1e-6);
  // Finite differences on batched boxes far from every threshold (scores 0.1 apart, IoUs
  // near 0 or near 1), so a step of 1e-2 changes no decision.
  NDArray b = nd::array({0.9, 0.0, 0.0, 0.3, 0.3, 0.7, 0.02, 0.01, 0.31, 0.3, 0.5, 0.6, 0.6, 0.9, 0.9,
                         0.8, 0.5, 0.5, 0.8, 0.8, 0.6, 0.52, 0.5, 0.8, 0.82, 0.4, 0.0, 0.6, 0.3, 0.9},
                        {2, 3, 5});
  check_grad("_contrib_box_nms", [](auto& v) {
    return nd::contrib::box_nms(v[0], nd::contrib::BoxNmsOptions().coord_start(1).score_index(0).overlap_thresh(0.5));
  }, {b}, {}, 1e-2, 2e-3);
}

TEST_CASE("gradcheck: UpSampling (nearest concat/sum, bilinear), Crop, BilinearResize2D, AdaptiveAvgPooling2D") {
  using nd::contrib::BilinearResize2DOptions;
  check_grad("UpSampling", [](auto& v) { return nd::UpSampling({v[0]}, 2); }, {r64({2, 2, 3, 2})});
  check_grad("UpSampling", [](auto& v) { return nd::UpSampling({v[0], v[1]}, 2); }, {r64({1, 2, 2, 2}), r64({1, 1, 4, 4}, -1, 1, 2)});
  check_grad("UpSampling", [](auto& v) { return nd::UpSampling({v[0], v[1]}, 3, "nearest", 0, "sum"); },
             {r64({1, 2, 2, 1}), r64({1, 2, 6, 3}, -1, 1, 2)});
  // Bilinear: a depthwise Deconvolution (float32 GEMMs): data and weight gradients.
  for (int64_t s : {2, 3}) {
    int64_t k = 2 * s - s % 2;
    check_grad("UpSampling", [s](auto& v) { return nd::UpSampling({v[0], v[1]}, s, "bilinear", 3); },
               {r32({2, 3, 3, 4}), r32({3, 1, k, k}, -1, 1, 2)}, {}, 1e-2, 3e-3);
  }
  check_grad("Crop", [](auto& v) { return nd::Crop(v[0], {3, 2}, {1, 2}); }, {r64({2, 2, 5, 4})});
  NDArray like = r64({1, 1, 2, 3});
  check_grad("Crop", [like](auto& v) { return nd::Crop(v[0], like, {0, 0}, true); }, {r64({1, 2, 5, 6})});
  for (bool align : {true, false}) {
    auto up = BilinearResize2DOptions().height(7).width(5).align_corners(align);
    auto down = BilinearResize2DOptions().height(2).width(3).align_corners(align);
    check_grad("_contrib_BilinearResize2D", [up](auto& v) { return nd::contrib::BilinearResize2D(v[0], up); }, {r64({2, 2, 3, 4})});
    check_grad("_contrib_BilinearResize2D", [down](auto& v) { return nd::contrib::BilinearResize2D(v[0], down); }, {r64({1, 2, 5, 7})});
    // float32 takes the two-GEMM path.
    check_grad("_contrib_BilinearResize2D", [up](auto& v) { return nd::contrib::BilinearResize2D(v[0], up); }, {r32({2, 2, 3, 4})},
               {}, 1e-2, 3e-3);
  }
  NDArray target = r64({1, 1, 6, 2});
  check_grad("_contrib_BilinearResize2D", [target](auto& v) { return nd::contrib::BilinearResize2D(v[0], target); },
             {r64({1, 2, 3, 3})});
  for (std::vector<int64_t> os : {std::vector<int64_t>{3, 2}, std::vector<int64_t>{}, std::vector<int64_t>{5, 6}})
    check_grad("_contrib_AdaptiveAvgPooling2D", [os](auto& v) { return nd::contrib::AdaptiveAvgPooling2D(v[0], os); },
               {r64({2, 2, 4, 5})});
  check_grad("_contrib_AdaptiveAvgPooling2D", [](auto& v) { return nd::contrib::AdaptiveAvgPooling2D(v[0], {3, 3}); },
             {r32({2, 2, 7, 5})}, {}, 1e-2, 3e-3);
}

TEST_CASE("gradcheck: every op with a gradient rule is checked above") {
  for (const std::string& op : autograd::gradient_rule_ops()) {
    INFO("op ", op, " has a gradient rule but no finite-difference check in test_autograd_gradcheck.cc");
    CHECK(checked().count(op) == 1);
  }
}

// The registry-wide contract: every op that takes inputs has a finite-difference-checked
// rule, a zero gradient (comparisons, argmax, ...), or an entry with a reason on the
// documented missing list (frontend/src/autograd/grad/missing.cc). Source ops (no inputs) and
// random samplers are the only ones outside it.
TEST_CASE("gradcheck: every registry op has a checked rule, a zero gradient or a documented reason") {
  auto zero = autograd::zero_gradient_ops();
  std::set<std::string> zeros(zero.begin(), zero.end());
  auto missing = autograd::ops_without_gradient();
  std::string remaining;
  for (const OpDef* d : OpRegistry::global().all()) {
    if (d->has(kSource)) continue;
    bool rule = autograd::has_gradient_rule(d->name), is_zero = zeros.count(d->name) > 0;
    auto m = missing.find(d->name);
    INFO("op ", d->name, ": rule ", rule, ", checked ", checked().count(d->name), ", zero ", is_zero, ", listed ",
         m != missing.end());
    CHECK(int(rule) + int(is_zero) + int(m != missing.end()) == 1);
    if (rule) CHECK(checked().count(d->name) == 1);
    if (m != missing.end()) {
      CHECK(m->second.size() > 10);  // a reason, not a placeholder
      remaining += (remaining.empty() ? "" : ", ") + d->name;
    }
  }
  MESSAGE("ops without a gradient rule yet: ", remaining);
}

TEST_CASE("autograd: a backward through an op on the missing list quotes its reason") {
  NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
  x.attach_grad();
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::op("_backward_Pooling", {{"kernel", std::vector<int64_t>{1, 1}}},
               {x.reshape({1, 1, 2, 2}), x.reshape({1, 1, 2, 2}), x.reshape({1, 1, 2, 2})});
  }
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("second derivatives of pooling"), Error);
}
