// Block utilities of Gluon that sit beside the call path: forward hooks, apply, cast and
// summary (a one-call table of output shapes and parameter counts, through the hooks).
#include <cstdio>
#include <set>
#include <sstream>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/block.h"
#include "nd/detail.h"

namespace hgc::gluon {

HookHandle Block::register_forward_pre_hook(ForwardPreHook hook) {
  if (!hook) fail("gluon", "register_forward_pre_hook on block '", name(), "': empty hook");
  int id = next_hook_++;
  (*pre_hooks_)[id] = std::move(hook);
  std::weak_ptr<std::map<int, ForwardPreHook>> w = pre_hooks_;
  return HookHandle([w, id] {
    if (auto m = w.lock()) m->erase(id);
  });
}

HookHandle Block::register_forward_hook(ForwardHook hook) {
  if (!hook) fail("gluon", "register_forward_hook on block '", name(), "': empty hook");
  int id = next_hook_++;
  (*hooks_)[id] = std::move(hook);
  std::weak_ptr<std::map<int, ForwardHook>> w = hooks_;
  return HookHandle([w, id] {
    if (auto m = w.lock()) m->erase(id);
  });
}

Block& Block::apply(const std::function<void(Block&)>& fn) {
  for (const auto& [_, c] : children_) c->apply(fn);
  fn(*this);
  return *this;
}

void Block::cast(DType dtype) {
  for (const auto& [_, c] : children_) c->cast(dtype);
  for (const auto& p : params_->values()) p->cast(dtype);
}

void HybridBlock::cast(DType dtype) {
  clear_cache();
  Block::cast(dtype);
}

void Block::summary(const std::vector<NDArray>& inputs, std::ostream& os) {
  struct Row {
    std::string layer, shape;
    int64_t params;
  };
  std::vector<Row> rows;
  std::map<std::string, int> counters;
  std::set<const Parameter*> seen;
  int64_t total = 0, trainable = 0, shared = 0;
  std::vector<HookHandle> handles;
  bool hybrid = false;
  apply([&](Block& b) {
    if (auto* h = dynamic_cast<HybridBlock*>(&b); h && h->hybridized()) hybrid = true;
    handles.push_back(b.register_forward_hook([&](Block& blk, const std::vector<NDArray>&, const std::vector<NDArray>& out) {
      std::string shape;
      for (const NDArray& o : out) shape += (shape.empty() ? "" : ", ") + nd_detail::shape_str(o.shape());
      if (out.size() > 1) shape = "[" + shape + "]";
      int64_t n = 0;
      for (const auto& p : blk.params().values()) {
        int64_t k = 1;
        for (int64_t d : p->shape()) k *= d;
        n += k;
        total += k;
        if (p->grad_req() != "null") trainable += k;
        if (!seen.insert(p.get()).second) shared += k;
      }
      std::string t = blk.type_name();
      rows.push_back({t + "-" + std::to_string(++counters[t]), shape, n});
    }));
  });
  if (hybrid) {
    for (auto& h : handles) h.detach();
    fail("gluon", "summary of block '", name(), "': call it before hybridize() (a compiled call runs no child hooks)");
  }
  try {
    (*this)(inputs);
  } catch (...) {
    for (auto& h : handles) h.detach();
    throw;
  }
  for (auto& h : handles) h.detach();
  // Rows come in the order blocks finish (children before parents, the model last), as Gluon's.
  int64_t unique = 0;
  for (const auto& p : collect_params().values()) {
    int64_t k = 1;
    for (int64_t d : p->shape()) k *= d;
    unique += k;
  }
  char buf[256];
  auto line = [&](const std::string& a, const std::string& b, const std::string& c) {
    std::snprintf(buf, sizeof buf, "%20s  %42s %15s\n", a.c_str(), b.c_str(), c.c_str());
    os << buf;
  };
  os << std::string(80, '-') << "\n";
  line("Layer (type)", "Output Shape", "Param #");
  os << std::string(80, '=') << "\n";
  std::string in;
  for (const NDArray& x : inputs) in += (in.empty() ? "" : ", ") + nd_detail::shape_str(x.shape());
  line("Input", in, "0");
  for (const Row& r : rows) line(r.layer, r.shape, std::to_string(r.params));
  os << std::string(80, '=') << "\n"
     << "Parameters in forward computation graph, duplicate included\n"
     << "   Total params: " << total << "\n   Trainable params: " << trainable
     << "\n   Non-trainable params: " << total - trainable << "\nShared params in forward computation graph: " << shared
     << "\nUnique parameters in model: " << unique << "\n"
     << std::string(80, '-') << "\n";
}

}  // namespace hgc::gluon
