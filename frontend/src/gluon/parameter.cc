// Parameter and ParameterDict (gluon/parameter.py): deferred shapes, initialization,
// data() that turns into a graph variable inside a trace, and .params save/load.
#include "hgc/frontend/gluon/parameter.h"

#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "hgc/base/error.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/stable_buffers.h"
#include "hgc/runtime/tensor_io.h"
#include "hgc/runtime/thread_pool.h"
#include "nd/detail.h"
#include "symbol/trace.h"

namespace hgc::gluon {
namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

std::string owner(const Parameter& p) { return p.block().empty() ? "" : " of block '" + p.block() + "'"; }

thread_local bool call_ctx_set = false;
thread_local Context call_ctx;

}  // namespace

CallContextScope::CallContextScope(Context ctx) : prev_set_(call_ctx_set), prev_(call_ctx) {
  call_ctx_set = true;
  call_ctx = ctx;
}
CallContextScope::~CallContextScope() {
  call_ctx_set = prev_set_;
  call_ctx = prev_;
}

const NDArray& Parameter::pick() const {
  if (!extra_.empty() && call_ctx_set && call_ctx != ctx_)
    for (size_t i = 0; i < extra_ctx_.size(); ++i)
      if (extra_ctx_[i] == call_ctx) return extra_[i];
  return data_;
}

std::vector<Context> Parameter::list_ctx() const {
  std::vector<Context> r{ctx_};
  r.insert(r.end(), extra_ctx_.begin(), extra_ctx_.end());
  return r;
}


NDArray Parameter::data(Context ctx) const {
  if (!initialized() || trace::active_ptr()) data();  // the usual errors
  if (ctx == ctx_) return data_;
  for (size_t i = 0; i < extra_ctx_.size(); ++i)
    if (extra_ctx_[i] == ctx) return extra_[i];
  std::string have;
  for (const Context& c : list_ctx()) have += (have.empty() ? "" : ", ") + c.str();
  fail("gluon", "parameter '", name_, "'", owner(*this), " has no copy on ", ctx.str(), "; it lives on ", have);
}

NDArray Parameter::grad(Context ctx) const {
  grad();  // the usual errors
  return data(ctx).grad();
}

std::vector<NDArray> Parameter::list_data() const {
  std::vector<NDArray> r;
  for (const Context& c : list_ctx()) r.push_back(data(c));
  return r;
}

std::vector<NDArray> Parameter::list_grad() const {
  std::vector<NDArray> r;
  for (const Context& c : list_ctx()) r.push_back(grad(c));
  return r;
}

// One cast copy per dtype: valid while the values are the same storage (held here, so it is
// not recycled under another array) and no in-place write touched it since the cast
// (nd_detail::watch_writes).
struct Parameter::CastCache {
  struct Entry {
    HostTensor source;
    std::shared_ptr<nd_detail::WriteWatch> watch;
    uint64_t seen = 0;
    NDArray value;
  };
  std::mutex mu;
  std::map<DType, Entry> entries;
  int64_t casts = 0;
  // The values' storage announced as a stable buffer (hgc/runtime/stable_buffers.h): every
  // write through the NDArray API is noted (nd_detail::note_write), and mark_dirty notes raw
  // ones, so library calls may keep packed forms of it (fully connected weights).
  std::mutex announce_mu;
  HostTensor announced;  // holds the storage while it is announced
  std::unique_ptr<stable::Announcement> announcement;
};


// cast_cache_ exists from the start: data_ref() announces the values through it (below) and
// may be called from several threads at once.
Parameter::Parameter(std::string name, ParamOptions opts)
    : name_(std::move(name)), opts_(std::move(opts)), cast_cache_(std::make_shared<CastCache>()) {
  set_grad_req(opts_.grad_req_);
  for (int64_t d : opts_.shape_)
    if (d < 0) fail("gluon", "parameter '", name_, "': shape ", shape_text(opts_.shape_), " has a negative dim");
}

bool Parameter::shape_known() const {
  if (opts_.shape_.empty()) return false;
  for (int64_t d : opts_.shape_)
    if (d == 0) return false;
  return true;
}

void Parameter::set_shape(const std::vector<int64_t>& s) {
  std::vector<int64_t>& cur = opts_.shape_;
  if (cur.empty()) {
    cur = s;
    return;
  }
  bool ok = cur.size() == s.size();
  for (size_t i = 0; ok && i < s.size(); ++i) ok = cur[i] == 0 || s[i] == 0 || cur[i] == s[i];
  if (!ok)
    fail("gluon", "parameter '", name_, "'", owner(*this), ": shape ", shape_text(s), " does not match its shape ",
         shape_text(cur));
  for (size_t i = 0; i < s.size(); ++i)
    if (cur[i] == 0) cur[i] = s[i];
}

