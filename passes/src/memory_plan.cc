// plan-memory: one arena for every intermediate value of a step list, with reuse.
//
// The algorithm (MXNet NNVM's plan_memory.cc, ggml-alloc.c):
//
//  1. Lifetimes. A value is written by exactly one step and lives from that step to the
//     last step that reads it; a value nobody reads dies at the end of its writing step
//     (it still needs space while the step runs). Pinned values (inputs, outputs,
//     parameters, constants) live outside the arena and are ignored. A non-pinned value
//     that no step writes, one written twice, or one read before it is written is an error.
//  2. Walk the steps in order, keeping a free list of (offset, size) blocks sorted by
//     offset, and an arena end. Sizes are rounded up to `alignment`, so every offset is
//     aligned. At each step:
//       a. In place: when the step allows it (inplace_read >= 0), the read value is not
//          pinned, this step is its last reader, and writes[0] is no larger, writes[0]
//          takes over the read value's block (recorded in `inplace`); the block is then
//          freed when writes[0] dies, not when the read value does.
//       b. Every other written value gets a block by best fit: the smallest free block
//          that is large enough (the lowest offset among equals), split when larger. When
//          none fits, the arena grows: a free block that ends at the arena's end is
//          extended, else the value goes at the end.
//       c. After the step, the blocks of the values whose last use it was are freed, and a
//          freed block merges with the free blocks right before and after it (coalescing),
//          so a later, larger value can use the space of several dead ones.
//     Outputs are placed before the step's dying inputs are freed: a step never writes
//     over an input it reads, except through (a).
//  3. Figures: naive_bytes = the sum of the aligned sizes (one block per value);
//     peak_live_bytes = the largest sum of aligned sizes of values live at one step, an
//     in-place pair counting once at its handover step. No layout can be smaller than the
//     peak, and this one is never larger than the naive layout (each value grows the arena
//     by at most its own size), so peak <= arena <= naive.
//
// Zero-byte values get offset 0 and take no space. verify_plan recomputes the lifetimes
// independently of the planner's bookkeeping and checks bounds, alignment and overlaps.
#include "hgc/passes/memory_plan.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "hgc/base/error.h"

namespace hgc {
namespace {

int64_t align_up(int64_t n, int64_t a) { return a > 1 ? (n + a - 1) / a * a : n; }

std::string value_name(const std::vector<PlanValue>& values, int v) {
  const std::string& n = values[v].name;
  return "'" + (n.empty() ? "#" + std::to_string(v) : n) + "'";
}

struct Lifetimes {
  std::vector<int> first, last;  // -1 for pinned values
};

// Checks the step list's ids and computes every non-pinned value's lifetime.
Lifetimes lifetimes(const std::vector<PlanValue>& values, const std::vector<PlanStep>& steps) {
  const int n = static_cast<int>(values.size());
  Lifetimes lt{std::vector<int>(n, -1), std::vector<int>(n, -1)};
  auto check_id = [&](int v, size_t s, const char* what) {
    if (v < 0 || v >= n)
      fail("plan", "step ", s, " ", what, " value #", v, ", but there are only ", n, " values");
  };
  for (size_t s = 0; s < steps.size(); ++s) {
    const PlanStep& st = steps[s];
    if (st.inplace_read < -1 || st.inplace_read >= static_cast<int>(st.reads.size()))
      fail("plan", "step ", s, ": inplace_read ", st.inplace_read, " is not an index into its ",
           st.reads.size(), " reads");
    for (int v : st.reads) check_id(v, s, "reads");
    for (int v : st.writes) {
      check_id(v, s, "writes");
      if (values[v].pinned) continue;
      if (lt.first[v] >= 0)
        fail("plan", "value ", value_name(values, v), " is written by step ", lt.first[v], " and again by step ", s);
      lt.first[v] = lt.last[v] = static_cast<int>(s);
    }
  }
  std::vector<std::string> unwritten;
  int64_t more = 0;
  for (int v = 0; v < n; ++v)
    if (!values[v].pinned && lt.first[v] < 0) (unwritten.size() < 8 ? unwritten.push_back(value_name(values, v)) : void(++more));
  if (!unwritten.empty()) {
    std::string list;
    for (const auto& u : unwritten) list += (list.empty() ? "" : ", ") + u;
    if (more) list += " and " + std::to_string(more) + " more";
    fail("plan", "no step writes arena value", unwritten.size() + more > 1 ? "s " : " ", list,
         " (values that live outside the arena must be pinned)");
  }
  for (size_t s = 0; s < steps.size(); ++s)
    for (int v : steps[s].reads) {
      if (values[v].pinned) continue;
      if (lt.first[v] >= static_cast<int>(s))
        fail("plan", "step ", s, " reads ", value_name(values, v), " before step ", lt.first[v], " writes it");
      lt.last[v] = std::max(lt.last[v], static_cast<int>(s));
    }
  return lt;
}

// The in-place handover step `s` may make: (written value, read value), or (-1, -1).
std::pair<int, int> inplace_candidate(const std::vector<PlanValue>& values, const PlanStep& st, int s,
                                      const Lifetimes& lt) {
  if (st.inplace_read < 0 || st.writes.empty()) return {-1, -1};
  int r = st.reads[st.inplace_read], w = st.writes[0];
  if (r == w || values[r].pinned || values[w].pinned || lt.last[r] != s) return {-1, -1};
  if (values[w].bytes <= 0 || values[r].bytes <= 0 || values[w].bytes > values[r].bytes) return {-1, -1};
  // A step writing its read value twice (writes[0] also later in writes) is malformed anyway.
  return {w, r};
}

// Best-fit free list over [0, end): blocks sorted by offset, never adjacent (coalesced).
class FreeList {
 public:
  int64_t end() const { return end_; }

