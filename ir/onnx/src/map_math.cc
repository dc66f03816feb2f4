// ONNX elementwise, activation, comparison, logical and reduction ops -> registry ops.
#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

// y = op(x) in the input dtype (through float64 for integer inputs).
MapFn unary(const std::string& op) {
  return [op](Importer& im) {
    ValueRef x = im.in(0);
    DType t = im.dtype_of(x);
    im.set_output(0, im.cast(im.add(op, {int_native(op) ? x : to_float(im, x)}), t));
  };
}

MapFn scalar_after(const std::string& op, const std::string& sop, double s) {
  return [op, sop, s](Importer& im) {
    ValueRef y = im.add(op, {im.in(0)});
    im.set_output(0, im.add(sop, {y}, {{"scalar", s}}));
  };
}

// Numpy-broadcasting binary with both operands in one float dtype; `out` overrides the
// result dtype (comparisons give bool).
ValueRef bin(Importer& im, const std::string& op, ValueRef a, ValueRef b) {
  DType ta = im.dtype_of(a), tb = im.dtype_of(b);
  if (ta == tb && int_native(op)) return im.add(op, {a, b});
  if (ta != tb) {
    if (dtype_is_float(ta)) b = im.cast(b, ta);
    else if (dtype_is_float(tb)) a = im.cast(a, tb);
  }
  a = to_float(im, a);
  b = im.cast(b, im.dtype_of(a));
  return im.add(op, {a, b});
}

MapFn binary(const std::string& op, bool to_bool = false) {
  return [op, to_bool](Importer& im) {
    DType t = im.dtype(0);
    ValueRef r = bin(im, op, im.in(0), im.in(1));
    im.set_output(0, im.cast(r, to_bool ? DType::boolean : t));
  };
}

MapFn variadic(const std::string& op, bool mean) {
  return [op, mean](Importer& im) {
    DType t = im.dtype(0);
    ValueRef r = im.in(0);
    for (int i = 1; i < im.num_inputs(); ++i) r = bin(im, op, r, im.in(i));
    if (im.num_inputs() == 1) r = im.add("_copy", {to_float(im, r)});
    if (mean) r = im.add("_div_scalar", {r}, {{"scalar", static_cast<double>(im.num_inputs())}});
    im.set_output(0, im.cast(r, t));
  };
}

void leaky(Importer& im, const std::string& act, double slope) {
  im.set_output(0, im.add("LeakyReLU", {im.in(0)}, {{"act_type", act}, {"slope", slope}}));
}

std::vector<int64_t> reduce_axes(Importer& im, bool& all) {
  std::vector<int64_t> axes;
  bool from_input = im.node().op_type() == "ReduceSum" && im.opset() >= 13;
  if (from_input) {
    if (im.has_input(1)) axes = tensor_ints(im.need_constant(1, "axes"));
  } else {
    axes = im.attr_ints("axes");
  }
  all = axes.empty();
  int r = im.rank(0);
  for (int64_t& a : axes) a = norm_axis(im, a, r);
  return axes;
}

// Reduce(op) of pre(x), then post.
MapFn reduce(const std::string& op, const std::string& pre, const std::string& post) {
  return [op, pre, post](Importer& im) {
    bool all = false;
    std::vector<int64_t> axes = reduce_axes(im, all);
    ValueRef x = im.in(0);
    DType t = im.dtype_of(x);
    if (all && im.node().op_type() == "ReduceSum" && im.attr_i("noop_with_empty_axes", 0)) {
      im.set_output(0, im.add("_copy", {x}));
      return;
    }
    x = to_float(im, x);
    if (!pre.empty()) x = im.add(pre, {x});
    KV kv{{"keepdims", im.attr_i("keepdims", 1) != 0}};
    if (!all) kv.push_back({"axis", tuple_str(axes)});
    ValueRef r = im.add(op, {x}, kv);
    if (all && !im.attr_i("keepdims", 1)) r = reshape_to(im, r, {});  // MXNet keeps (1,)
    if (!post.empty()) r = im.add(post, {r});
    im.set_output(0, im.cast(r, t));
  };
}

