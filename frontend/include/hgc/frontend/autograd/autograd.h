// Autograd: MXNet's mx.autograd — record imperative ops on a tape, then backpropagate
// through them with the per-op gradient rules (autograd/grad/*.cc), each rule a few calls of
// registered ops, so backward runs the same cached JIT kernels as forward.
//
//   using namespace hgc;
//   NDArray x = nd::array({1, 2, 3});
//   x.attach_grad();                         // grad_req write; x.grad() is zeros(3)
//   {
//     auto rec = autograd::record();         // records, and train mode (Dropout drops)
//     NDArray y = nd::sum(x * x);
//     y.backward();                          // x.grad() == 2 * x
//   }
//   auto g = autograd::grad({y2}, {x});      // gradients returned, not written to x.grad()
//
// Only ops whose inputs need a gradient are taped (an attached variable or a taped result).
// In-place writes (x += y, assign) are not recorded: do parameter updates outside record().
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/autograd/train_mode.h"

namespace hgc::autograd {

bool is_recording();
bool is_training();
// Set this thread's flags; each returns the previous value.
bool set_recording(bool on);
bool set_training(bool on);

// RAII scope setting recording and training mode, restoring both on exit.
class Scope {
 public:
  Scope(bool recording, bool training);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool prev_recording_, prev_training_;
};

// `with autograd.record(train_mode=True):`
[[nodiscard]] inline Scope record(bool train_mode = true) { return Scope(true, train_mode); }
// `with autograd.pause(train_mode=False):`
[[nodiscard]] inline Scope pause(bool train_mode = false) { return Scope(false, train_mode); }
// `with autograd.train_mode():` / `predict_mode()`: the recording flag is left as it is.
[[nodiscard]] inline Scope train_mode() { return Scope(is_recording(), true); }
[[nodiscard]] inline Scope predict_mode() { return Scope(is_recording(), false); }

// Marks each variable (attach_grad) with `req`.
void mark_variables(std::vector<NDArray>& variables, GradReq req = GradReq::write);

// Backpropagates from `heads` (head_grads: ones where empty or undefined) into the attached
// grads of the variables they depend on, following each variable's grad_req. Without
// retain_graph the tape's saved values are released and a second backward through the same
// ops is an error.
void backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads = {},
              bool retain_graph = false);

// The gradients of sum(heads) with respect to `variables` (each must be an attached
// variable or a taped result), returned instead of written into grad(). With create_graph
// the backward ops are themselves taped (higher-order gradients); retain_graph defaults to it.
std::vector<NDArray> grad(const std::vector<NDArray>& heads, const std::vector<NDArray>& variables,
                          const std::vector<NDArray>& head_grads = {}, bool create_graph = false,
                          std::optional<bool> retain_graph = std::nullopt);

// Whether `op` (any registered name or alias) has a gradient rule, and the ops that do
// (canonical names), so tests can check each one against finite differences.
bool has_gradient_rule(const std::string& op);
std::vector<std::string> gradient_rule_ops();
// Ops whose outputs carry no gradient at all (comparisons, argmax, one_hot): never taped.
std::vector<std::string> zero_gradient_ops();
// Differentiable ops with no rule yet, each with the reason (a backward through one fails
// quoting it). Every registry op with inputs has a rule, a zero gradient or an entry here.
std::map<std::string, std::string> ops_without_gradient();
// Op -> the source file that registered its gradient rule or zero gradient
// (frontend/src/autograd/grad/<family>.cc), for the test that one op's records share a family.
std::map<std::string, std::string> gradient_rule_files();

}  // namespace hgc::autograd
