// Trainer: steps an optimizer over a parameter set, and saves/loads the optimizer's state as
// an MXNet .params dict keyed by parameter name:
//   "hgc_optimizer:<name>"  (1,) f64  num_update
//   "<param>:count"         (1,) f64  that parameter's update count
//   "<param>:state<k>"      the k-th state array (create_state's order)
#include <set>

#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/gluon/trainer.h"
#include "hgc/base/error.h"

namespace hgc::gluon {

namespace {
const std::string kHeader = "hgc_optimizer:";

NDArray scalar_f64(double v) { return nd::full({1}, v, DType::f64); }
}  // namespace

Trainer::Trainer(const ParameterDict& params, const std::string& optimizer,
                 const std::map<std::string, double>& optimizer_params,
                 std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler)
    : Trainer(params, optim::create(optimizer, optimizer_params, std::move(lr_scheduler))) {}

Trainer::Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer)
    : params_(params.values()), opt_(std::move(optimizer)) {
  if (!opt_) fail("trainer", "needs an optimizer");
  scale_ = opt_->rescale_grad();
}

void Trainer::step(double batch_size) {
  if (!(batch_size > 0)) fail("trainer", "step: batch_size must be positive, got ", batch_size);
  allreduce_grads();
  update(batch_size);
}

void Trainer::allreduce_grads() {
  autograd::Scope off(false, autograd::is_training());
  for (const auto& p : params_) {
    if (!p->has_grad() || p->list_ctx().size() < 2) continue;
    std::vector<NDArray> gs = p->list_grad();
    Context c0 = gs[0].context();
    NDArray sum = gs[0].copy();
    for (size_t k = 1; k < gs.size(); ++k) sum += gs[k].as_in_context(c0);
    for (NDArray& g : gs) g.assign(sum.as_in_context(g.context()));
  }
}

void Trainer::update(double batch_size) {
  if (!(batch_size > 0)) fail("trainer", "update: batch_size must be positive, got ", batch_size);
  autograd::Scope off(false, autograd::is_training());  // updates are never taped
  opt_->set_rescale_grad(scale_ / batch_size);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    if (!p->has_grad()) {
      if (p->grad_req() != "null" && p->deferred())
        fail("trainer", "parameter '", p->name(), "' is not initialized yet (deferred); run a forward first");
      continue;
    }
    opt_->update(i, p->data(), p->grad(), p->lr_mult(), p->wd_mult());
    std::vector<NDArray> copies = p->list_data();
    for (size_t k = 1; k < copies.size(); ++k) copies[k].assign(copies[0].as_in_context(copies[k].context()));
  }
}

void Trainer::zero_grad() {
  for (const auto& p : params_) p->zero_grad();
}

void Trainer::save_states(const std::string& path) const {
  std::map<std::string, NDArray> out;
  out[kHeader + opt_->name()] = scalar_f64(static_cast<double>(opt_->num_update()));
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::vector<NDArray>* st = opt_->state(i);
    if (!st) continue;
    const std::string& n = params_[i]->name();
    out[n + ":count"] = scalar_f64(static_cast<double>(opt_->update_count(i)));
    for (size_t k = 0; k < st->size(); ++k) out[n + ":state" + std::to_string(k)] = (*st)[k];
  }
  nd::save(path, out);
}

void Trainer::load_states(const std::string& path) {
  std::map<std::string, NDArray> d = nd::load_dict(path);
  auto head = d.lower_bound(kHeader);
  if (head == d.end() || head->first.rfind(kHeader, 0) != 0)
    fail("trainer", "load_states ", path, ": not a Trainer states file (no '", kHeader, "<name>' entry)");
  std::string saved = head->first.substr(kHeader.size());
  if (saved != opt_->name())
    fail("trainer", "load_states ", path, ": the file holds ", saved, " states but this trainer runs ", opt_->name());
  int64_t num_update = static_cast<int64_t>(head->second.asscalar<double>());
  d.erase(head);

  std::map<std::string, size_t> index;
  for (size_t i = 0; i < params_.size(); ++i) index[params_[i]->name()] = i;
  struct Entry {
    int64_t count = 0;
    std::map<size_t, NDArray> arrays;
  };
  std::map<std::string, Entry> entries;
  for (auto& [key, arr] : d) {
    size_t colon = key.rfind(':');
    std::string pname = key.substr(0, colon == std::string::npos ? 0 : colon);
    std::string field = colon == std::string::npos ? key : key.substr(colon + 1);
    if (!index.count(pname))
      fail("trainer", "load_states ", path, ": entry '", key, "' is for a parameter this trainer does not have");
    Entry& e = entries[pname];
    if (field == "count") {
      e.count = static_cast<int64_t>(arr.asscalar<double>());
    } else if (field.rfind("state", 0) == 0 && field.size() > 5 &&
               field.find_first_not_of("0123456789", 5) == std::string::npos) {
      e.arrays[std::stoul(field.substr(5))] = arr;
    } else {
      fail("trainer", "load_states ", path, ": unknown entry '", key, "'");
    }
  }
  // Check everything before touching the optimizer, so a bad file leaves it as it was.
  std::vector<std::tuple<size_t, std::vector<NDArray>, int64_t>> loaded;
  for (auto& [pname, e] : entries) {
    std::vector<NDArray> st;
    for (auto& [k, a] : e.arrays) {
      if (k != st.size()) fail("trainer", "load_states ", path, ": parameter '", pname, "' lacks state", st.size());
      st.push_back(a);
    }
    size_t i = index.at(pname);
    opt_->check_state(params_[i]->data(), st, e.count, "parameter '" + pname + "' in " + path);
    loaded.emplace_back(i, std::move(st), e.count);
  }
  opt_->reset_states();
  for (auto& [i, st, count] : loaded) opt_->set_state(i, params_[i]->data(), std::move(st), count, params_[i]->name());
  opt_->set_num_update(num_update);
}

}  // namespace hgc::gluon
