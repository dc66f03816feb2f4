// Scalar expressions of the elementwise ops, shared by the single-op lowerings and (later)
// fused kernel groups.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "../kernel_writer.h"
#include "hgc/ir/attrs.h"

namespace hgc::lower {

using UnaryExpr = std::function<std::string(ScalarBuilder&, const std::string&)>;
using BinaryExpr = std::function<std::string(ScalarBuilder&, const std::string&, const std::string&)>;

// By unary op name (and Activation act_type): relu, sigmoid, tanh, exp, ...
const std::map<std::string, UnaryExpr>& unary_exprs();
// By binary kind: add, sub, mul, div, mod, power, maximum, ..., logical_xor.
const std::map<std::string, BinaryExpr>& binary_exprs();
// Integer/bool versions where they exist (compiler/src/lower/elementwise_int.cc).
const std::map<std::string, UnaryExpr>& int_unary_exprs();
const std::map<std::string, BinaryExpr>& int_binary_exprs();
std::string activation_expr(ScalarBuilder& b, const std::string& act, const std::string& x);
// LeakyReLU in predict mode; `gamma` is the prelu slope element (unused otherwise).
std::string leaky_expr(ScalarBuilder& b, const AttrView& a, const std::string& x, const std::string& gamma);

}  // namespace hgc::lower
