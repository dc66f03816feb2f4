// kvstore "dist_sync": see dist_sync.h and trainer.h.
//
// Buckets: the parameters with gradients in reverse registration order (backward finishes
// the last layers first, so those gradients are final first), consecutive ones of one dtype
// packed into a flat buffer of at most bucket_bytes (a larger parameter gets its own). The
// step packs bucket 0 and hands it to the communication thread, packs bucket 1 while bucket
// 0 is on the wire, and so on; it then waits for bucket 0, unpacks it and runs the
// optimizer on its parameters while the later buckets are still being reduced. What the step
// spends waiting is the exposed communication (CommStats::exposed_seconds).
//
// From the second step on (the buckets exist), buckets start earlier: autograd tells each
// gradient buffer as soon as backward has written its final value (tape ready hooks), and
// once every gradient of the next bucket in order is in, that bucket is packed and queued
// while backward goes on. Buckets are queued strictly in order, so every rank issues the
// same collectives in the same sequence; the step queues whatever did not start, then waits.
#include "dist_sync.h"

#include "autograd/tape.h"
#include "gluon/collective_order.h"
#include "nd/detail.h"

#include <chrono>
#include <cstring>
#include <utility>
#include <sstream>

#include "hgc/base/error.h"

namespace hgc::gluon {

namespace {

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

std::string signature(const Parameter& p) {
  std::ostringstream os;
  os << "'" << p.name() << "' shape (";
  for (size_t i = 0; i < p.shape().size(); ++i) os << (i ? ", " : "") << p.shape()[i];
  os << ") " << dtype_name(p.dtype());
  if (p.grad_req() != "write") os << " grad_req " << p.grad_req();
  return os.str();
}

void* host_bytes(const NDArray& a, const Parameter& p, const char* what) {
  if (a.on_device())
    fail("trainer", "kvstore dist_sync: parameter '", p.name(), "' ", what,
         " lives on a GPU context; dist_sync reduces host (cpu) arrays only so far");
  nd_detail::note_write(a);  // its bytes may be overwritten (received values)
  return a.data_ptr();
}

size_t nbytes(const NDArray& a) { return static_cast<size_t>(a.size()) * dtype_size(a.dtype()); }

// A fast 64-bit fingerprint of a gradient's bytes (whether it changed since it was packed).
uint64_t fingerprint(const void* p, size_t n) {
  const auto* c = static_cast<const unsigned char*>(p);
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(&w, c + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ c[i]) * 0x100000001b3ull;
  return h;
}

std::mutex g_drain_mu;
std::map<int, std::function<void()>>& drains() {
  static std::map<int, std::function<void()>> d;
  return d;
}
int g_next_drain = 0;

}  // namespace

namespace detail {
int add_comm_drain(std::function<void()> drain) {
  std::lock_guard<std::mutex> lock(g_drain_mu);
  drains()[g_next_drain] = std::move(drain);
  return g_next_drain++;
}
void remove_comm_drain(int id) {
  std::lock_guard<std::mutex> lock(g_drain_mu);
  drains().erase(id);
}
void drain_comm_queues() {
  std::vector<std::function<void()>> all;
  {
    std::lock_guard<std::mutex> lock(g_drain_mu);
    for (const auto& [id, d] : drains()) all.push_back(d);
  }
  for (const auto& d : all) d();
}
}  // namespace detail

DistSync::DistSync(KVStoreOptions o) : opts_(std::move(o)) {
  comm_ = opts_.comm_ ? opts_.comm_ : dist::world();
}

DistSync::~DistSync() {
  if (hook_ >= 0) tape::remove_grad_ready_hook(hook_);
  if (drain_id_ >= 0) detail::remove_comm_drain(drain_id_);
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

void DistSync::set_options(const KVStoreOptions& o) {
  if (started_) fail("trainer", "set_kvstore_options: the first step has run; set options before it");
  opts_ = o;
  if (opts_.bucket_bytes_ == 0) fail("trainer", "set_kvstore_options: bucket_bytes must be positive");
  comm_ = opts_.comm_ ? opts_.comm_ : dist::world();
}

void DistSync::start(const std::vector<std::shared_ptr<Parameter>>& params) {
  // 1. The same parameters everywhere, or one clear error on every rank (not a hang).
  std::string mine;
  for (const auto& p : params) mine += signature(*p) + "\n";
  std::vector<std::string> all = comm_->allgather_strings(mine);
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    std::istringstream is(s);
    for (std::string l; std::getline(is, l);) v.push_back(l);
    return v;
  };
  std::vector<std::string> ref = lines(all[0]);
  for (int r = 1; r < comm_->size(); ++r) {
    std::vector<std::string> other = lines(all[r]);
    for (size_t i = 0; i < std::max(ref.size(), other.size()); ++i) {
      std::string a = i < ref.size() ? ref[i] : "no parameter";
      std::string b = i < other.size() ? other[i] : "no parameter";
      if (a != b)
        fail("trainer", "kvstore dist_sync: the ranks' models differ: parameter ", i, " is ", a, " on rank 0 but ", b,
             " on rank ", r, " (rank 0 has ", ref.size(), " parameters, rank ", r, " has ", other.size(),
             "); every rank must build the same network");
    }
  }
  // 2. Rank 0's values everywhere (aux states such as BatchNorm's running mean too).
  for (const auto& p : params) {
    NDArray d = p->data_ref();
    comm_->broadcast(host_bytes(d, *p, "data"), nbytes(d), 0);
    nd_detail::note_write(d);  // again once received (stable_buffers.h)
  }
  // 3. Buckets.
  buckets_.clear();
  for (size_t k = params.size(); k-- > 0;) {
    const auto& p = params[k];
    if (!p->has_grad()) continue;
    size_t bytes = nbytes(p->data_ref());
    if (buckets_.empty() || buckets_.back().dtype != p->dtype() ||
        (buckets_.back().data.size() + bytes > opts_.bucket_bytes_ && !buckets_.back().params.empty()))
      buckets_.emplace_back().dtype = p->dtype();
    Bucket& b = buckets_.back();
    b.params.push_back(k);
    b.offsets.push_back(b.data.size());
    b.data.resize(b.data.size() + bytes);
  }
  stats_.buckets = buckets_.size();
  stats_.bytes = 0;
  for (const auto& b : buckets_) stats_.bytes += b.data.size();
  if (opts_.overlap_ && !thread_.joinable()) thread_ = std::thread([this] { comm_loop(); });
  started_ = true;
  params_ = &params;
  written_.assign(params.size(), 0);
  early_ok_.assign(buckets_.size(), 0);
  if (thread_.joinable() && opts_.start_in_backward_) {
    for (size_t b = 0; b < buckets_.size(); ++b) {
      bool ok = true;
      for (size_t k : buckets_[b].params)
        ok = ok && params[k]->grad_req() == "write" && params[k]->list_ctx().size() == 1 &&
             !params[k]->grad().on_device();
      early_ok_[b] = ok;
    }
    map_gradients();
    hook_ = tape::add_grad_ready_hook([this](const NDArray& g) { on_grad_ready(g); });
    drain_id_ = detail::add_comm_drain([this] { drain(); });
  }
}

// Gradient buffers may be replaced (cast, reset_ctx): mapped again after every step.
void DistSync::map_gradients() {
  by_grad_.clear();
  for (size_t b = 0; b < buckets_.size(); ++b)
    if (early_ok_[b])
      for (size_t k : buckets_[b].params) by_grad_[(*params_)[k]->grad().data_ptr()] = k;
}

void DistSync::pack(size_t b) {
  Bucket& bk = buckets_[b];
  bk.sums.resize(bk.params.size());
  for (size_t j = 0; j < bk.params.size(); ++j) {
    const auto& p = (*params_)[bk.params[j]];
    NDArray g = p->grad();
    std::memcpy(bk.data.data() + bk.offsets[j], host_bytes(g, *p, "gradient"), nbytes(g));
    bk.sums[j] = fingerprint(bk.data.data() + bk.offsets[j], nbytes(g));
  }
}

void DistSync::on_grad_ready(const NDArray& g) {
  if (g.on_device()) return;
  auto it = by_grad_.find(g.data_ptr());
  if (it == by_grad_.end()) return;
  size_t k = it->second;
  if (written_[k] && changed_.empty()) changed_ = (*params_)[k]->name();
  written_[k] = 1;
  while (next_early_ < buckets_.size() && early_ok_[next_early_]) {
    for (size_t q : buckets_[next_early_].params)
      if (!written_[q]) return;
    pack(next_early_);
    submit(next_early_);
    ++stats_.started_in_backward;
    ++next_early_;
  }
}

// A bucket that left during backward carries the values backward wrote; the step must not
// silently drop a change made since (or a second backward before step()).
void DistSync::check_unchanged(size_t b) {
  if (!changed_.empty())
    fail("trainer", "kvstore dist_sync: the gradient of '", changed_, "' was written again after its bucket started ",
         "reducing during backward (two backward passes before step()?); use grad_req 'add' to accumulate, or ",
         "KVStoreOptions().start_in_backward(false)");
  const Bucket& bk = buckets_[b];
  for (size_t j = 0; j < bk.params.size(); ++j) {
    const auto& p = (*params_)[bk.params[j]];
    NDArray g = p->grad();
    if (fingerprint(host_bytes(g, *p, "gradient"), nbytes(g)) != bk.sums[j])
      fail("trainer", "kvstore dist_sync: the gradient of '", p->name(), "' changed between backward and step(), after ",
           "its bucket started reducing; to modify gradients (clipping), call allreduce_grads(), modify, then ",
           "update(), or use KVStoreOptions().start_in_backward(false)");
  }
}

void DistSync::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    if (!queue_.empty()) return false;
    for (size_t b = 0; b < next_early_; ++b)
      if (!buckets_[b].done) return false;
    return true;
  });
}