void Parameter::set_grad_req(const std::string& r) {
  if (r != "write" && r != "add" && r != "null")
    fail("gluon", "parameter '", name_, "': grad_req '", r, "' is not write, add or null");
  opts_.grad_req_ = r;
  if (initialized()) attach_grad_buffer();
}

void Parameter::attach_grad_buffer() {
  const std::string& r = opts_.grad_req_;
  auto attach = [&](NDArray& d) {
    if (r == "null") d.set_ag_entry(nullptr);
    else d.attach_grad(r == "add" ? GradReq::add : GradReq::write);
  };
  attach(data_);
  for (NDArray& e : extra_) attach(e);
}

NDArray Parameter::grad() const {
  if (!initialized())
    fail("gluon", "parameter '", name_, "'", owner(*this), " has no gradient yet: it is not initialized");
  if (opts_.grad_req_ == "null")
    fail("gluon", "parameter '", name_, "'", owner(*this), " has no gradient because its grad_req is 'null'");
  return pick().grad();
}

void Parameter::zero_grad() {
  if (!has_grad()) return;
  data_.grad().fill_(0);
  for (const NDArray& e : extra_) e.grad().fill_(0);
}

void Parameter::initialize(const Initializer* init, bool force_reinit) { initialize(init, cpu(), force_reinit); }

void Parameter::initialize(const Initializer* init, Context ctx, bool force_reinit) {
  initialize(init, std::vector<Context>{ctx}, force_reinit);
}

void Parameter::initialize(const Initializer* init, const std::vector<Context>& ctxs, bool force_reinit) {
  if (ctxs.empty()) fail("gluon", "initialize of parameter '", name_, "': empty context list");
  for (size_t i = 0; i < ctxs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (ctxs[i] == ctxs[j]) fail("gluon", "initialize of parameter '", name_, "': context ", ctxs[i].str(), " listed twice");
  if (initialized() && !force_reinit) return;  // Gluon warns and keeps the values (and context)
  for (const Context& c : ctxs) nd_detail::check_context(c, "initialize of parameter '" + name_ + "'");
  ctx_ = ctxs[0];
  extra_ctx_.assign(ctxs.begin() + 1, ctxs.end());
  extra_.clear();
  std::shared_ptr<Initializer> chosen = opts_.init_ ? opts_.init_ : init ? init->clone() : std::make_shared<init::Uniform>();
  data_ = NDArray();
  deferred_init_ = chosen;
  if (!shape_known()) {
    if (!opts_.allow_deferred_init_)
      fail("gluon", "cannot initialize parameter '", name_, "'", owner(*this), " because its shape ",
           shape_text(opts_.shape_), " is unknown and deferred initialization is off");
    return;  // waits for the first forward
  }
  finish_deferred_init();
}

void Parameter::finish_deferred_init() {
  if (!deferred_init_) return;
  if (!shape_known())
    fail("gluon", "parameter '", name_, "'", owner(*this), " still has unknown shape ", shape_text(opts_.shape_),
         " after shape inference");
  // Drawn on the host (the initializers fill host arrays), then copied: the same values as
  // a cpu parameter from the same seed.
  NDArray d = nd::zeros(opts_.shape_, opts_.dtype_);
  deferred_init_->init_weight(name_, d);
  data_ = d.as_in_context(ctx_);
  extra_.clear();
  for (const Context& c : extra_ctx_) extra_.push_back(d.copyto(c));
  deferred_init_.reset();
  attach_grad_buffer();
}


namespace {

// Announces `d` (when it is the first context's host values, `data`) through `cache`, once per
// storage; the NDArray API's writes into it are noted from then on. Returns `d`.
template <class Cache>
const NDArray& announce_values(Cache* cache, const NDArray& d, const NDArray& data) {
  if (!cache || &d != &data || !d.defined() || d.is_symbolic() || d.on_device() || !lib::packed_parameters()) return d;
  const HostTensor& t = d.tensor();
  std::lock_guard<std::mutex> lock(cache->announce_mu);
  if (cache->announcement && cache->announced.raw() == t.raw() && cache->announced.shares_storage(t) &&
      cache->announced.nbytes() == t.nbytes())
    return d;
  cache->announcement.reset();  // before the storage it names may go
  cache->announced = t;
  cache->announcement = stable::announce(t.raw(), t.nbytes());
  return d;
}

// float32 -> bfloat16 as the Cast op rounds (to nearest even; NaN stays a quiet NaN), without
// an imperative invoke: a training step recasts every weight, and small ones would pay the
// invoke's overhead many times over. Large arrays are cut across the thread pool.
HostTensor to_bf16(const HostTensor& src) {
  HostTensor out = HostTensor::uninitialized(DType::bf16, src.shape());
  const uint32_t* in = static_cast<const uint32_t*>(src.raw());
  uint16_t* o = static_cast<uint16_t*>(out.raw());
  const int64_t n = src.numel();
  auto run = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      uint32_t x = in[i];
      o[i] = (x & 0x7FFFFFFFu) > 0x7F800000u ? static_cast<uint16_t>((x >> 16) | 0x0040u)
                                             : static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
    }
  };
  const int parts = ThreadPool::global().parts_for(n, int64_t(1) << 16);
  if (parts <= 1) {
    run(0, n);
  } else {
    const int64_t chunk = (n + parts - 1) / parts;
    ThreadPool::global().parallel_for(parts, [&](int p) { run(p * chunk, std::min(n, (p + 1) * chunk)); });
  }
  return out;
}

}  // namespace

