// Lowering helpers shared by several families (a helper file: it registers nothing): the
// scalar expressions of the elementwise ops and the kernels that apply one, used by the
// elementwise, broadcast and nn lowerings and by fused kernel groups.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "../kernel_writer.h"
#include "../lowering.h"
#include "hgc/ir/attr_view.h"

namespace hgc::lower {

using UnaryExpr = std::function<std::string(ScalarBuilder&, const std::string&)>;
using BinaryExpr = std::function<std::string(ScalarBuilder&, const std::string&, const std::string&)>;

// By unary op name (and Activation act_type): relu, sigmoid, tanh, exp, ...
const std::map<std::string, UnaryExpr>& unary_exprs();
// By binary kind: add, sub, mul, div, mod, power, maximum, ..., logical_xor.
const std::map<std::string, BinaryExpr>& binary_exprs();
std::string activation_expr(ScalarBuilder& b, const std::string& act, const std::string& x);
// LeakyReLU in predict mode; `gamma` is the prelu slope element (unused otherwise).
std::string leaky_expr(ScalarBuilder& b, const AttrView& a, const std::string& x, const std::string& gamma);

// Fails unless the node's output is a floating-point type.
void require_float(const NodeCtx& c);
// A kernel applying `e` to input 0 (unary) or to inputs 0 and 1 with numpy broadcasting.
KernelFn unary(UnaryExpr e);
KernelFn binary(BinaryExpr e);
// The expression for the node's output dtype: the float one, or its integer form
// (elementwise_int.cc); an op without one fails naming the op and dtype.
UnaryExpr unary_expr_for(const NodeCtx& c, const std::string& name);
BinaryExpr binary_expr_for(const NodeCtx& c, const std::string& kind);
// unary()/binary() for any dtype the expression has a form for.
KernelFn unary_named(const std::string& name);
KernelFn binary_named(const std::string& kind);

}  // namespace hgc::lower
