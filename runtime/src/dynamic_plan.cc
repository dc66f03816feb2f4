// DynamicPlan (dynamic_plan.h): the plan of one size from the plan of another, with no
// compiler: dims from their fitted polynomials, library calls rebuilt, the arena re-laid.
#include "hgc/runtime/dynamic_plan.h"

#include <algorithm>
#include <numeric>

#include "hgc/base/error.h"
#include "hgc/runtime/executable.h"

namespace hgc {

bool eval_dim(const DimExpr& e, int degree, const std::vector<int64_t>& values, int64_t* out) {
  __int128 sum = 0;
  const int base = degree + 1;
  for (size_t m = 0; m < e.coef.size(); ++m) {
    if (!e.coef[m]) continue;
    __int128 term = e.coef[m];
    size_t code = m;
    for (size_t i = 0; i < values.size(); ++i, code /= base)
      for (size_t p = 0; p < code % base; ++p) term *= values[i];
    sum += term;
    if (sum > (__int128(1) << 100) || sum < -(__int128(1) << 100)) return false;
  }
  if (e.den <= 0 || sum % e.den != 0) return false;
  sum /= e.den;
  if (sum < INT64_MIN || sum > INT64_MAX) return false;
  *out = static_cast<int64_t>(sum);
  return true;
}

void replan_arena(Executable& e) {
  const int nb = static_cast<int>(e.buffers.size());
  auto root = [&](int id) {
    while (e.buffers[id].kind == BufferKind::View) id = e.buffers[id].view_of;
    return id;
  };
  const int last = static_cast<int>(e.steps.size());
  std::vector<int> first(nb, last + 1), end(nb, -1);
  auto use = [&](int id, int step) {
    int r = root(id);
    first[r] = std::min(first[r], step);
    end[r] = std::max(end[r], step);
  };
  // The steps of a group (Step::with_next) run at once: each counts as the group's first step
  // and its last, so nothing one touches shares storage with the others'.
  for (int s = 0; s < last;) {
    int g = s + 1;
    while (g < last && e.steps[g - 1].with_next) ++g;
    for (int k = s; k < g; ++k)
      for (const std::vector<int>* ids : {&e.steps[k].args, &e.steps[k].epilogue_args})
        for (int id : *ids) use(id, s), use(id, g - 1);
    s = g;
  }
  for (int id : e.output_buffers) use(id, last);  // copied out after the last step
  struct Item {
    int id;
    int64_t bytes;
  };
  std::vector<Item> items;
  for (int id = 0; id < nb; ++id) {
    BufferInfo& b = e.buffers[id];
    if (b.kind != BufferKind::Arena) continue;
    if (end[id] < 0) first[id] = 0, end[id] = last;  // untouched: keep it apart from everything
    items.push_back({id, static_cast<int64_t>((b.nbytes() + 63) / 64 * 64)});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.bytes > b.bytes; });
  std::vector<Item> placed;
  int64_t total = 0;
  for (const Item& it : items) {
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, offset + bytes) of live neighbours
    for (const Item& p : placed)
      if (first[p.id] <= end[it.id] && first[it.id] <= end[p.id])
        busy.push_back({e.buffers[p.id].offset, e.buffers[p.id].offset + p.bytes});
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& [b0, b1] : busy) {
      if (at + it.bytes <= b0) break;
      at = std::max(at, b1);
    }
    e.buffers[it.id].offset = at;
    total = std::max(total, at + it.bytes);
    placed.push_back(it);
  }
  e.arena_bytes = total;
}

std::string DynamicPlan::var_name(int v) const {
  std::string s;
  for (const auto& [in, axis] : spec_.vars.at(v).at)
    s += (s.empty() ? "" : " = ") + ("'" + base_->input_names.at(in) + "' axis " + std::to_string(axis));
  return s;
}

std::vector<int64_t> DynamicPlan::base_values() const {
  std::vector<int64_t> v;
  for (const DynamicSpec::Var& x : spec_.vars) {
    const auto& [in, axis] = x.at.at(0);
    v.push_back(base_->buffers[base_->input_buffers[in]].shape[axis]);
  }
  return v;
}