NDArray Parameter::data() const {
  if (auto g = trace::active_ptr()) return trace::parameter(g, std::const_pointer_cast<Parameter>(shared_from_this()));
  if (!initialized()) {
    if (deferred_init_)
      fail("gluon", "parameter '", name_, "'", owner(*this), " has not been initialized yet because initialization ",
           "was deferred: its shape ", shape_text(opts_.shape_), " is known after the first forward of its block");
    fail("gluon", "parameter '", name_, "'", owner(*this), " has not been initialized; call ",
         "collect_params().initialize() (or initialize() on the parameter) first");
  }
  return announce_values(cast_cache_.get(), pick(), data_);
}

const NDArray& Parameter::data_ref() const {
  if (!initialized()) data();  // throws the uninitialized / deferred error
  if (trace::active_ptr()) fail("gluon", "parameter '", name_, "': data_ref() inside a trace");
  return announce_values(cast_cache_.get(), pick(), data_);
}

NDArray Parameter::data_as(DType t) const {
  const NDArray& d = data_ref();
  if (d.dtype() == t) return d;
  if (d.on_device()) return d.detach().astype(t);  // device copies are not cached
  auto& cache = const_cast<std::shared_ptr<CastCache>&>(cast_cache_);
  if (!cache) cache = std::make_shared<CastCache>();
  std::lock_guard<std::mutex> lock(cache->mu);
  CastCache::Entry& e = cache->entries[t];
  const HostTensor& src = d.tensor();
  if (e.value.defined() && e.source.raw() == src.raw() && e.source.shares_storage(src) &&
      e.source.shape() == src.shape() && e.watch->writes.load(std::memory_order_acquire) == e.seen)
    return e.value;
  if (!e.watch || e.source.raw() != src.raw() || e.source.nbytes() != src.nbytes())
    e.watch = nd_detail::watch_writes(src.raw(), src.nbytes());
  e.seen = e.watch->writes.load(std::memory_order_acquire);  // before the cast: a write during it shows
  e.value = t == DType::bf16 && src.dtype() == DType::f32 ? NDArray(to_bf16(src)) : d.detach().astype(t);
  e.source = src;
  ++cache->casts;
  return e.value;
}

NDArray Parameter::cast_buffer() const {
  if (!cast_cache_ || !initialized() || !extra_.empty() || data_.on_device()) return {};
  std::lock_guard<std::mutex> lock(cast_cache_->mu);
  if (cast_cache_->entries.size() != 1) return {};
  const CastCache::Entry& e = cast_cache_->entries.begin()->second;
  if (!e.value.defined() || e.value.shape() != data_.shape()) return {};
  return NDArray(HostTensor::uninitialized(e.value.dtype(), data_.shape()));
}

void Parameter::adopt_cast(const NDArray& v) const {
  const NDArray& d = data_ref();
  if (!cast_cache_ || !v.defined() || v.shape() != d.shape() || v.on_device())
    fail("gluon", "parameter '", name_, "': adopt_cast needs a host array of the values' shape from cast_buffer()");
  std::lock_guard<std::mutex> lock(cast_cache_->mu);
  auto it = cast_cache_->entries.find(v.dtype());
  if (it == cast_cache_->entries.end()) fail("gluon", "parameter '", name_, "': adopt_cast of a dtype with no copy");
  CastCache::Entry& e = it->second;
  const HostTensor& src = d.tensor();
  if (!e.watch || e.source.raw() != src.raw() || e.source.nbytes() != src.nbytes())
    e.watch = nd_detail::watch_writes(src.raw(), src.nbytes());
  // The caller wrote the values and then `v`: every write to the values so far is in it.
  e.seen = e.watch->writes.load(std::memory_order_acquire);
  e.value = v;
  e.source = src;
}

