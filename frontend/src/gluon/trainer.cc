// Trainer: steps an optimizer over a parameter set, and saves/loads the optimizer's state as
// an MXNet .params dict keyed by parameter name:
//   "hgc_optimizer:<name>"  (1,) f64  num_update
//   "<param>:count"         (1,) f64  that parameter's update count
//   "<param>:state<k>"      the k-th state array (create_state's order)
#include <set>

#include "dist_sync.h"
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
                 std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler, const std::string& kvstore,
                 std::optional<bool> update_on_kvstore)
    : Trainer(params, optim::create(optimizer, optimizer_params, std::move(lr_scheduler)), kvstore,
              update_on_kvstore) {}

Trainer::Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer, const std::string& kvstore,
                 std::optional<bool> update_on_kvstore)
    : params_(params.values()), opt_(std::move(optimizer)), kvstore_(kvstore),
      update_on_kvstore_(update_on_kvstore.value_or(false)) {
  if (!opt_) fail("trainer", "needs an optimizer");
  scale_ = opt_->rescale_grad();
  if (kvstore_.empty() || kvstore_ == "none") kvstore_ = "device";
  if (kvstore_ == "dist_device_sync" || kvstore_ == "dist_sync_device" || kvstore_ == "horovod") kvstore_ = "dist_sync";
  if (kvstore_ == "dist_sync") {
    dist_ = std::make_unique<DistSync>(KVStoreOptions());
  } else if (kvstore_ == "dist_async" || kvstore_ == "dist_device_async") {
    fail("trainer", "kvstore '", kvstore, "' is not supported: hgc trains data-parallel synchronously (dist_sync)");
  } else if (kvstore_ != "device" && kvstore_ != "local") {
    fail("trainer", "unknown kvstore '", kvstore, "' (device, local, dist_sync, dist_device_sync, horovod)");
  }
  // One weight per shape and dtype is enough (the rest are cache hits); uninitialized
  // (deferred) parameters are left to their first step.
  std::vector<NDArray> weights;
  std::set<std::pair<std::vector<int64_t>, DType>> seen;
  for (const auto& p : params_)
    if (p->grad_req() != "null" && p->initialized())
      if (NDArray w = p->data(); seen.insert({w.shape(), w.dtype()}).second) weights.push_back(w);
  if (!weights.empty())
    prepare_ = std::jthread([opt = opt_.get(), weights = std::move(weights)] {
      // Best effort: a failure here shows up again, reported, in the step that needs the kernels.
      try {
        for (const NDArray& w : weights) opt->prepare(w);
      } catch (...) {
      }
    });
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;

int Trainer::num_workers() const { return dist_ ? dist_->comm().size() : 1; }
int Trainer::rank() const { return dist_ ? dist_->comm().rank() : 0; }

void Trainer::set_kvstore_options(const KVStoreOptions& o) {
  if (!dist_) fail("trainer", "set_kvstore_options: kvstore '", kvstore_, "' does not communicate (use dist_sync)");
  dist_->set_options(o);
}

CommStats Trainer::comm_stats() const { return dist_ ? dist_->stats() : CommStats{}; }

void Trainer::check_initialized() const {
  for (const auto& p : params_)
    if (!p->has_grad() && p->grad_req() != "null" && p->deferred())
      fail("trainer", "parameter '", p->name(), "' is not initialized yet (deferred); run a forward first");
}

// MXNet creates a kvstore for several contexts or a dist type (one local context: none), and
// with update_on_kvstore the kvstore owns the update, so the two halves are refused.
void Trainer::check_not_on_kvstore(const char* what) const {
  if (!update_on_kvstore_) return;
  bool kvstore_in_use = dist_ != nullptr;
  for (const auto& p : params_) kvstore_in_use = kvstore_in_use || (p->has_grad() && p->list_ctx().size() > 1);
  if (kvstore_in_use)
    fail("trainer", what, "() when parameters are updated on kvstore '", kvstore_,
         "' is not supported; create the Trainer with update_on_kvstore false (or call step())");
}

namespace {
// Every context's copy (of a parameter's values or gradient) takes the first copy's values.
void copy_first(std::vector<NDArray> copies) {
  for (size_t k = 1; k < copies.size(); ++k) copies[k].assign(copies[0].as_in_context(copies[k].context()));
}
}  // namespace

// The sum over a parameter's contexts, written into every copy (nothing for one context).
void Trainer::reduce_contexts() {
  for (const auto& p : params_) {
    if (!p->has_grad() || p->list_ctx().size() < 2) continue;
    std::vector<NDArray> gs = p->list_grad();
    Context c0 = gs[0].context();
    NDArray sum = gs[0].copy();
    for (size_t k = 1; k < gs.size(); ++k) sum += gs[k].as_in_context(c0);
    for (NDArray& g : gs) g.assign(sum.as_in_context(g.context()));
  }
}

// dist_sync's first call: the ranks' check and rank 0's values, which reach the first
// context's copy; the other contexts take them from there.
void Trainer::start_dist() {
  if (dist_->started()) return;
  dist_->start(params_);
  for (const auto& p : params_)
    if (p->initialized()) copy_first(p->list_data());
}

void Trainer::update_one(size_t i) {
  const auto& p = params_[i];
  // AMP's low-precision copy of the weight (Parameter::data_as) is written by the update's
  // kernel where it can, instead of recast from the new weight by the next forward.
  NDArray copy = p->cast_buffer();
  if (opt_->update(i, p->data(), p->grad(), p->lr_mult(), p->wd_mult(), copy)) p->adopt_cast(copy);
  copy_first(p->list_data());
}

void Trainer::step(double batch_size) {
  if (!(batch_size > 0)) fail("trainer", "step: batch_size must be positive, got ", batch_size);
  check_initialized();
  autograd::Scope off(false, autograd::is_training());  // updates are never taped
  opt_->set_rescale_grad(scale_ / (batch_size * num_workers()));
  reduce_contexts();
  if (dist_) {
    // allreduce_grads() and update() fused: each bucket's parameters are updated as soon as
    // it is back, while the later buckets are still being reduced.
    start_dist();
    dist_->reduce(params_, [&](size_t i) {
      copy_first(params_[i]->list_grad());
      update_one(i);
    });
    return;
  }
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i]->has_grad()) update_one(i);
}

void Trainer::allreduce_grads() {
  check_not_on_kvstore("allreduce_grads");
  check_initialized();
  autograd::Scope off(false, autograd::is_training());
  reduce_contexts();
  if (!dist_) return;
  start_dist();
  dist_->reduce(params_, [&](size_t i) { copy_first(params_[i]->list_grad()); });
}

void Trainer::update(double batch_size) {
  check_not_on_kvstore("update");
  if (!(batch_size > 0)) fail("trainer", "update: batch_size must be positive, got ", batch_size);
  check_initialized();
  if (dist_ && !dist_->started())
    fail("trainer", "update: with kvstore dist_sync call allreduce_grads() first (or step())");
  autograd::Scope off(false, autograd::is_training());  // updates are never taped
  opt_->set_rescale_grad(scale_ / (batch_size * num_workers()));
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i]->has_grad()) update_one(i);
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