std::vector<int64_t> DynamicPlan::bind(const std::vector<std::vector<int64_t>>& shapes) const {
  const Executable& e = *base_;
  if (shapes.size() != e.input_buffers.size())
    fail("runtime", "executable takes ", e.input_buffers.size(), " inputs, got ", shapes.size());
  std::vector<std::vector<bool>> dynamic_axis(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    dynamic_axis[i].assign(e.buffers[e.input_buffers[i]].shape.size(), false);
  std::vector<int64_t> values(spec_.vars.size(), -1);
  for (size_t v = 0; v < spec_.vars.size(); ++v)
    for (const auto& [in, axis] : spec_.vars[v].at) {
      dynamic_axis[in][axis] = true;
      if (shapes[in].size() != dynamic_axis[in].size()) continue;  // named below
      int64_t x = shapes[in][axis];
      if (values[v] >= 0 && values[v] != x)
        fail("runtime", "the sizes of ", var_name(static_cast<int>(v)), " must be equal (the model ties them), got ",
             values[v], " and ", x);
      values[v] = x;
    }
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::vector<int64_t>& want = e.buffers[e.input_buffers[i]].shape;
    std::string spelled = "(";
    for (size_t k = 0; k < want.size(); ++k)
      spelled += (k ? ", " : "") + (dynamic_axis[i][k] ? std::string("?") : std::to_string(want[k]));
    spelled += want.size() == 1 ? ",)" : ")";
    bool ok = shapes[i].size() == want.size();
    for (size_t k = 0; ok && k < want.size(); ++k) ok = dynamic_axis[i][k] || shapes[i][k] == want[k];
    if (!ok) {
      std::string got = "(";
      for (size_t k = 0; k < shapes[i].size(); ++k) got += (k ? ", " : "") + std::to_string(shapes[i][k]);
      fail("runtime", "input '", e.input_names[i], "' has shape ", got, shapes[i].size() == 1 ? ",)" : ")",
           ", the model takes ", spelled);
    }
  }
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v] < 1) fail("runtime", var_name(static_cast<int>(v)), " must be at least 1, got ", values[v]);
  return values;
}

std::shared_ptr<const Executable> DynamicPlan::at(const std::vector<int64_t>& values) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->first == values) {
        cache_.splice(cache_.begin(), cache_, it);
        return it->second;
      }
  }
  auto sizes = [&] {
    std::string s;
    for (size_t v = 0; v < values.size(); ++v) s += (v ? ", " : "") + var_name(static_cast<int>(v)) + " = " + std::to_string(values[v]);
    return s;
  };
  std::vector<int64_t> x(spec_.exprs.size());
  for (size_t k = 0; k < x.size(); ++k)
    if (!eval_dim(spec_.exprs[k], spec_.degree, values, &x[k]) || x[k] < 0) {
      // Name the first buffer that needs this dim: the rule the model breaks.
      std::string who;
      for (const auto& d : spec_.buffer_dims)
        if (d.expr == static_cast<int>(k)) {
          who = "'" + base_->buffers[d.buffer].name + "' axis " + std::to_string(d.axis);
          break;
        }
      const DimExpr& ex = spec_.exprs[k];
      std::string rule = ex.den > 1 ? " (a size the model divides by " + std::to_string(ex.den) + ": try a multiple of it)" : "";
      fail("runtime", "the model cannot run at ", sizes(), ": the size of ", who.empty() ? "an intermediate" : who,
           " is not a whole number", rule);
    }
  auto e = std::make_shared<Executable>(*base_);
  e->dynamic.reset();
  for (const auto& d : spec_.buffer_dims) e->buffers.at(d.buffer).shape.at(d.axis) = x[d.expr];
  for (const auto& c : spec_.call_params) e->steps.at(c.step).call.params.at(c.param) = x[c.expr];
  for (Step& s : e->steps) {
    if (s.call.empty()) continue;
    std::vector<const BufferInfo*> infos;
    for (int id : s.args) infos.push_back(&e->buffers[id]);
    try {
      check_library(s.call, infos);
    } catch (const Error& err) {
      fail("runtime", "the model cannot run at ", sizes(), ": step ", s.label, ": ", err.what());
    }
    s.library = make_library(s.call);
  }
  // A split kernel cuts its arguments into rows of the last one; at this size they may not
  // share dim 0 any more (a size of 1 broadcasting): then it runs whole.
  for (Step& s : e->steps) {
    if (!s.split) continue;
    const BufferInfo& out = e->buffers[s.args[s.split_rows_arg()]];
    for (size_t a = 0; a < s.args.size(); ++a)
      if (s.split_arg[a] && e->buffers[s.args[a]].shape[0] != out.shape[0]) s.split = false;
  }
  e->naive_arena_bytes = 0;
  for (const BufferInfo& b : e->buffers)
    if (b.kind == BufferKind::Arena) e->naive_arena_bytes += static_cast<int64_t>(b.nbytes());
  replan_arena(*e);
  std::lock_guard<std::mutex> lock(mu_);
  cache_.push_front({values, e});
  if (cache_.size() > 16) cache_.pop_back();
  return e;
}

}  // namespace hgc