void Parameter::mark_dirty() const {
  if (data_.defined() && !data_.is_symbolic() && !data_.on_device())
    stable::note_write(data_.tensor().raw(), data_.tensor().nbytes());
  if (!cast_cache_) return;
  std::lock_guard<std::mutex> lock(cast_cache_->mu);
  cast_cache_->entries.clear();
}

int64_t Parameter::casts_made() const {
  if (!cast_cache_) return 0;
  std::lock_guard<std::mutex> lock(cast_cache_->mu);
  return cast_cache_->casts;
}

void Parameter::set_data(const NDArray& v) {
  if (!v.defined() || v.is_symbolic()) fail("gluon", "parameter '", name_, "': set_data needs an array with values");
  set_shape(v.shape());
  if (initialized()) {
    NDArray d = data_;
    nd_detail::write_into(d, v, "set_data of parameter '" + name_ + "'");
    for (NDArray& e : extra_) nd_detail::write_into(e, v.as_in_context(e.context()), "set_data of parameter '" + name_ + "'");
    return;
  }
  NDArray d = v.dtype() == opts_.dtype_ ? v.copy() : v.astype(opts_.dtype_);
  data_ = d.as_in_context(ctx_).detach();
  extra_.clear();
  for (const Context& c : extra_ctx_) extra_.push_back(d.copyto(c).detach());
  deferred_init_.reset();
  attach_grad_buffer();
}

void Parameter::cast(DType dtype) {
  opts_.dtype_ = dtype;
  if (initialized() && data_.dtype() != dtype) {
    data_ = data_.detach().astype(dtype);
    for (NDArray& e : extra_) e = e.detach().astype(dtype);
    attach_grad_buffer();
  }
}

void Parameter::reset_ctx(Context ctx) {
  nd_detail::check_context(ctx, "reset_ctx of parameter '" + name_ + "'");
  extra_ctx_.clear();
  extra_.clear();
  if (initialized() && ctx != ctx_) {
    data_ = data_.detach().as_in_context(ctx);
    attach_grad_buffer();  // a new zero gradient on ctx, as Gluon's reset_ctx
  }
  ctx_ = ctx;
}

std::string Parameter::str() const {
  return "Parameter " + name_ + " (shape=" + shape_text(opts_.shape_) + ", dtype=" + dtype_name(opts_.dtype_) + ")";
}

std::ostream& operator<<(std::ostream& os, const Parameter& p) { return os << p.str(); }

// ---- ParameterDict ----

std::shared_ptr<Parameter> ParameterDict::get(const std::string& name, const ParamOptions& opts) {
  std::string full = prefix_ + name;
  std::shared_ptr<Parameter> p;
  if (auto it = index_.find(full); it != index_.end()) p = params_[it->second];
  else if (shared_ && shared_->contains(full)) p = (*shared_)[full];
  if (!p) {
    p = std::make_shared<Parameter>(full, opts);
    p->set_block(owner_);
    update(p);
    if (shared_) shared_->update(p);
    return p;
  }
  if (!opts.shape_.empty()) p->set_shape(opts.shape_);
  if (opts.dtype_ != p->dtype())
    fail("gluon", "parameter '", full, "' exists with dtype ", dtype_name(p->dtype()), ", not ", dtype_name(opts.dtype_));
  if (!contains(full)) update(p);
  return p;
}

std::shared_ptr<Parameter> ParameterDict::operator[](const std::string& full_name) const {
  auto it = index_.find(full_name);
  if (it == index_.end()) {
    std::string known;
    for (const auto& p : params_) known += (known.empty() ? "" : ", ") + p->name();
    fail("gluon", "no parameter named '", full_name, "' in ParameterDict '", prefix_, "' (it has: ",
         known.empty() ? "none" : known, ")");
  }
  return params_[it->second];
}

void ParameterDict::update(const std::shared_ptr<Parameter>& p) {
  auto it = index_.find(p->name());
  if (it != index_.end()) {
    if (params_[it->second] != p)
      fail("gluon", "two different parameters are named '", p->name(), "'; give the blocks distinct prefixes");
    return;
  }
  index_[p->name()] = params_.size();
  params_.push_back(p);
}

