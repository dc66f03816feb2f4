// gluon.Trainer: applies an optimizer (optim/optimizer.h) to a set of parameters after backward.
//
//   using namespace hgc::gluon;
//   Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
//   { auto rec = autograd::record();  l = loss(net(x), y); }
//   l.backward();
//   trainer.step(batch_size);            // gradients rescaled by 1 / batch_size
//   trainer.save_states("run.states");   // momentum / moments and update counts
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/parameter.h"
#include "hgc/frontend/optim/optimizer.h"

namespace hgc::gluon {

// gluon.Trainer: applies an optimizer to a set of parameters after backward.
class Trainer {
 public:
  Trainer(const ParameterDict& params, const std::string& optimizer,
          const std::map<std::string, double>& optimizer_params = {},
          std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler = nullptr);
  Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer);
  // One update of every parameter with a gradient, gradients scaled by 1 / batch_size:
  // allreduce_grads() then update().
  void step(double batch_size);
  // Sums each multi-context parameter's gradients over its copies and writes the sum into
  // every copy (Gluon's allreduce_grads; nothing to do for single-context parameters).
  void allreduce_grads();
  // The optimizer step alone, on gradients already reduced (Gluon's update: for gradient
  // clipping or inspection between allreduce_grads() and the update). The first context's
  // copy is updated and the others receive its new values.
  void update(double batch_size);
  // The rate of the next step's schedule position (see Optimizer::learning_rate).
  double learning_rate() const { return opt_->learning_rate(); }
  // Throws when an lr_scheduler owns the rate.
  void set_learning_rate(double lr) { opt_->set_learning_rate(lr); }
  optim::Optimizer& optimizer() { return *opt_; }
  // Zeroes every gradient (for grad_req "add").
  void zero_grad();
  // The optimizer's per-parameter state (momentum, moments...), update counts and num_update,
  // keyed by parameter name in an MXNet .params dict (so a file fits the same network built
  // again, whatever the order). load_states throws for another optimizer's file, a
  // parameter this trainer lacks, or a state of the wrong count, shape or dtype.
  void save_states(const std::string& path) const;
  void load_states(const std::string& path);

 private:
  std::vector<std::shared_ptr<Parameter>> params_;
  std::unique_ptr<optim::Optimizer> opt_;
  double scale_;  // the optimizer's own rescale_grad, before 1 / batch_size
};

}  // namespace hgc::gluon