void DistSync::comm_loop() {
  for (;;) {
    size_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      b = queue_.front();
      queue_.erase(queue_.begin());
    }
    Bucket& bk = buckets_[b];
    std::exception_ptr err;
    auto t0 = clock_type::now();
    try {
      comm_->allreduce(bk.data.data(), bk.data.size() / dtype_size(bk.dtype), bk.dtype);
    } catch (...) {
      err = std::current_exception();
    }
    double took = since(t0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.comm_seconds += took;
      bk.error = err;
      bk.done = true;
    }
    cv_.notify_all();
  }
}

void DistSync::submit(size_t b) {
  Bucket& bk = buckets_[b];
  if (!thread_.joinable()) {  // overlap off: reduce right here
    auto t0 = clock_type::now();
    comm_->allreduce(bk.data.data(), bk.data.size() / dtype_size(bk.dtype), bk.dtype);
    double took = since(t0);
    stats_.comm_seconds += took;
    stats_.exposed_seconds += took;
    bk.done = true;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    bk.done = false;
    bk.error = nullptr;
    queue_.push_back(b);
  }
  cv_.notify_all();
}

void DistSync::wait(size_t b) {
  Bucket& bk = buckets_[b];
  auto t0 = clock_type::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return bk.done; });
  if (thread_.joinable()) stats_.exposed_seconds += since(t0);
  if (bk.error) {
    // The buckets queued behind this one fail fast on the poisoned communicator; let them,
    // so the thread is idle before the error leaves the step.
    cv_.wait(lock, [&] {
      for (const auto& o : buckets_)
        if (!o.done) return false;
      return true;
    });
    std::rethrow_exception(bk.error);
  }
}

