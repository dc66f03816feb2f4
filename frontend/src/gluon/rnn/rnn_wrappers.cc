// Cell wrappers over RecurrentCell::step: residual connection, input dropout, zoneout and
// the two-direction unroll.
#include "hgc/frontend/gluon/rnn/rnn_wrappers.h"

#include "hgc/base/error.h"
#include "hgc/frontend/autograd/autograd.h"
#include "nd/detail.h"

namespace hgc::gluon::rnn {

ModifierCell::ModifierCell(const std::string& hint, std::shared_ptr<RecurrentCell> base, BlockArgs args)
    : RecurrentCell(hint, std::move(args)), base_(std::move(base)) {
  if (!base_) fail("gluon", hint, " needs a base cell");
  register_child(base_, "base_cell");
}
void ModifierCell::reset() {
  RecurrentCell::reset();
  base_->reset();
}

ResidualCell::ResidualCell(std::shared_ptr<RecurrentCell> base, BlockArgs args)
    : ModifierCell("residualcell", std::move(base), std::move(args)) {}
std::pair<NDArray, std::vector<NDArray>> ResidualCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  auto [out, st] = (*base_)(input, states);
  if (out.shape() != input.shape())
    fail("gluon", "ResidualCell '", name(), "': the base cell's output ", nd_detail::shape_str(out.shape()),
         " must have the input's shape ", nd_detail::shape_str(input.shape()));
  return {out + input, st};
}

DropoutCell::DropoutCell(double rate, BlockArgs args) : RecurrentCell("dropoutcell", std::move(args)) {
  auto scope = name_scope();
  drop_ = register_child(std::make_shared<nn::Dropout>(rate), "dropout");
}
std::pair<NDArray, std::vector<NDArray>> DropoutCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  return {(*drop_)(input), states};
}

ZoneoutCell::ZoneoutCell(std::shared_ptr<RecurrentCell> base, double zo, double zs, BlockArgs args)
    : ModifierCell("zoneoutcell", std::move(base), std::move(args)), zo_(zo), zs_(zs) {
  if (zo < 0 || zo >= 1 || zs < 0 || zs >= 1) fail("gluon", "ZoneoutCell: zoneout probabilities must be in [0, 1)");
}
void ZoneoutCell::reset() {
  ModifierCell::reset();
  prev_output_ = NDArray();
}
std::pair<NDArray, std::vector<NDArray>> ZoneoutCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  auto [out, st] = (*base_)(input, states);
  if (!autograd::is_training()) return {out, st};
  // keep the previous value where uniform < p (Gluon: mask = dropout(ones, p) == 0)
  auto zone = [](const NDArray& next, const NDArray& prev, double p) {
    if (p == 0) return next;
    NDArray keep = nd::random::uniform(0, 1, next.shape()) < p;
    return nd::where(keep, prev, next);
  };
  NDArray prev = prev_output_.defined() ? prev_output_ : nd::zeros_like(out);
  NDArray o = zone(out, prev, zo_);
  for (size_t i = 0; i < st.size(); ++i) st[i] = zone(st[i], states[i], zs_);
  prev_output_ = o;
  return {o, st};
}

BidirectionalCell::BidirectionalCell(std::shared_ptr<RecurrentCell> l, std::shared_ptr<RecurrentCell> r, BlockArgs args)
    : RecurrentCell("bidirectionalcell", std::move(args)), l_(std::move(l)), r_(std::move(r)) {
  if (!l_ || !r_) fail("gluon", "BidirectionalCell needs two cells");
  register_child(l_, "l_cell");
  register_child(r_, "r_cell");
}
std::pair<NDArray, std::vector<NDArray>> BidirectionalCell::step(const NDArray&, const std::vector<NDArray>&) {
  fail("gluon", "BidirectionalCell '", name(), "' cannot be stepped; use unroll (as in Gluon)");
}
std::vector<StateInfo> BidirectionalCell::state_info(int64_t batch_size) const {
  auto a = l_->state_info(batch_size), b = r_->state_info(batch_size);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
UnrollResult BidirectionalCell::unroll(int64_t length, const NDArray& inputs, std::vector<NDArray> begin_state,
                                      const std::string& layout, std::optional<bool> merge_outputs) {
  size_t nl = l_->state_info(1).size();
  std::vector<NDArray> ls, rs;
  if (!begin_state.empty()) {
    if (begin_state.size() != nl + r_->state_info(1).size())
      fail("gluon", "BidirectionalCell '", name(), "': ", begin_state.size(), " begin states for its two cells");
    ls.assign(begin_state.begin(), begin_state.begin() + nl);
    rs.assign(begin_state.begin() + nl, begin_state.end());
  }
  int axis = layout == "TNC" ? 0 : 1;
  std::vector<NDArray> steps;
  for (int64_t t = length - 1; t >= 0; --t) steps.push_back(inputs.slice_axis(axis, t, t + 1).squeeze({axis}));
  UnrollResult l = l_->unroll(length, inputs, ls, layout, false);
  UnrollResult r = r_->unroll(length, steps, rs, layout, false);
  UnrollResult out;
  for (int64_t t = 0; t < length; ++t) out.outputs.push_back(nd::concat({l.outputs[t], r.outputs[length - 1 - t]}, 1));
  out.states = l.states;
  out.states.insert(out.states.end(), r.states.begin(), r.states.end());
  if (merge_outputs.value_or(true)) {
    out.output = nd::stack(out.outputs, axis);
    out.outputs.clear();
  }
  return out;
}

}  // namespace hgc::gluon::rnn