  int64_t allocate(int64_t need) {
    int best = -1;
    for (size_t i = 0; i < blocks_.size(); ++i)
      if (blocks_[i].size >= need && (best < 0 || blocks_[i].size < blocks_[best].size)) best = static_cast<int>(i);
    if (best >= 0) {
      Block& b = blocks_[best];
      int64_t off = b.offset;
      b.offset += need;
      b.size -= need;
      if (b.size == 0) blocks_.erase(blocks_.begin() + best);
      return off;
    }
    if (!blocks_.empty() && blocks_.back().offset + blocks_.back().size == end_) {  // extend the tail
      int64_t off = blocks_.back().offset;
      blocks_.pop_back();
      end_ = off + need;
      return off;
    }
    int64_t off = end_;
    end_ += need;
    return off;
  }

  void release(int64_t offset, int64_t size) {
    auto it = std::lower_bound(blocks_.begin(), blocks_.end(), offset,
                               [](const Block& b, int64_t o) { return b.offset < o; });
    it = blocks_.insert(it, {offset, size});
    auto next = it + 1;
    if (next != blocks_.end() && it->offset + it->size == next->offset) {
      it->size += next->size;
      blocks_.erase(next);
    }
    if (it != blocks_.begin()) {
      auto prev = it - 1;
      if (prev->offset + prev->size == it->offset) {
        prev->size += it->size;
        blocks_.erase(it);
      }
    }
  }