void ParameterDict::update(const ParameterDict& other) {
  for (const auto& p : other.params_) update(p);
}

ParameterDict ParameterDict::select(const std::string& regex) const {
  std::regex re;
  try {
    re = std::regex(regex);
  } catch (const std::regex_error& e) {
    fail("gluon", "select: bad regular expression '", regex, "': ", e.what());
  }
  ParameterDict r(prefix_);
  for (const auto& p : params_)
    if (std::regex_search(p->name(), re, std::regex_constants::match_continuous)) r.update(p);
  return r;
}

std::vector<std::string> ParameterDict::keys() const {
  std::vector<std::string> k;
  for (const auto& p : params_) k.push_back(p->name());
  return k;
}

void ParameterDict::initialize(const Initializer& init, bool force_reinit) { initialize(init, cpu(), force_reinit); }

void ParameterDict::initialize(const Initializer& init, Context ctx, bool force_reinit) {
  for (const auto& p : params_) p->initialize(&init, ctx, force_reinit);
}

void ParameterDict::reset_ctx(Context ctx) {
  for (const auto& p : params_) p->reset_ctx(ctx);
}

void ParameterDict::setattr_grad_req(const std::string& r) {
  for (const auto& p : params_) p->set_grad_req(r);
}

void ParameterDict::setattr_lr_mult(double m) {
  for (const auto& p : params_) p->set_lr_mult(m);
}

void ParameterDict::initialize(const Initializer& init, const std::vector<Context>& ctxs, bool force_reinit) {
  for (const auto& p : params_) p->initialize(&init, ctxs, force_reinit);
}

void ParameterDict::zero_grad() {
  for (const auto& p : params_) p->zero_grad();
}

void ParameterDict::save(const std::string& path, const std::string& strip_prefix) const {
  ParamList list;
  for (const auto& p : params_) {
    std::string n = p->name();
    if (!strip_prefix.empty()) {
      if (n.rfind(strip_prefix, 0) != 0)
        fail("gluon", "save ", path, ": prefix '", strip_prefix, "' is not a prefix of parameter '", n, "'");
      n = n.substr(strip_prefix.size());
    }
    if (!p->initialized())
      fail("gluon", "save ", path, ": parameter '", p->name(), "'", p->block().empty() ? "" : " of block '" + p->block() + "'",
           " has not been initialized", p->deferred() ? " (its initialization waits for the first forward)" : "");
    list.emplace_back(n, p->data().as_in_context(cpu()).tensor());  // gpu values: downloaded
  }
  save_params(path, list);
}

void ParameterDict::load(const std::string& path, bool allow_missing, bool ignore_extra,
                         const std::string& restore_prefix) {
  std::map<std::string, NDArray> loaded;
  for (auto& [name, t] : load_params(path)) {
    if (name.empty()) fail("gluon", "load ", path, ": the file holds unnamed arrays (an nd::save list), not parameters");
    loaded.emplace(restore_prefix + strip_param_prefix(name), NDArray(t));
  }
  load_arrays(loaded, path, allow_missing, ignore_extra);
}

void ParameterDict::load_arrays(const std::map<std::string, NDArray>& loaded, const std::string& path,
                                bool allow_missing, bool ignore_extra) {
  // Check everything first: a bad file changes nothing.
  for (const auto& p : params_) {
    auto it = loaded.find(p->name());
    if (it == loaded.end()) {
      if (allow_missing) continue;
      fail("gluon", "load ", path, ": parameter '", p->name(), "' is missing from the file (allow_missing skips it)");
    }
    const auto& have = p->shape();
    const auto& got = it->second.shape();
    bool ok = have.empty() || have.size() == got.size();
    for (size_t i = 0; ok && !have.empty() && i < got.size(); ++i) ok = have[i] == 0 || have[i] == got[i];
    if (!ok)
      fail("gluon", "load ", path, ": parameter '", p->name(), "' has shape ", shape_text(have),
           " but the file holds shape ", shape_text(got));
  }
  if (!ignore_extra)
    for (const auto& [name, _] : loaded)
      if (!contains(name))
        fail("gluon", "load ", path, ": the file holds '", name, "', which is not a parameter here (ignore_extra skips it)");
  for (const auto& p : params_)
    if (auto it = loaded.find(p->name()); it != loaded.end()) p->set_data(it->second);
}

std::string ParameterDict::str() const {
  std::string s = prefix_ + " (\n";
  for (const auto& p : params_) s += "  " + p->str() + "\n";
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const ParameterDict& d) { return os << d.str(); }

}  // namespace hgc::gluon
