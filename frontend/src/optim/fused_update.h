// Optimizer updates as one compiled graph per (rule, shape, dtype) (frontend-internal).
//
// The rule is written once as an expression over whole arrays (weight, grad, states) and
// per-step scalars (lr, wd, ...); the scalars are graph inputs of shape (1, ..., 1), so a
// changing rate (schedules, Adam's bias correction) reuses the kernel instead of compiling
// one per value. The executable writes its outputs straight into the arrays they replace
// when that is safe (every read of an old value precedes the write of its new one), else
// into scratch buffers that are then copied back.
//
//   FusedUpdate::Builder b;
//   auto w = b.array("weight"), g = b.array("grad"), m = b.array("mom");
//   auto lr = b.scalar("lr"), mu = b.scalar("momentum");
//   auto m2 = m * mu - g * lr;
//   b.output(m2, "mom");
//   b.output(w + m2, "weight");
//   const FusedUpdate& u = FusedUpdate::get("sgd_mom", weight, [&] { return build(); });
//   u.run({{"weight", w}, {"grad", g}, {"mom", m}}, {{"lr", 0.1}, {"momentum", 0.9}});
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon {

class FusedUpdate {
 public:
  class Builder;
  // A value of the update expression.
  struct Expr {
    Builder* b = nullptr;
    ValueRef v;
  };
  class Builder {
   public:
    Expr array(const std::string& name);   // an array of the weight's shape
    Expr scalar(const std::string& name);  // a per-step number
    // The new value of array `name` (an output of another dtype, e.g. a cast of the new weight,
    // is written to an array of that dtype: run() takes it by name like the others).
    void output(Expr e, const std::string& name);
    Expr op(const std::string& op, std::vector<Expr> in);
    Expr cast(Expr e, DType to);

   private:
    friend class FusedUpdate;
    Graph g_;
    std::vector<std::string> arrays_, scalars_, outputs_;
    int next_ = 0;
  };

  // The update compiled for `weight`'s shape and dtype under `key` (which names the rule and
  // every choice `build` makes), built and compiled on first use.
  static const FusedUpdate& get(const std::string& key, const NDArray& weight,
                                const std::function<void(Builder&)>& build);
  // Runs the update: `arrays` by name (each of the compiled shape, and of the weight's dtype
  // or, for an array that is only written, its output's), `scalars` by name; the outputs
  // replace the named arrays' contents.
  void run(const std::map<std::string, NDArray>& arrays, const std::map<std::string, double>& scalars) const;
  // Whether outputs are written in place (no copy-back); for tests.
  bool in_place() const { return in_place_; }
  // Compiled kernels and library calls per run; for tests.
  size_t steps() const { return exe_->steps.size(); }
  // Blocks a run is cut into across the thread pool (1: one call on the whole array).
  int parts() const { return parts_; }
  // Kernel modules compiled for this rule and dtype so far, over every weight shape (the
  // update is compiled over a flat array of symbolic length: one module serves all); for tests.
  int modules() const;

 private:
  // Every output element reads only the same element of the arrays (and the scalars), so the
  // update runs on the arrays flattened, compiled once per rule and dtype over a symbolic
  // length (compiler/dynamic.h) and planned per length. A large update runs as `parts_` calls
  // on consecutive blocks, spread over the pool: the blocks are independent and the result is
  // the same bits. exe_ serves blocks of block_ elements, tail_ the last one when shorter.
  int parts_ = 1;
  int64_t block_ = 0;
  std::shared_ptr<DynamicGraph> dyn_;
  std::shared_ptr<const Executable> tail_;
  std::shared_ptr<const Executable> exe_;
  std::vector<std::string> outputs_;  // the array each output replaces, in output order
  std::vector<DType> out_dtypes_;     // their dtypes (the weight's, or a cast's)
  std::vector<int64_t> shape_;
  DType dtype_ = DType::f32;
  bool in_place_ = false;
};

FusedUpdate::Expr operator+(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr operator-(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr operator*(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr operator/(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr maximum(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr minimum(FusedUpdate::Expr a, FusedUpdate::Expr b);
FusedUpdate::Expr sqrt(FusedUpdate::Expr a);
FusedUpdate::Expr square(FusedUpdate::Expr a);

}  // namespace hgc::gluon
