// Block (gluon/block.py): name prefixes from the block scope, children, parameter
// collection, printing, and save/load of parameters by structural names.
#include "hgc/frontend/gluon/block.h"

#include <cxxabi.h>

#include <cstdlib>
#include <map>
#include <typeinfo>

#include "hgc/base/error.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc::gluon {
namespace {

thread_local std::vector<Block*> t_scopes;  // innermost name_scope() last
thread_local bool t_training = false;

// MXNet's NameManager: one counter per hint for blocks made outside any name scope.
struct Counters {
  std::map<std::string, int> by_hint;
};
std::shared_ptr<Counters>& global_counters() {
  static thread_local std::shared_ptr<Counters> c = std::make_shared<Counters>();
  return c;
}

std::string indent(const std::string& s, int n) {
  std::string pad(n, ' '), r;
  for (size_t i = 0; i < s.size(); ++i) {
    r += s[i];
    if (s[i] == '\n') r += pad;
  }
  return r;
}

}  // namespace

bool is_training() { return t_training; }
bool set_training(bool on) {
  bool prev = t_training;
  t_training = on;
  return prev;
}

NameScope::NameScope(Block* block) { t_scopes.push_back(block); }
NameScope::~NameScope() { t_scopes.pop_back(); }

NameManager::NameManager() {
  saved_ = global_counters();
  global_counters() = std::make_shared<Counters>();
}
NameManager::~NameManager() { global_counters() = std::static_pointer_cast<Counters>(saved_); }

Block::Block(const std::string& hint, BlockArgs args) {
  Block* parent = t_scopes.empty() ? nullptr : t_scopes.back();
  std::string own;
  if (args.prefix_) own = *args.prefix_;
  else if (parent) own = hint + std::to_string(parent->child_counters_[hint]++) + "_";
  else own = hint + std::to_string(global_counters()->by_hint[hint]++) + "_";
  prefix_ = parent ? parent->prefix_ + own : own;
  if (args.params_) params_ = std::make_shared<ParameterDict>(args.params_->prefix(), args.params_);
  else if (parent) params_ = std::make_shared<ParameterDict>(parent->params_->prefix() + own, parent->params_->shared());
  else params_ = std::make_shared<ParameterDict>(prefix_);
  params_->set_owner(name());
}

Block::~Block() = default;

std::string Block::name() const {
  return !prefix_.empty() && prefix_.back() == '_' ? prefix_.substr(0, prefix_.size() - 1) : prefix_;
}

void Block::collect_into(ParameterDict& d) const {
  for (const auto& p : params_->values()) {
    if (p->block().empty()) p->set_block(name());
    d.update(p);
  }
  for (const auto& [_, c] : children_) c->collect_into(d);
}

ParameterDict Block::collect_params(const std::string& select) const {
  ParameterDict d(params_->prefix());
  collect_into(d);
  return select.empty() ? d : d.select(select);
}

void Block::add_child(std::shared_ptr<Block> child, const std::string& name) {
  if (!child) fail("gluon", "block '", this->name(), "': register_child of a null block");
  std::string key = name.empty() ? std::to_string(children_.size()) : name;
  for (const auto& [k, c] : children_)
    if (k == key) fail("gluon", "block '", this->name(), "' already has a child named '", key, "' (", c->name(), ")");
  for (const auto& p : child->params().values())
    if (p->block().empty()) p->set_block(child->name());
  children_.emplace_back(key, std::move(child));
}

NDArray Block::operator()(const NDArray& x) {
  std::vector<NDArray> r = run({x});
  if (r.size() != 1) fail("gluon", "block '", name(), "' returned ", r.size(), " outputs; call it with a vector");
  return r[0];
}

std::vector<NDArray> Block::operator()(const std::vector<NDArray>& xs) { return run(xs); }

NDArray Block::forward(const NDArray&) {
  fail("gluon", "block '", name(), "' (", type_name(), ") defines no forward(); override forward or forward_multi");
}

std::vector<NDArray> Block::forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 1)
    fail("gluon", "block '", name(), "' takes one input (forward); got ", xs.size(), " (override forward_multi)");
  return {forward(xs[0])};
}

std::vector<NDArray> Block::run(const std::vector<NDArray>& xs) { return forward_multi(xs); }

void Block::hybridize(bool active, const HybridizeOptions& opts) {
  hybridize_opts_ = opts;
  for (const auto& [_, c] : children_) c->hybridize(active, opts);
}

void Block::collect_with_prefix(const std::string& prefix,
                                std::vector<std::pair<std::string, std::shared_ptr<Parameter>>>& out) const {
  for (const auto& p : params_->values()) {
    const std::string& full = p->name();
    std::string short_name = full.rfind(params_->prefix(), 0) == 0 ? full.substr(params_->prefix().size()) : full;
    out.emplace_back(prefix + short_name, p);
  }
  for (const auto& [k, c] : children_) c->collect_with_prefix(prefix + k + ".", out);
}

void Block::save_parameters(const std::string& path) const {
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> ps;
  collect_with_prefix("", ps);
  ParamList list;
  std::map<std::string, bool> seen;  // shared parameters are saved once
  for (const auto& [n, p] : ps) {
    if (seen[p->name()]) continue;
    seen[p->name()] = true;
    if (!p->initialized())
      fail("gluon", "save_parameters ", path, ": parameter '", p->name(), "' of block '", p->block(),
           "' has not been initialized", p->deferred() ? " (its initialization waits for the first forward)" : "");
    list.emplace_back(n, p->data().as_in_context(cpu()).tensor());  // gpu values: downloaded
  }
  hgc::save_params(path, list);
}

void Block::load_parameters(const std::string& path, bool allow_missing, bool ignore_extra) {
  ParamList file = hgc::load_params(path);
  bool structural = false;
  for (const auto& [n, _] : file) structural = structural || n.find('.') != std::string::npos;
  if (!structural) {  // full names (save_params / ParameterDict::save)
    collect_params().load(path, allow_missing, ignore_extra);
    return;
  }
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> ps;
  collect_with_prefix("", ps);
  std::map<std::string, std::string> full;
  for (const auto& [n, p] : ps) full[n] = p->name();
  std::map<std::string, NDArray> arrays;
  for (auto& [n, t] : file) {
    auto it = full.find(strip_param_prefix(n));
    if (it == full.end()) {
      if (ignore_extra) continue;
      fail("gluon", "load_parameters ", path, ": the file holds '", n, "', which is not a parameter of block '", name(),
           "' (ignore_extra skips it)");
    }
    arrays.emplace(it->second, NDArray(t));
  }
  collect_params().load_arrays(arrays, path, allow_missing, ignore_extra);
}

std::string Block::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : mangled;
  std::free(d);
  size_t lt = s.find('<');
  std::string head = lt == std::string::npos ? s : s.substr(0, lt);
  size_t colon = head.rfind("::");
  return colon == std::string::npos ? head : head.substr(colon + 2);
}

std::string Block::repr() const {
  std::string mods;
  for (const auto& [k, c] : children_) mods += (mods.empty() ? "" : "\n") + ("  (" + k + "): " + indent(c->repr(), 2));
  return type_name() + "(\n" + mods + "\n)";
}

std::ostream& operator<<(std::ostream& os, const Block& b) { return os << b.repr(); }

}  // namespace hgc::gluon
