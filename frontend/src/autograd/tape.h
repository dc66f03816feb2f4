// The autograd tape (not installed): what an NDArray's AGEntry points at, and the hook
// nd_detail::call_all uses to record an op while autograd::record() is active.
//
//   if (autograd::is_recording()) tape::record(op, attrs, inputs, outputs);  // in call_all
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/base/attrs.h"

namespace hgc {

// One recorded op call. Inputs keep their AGEntry (and so their producers) alive; outputs are
// kept as plain values (no entry) so an output's entry -> node -> output cycle cannot form.
struct AGNode {
  std::string op;
  AttrMap attrs;
  std::vector<NDArray> inputs;
  std::vector<NDArray> outputs;
  std::vector<std::weak_ptr<AGEntry>> out_entries;  // for create_graph (taped outputs)
  uint64_t seq = 0;       // recording order: a node's producers have smaller numbers
  bool released = false;  // backward without retain_graph dropped the saved values
  // A node without an op (a hybridized block's compiled call): its backward maps the output
  // gradients (undefined where none) to one gradient per input (undefined: none).
  std::function<std::vector<NDArray>(const std::vector<NDArray>& og)> custom;
};

struct AGEntry {
  std::shared_ptr<AGNode> node;  // set for a taped result
  int index = 0;                 // which output of node
  // A variable (attach_grad):
  GradReq req = GradReq::null_req;
  NDArray grad;
  bool is_variable() const { return node == nullptr; }
};

namespace tape {
// True when any input needs a gradient (an attached variable or a taped result).
bool needs_grad(const std::vector<NDArray>& inputs);
// Tapes `op` and gives each output an entry (no-op for non-differentiable ops).
void record(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
            std::vector<NDArray>& outputs);
// Tapes an opaque call named `name` (for errors) whose backward is `fn`.
void record_custom(const std::string& name, const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   std::function<std::vector<NDArray>(const std::vector<NDArray>& og)> fn);
// Hooks told, during autograd::backward() (not grad()), each variable gradient buffer as soon
// as its value is written: every contribution is in (dist_sync starts reducing it then).
using GradReadyHook = std::function<void(const NDArray& grad)>;
int add_grad_ready_hook(GradReadyHook hook);
void remove_grad_ready_hook(int id);
void notify_grad_ready(const NDArray& grad);
}  // namespace tape

}  // namespace hgc
