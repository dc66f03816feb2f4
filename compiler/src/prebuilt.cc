// Lookup of the build-time kernels (prebuilt.h) and the check that this CPU may run them.
#include "prebuilt.h"

#include <atomic>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>

#include "hgc/compiler/imperative.h"
#include "hgc/compiler/jit.h"

namespace hgc::compiler_detail {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t e; (e = s.find(sep, b)) != std::string::npos; b = e + 1) parts.push_back(s.substr(b, e - b));
  parts.push_back(s.substr(b));
  return parts;
}

}  // namespace
}  // namespace hgc::compiler_detail

namespace hgc {
// The CPU name only tunes scheduling, so it may differ.
std::string prebuilt_target_mismatch(const std::string& built, const std::string& host) {
  using compiler_detail::split;
  std::vector<std::string> b = split(built, '|'), h = split(host, '|');
  if (b.size() != 4 || h.size() != 4) return "unreadable target description '" + built + "'";
  if (b[0] != h[0]) return "built for " + b[0] + ", running on " + h[0];
  if (b[3] != h[3]) return "built with " + b[3] + ", running " + h[3];
  std::set<std::string> have;
  for (const std::string& f : split(h[2], ','))
    if (!f.empty() && f[0] == '+') have.insert(f.substr(1));
  std::string missing;
  for (const std::string& f : split(b[2], ','))
    if (!f.empty() && f[0] == '+' && !have.count(f.substr(1))) missing += (missing.empty() ? "" : ", ") + f.substr(1);
  if (!missing.empty()) return "this CPU lacks " + missing + " (built on " + b[1] + ")";
  return "";
}
}  // namespace hgc

namespace hgc::compiler_detail {
namespace {

struct Index {
  std::unordered_map<std::string, PackedKernel> by_key;
  std::unordered_map<std::string_view, const PrebuiltModule*> by_text;
  std::string reason;  // why unusable; "" when usable
};

const Index& index() {
  static const Index* idx = [] {
    auto* i = new Index();
    const PrebuiltTable& t = prebuilt_table();
    if (t.count == 0 && t.module_count == 0) {
      i->reason = "none in this build";
      return i;
    }
    i->reason = prebuilt_target_mismatch(t.target, host_target_id(JitOptions()));
    if (!i->reason.empty()) return i;
    for (size_t k = 0; k < t.count; ++k) i->by_key.emplace(t.kernels[k].key, t.kernels[k].fn);
    for (size_t k = 0; k < t.module_count; ++k)
      i->by_text.emplace(std::string_view(t.modules[k].text, t.modules[k].text_size), &t.modules[k]);
    return i;
  }();
  return *idx;
}

}  // namespace

PackedKernel find_prebuilt(const std::string& key) {
  const Index& i = index();
  auto it = i.by_key.find(key);
  return it == i.by_key.end() ? nullptr : it->second;
}

const PrebuiltModule* find_prebuilt_module(const std::string& mlir_text) {
  const Index& i = index();
  auto it = i.by_text.find(std::string_view(mlir_text));
  return it == i.by_text.end() ? nullptr : it->second;
}

}  // namespace hgc::compiler_detail

namespace hgc {

namespace {
std::atomic<bool> prebuilt_enabled{true};
}

void set_prebuilt_kernels_enabled(bool on) { prebuilt_enabled.store(on); }
bool prebuilt_kernels_enabled() { return prebuilt_enabled.load(); }

PrebuiltKernelsInfo prebuilt_kernels_info() {
  const compiler_detail::PrebuiltTable& t = compiler_detail::prebuilt_table();
  PrebuiltKernelsInfo info;
  info.kernels = static_cast<int64_t>(t.count);
  info.modules = static_cast<int64_t>(t.module_count);
  info.target = t.target;
  info.reason = compiler_detail::index().reason;
  info.usable = info.reason.empty();
  for (size_t k = 0; k < t.count; ++k) info.keys.push_back(t.kernels[k].key);
  return info;
}

}  // namespace hgc
