// plan_aot_dynamic (compile.h): one AOT plan for every size of the `?` input dims.
//
// The kernels are written once over symbolic dims (dynamic.h). Everything else a size
// changes is plain integers of the plan: buffer dims and library-call parameters. The graph
// is planned at 3 values of each dynamic dim (a grid), each integer is fitted as a
// polynomial of degree <= 2 in every dim (Lagrange, exact rationals), and the fit is checked
// at one more size; the runtime (runtime/dynamic_plan.h) evaluates the polynomials and lays
// the arena out again. A plan whose structure or kernels change with the size, or an integer
// the polynomials do not reproduce, is an error naming the node — never a silently wrong plan.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/dynamic_plan.h"
#include "plan.h"

namespace hgc {

namespace {

using TensorMap = std::map<std::string, HostTensor>;
using i128 = __int128;

constexpr int kDegree = 2;
constexpr int kNodes = kDegree + 1;
constexpr int kMaxVars = 3;  // 3^3 = 27 plans to fit

struct Place {
  std::string input;
  int axis;
};

// The size of each variable at grid node j (0..2) and at the check (3): distinct per
// variable, multiples of 8 (so sizes a model divides stay whole).
int64_t node_value(int var, int j) {
  static const int64_t offset[4] = {0, 8, 16, 56};
  return 8 * (2 + var) + offset[j];
}

struct Planned {
  Graph prepared;
  Plan plan;
};

// The graph inferred, prepared and planned at `values` (one per variable).
Planned plan_at(const Graph& raw, const InferOptions& io, const std::vector<std::vector<Place>>& vars,
                const std::vector<int64_t>& values, const CompileOptions& opts, const TensorMap& frozen,
                const Graph* symbolic) {
  InferOptions o = io;
  for (size_t v = 0; v < vars.size(); ++v)
    for (const Place& p : vars[v]) {
      std::vector<int64_t> d = o.shapes.at(p.input).dims();
      d[p.axis] = values[v];
      o.shapes[p.input] = Shape(d);
    }
  Planned r;
  Graph g = raw;
  infer(g, o);
  TensorMap tensors = frozen;
  r.prepared = prepare(g, opts, nullptr, &tensors);
  if (symbolic) {
    std::string d = structure_difference(*symbolic, r.prepared);
    if (!d.empty()) fail("compile", "the optimized graph changes with the dynamic dims (", d, "); give fixed sizes");
    r.plan = plan_steps(r.prepared, StepPlanOptions::from(opts).with_frozen(&tensors).with_symbolic(symbolic));
  }
  return r;
}

i128 gcd128(i128 a, i128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Lagrange basis of variable `v`'s nodes: numerator coefficients (by power) and denominator.
struct Basis {
  i128 num[kNodes][kNodes];  // [node j][power]
  i128 den[kNodes];
};

Basis basis(int v) {
  Basis b{};
  for (int j = 0; j < kNodes; ++j) {
    i128 poly[kNodes] = {1, 0, 0};
    int deg = 0;
    b.den[j] = 1;
    for (int m = 0; m < kNodes; ++m) {
      if (m == j) continue;
      i128 xm = node_value(v, m);
      for (int p = deg + 1; p > 0; --p) poly[p] = poly[p - 1] - xm * poly[p];
      poly[0] = -xm * poly[0];
      ++deg;
      b.den[j] *= node_value(v, j) - xm;
    }
    for (int p = 0; p < kNodes; ++p) b.num[j][p] = poly[p];
  }
  return b;
}

// Fits the integer seen at every grid corner (f[corner], corner digits base 3 = node of each
// variable); false when the coefficients do not fit in 64 bits.
bool fit(const std::vector<int64_t>& f, int nvars, DimExpr* out) {
  std::vector<Basis> bs;
  std::vector<i128> lcm(nvars, 1);
  for (int v = 0; v < nvars; ++v) {
    bs.push_back(basis(v));
    for (int j = 0; j < kNodes; ++j) {
      i128 d = bs[v].den[j] < 0 ? -bs[v].den[j] : bs[v].den[j];
      lcm[v] = lcm[v] / gcd128(lcm[v], d) * d;
    }
  }
  size_t n = f.size();
  std::vector<i128> coef(n, 0);
  i128 den = 1;
  for (int v = 0; v < nvars; ++v) den *= lcm[v];
  for (size_t corner = 0; corner < n; ++corner) {
    if (!f[corner]) continue;
    for (size_t mono = 0; mono < n; ++mono) {
      i128 term = f[corner];
      size_t c = corner, m = mono;
      for (int v = 0; v < nvars; ++v, c /= kNodes, m /= kNodes)
        term *= bs[v].num[c % kNodes][m % kNodes] * (lcm[v] / bs[v].den[c % kNodes]);
      coef[mono] += term;
    }
  }
  i128 g = den;
  for (i128 c : coef) g = gcd128(g, c);
  out->coef.clear();
  for (i128 c : coef) {
    c /= g;
    if (c > INT64_MAX || c < INT64_MIN) return false;
    out->coef.push_back(static_cast<int64_t>(c));
  }
  den /= g;
  if (den > INT64_MAX) return false;
  out->den = static_cast<int64_t>(den);
  return true;
}

// Every integer of a plan that may change with the size, in a fixed order, and a string of
// what may not (structure), to compare plans.
void integers(const Executable& e, std::vector<int64_t>& ints) {
  ints.clear();
  for (const BufferInfo& b : e.buffers) ints.insert(ints.end(), b.shape.begin(), b.shape.end());
  for (const Step& s : e.steps) ints.insert(ints.end(), s.call.params.begin(), s.call.params.end());
}

std::string structure(const Executable& e) {
  std::string s;
  auto add = [&](const auto&... parts) { ((s += std::to_string(parts) + ","), ...); };
  for (const std::string& n : e.input_names) s += n + ";";
  for (const BufferInfo& b : e.buffers)
    s += b.name + ":", add(b.shape.size(), dtype_code(b.dtype), static_cast<int>(b.kind), b.index, b.view_of);
  for (const Step& st : e.steps) {
    s += st.label + "|" + st.kernel_name + "|" + st.call.kind + "|";
    add(st.call.params.size(), st.split);
    for (int a : st.args) add(a);
    s += "|";
    for (int a : st.call.operands) add(a);
    s += "|";
    for (int a : st.epilogue_args) add(a);
    for (bool a : st.split_arg) add(a);
  }
  for (int o : e.output_buffers) add(o);
  return s;
}

std::string var_text(const std::vector<Place>& v) {
  std::string s;
  for (const Place& p : v) s += (s.empty() ? "" : " = ") + p.input + " axis " + std::to_string(p.axis);
  return s;
}

// Where in the plan the k-th integer of integers() lives (for the spec and for errors).
struct Slot {
  bool buffer;
  int index, pos;
};
std::vector<Slot> slots(const Executable& e) {
  std::vector<Slot> r;
  for (size_t b = 0; b < e.buffers.size(); ++b)
    for (size_t k = 0; k < e.buffers[b].shape.size(); ++k) r.push_back({true, static_cast<int>(b), static_cast<int>(k)});
  for (size_t s = 0; s < e.steps.size(); ++s)
    for (size_t k = 0; k < e.steps[s].call.params.size(); ++k) r.push_back({false, static_cast<int>(s), static_cast<int>(k)});
  return r;
}

std::string slot_text(const Executable& e, const Slot& s) {
  return s.buffer ? "the shape of '" + e.buffers[s.index].name + "' (axis " + std::to_string(s.pos) + ")"
                  : "parameter " + std::to_string(s.pos) + " of the " + e.steps[s.index].call.kind + " call of " +
                        e.steps[s.index].label;
}

}  // namespace

AotPlan plan_aot_dynamic(const Graph& raw, const InferOptions& io, const CompileOptions& opts, const TensorMap& frozen) {
  // The variables: each `?` on its own; tied together by axis, or all in one, when the model
  // needs them equal (inference fails at distinct sizes).
  std::vector<Place> places;
  for (const auto& [name, shape] : io.shapes)
    for (int k = 0; k < shape.ndim(); ++k)
      if (shape[k] == Shape::kUnknownDim) places.push_back({name, k});
  if (places.empty()) fail("compile", "internal: plan_aot_dynamic without a '?' dim");
  std::vector<std::vector<std::vector<Place>>> groupings;
  {
    std::vector<std::vector<Place>> each, by_axis, one(1);
    std::map<int, size_t> axis_var;
    for (const Place& p : places) {
      each.push_back({p});
      auto [it, fresh] = axis_var.emplace(p.axis, by_axis.size());
      if (fresh) by_axis.emplace_back();
      by_axis[it->second].push_back(p);
      one[0].push_back(p);
    }
    groupings = {each, by_axis, one};
  }
  std::vector<std::vector<Place>> vars;
  std::string first_error;
  for (const auto& gr : groupings) {
    if (gr.size() > kMaxVars) {
      if (first_error.empty()) first_error = std::to_string(gr.size()) + " dynamic dims (at most " + std::to_string(kMaxVars) + ")";
      continue;
    }
    try {
      std::vector<int64_t> a(gr.size()), b(gr.size());
      for (size_t v = 0; v < gr.size(); ++v) a[v] = node_value(static_cast<int>(v), 0), b[v] = node_value(static_cast<int>(v), 1);
      plan_at(raw, io, gr, a, opts, frozen, nullptr);
      plan_at(raw, io, gr, b, opts, frozen, nullptr);
      vars = gr;
      break;
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (vars.empty()) fail("compile", "the model does not take '?' sizes there: ", first_error);
  const int nv = static_cast<int>(vars.size());

  // The symbolic graph, from the first two grid sizes.
  std::vector<int64_t> a(nv), b(nv);
  for (int v = 0; v < nv; ++v) a[v] = node_value(v, 0), b[v] = node_value(v, 1);
  Graph sym = plan_at(raw, io, vars, a, opts, frozen, nullptr).prepared;
  Graph probe = plan_at(raw, io, vars, b, opts, frozen, nullptr).prepared;
  if (std::string why = symbolize_graph(sym, probe); !why.empty())
    fail("compile", "the '?' dims cannot stay dynamic: ", why);

  // The grid (corner digits: variable 0 lowest) and the check.
  size_t corners = 1;
  for (int v = 0; v < nv; ++v) corners *= kNodes;
  std::vector<Plan> plans;
  for (size_t c = 0; c <= corners; ++c) {
    std::vector<int64_t> x(nv);
    size_t code = c;
    for (int v = 0; v < nv; ++v, code /= kNodes) x[v] = node_value(v, c == corners ? 3 : static_cast<int>(code % kNodes));
    plans.push_back(std::move(plan_at(raw, io, vars, x, opts, frozen, &sym).plan));
  }
  const Plan& base = plans[0];
  if (!base.specialized.empty()) {
    std::string names;
    for (size_t k = 0; k < base.specialized.size() && k < 5; ++k) names += (k ? ", " : "") + base.specialized[k];
    fail("compile", "the kernels of ", names, base.specialized.size() > 5 ? ", ..." : "",
         " need concrete sizes of the '?' dims (their lowering reads them); give fixed sizes");
  }
  const std::string shape_of_base = structure(*base.exe);
  for (const Plan& p : plans) {
    if (p.module != base.module) fail("compile", "internal: the kernels differ between sizes of the '?' dims");
    if (structure(*p.exe) != shape_of_base)
      fail("compile", "the plan's steps change with the '?' dims (a size-dependent library choice or split); give fixed sizes");
    if (p.exe->constants.size() != base.exe->constants.size())
      fail("compile", "the plan's constants change with the '?' dims; give fixed sizes");
    for (size_t k = 0; k < p.exe->constants.size(); ++k) {
      const HostTensor &x = p.exe->constants[k], &y = base.exe->constants[k];
      if (x.shape() != y.shape() || std::memcmp(x.raw(), y.raw(), x.nbytes()) != 0)
        fail("compile", "constant ", k, " of the plan depends on the '?' dims; give fixed sizes");
    }
  }

  std::vector<std::vector<int64_t>> ints(plans.size());
  for (size_t c = 0; c < plans.size(); ++c) integers(*plans[c].exe, ints[c]);
  std::vector<Slot> where = slots(*base.exe);
  DynamicSpec spec;
  spec.degree = kDegree;
  for (const auto& v : vars) {
    DynamicSpec::Var sv;
    for (const Place& p : v) {
      int in = base.exe->input_index(p.input);
      if (in < 0) fail("compile", "input '", p.input, "' has a '?' dim but the optimized model does not read it");
      sv.at.push_back({in, p.axis});
    }
    spec.vars.push_back(sv);
  }
  std::map<std::pair<std::vector<int64_t>, int64_t>, int> expr_ids;
  std::vector<int64_t> check(nv);
  for (int v = 0; v < nv; ++v) check[v] = node_value(v, 3);
  for (size_t k = 0; k < where.size(); ++k) {
    std::vector<int64_t> f(corners);
    bool constant = true;
    for (size_t c = 0; c < corners; ++c) f[c] = ints[c][k], constant = constant && f[c] == f[0];
    if (constant && ints[corners][k] == f[0]) continue;
    DimExpr e;
    int64_t at_check = 0;
    if (!fit(f, nv, &e) || !eval_dim(e, kDegree, check, &at_check) || at_check != ints[corners][k]) {
      std::string sizes;
      for (int v = 0; v < nv; ++v) sizes += (v ? ", " : "") + var_text(vars[v]);
      fail("compile", slot_text(*base.exe, where[k]), " is no polynomial of degree <= ", kDegree, " in the '?' dims (",
           sizes, "); give fixed sizes");
    }
    auto [it, fresh] = expr_ids.emplace(std::make_pair(e.coef, e.den), static_cast<int>(spec.exprs.size()));
    if (fresh) spec.exprs.push_back(e);
    if (where[k].buffer) spec.buffer_dims.push_back({where[k].index, where[k].pos, it->second});
    else spec.call_params.push_back({where[k].index, where[k].pos, it->second});
  }
  AotPlan r;
  r.exe = base.exe;
  r.mlir = base.module;
  for (const auto& [step, name] : base.kernel_steps)
    if (std::find(r.kernels.begin(), r.kernels.end(), name) == r.kernels.end()) r.kernels.push_back(name);
  for (int id : raw.variable_ids())
    if (r.exe->input_index(raw.nodes[id].name) < 0) r.exe->ignored_inputs.insert(raw.nodes[id].name);
  r.exe->dynamic = std::make_shared<DynamicPlan>(std::move(spec), r.exe.get());
  return r;
}

}  // namespace hgc