 private:
  struct Block {
    int64_t offset, size;
  };
  std::vector<Block> blocks_;
  int64_t end_ = 0;
};

}  // namespace

MemoryPlan plan_memory(const std::vector<PlanValue>& values, const std::vector<PlanStep>& steps,
                       const PlanOptions& opts) {
  if (opts.alignment <= 0) fail("plan", "alignment must be positive, got ", opts.alignment);
  const int n = static_cast<int>(values.size());
  for (int v = 0; v < n; ++v)
    if (values[v].bytes < 0) fail("plan", "value ", value_name(values, v), " has ", values[v].bytes, " bytes");
  Lifetimes lt = lifetimes(values, steps);

  MemoryPlan p;
  p.offset.assign(n, -1);
  p.alignment = opts.alignment;
  p.first_step = lt.first;
  p.last_step = lt.last;
  std::vector<int64_t> size(n, 0);  // aligned sizes
  for (int v = 0; v < n; ++v) {
    if (values[v].pinned) continue;
    size[v] = align_up(values[v].bytes, opts.alignment);
    p.naive_bytes += size[v];
    if (values[v].bytes == 0) p.offset[v] = 0;
  }

  if (!opts.reuse) {
    for (int v = 0; v < n; ++v)
      if (!values[v].pinned && size[v] > 0) {
        p.offset[v] = p.arena_bytes;
        p.arena_bytes += size[v];
      }
  } else {
    FreeList free;
    std::vector<int64_t> block(n, 0);  // size of the block a value owns; 0: owns none
    for (size_t s = 0; s < steps.size(); ++s) {
      const PlanStep& st = steps[s];
      const int si = static_cast<int>(s);
      int taken = -1;
      if (opts.inplace) {
        auto [w, r] = inplace_candidate(values, st, si, lt);
        if (w >= 0 && block[r] > 0) {
          p.offset[w] = p.offset[r];
          block[w] = block[r];
          block[r] = 0;
          p.inplace.push_back({w, r});
          taken = w;
        }
      }
      for (int w : st.writes) {
        if (w == taken || values[w].pinned || size[w] == 0 || block[w] > 0) continue;
        p.offset[w] = free.allocate(size[w]);
        block[w] = size[w];
      }
      auto release_dead = [&](int v) {
        if (values[v].pinned || lt.last[v] != si || block[v] == 0) return;
        free.release(p.offset[v], block[v]);
        block[v] = 0;
      };
      for (int v : st.reads) release_dead(v);
      for (int v : st.writes) release_dead(v);
    }
    p.arena_bytes = free.end();
  }

  // Peak live: +size at the writing step, -size after the last use; an in-place pair
  // counts once (the written value lives in the read value's block).
  std::vector<int64_t> delta(steps.size() + 1, 0);
  for (int v = 0; v < n; ++v) {
    if (values[v].pinned || size[v] == 0) continue;
    delta[lt.first[v]] += size[v];
    delta[lt.last[v] + 1] -= size[v];
  }
  for (const auto& [w, r] : p.inplace) {
    delta[lt.first[w]] -= size[w];
    delta[lt.first[w] + 1] += size[w];
  }
  int64_t live = 0;
  for (size_t s = 0; s < steps.size(); ++s) p.peak_live_bytes = std::max(p.peak_live_bytes, live += delta[s]);
  return p;
}

void verify_plan(const std::vector<PlanValue>& values, const std::vector<PlanStep>& steps,
                 const MemoryPlan& plan) {
  const int n = static_cast<int>(values.size());
  if (static_cast<int>(plan.offset.size()) != n)
    fail("plan", "the plan has ", plan.offset.size(), " offsets for ", n, " values");
  Lifetimes lt = lifetimes(values, steps);
  auto range = [&](int v) {
    return "[" + std::to_string(plan.offset[v]) + ", " + std::to_string(plan.offset[v] + values[v].bytes) + ")";
  };

  std::vector<int> order;  // arena values that take space
  for (int v = 0; v < n; ++v) {
    if (values[v].pinned) continue;
    const int64_t off = plan.offset[v];
    if (off < 0 || off + values[v].bytes > plan.arena_bytes)
      fail("plan", "value ", value_name(values, v), " at ", range(v), " is outside the arena [0, ",
           plan.arena_bytes, ")");
    if (plan.alignment > 1 && off % plan.alignment != 0)
      fail("plan", "value ", value_name(values, v), " at ", range(v), " is not aligned to ", plan.alignment,
           " bytes");
    if (values[v].bytes > 0) order.push_back(v);
  }

  // In-place pairs may share storage at the one step where the read value dies and the
  // written one is born, provided that step really reads the one and writes the other.
  std::vector<std::pair<int, int>> pairs;
  for (auto [w, r] : plan.inplace) {
    if (w < 0 || w >= n || r < 0 || r >= n || values[w].pinned || values[r].pinned)
      fail("plan", "in-place pair (#", w, ", #", r, ") does not name two arena values");
    const int s = lt.first[w];
    const auto& rd = steps[s].reads;
    if (lt.last[r] != s || std::find(rd.begin(), rd.end(), r) == rd.end())
      fail("plan", "in-place pair: ", value_name(values, w), " (written at step ", s, ") cannot take over ",
           value_name(values, r), " (live from step ", lt.first[r], " to ", lt.last[r], ")");
    pairs.push_back({std::min(w, r), std::max(w, r)});
  }
  std::sort(pairs.begin(), pairs.end());

  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return plan.offset[a] != plan.offset[b] ? plan.offset[a] < plan.offset[b] : a < b;
  });
  for (size_t i = 0; i < order.size(); ++i) {
    const int a = order[i];
    const int64_t end_a = plan.offset[a] + values[a].bytes;
    for (size_t j = i + 1; j < order.size() && plan.offset[order[j]] < end_a; ++j) {
      const int b = order[j];
      if (lt.first[a] > lt.last[b] || lt.first[b] > lt.last[a]) continue;  // never live together
      if (std::binary_search(pairs.begin(), pairs.end(), std::make_pair(std::min(a, b), std::max(a, b)))) continue;
      fail("plan", "values ", value_name(values, a), " at ", range(a), " and ", value_name(values, b), " at ",
           range(b), " overlap while both are live at step ", std::max(lt.first[a], lt.first[b]), " (",
           value_name(values, a), ": steps ", lt.first[a], "..", lt.last[a], ", ", value_name(values, b),
           ": steps ", lt.first[b], "..", lt.last[b], ")");
    }
  }
}

std::string format_plan(const std::vector<PlanValue>& values, const MemoryPlan& plan) {
  std::vector<int> inplace_of(values.size(), -1);
  for (auto [w, r] : plan.inplace)
    if (w >= 0 && w < static_cast<int>(values.size())) inplace_of[w] = r;
  size_t width = 5;
  for (const PlanValue& v : values) width = std::max(width, v.name.size());
  std::ostringstream os;
  os << std::left << std::setw(static_cast<int>(width)) << "value" << std::right << std::setw(12) << "offset"
     << std::setw(12) << "bytes" << "  steps\n";
  for (size_t v = 0; v < values.size(); ++v) {
    os << std::left << std::setw(static_cast<int>(width)) << values[v].name << std::right;
    if (values[v].pinned) {
      os << std::setw(12) << "-" << std::setw(12) << values[v].bytes << "  pinned\n";
      continue;
    }
    os << std::setw(12) << (v < plan.offset.size() ? plan.offset[v] : -1) << std::setw(12) << values[v].bytes;
    if (v < plan.first_step.size()) os << "  " << plan.first_step[v] << ".." << plan.last_step[v];
    if (inplace_of[v] >= 0) os << "  in place of " << values[inplace_of[v]].name;
    os << "\n";
  }
  os << "arena " << plan.arena_bytes << " bytes (naive " << plan.naive_bytes << ", peak live "
     << plan.peak_live_bytes << ")\n";
  return os.str();
}

}  // namespace hgc
