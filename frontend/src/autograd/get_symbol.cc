// get_symbol: walks the tape back from an array's entry and re-records each node's op on a
// fresh trace, so the result is an ordinary traced Symbol (prints, exports, SymbolBlock).
#include "hgc/frontend/autograd/get_symbol.h"

#include <functional>
#include <map>

#include "autograd/tape.h"
#include "hgc/base/error.h"
#include "symbol/trace.h"

namespace hgc::autograd {

gluon::Symbol get_symbol(const NDArray& x) {
  const auto& e = x.ag_entry();
  if (!e || !e->node)
    fail("autograd", "get_symbol: the array has no recorded history (compute it under autograd::record() from ",
         "variables marked with attach_grad)");
  auto g = std::make_shared<TraceGraph>("autograd");
  trace::Activate on(g);
  std::map<const AGNode*, std::vector<NDArray>> done;
  std::map<const AGEntry*, NDArray> vars;
  std::function<NDArray(const NDArray&)> visit = [&](const NDArray& a) -> NDArray {
    const auto& en = a.ag_entry();
    if (!en) return a;  // not recorded: a constant of the graph
    if (!en->node) {   // an attached variable
      auto it = vars.find(en.get());
      if (it == vars.end())
        it = vars.emplace(en.get(), trace::input(g, "var" + std::to_string(vars.size()), Shape(a.shape()), a.dtype())).first;
      return it->second;
    }
    const AGNode* n = en->node.get();
    auto it = done.find(n);
    if (it == done.end()) {
      if (n->op.empty())
        fail("autograd", "get_symbol: the history passes through a hybridized block's compiled call, which has no ",
             "op to replay; get the block's graph by calling it on symbols instead");
      std::vector<NDArray> ins;
      for (const NDArray& in : n->inputs) ins.push_back(visit(in));
      it = done.emplace(n, trace::record(n->op, n->attrs, ins, "")).first;
    }
    return it->second.at(size_t(en->index));
  };
  return gluon::Symbol({visit(x)});
}

}  // namespace hgc::autograd