MapFn arg_reduce(const std::string& op) {
  return [op](Importer& im) {
    int r = im.rank(0);
    int axis = norm_axis(im, im.attr_i("axis", 0), r);
    bool keep = im.attr_i("keepdims", 1) != 0;
    ValueRef x = to_float(im, im.in(0));
    bool last = im.attr_i("select_last_index", 0) != 0;
    if (last) {  // reversed along the axis: a slice with step -1
      std::vector<std::string> st(r, "None");
      st[axis] = "-1";
      std::string b = "(", e = "(", sp = "(";
      for (int k = 0; k < r; ++k) {
        b += std::string(k ? ", " : "") + "None";
        sp += std::string(k ? ", " : "") + st[k];
      }
      std::string close = r == 1 ? ",)" : ")";
      x = im.add("slice", {x}, {{"begin", b + close}, {"end", b + close}, {"step", sp + close}});
    }
    ValueRef y = im.add(op, {x}, {{"axis", int64_t(axis)}, {"keepdims", keep}});
    if (last) {
      int64_t n = known_shape(im, 0)[axis];
      y = im.add("_rminus_scalar", {y}, {{"scalar", static_cast<double>(n - 1)}});
    }
    im.set_output(0, im.cast(y, DType::i64));
  };
}

// softmax/log_softmax; before opset 13 the input is seen as 2-D around `axis`.
MapFn softmax(const std::string& op) {
  return [op](Importer& im) {
    int r = im.rank(0);
    bool legacy = im.opset() < 13;
    int axis = norm_axis(im, im.attr_i("axis", legacy ? 1 : -1), r);
    ValueRef x = im.in(0);
    if (!legacy || axis == r - 1) {
      im.set_output(0, im.add(op, {x}, {{"axis", int64_t(axis)}}));
      return;
    }
    std::vector<int64_t> s = known_shape(im, 0);
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < r; ++k) (k < axis ? outer : inner) *= s[k];
    ValueRef y = im.add(op, {reshape_to(im, x, {outer, inner})}, {{"axis", int64_t(-1)}});
    im.set_output(0, reshape_to(im, y, s));
  };
}

}  // namespace