void DistSync::reduce(const std::vector<std::shared_ptr<Parameter>>& params, const std::function<void(size_t)>& ready) {
  auto t0 = clock_type::now();
  params_ = &params;
  size_t early = next_early_;
  for (size_t b = early; b < buckets_.size(); ++b) {  // those that did not start in backward
    pack(b);
    submit(b);
  }
  // Ready for the next step's backward (and a failure below leaves no stale state).
  next_early_ = 0;
  std::fill(written_.begin(), written_.end(), 0);
  std::string changed = std::exchange(changed_, std::string());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    wait(b);
    if (b < early) {
      changed_ = changed;
      try {
        check_unchanged(b);
      } catch (...) {
        // The later buckets finish first: no collective of this step is left in flight.
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          for (const auto& o : buckets_)
            if (!o.done) return false;
          return true;
        });
        changed_.clear();
        throw;
      }
      changed_.clear();
    }
    Bucket& bk = buckets_[b];
    for (size_t j = 0; j < bk.params.size(); ++j) {
      const auto& p = params[bk.params[j]];
      NDArray g = p->grad();
      std::memcpy(host_bytes(g, *p, "gradient"), bk.data.data() + bk.offsets[j], nbytes(g));
      if (ready) ready(bk.params[j]);
    }
  }
  stats_.steps++;
  stats_.step_seconds += since(t0);
  if (hook_ >= 0) map_gradients();
}

}  // namespace hgc::gluon
