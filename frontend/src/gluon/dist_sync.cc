// kvstore "dist_sync": see dist_sync.h and trainer.h.
//
// Buckets: the parameters with gradients in reverse registration order (backward finishes
// the last layers first, so those gradients are final first), consecutive ones of one dtype
// packed into a flat buffer of at most bucket_bytes (a larger parameter gets its own). The
// step packs bucket 0 and hands it to the communication thread, packs bucket 1 while bucket
// 0 is on the wire, and so on; it then waits for bucket 0, unpacks it and runs the
// optimizer on its parameters while the later buckets are still being reduced. What the step
// spends waiting is the exposed communication (CommStats::exposed_seconds).
#include "dist_sync.h"

#include <chrono>
#include <cstring>
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
  return a.data_ptr();
}

size_t nbytes(const NDArray& a) { return static_cast<size_t>(a.size()) * dtype_size(a.dtype()); }

}  // namespace

DistSync::DistSync(KVStoreOptions o) : opts_(std::move(o)) {
  comm_ = opts_.comm_ ? opts_.comm_ : dist::world();
}

DistSync::~DistSync() {
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
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bk = buckets_[b];
    for (size_t j = 0; j < bk.params.size(); ++j) {
      const auto& p = params[bk.params[j]];
      NDArray g = p->grad();
      std::memcpy(bk.data.data() + bk.offsets[j], host_bytes(g, *p, "gradient"), nbytes(g));
    }
    submit(b);
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    wait(b);
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
}

}  // namespace hgc::gluon