void register_math(MapTable& t) {
  const std::vector<std::pair<const char*, const char*>> unaries = {
      {"Abs", "abs"}, {"Neg", "negative"}, {"Exp", "exp"}, {"Log", "log"}, {"Sqrt", "sqrt"},
      {"Reciprocal", "reciprocal"}, {"Floor", "floor"}, {"Ceil", "ceil"}, {"Round", "rint"},
      {"Sign", "sign"}, {"Sin", "sin"}, {"Cos", "cos"}, {"Tan", "tan"}, {"Asin", "arcsin"},
      {"Acos", "arccos"}, {"Atan", "arctan"}, {"Sinh", "sinh"}, {"Cosh", "cosh"}, {"Asinh", "arcsinh"},
      {"Acosh", "arccosh"}, {"Atanh", "arctanh"}, {"Erf", "erf"}, {"Relu", "relu"}, {"Sigmoid", "sigmoid"},
      {"Tanh", "tanh"}, {"Softsign", "softsign"}, {"Identity", "_copy"}};
  for (const auto& [o, h] : unaries) t[o] = unary(h);
  t["Not"] = [](Importer& im) { im.set_output(0, im.cast(im.add("logical_not", {im.in(0)}), DType::boolean)); };
  t["Softplus"] = [](Importer& im) { im.set_output(0, im.add("Activation", {im.in(0)}, {{"act_type", "softrelu"}})); };
  t["LeakyRelu"] = [](Importer& im) { leaky(im, "leaky", im.attr_f("alpha", 0.01)); };
  t["Elu"] = [](Importer& im) { leaky(im, "elu", im.attr_f("alpha", 1.0)); };
  t["Selu"] = [](Importer& im) {
    ValueRef e = im.add("LeakyReLU", {im.in(0)}, {{"act_type", "elu"}, {"slope", im.attr_f("alpha", 1.67326319217681884765625)}});
    im.set_output(0, im.add("_mul_scalar", {e}, {{"scalar", im.attr_f("gamma", 1.05070102214813232421875)}}));
  };
  t["Celu"] = [](Importer& im) {
    double a = im.attr_f("alpha", 1.0);
    ValueRef x = im.add("_div_scalar", {im.in(0)}, {{"scalar", a}});
    ValueRef e = im.add("LeakyReLU", {x}, {{"act_type", "elu"}, {"slope", 1.0}});
    im.set_output(0, im.add("_mul_scalar", {e}, {{"scalar", a}}));
  };
  t["PRelu"] = [](Importer& im) {  // relu(x) + slope * min(x, 0), slope broadcast numpy-style
    ValueRef x = im.in(0);
    Shape xs = im.shape(0), ss = im.shape(1);
    ValueRef slope = im.in(1);
    // Old exporters give a per-channel slope as (C,): it follows axis 1, not the last axis.
    if (xs.known() && ss.known() && xs.ndim() > 2 && ss.ndim() == 1 && ss[0] == xs[1] && ss[0] != xs[xs.ndim() - 1]) {
      std::vector<int64_t> cs(xs.ndim() - 1, 1);
      cs[0] = ss[0];
      slope = reshape_to(im, slope, cs);
    }
    ValueRef pos = im.add("relu", {x});
    ValueRef neg = im.add("_minimum_scalar", {x}, {{"scalar", 0.0}});
    im.set_output(0, im.add("broadcast_add", {pos, im.add("broadcast_mul", {neg, slope})}));
  };
  t["HardSigmoid"] = [](Importer& im) {
    im.set_output(0, im.add("hard_sigmoid", {im.in(0)}, {{"alpha", im.attr_f("alpha", 0.2)}, {"beta", im.attr_f("beta", 0.5)}}));
  };
  t["HardSwish"] = [](Importer& im) {
    ValueRef x = im.in(0);
    ValueRef h = im.add("hard_sigmoid", {x}, {{"alpha", 1.0 / 6}, {"beta", 0.5}});
    im.set_output(0, im.add("elemwise_mul", {x, h}));
  };
  t["ThresholdedRelu"] = [](Importer& im) {
    ValueRef x = im.in(0);
    ValueRef m = im.add("_greater_scalar", {x}, {{"scalar", im.attr_f("alpha", 1.0)}, {"is_int", false}});
    im.set_output(0, im.add("elemwise_mul", {x, m}));
  };
  t["Shrink"] = [](Importer& im) {  // x<-l: x+b; x>l: x-b; else 0
    double b = im.attr_f("bias", 0.0), l = im.attr_f("lambd", 0.5);
    ValueRef x = im.in(0);
    DType ty = im.dtype_of(x);
    x = to_float(im, x);
    ValueRef hi = im.add("elemwise_mul", {im.add("_minus_scalar", {x}, {{"scalar", b}}),
                                          im.add("_greater_scalar", {x}, {{"scalar", l}, {"is_int", false}})});
    ValueRef lo = im.add("elemwise_mul", {im.add("_plus_scalar", {x}, {{"scalar", b}}),
                                          im.add("_lesser_scalar", {x}, {{"scalar", -l}, {"is_int", false}})});
    im.set_output(0, im.cast(im.add("elemwise_add", {hi, lo}), ty));
  };

  t["Add"] = binary("broadcast_add");
  t["Sub"] = binary("broadcast_sub");
  t["Mul"] = binary("broadcast_mul");
  t["Div"] = [](Importer& im) {
    DType ty = im.dtype(0);
    im.set_output(0, im.cast(bin(im, "broadcast_div", im.in(0), im.in(1)), ty));  // C division for integers
  };
  t["Pow"] = [](Importer& im) {
    DType ty = im.dtype(0);
    im.set_output(0, im.cast(bin(im, "broadcast_power", im.in(0), im.cast(im.in(1), ty)), ty));
  };
  t["Mod"] = [](Importer& im) {
    DType ty = im.dtype(0);
    bool fmod = im.attr_i("fmod", 0) != 0;
    ValueRef a = fmod ? to_float(im, im.in(0)) : im.in(0), b = im.cast(im.in(1), im.dtype_of(a));
    ValueRef r;
    if (fmod) {  // C fmod: a - trunc(a / b) * b
      ValueRef q = im.add("trunc", {im.add("broadcast_div", {a, b})});
      r = im.add("broadcast_sub", {a, im.add("broadcast_mul", {q, b})});
    } else {
      r = im.add("broadcast_mod", {a, b});
    }
    im.set_output(0, im.cast(r, ty));
  };
  t["Max"] = variadic("broadcast_maximum", false);
  t["Min"] = variadic("broadcast_minimum", false);
  t["Sum"] = variadic("broadcast_add", false);
  t["Mean"] = variadic("broadcast_add", true);
  t["Equal"] = binary("broadcast_equal", true);
  t["Less"] = binary("broadcast_lesser", true);
  t["LessOrEqual"] = binary("broadcast_lesser_equal", true);
  t["Greater"] = binary("broadcast_greater", true);
  t["GreaterOrEqual"] = binary("broadcast_greater_equal", true);
  t["And"] = binary("broadcast_logical_and", true);
  t["Or"] = binary("broadcast_logical_or", true);
  t["Xor"] = binary("broadcast_logical_xor", true);
  t["Where"] = [](Importer& im) {
    std::vector<int64_t> s = broadcast_dims(im, broadcast_dims(im, known_shape(im, 0), known_shape(im, 1)), known_shape(im, 2));
    DType ty = im.dtype(1);
    ValueRef c = broadcast_to(im, im.in(0), s);
    ValueRef x = broadcast_to(im, im.in(1), s);
    ValueRef y = broadcast_to(im, im.cast(im.in(2), im.dtype_of(x)), s);
    im.set_output(0, im.cast(im.add("where", {c, x, y}), ty));
  };
  t["Cast"] = [](Importer& im) {
    DType to = dtype_from_onnx(static_cast<int>(im.attr_i("to", 1)), im.where());
    im.set_output(0, im.add("Cast", {im.in(0)}, {{"dtype", dtype_name(to)}}));
  };
  t["CastLike"] = [](Importer& im) {
    im.set_output(0, im.add("Cast", {im.in(0)}, {{"dtype", dtype_name(im.dtype(1))}}));
  };
  t["Clip"] = [](Importer& im) {
    ValueRef x = im.in(0);
    DType ty = im.dtype_of(x);
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (im.opset() < 11) {
      lo = im.attr_f("min", -3.4028234663852886e38);
      hi = im.attr_f("max", 3.4028234663852886e38);
    } else {
      if (im.has_input(1)) lo = im.need_constant(1, "min").as_double(0);
      if (im.has_input(2)) hi = im.need_constant(2, "max").as_double(0);
    }
    x = to_float(im, x);
    if (std::isfinite(lo)) x = im.add("_maximum_scalar", {x}, {{"scalar", lo}, {"is_int", false}});
    if (std::isfinite(hi)) x = im.add("_minimum_scalar", {x}, {{"scalar", hi}, {"is_int", false}});
    if (!std::isfinite(lo) && !std::isfinite(hi)) x = im.add("_copy", {x});
    im.set_output(0, im.cast(x, ty));
  };

  t["ReduceSum"] = reduce("sum", "", "");
  t["ReduceMean"] = reduce("mean", "", "");
  t["ReduceMax"] = reduce("max", "", "");
  t["ReduceMin"] = reduce("min", "", "");
  t["ReduceProd"] = reduce("prod", "", "");
  t["ReduceL1"] = reduce("sum", "abs", "");
  t["ReduceL2"] = reduce("sum", "square", "sqrt");
  t["ReduceSumSquare"] = reduce("sum", "square", "");
  t["ReduceLogSum"] = reduce("sum", "", "log");
  t["ReduceLogSumExp"] = reduce("sum", "exp", "log");
  t["ArgMax"] = arg_reduce("argmax");
  t["ArgMin"] = arg_reduce("argmin");
  t["TopK"] = [](Importer& im) {  // MXNet's topk, sorted; equal values keep the lower index first, as ONNX's
    int axis = norm_axis(im, im.attr_i("axis", -1), im.rank(0));
    std::vector<int64_t> k = tensor_ints(im.need_constant(1, "K"));
    if (k.size() != 1 || k[0] < 1 || k[0] > known_shape(im, 0)[axis]) im.error("K must be one value in [1, the axis length]");
    DType t = im.dtype(0);
    ValueRef v = im.add("topk", {to_float(im, im.in(0))},
                        {{"axis", int64_t(axis)}, {"k", k[0]}, {"ret_typ", "both"}, {"is_ascend", im.attr_i("largest", 1) == 0},
                         {"dtype", "int64"}});
    im.set_output(0, im.cast(v, t));
    if (im.has_output(1)) im.set_output(1, ValueRef{v.node, 1});
  };
  t["Softmax"] = softmax("softmax");
  t["LogSoftmax"] = softmax("log_softmax");
}

}  // namespace hgc::onnx_detail
