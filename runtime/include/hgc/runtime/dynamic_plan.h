// A plan that accepts any size on some input axes, where no compiler exists (AOT programs
// and libraries made by `hgc compile --shape data=?x784`). The kernels were written once
// over `?` dims; what changes with the size is data: every buffer dim and library-call
// parameter that depends on the dynamic dims is a small polynomial in them (fitted and
// checked by the compiler), and the arena is laid out again here, per size, by a greedy
// best-offset planner over the steps' lifetimes. Instances are cached per size (bounded).
//
//   exe->dynamic = std::make_shared<DynamicPlan>(spec);   // plan_io.h saves and loads it
//   exe->run({{"data", x}});     // any batch: Executable::run asks dynamic->at(shapes)
//
// A size the model cannot take (a dim that must be a multiple of something, two inputs
// whose axes the model ties together, a static axis of another size) throws hgc::Error
// ("runtime") naming the input, the axis and the rule.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hgc {

class Executable;

// sum over monomials coef[m] * prod_i v_i^e_i(m), divided by den; the monomial index m
// spells the exponents e_i in base (degree + 1), variable 0 the lowest digit.
struct DimExpr {
  std::vector<int64_t> coef;
  int64_t den = 1;
};

struct DynamicSpec {
  int degree = 2;  // the largest exponent of one variable in a monomial
  // One variable per dynamic dim; several (input, axis) places when the model ties
  // them (they must then be equal).
  struct Var {
    std::vector<std::pair<int, int>> at;  // (input position, axis)
  };
  std::vector<Var> vars;
  std::vector<DimExpr> exprs;
  struct BufferDim {
    int buffer, axis, expr;
  };
  struct CallParam {
    int step, param, expr;
  };
  std::vector<BufferDim> buffer_dims;
  std::vector<CallParam> call_params;
};

class DynamicPlan {
 public:
  // `base` is the plan at the sizes the compiler saw (kernels bound); it must outlive this.
  DynamicPlan(DynamicSpec spec, const Executable* base) : spec_(std::move(spec)), base_(base) {}
  const DynamicSpec& spec() const { return spec_; }
  // The variables' values for these input shapes (checks every rule), then the plan at
  // them: cached, 16 sizes at most.
  std::vector<int64_t> bind(const std::vector<std::vector<int64_t>>& input_shapes) const;
  std::shared_ptr<const Executable> at(const std::vector<int64_t>& values) const;
  // "data axis 0" (and " = label axis 0" for tied places).
  std::string var_name(int v) const;
  // Each variable's name and its value in the plan the compiler saw.
  std::vector<int64_t> base_values() const;

 private:
  DynamicSpec spec_;
  const Executable* base_;
  mutable std::mutex mu_;
  mutable std::list<std::pair<std::vector<int64_t>, std::shared_ptr<const Executable>>> cache_;
};

// Evaluates `e` at `values`; false when the division leaves a remainder or overflows.
bool eval_dim(const DimExpr& e, int degree, const std::vector<int64_t>& values, int64_t* out);

// Lays the arena buffers of `exe` out again for their current sizes (offsets, arena_bytes):
// greedy, largest first, each at the lowest 64-byte aligned offset free over its lifetime.
void replan_arena(Executable& exe);

}  // namespace hgc
