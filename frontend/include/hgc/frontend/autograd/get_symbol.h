// autograd.get_symbol: the computation recorded for an array, as a Symbol.
//
//   a.attach_grad();  b.attach_grad();
//   NDArray y;
//   { auto rec = autograd::record();  y = nd::tanh(a * b) + a * 3; }
//   gluon::Symbol s = autograd::get_symbol(y);   // arguments var0 (a), var1 (b)
//   auto blk = std::make_shared<gluon::SymbolBlock>(s, std::vector<std::string>{"var0", "var1"});
#pragma once
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/symbol/symbol.h"

namespace hgc::autograd {

// The recorded ops that produced `x`, replayed into a graph: attached variables become
// variables "var0", "var1", ... (in the order the walk meets them), arrays that were not
// recorded become constants. Throws when x has no recorded history, or when it passes
// through a hybridized block's compiled call (an opaque tape node; trace that block instead).
gluon::Symbol get_symbol(const NDArray& x);

}  // namespace hgc::autograd
