// plan-memory: hand-built step lists (the seed's chain, a diamond, multi-reader values,
// multi-output steps, pinned and zero-size values, best fit, coalescing, growth), a
// randomized check against an independent overlap test, verify_plan on broken plans, and
// the compiler's arena: every shared model's planned layout verified from the Executable,
// in-place kernels giving the same outputs as the naive layout, and the "cut memory in
// half" target (Straight Dope, HybridBlock chapter) for the MLP, ResNet-18 and BERT.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <set>

#include "hgc/compiler/compile.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/passes/memory_plan.h"
#include "support/paths.h"

using namespace hgc;

namespace {

// A step list under construction: value(name, bytes) adds a value, step(...) a step.
struct Builder {
  std::vector<PlanValue> values;
  std::vector<PlanStep> steps;
  int value(const std::string& name, int64_t bytes, bool pinned = false) {
    values.push_back({bytes, pinned, name});
    return static_cast<int>(values.size()) - 1;
  }
  void step(std::vector<int> reads, std::vector<int> writes, int inplace_read = -1) {
    steps.push_back({std::move(reads), std::move(writes), inplace_read});
  }
  MemoryPlan plan(PlanOptions o = {}) {
    MemoryPlan p = plan_memory(values, steps, o);
    verify_plan(values, steps, p);
    return p;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has_pair(const MemoryPlan& p, int w, int r) {
  return std::find(p.inplace.begin(), p.inplace.end(), std::make_pair(w, r)) != p.inplace.end();
}

// The seed's example (Straight Dope, "Fast, portable neural networks with Gluon
// HybridBlocks"): a = ones; b = ones * 2; c = b * a; d = c + 1.
Builder seed_chain(bool d_is_output = false) {
  Builder b;
  int a = b.value("a", 40), bb = b.value("b", 40), c = b.value("c", 40), d = b.value("d", 40, d_is_output);
  b.step({}, {a});
  b.step({}, {bb});
  b.step({bb, a}, {c}, 0);
  b.step({c}, {d}, 0);
  return b;
}

}  // namespace

TEST_CASE("memory plan: the seed's chain halves its memory with in-place reuse") {
  Builder b = seed_chain();
  MemoryPlan p = b.plan();
  CHECK(p.naive_bytes == 4 * 64);
  CHECK(p.arena_bytes == 2 * 64);  // "we could cut our memory requirement in half"
  CHECK(p.peak_live_bytes == 2 * 64);
  CHECK(p.offset == std::vector<int64_t>{0, 64, 64, 64});
  CHECK(has_pair(p, 2, 1));  // c takes b's block (b's last reader; a is read too but not in place)
  CHECK(has_pair(p, 3, 2));  // d takes c's
  CHECK(p.first_step == std::vector<int>{0, 1, 2, 3});
  CHECK(p.last_step == std::vector<int>{2, 2, 3, 3});

  // Without in-place: c cannot share with a or b (live at its step); d reuses their space.
  MemoryPlan q = b.plan(PlanOptions{true, false, 64});
  CHECK(q.inplace.empty());
  CHECK(q.offset == std::vector<int64_t>{0, 64, 128, 0});
  CHECK(q.arena_bytes == 3 * 64);

  // No reuse at all: the naive layout.
  MemoryPlan n = b.plan(PlanOptions{false, true, 64});
  CHECK(n.arena_bytes == n.naive_bytes);
  CHECK(n.offset == std::vector<int64_t>{0, 64, 128, 192});

  // d as the graph's output is pinned: it never enters the arena.
  Builder o = seed_chain(true);
  MemoryPlan po = o.plan();
  CHECK(po.offset[3] == -1);
  CHECK(po.naive_bytes == 3 * 64);
  CHECK(po.arena_bytes == 2 * 64);
  CHECK(po.inplace.size() == 1);

  std::string text = format_plan(b.values, p);
  CHECK(text.find("arena 128 bytes (naive 256, peak live 128)") != std::string::npos);
  CHECK(text.find("in place of b") != std::string::npos);
  CHECK(format_plan(o.values, po).find("pinned") != std::string::npos);
}

TEST_CASE("memory plan: a diamond takes over its source only at the source's last reader") {
  Builder b;
  int in = b.value("in", 1024, true), x = b.value("x", 1024), y = b.value("y", 1024), z = b.value("z", 1024),
      out = b.value("out", 1024, true);
  b.step({in}, {x}, 0);      // in is pinned: never taken over
  b.step({x}, {y}, 0);       // x is read again at step 2: not in place
  b.step({x}, {z}, 0);       // x's last reader
  b.step({y, z}, {out}, 0);  // out is pinned
  MemoryPlan p = b.plan();
  CHECK(p.inplace == std::vector<std::pair<int, int>>{{z, x}});
  CHECK(p.offset[x] == 0);
  CHECK(p.offset[y] == 1024);
  CHECK(p.offset[z] == 0);
  CHECK(p.offset[in] == -1);
  CHECK(p.offset[out] == -1);
  CHECK(p.arena_bytes == 2048);
  CHECK(p.naive_bytes == 3072);
  CHECK(p.peak_live_bytes == 2048);
}

TEST_CASE("memory plan: a value read by several later steps stays live until the last") {
  Builder b;
  int x = b.value("x", 256), p1 = b.value("p1", 256), p2 = b.value("p2", 256), p3 = b.value("p3", 256),
      s = b.value("s", 256, true);
  b.step({}, {x});
  b.step({x}, {p1}, 0);
  b.step({x}, {p2}, 0);
  b.step({x, p1}, {p3}, 0);  // x's last reader: p3 takes x's block
  b.step({p1, p2, p3}, {s});
  MemoryPlan p = b.plan();
  CHECK(p.last_step[x] == 3);
  CHECK(p.inplace == std::vector<std::pair<int, int>>{{p3, x}});
  std::set<int64_t> distinct{p.offset[x], p.offset[p1], p.offset[p2]};
  CHECK(distinct.size() == 3);  // x, p1, p2 are live together
  CHECK(p.offset[p3] == p.offset[x]);
  CHECK(p.arena_bytes == 3 * 256);
  CHECK(p.peak_live_bytes == 3 * 256);
}

TEST_CASE("memory plan: multi-output steps; in place concerns writes[0] only") {
  Builder b;
  int x = b.value("x", 128), o0 = b.value("o0", 128), o1 = b.value("o1", 128), o2 = b.value("o2", 64),
      y = b.value("y", 128, true);
  b.step({}, {x});
  b.step({x}, {o0, o1, o2}, 0);
  b.step({o0, o1, o2}, {y});
  MemoryPlan p = b.plan();
  CHECK(has_pair(p, o0, x));
  CHECK(p.offset[o0] == p.offset[x]);
  std::set<int64_t> distinct{p.offset[o0], p.offset[o1], p.offset[o2]};
  CHECK(distinct.size() == 3);
  CHECK(p.arena_bytes == 128 + 128 + 64);

  // A larger writes[0] cannot take the smaller read's block.
  Builder c;
  int a = c.value("a", 100), big = c.value("big", 200), out = c.value("out", 4, true);
  c.step({}, {a});
  c.step({a}, {big}, 0);
  c.step({big}, {out});
  MemoryPlan q = c.plan();
  CHECK(q.inplace.empty());
  CHECK(q.offset[big] == 128);
  // A smaller one can, and keeps the whole block.
  Builder d;
  int a2 = d.value("a", 200), small = d.value("small", 100), t = d.value("t", 256), o = d.value("o", 4, true);
  d.step({}, {a2});
  d.step({a2}, {small}, 0);
  d.step({small}, {t});
  d.step({t}, {o});
  MemoryPlan r = d.plan();
  CHECK(has_pair(r, small, a2));
  CHECK(r.offset[small] == 0);
  CHECK(r.offset[t] == 256);  // small still holds [0, 256)
}

TEST_CASE("memory plan: pinned values stay out of the arena; zero-size values take no space") {
  Builder b;
  int in = b.value("in", 4096, true), w = b.value("w", 4096, true), z = b.value("empty", 0), h = b.value("h", 64),
      z2 = b.value("empty2", 0), out = b.value("out", 4096, true);
  b.step({in, w}, {h, z});
  b.step({h, z}, {z2}, 1);  // a zero-size read is never taken over
  b.step({h, z2}, {out}, 0);
  MemoryPlan p = b.plan();
  CHECK(p.offset[in] == -1);
  CHECK(p.offset[w] == -1);
  CHECK(p.offset[out] == -1);
  CHECK(p.offset[z] == 0);
  CHECK(p.offset[z2] == 0);
  CHECK(p.offset[h] == 0);
  CHECK(p.inplace.empty());
  CHECK(p.arena_bytes == 64);
  CHECK(p.naive_bytes == 64);
  CHECK(p.peak_live_bytes == 64);

  Builder none;
  none.value("x", 16, true);
  none.step({0}, {});
  MemoryPlan q = none.plan();
  CHECK(q.arena_bytes == 0);
  CHECK(q.naive_bytes == 0);
}

TEST_CASE("memory plan: best fit takes the smallest block that fits") {
  Builder b;
  int A = b.value("A", 256), B = b.value("B", 64), C = b.value("C", 128), D = b.value("D", 64),
      E = b.value("E", 128), out = b.value("out", 4, true);
  b.step({}, {A, B, C, D});  // A [0,256) B [256,320) C [320,448) D [448,512)
  b.step({A, C}, {out});     // frees [0,256) and [320,448)
  b.step({}, {E});           // first fit would take 0; best fit takes C's old block
  b.step({B, D, E}, {out});
  MemoryPlan p = b.plan(PlanOptions{true, true, 64});
  CHECK(p.offset[A] == 0);
  CHECK(p.offset[C] == 320);
  CHECK(p.offset[E] == 320);
  CHECK(p.arena_bytes == 512);
}

TEST_CASE("memory plan: freed neighbours coalesce; the arena grows by extending a free tail") {
  Builder b;
  int A = b.value("A", 64), B = b.value("B", 64), C = b.value("C", 64), D = b.value("D", 64),
      E = b.value("E", 192), out = b.value("out", 4, true);
  b.step({}, {A, B, C, D});  // 0, 64, 128, 192
  b.step({A}, {out});        // free [0,64)
  b.step({C}, {out});        // free [128,192): not adjacent yet
  b.step({B}, {out});        // free [64,128): all three merge into [0,192)
  b.step({}, {E});           // fits only in the merged block
  b.step({D, E}, {out});
  MemoryPlan p = b.plan();
  CHECK(p.offset[E] == 0);
  CHECK(p.arena_bytes == 256);

  Builder g;
  int x = g.value("x", 64), y = g.value("y", 128), z = g.value("z", 256), o = g.value("o", 4, true);
  g.step({}, {x, y});  // x [0,64) y [64,192)
  g.step({y}, {o});    // y dies: free tail [64,192)
  g.step({}, {z});     // no block fits: extend the free tail rather than start at 192
  g.step({x, z}, {o});
  MemoryPlan q = g.plan();
  CHECK(q.offset[z] == 64);
  CHECK(q.arena_bytes == 320);
}

TEST_CASE("memory plan: alignment") {
  Builder b;
  int a = b.value("a", 10), c = b.value("c", 10), o = b.value("o", 4, true);
  b.step({}, {a, c});
  b.step({a, c}, {o});
  MemoryPlan p = b.plan(PlanOptions{true, true, 16});
  CHECK(p.offset[a] == 0);
  CHECK(p.offset[c] == 16);
  CHECK(p.arena_bytes == 32);
  MemoryPlan q = b.plan(PlanOptions{true, true, 1});
  CHECK(q.arena_bytes == 20);
  CHECK(error_of([&] { plan_memory(b.values, b.steps, PlanOptions{true, true, 0}); }).find("alignment") !=
        std::string::npos);
}

TEST_CASE("memory plan: malformed step lists are errors naming the value") {
  Builder b;
  int a = b.value("lonely", 64);
  b.value("orphan", 64);
  b.step({}, {a});
  std::string e = error_of([&] { plan_memory(b.values, b.steps); });
  CHECK(e.find("[plan]") == 0);
  CHECK(e.find("'orphan'") != std::string::npos);
  CHECK(e.find("'lonely'") == std::string::npos);

  Builder r;
  int x = r.value("x", 64), y = r.value("y", 64);
  r.step({x}, {y});
  r.step({}, {x});
  CHECK(error_of([&] { plan_memory(r.values, r.steps); }).find("reads 'x' before step 1 writes it") !=
        std::string::npos);

  Builder w;
  int v = w.value("v", 64);
  w.step({}, {v});
  w.step({}, {v});
  CHECK(error_of([&] { plan_memory(w.values, w.steps); }).find("'v' is written by step 0 and again by step 1") !=
        std::string::npos);

  Builder bad;
  bad.value("v", 8);
  bad.step({}, {3});
  CHECK(error_of([&] { plan_memory(bad.values, bad.steps); }).find("value #3") != std::string::npos);
  Builder bad2;
  int u = bad2.value("u", 8);
  bad2.step({}, {u}, 0);
  CHECK(error_of([&] { plan_memory(bad2.values, bad2.steps); }).find("inplace_read") != std::string::npos);
}

TEST_CASE("memory plan: verify_plan rejects broken plans") {
  Builder b = seed_chain();
  MemoryPlan good = b.plan();

  MemoryPlan overlap = good;  // a and c both live at step 2
  overlap.offset[2] = 0;
  overlap.inplace = {{3, 2}};
  std::string e = error_of([&] { verify_plan(b.values, b.steps, overlap); });
  CHECK(e.find("[plan]") == 0);
  CHECK(e.find("'a' at [0, 40)") != std::string::npos);
  CHECK(e.find("'c' at [0, 40)") != std::string::npos);
  CHECK(e.find("step 2") != std::string::npos);

  MemoryPlan moved = good;  // b moved onto a (both live at steps 1 and 2)
  moved.offset[1] = 0;
  CHECK(error_of([&] { verify_plan(b.values, b.steps, moved); }).find("overlap") != std::string::npos);

  MemoryPlan misaligned = good;
  misaligned.offset[0] = 32;
  misaligned.arena_bytes = 256;
  e = error_of([&] { verify_plan(b.values, b.steps, misaligned); });
  CHECK(e.find("'a'") != std::string::npos);
  CHECK(e.find("not aligned to 64") != std::string::npos);

  MemoryPlan outside = good;
  outside.offset[0] = 128;
  e = error_of([&] { verify_plan(b.values, b.steps, outside); });
  CHECK(e.find("'a' at [128, 168) is outside the arena [0, 128)") != std::string::npos);

  MemoryPlan unplaced = good;
  unplaced.offset[3] = -1;
  CHECK(error_of([&] { verify_plan(b.values, b.steps, unplaced); }).find("'d'") != std::string::npos);

  MemoryPlan no_pairs = good;  // sharing without a recorded handover is an overlap
  no_pairs.inplace.clear();
  CHECK(error_of([&] { verify_plan(b.values, b.steps, no_pairs); }).find("overlap") != std::string::npos);

  MemoryPlan bogus_pair = good;  // a is not read for the last time where d is written
  bogus_pair.inplace.push_back({3, 0});
  CHECK(error_of([&] { verify_plan(b.values, b.steps, bogus_pair); }).find("cannot take over 'a'") !=
        std::string::npos);

  MemoryPlan short_plan = good;
  short_plan.offset.pop_back();
  CHECK(error_of([&] { verify_plan(b.values, b.steps, short_plan); }).find("offsets") != std::string::npos);
}

TEST_CASE("memory plan: random step lists plan, verify, and stay between peak and naive") {
  std::mt19937 rng(2024);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int inplace_total = 0, reused = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Builder b;
    std::vector<int> available;  // values already written (or pinned inputs)
    for (int i = 0, n = uni(0, 3); i < n; ++i) available.push_back(b.value("in" + std::to_string(i), uni(1, 500), true));
    const int nsteps = uni(1, 40);
    for (int s = 0; s < nsteps; ++s) {
      std::vector<int> reads;
      for (int k = 0, n = available.empty() ? 0 : uni(0, 3); k < n; ++k)
        reads.push_back(available[uni(0, static_cast<int>(available.size()) - 1)]);
      std::vector<int> writes;
      for (int k = 0, n = uni(0, 3); k < n; ++k) {
        int r = uni(0, 9);
        int64_t bytes = r == 0 ? 0 : r < 4 ? uni(1, 64) : r < 8 ? uni(65, 2000) : uni(2001, 20000);
        // Writes in place are most useful when sizes agree: copy a read's size sometimes.
        if (!reads.empty() && uni(0, 2) == 0) bytes = b.values[reads[0]].bytes;
        writes.push_back(b.value("v" + std::to_string(b.values.size()), bytes, uni(0, 9) == 0));
      }
      b.step(reads, writes, !reads.empty() && !writes.empty() && uni(0, 1) ? uni(0, static_cast<int>(reads.size()) - 1) : -1);
      // Recent values are read more often, as in real graphs.
      for (int w : writes) available.push_back(w);
      if (available.size() > 12 && uni(0, 1)) available.erase(available.begin());
    }
    for (PlanOptions o : {PlanOptions{}, PlanOptions{true, false, 64}, PlanOptions{false, true, 64},
                          PlanOptions{true, true, 1}, PlanOptions{true, true, 256}}) {
      CAPTURE(trial);
      CAPTURE(o.reuse);
      CAPTURE(o.inplace);
      CAPTURE(o.alignment);
      MemoryPlan p = plan_memory(b.values, b.steps, o);
      verify_plan(b.values, b.steps, p);
      CHECK(p.arena_bytes >= p.peak_live_bytes);
      CHECK(p.arena_bytes <= p.naive_bytes);
      if (!o.reuse) CHECK(p.arena_bytes == p.naive_bytes);
      if (!o.inplace || !o.reuse) CHECK(p.inplace.empty());
      // Independent overlap check: at each step, the byte ranges of live arena values are
      // disjoint, except an in-place pair at its handover step.
      for (size_t s = 0; s < b.steps.size(); ++s) {
        std::vector<int> live;
        for (size_t v = 0; v < b.values.size(); ++v)
          if (!b.values[v].pinned && b.values[v].bytes > 0 && p.first_step[v] <= int(s) && int(s) <= p.last_step[v])
            live.push_back(static_cast<int>(v));
        for (size_t i = 0; i < live.size(); ++i)
          for (size_t j = i + 1; j < live.size(); ++j) {
            int x = live[i], y = live[j];
            bool disjoint = p.offset[x] + b.values[x].bytes <= p.offset[y] || p.offset[y] + b.values[y].bytes <= p.offset[x];
            if (!disjoint) CHECK((has_pair(p, x, y) || has_pair(p, y, x)));
          }
      }
      if (o.reuse && o.inplace && o.alignment == 64) {
        inplace_total += static_cast<int>(p.inplace.size());
        reused += p.arena_bytes < p.naive_bytes;
      }
    }
  }
  CHECK(inplace_total > 100);  // the generator exercises in-place reuse ...
  CHECK(reused > 200);         // ... and block reuse
}

// ---- the compiler's arena ----

namespace {

// The plan behind an Executable, rebuilt from its buffers and steps alone: values are
// buffers (views are read through their root; anything but Arena is pinned), a step writes
// the arena buffers it mentions first and reads the rest, the heads are read after the last
// step, and a write placed at the offset of a read dying at the same step is a handover.
struct ExePlan {
  std::vector<PlanValue> values;
  std::vector<PlanStep> steps;
  MemoryPlan plan;
};

ExePlan exe_plan(const Executable& e) {
  ExePlan x;
  auto root = [&](int id) {
    while (e.buffers[id].kind == BufferKind::View) id = e.buffers[id].view_of;
    return id;
  };
  for (const BufferInfo& b : e.buffers)
    x.values.push_back({static_cast<int64_t>(b.nbytes()), b.kind != BufferKind::Arena, b.name});
  std::vector<bool> seen(e.buffers.size(), false);
  std::vector<PlanStep> body;
  // The steps of a group (Step::with_next) run at once: one plan step, so verify_plan checks
  // that nothing of one member shares storage with another's.
  for (size_t k = 0; k < e.steps.size(); ++k) {
    const Step& s = e.steps[k];
    if (k == 0 || !e.steps[k - 1].with_next) body.emplace_back();
    PlanStep& ps = body.back();
    for (int id : s.args) {
      int r = root(id);
      if (e.buffers[r].kind == BufferKind::Arena && !seen[r]) {
        seen[r] = true;
        ps.writes.push_back(r);
      } else {
        ps.reads.push_back(r);
      }
    }
  }
  PlanStep prologue;  // arena buffers no step writes (extra outputs of view nodes)
  for (size_t id = 0; id < e.buffers.size(); ++id)
    if (e.buffers[id].kind == BufferKind::Arena && !seen[id]) prologue.writes.push_back(static_cast<int>(id));
  x.steps.push_back(prologue);
  for (auto& s : body) x.steps.push_back(std::move(s));
  PlanStep epilogue;
  for (int id : e.output_buffers) epilogue.reads.push_back(root(id));
  x.steps.push_back(epilogue);

  x.plan.arena_bytes = e.arena_bytes;
  x.plan.naive_bytes = e.naive_arena_bytes;
  for (size_t id = 0; id < e.buffers.size(); ++id)
    x.plan.offset.push_back(e.buffers[id].kind == BufferKind::Arena ? e.buffers[id].offset : -1);
  std::vector<int> last(e.buffers.size(), -1);
  for (size_t s = 0; s < x.steps.size(); ++s)
    for (int r : x.steps[s].reads) last[r] = static_cast<int>(s);
  for (size_t s = 0; s < x.steps.size(); ++s)
    for (int w : x.steps[s].writes)
      for (int r : x.steps[s].reads)
        if (!x.values[r].pinned && last[r] == int(s) && x.plan.offset[r] == x.plan.offset[w] && x.values[w].bytes > 0)
          x.plan.inplace.push_back({w, r});
  return x;
}

struct Planned {
  int64_t naive = 0, arena = 0;
  size_t inplace = 0;
};

// Compiles with and without the planner; the planned layout must verify, the naive one
// must be the old one-block-per-buffer layout.
Planned check_compiled(const Graph& g, const std::string& what) {
  auto exe = compile(g);
  auto naive = compile(g, CompileOptions().plan(false));
  ExePlan x = exe_plan(*exe);
  verify_plan(x.values, x.steps, x.plan);
  CHECK(naive->arena_bytes == naive->naive_arena_bytes);
  CHECK(exe->naive_arena_bytes == naive->arena_bytes);
  CHECK(exe->arena_bytes <= exe->naive_arena_bytes);
  MESSAGE(what << ": arena " << exe->arena_bytes << " bytes planned, " << exe->naive_arena_bytes << " naive ("
               << (exe->naive_arena_bytes ? 100.0 * exe->arena_bytes / exe->naive_arena_bytes : 0.0) << "%), "
               << x.plan.inplace.size() << " in-place steps");
  return {exe->naive_arena_bytes, exe->arena_bytes, x.plan.inplace.size()};
}

std::map<std::string, HostTensor> random_inputs(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids()) {
    HostTensor t(DType::f32, g.nodes[id].out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    vars[g.nodes[id].name] = t;
  }
  return vars;
}

}  // namespace

TEST_CASE("memory plan: in-place kernels compute what the naive layout computes") {
  // x (4,8) -> a chain of in-place capable kernels, with views, broadcasts, a two-output
  // op and a value read by two later nodes; three heads (one a view of an arena value).
  Graph g;
  int x = g.add_variable("x"), bias = g.add_variable("bias"), gamma = g.add_variable("gamma");
  int e = g.add_node("exp", "e", {{x, 0}});
  int s = g.add_node("_mul_scalar", "s", {{e, 0}}, {{"scalar", 0.5}});
  int r = g.add_node("Activation", "r", {{s, 0}}, {{"act_type", std::string("tanh")}});
  int f = g.add_node("Flatten", "f", {{r, 0}});
  int b1 = g.add_node("broadcast_add", "b1", {{f, 0}, {bias, 0}});   // first input full shape
  int b2 = g.add_node("broadcast_mul", "b2", {{bias, 0}, {b1, 0}});  // first input broadcast
  int l = g.add_node("LeakyReLU", "l", {{b2, 0}, {gamma, 0}}, {{"act_type", std::string("prelu")}});
  int sq = g.add_node("square", "sq", {{l, 0}});
  int m = g.add_node("elemwise_mul", "m", {{sq, 0}, {l, 0}});  // l's last reader
  int n2 = g.add_node("add_n", "n2", {{m, 0}, {m, 0}, {e, 0}}, {{"num_args", int64_t(3)}});
  int rs = g.add_node("Reshape", "rs", {{n2, 0}}, {{"shape", std::vector<int64_t>{8, 4}}});
  int sg = g.add_node("sigmoid", "sg", {{n2, 0}});
  g.heads = {{rs, 0}, {sg, 0}, {m, 0}};
  InferOptions io;
  io.shapes = {{"x", Shape{4, 8}}, {"bias", Shape{1, 8}}, {"gamma", Shape{8}}};
  infer(g, io);
  auto vars = random_inputs(g, 11);
  auto planned = compile(g), naive = compile(g, CompileOptions().plan(false));
  auto a = planned->run(vars), b = naive->run(vars);
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    REQUIRE(a[k].nbytes() == b[k].nbytes());
    CHECK_MESSAGE(std::memcmp(a[k].raw(), b[k].raw(), a[k].nbytes()) == 0, "output " << k);
  }
  Planned p = check_compiled(g, "in-place chain");
  CHECK(p.inplace >= 1);  // how many depends on what fusion leaves unfused
  CHECK(p.arena < p.naive);
}

TEST_CASE("memory plan: compiled shared models halve their arena") {
  struct Case {
    std::string what;
    std::optional<std::string> path;
    std::map<std::string, Shape> shapes;
    bool half;  // the target: planned <= 50% of naive
  };
  std::vector<Case> cases;
  cases.push_back({"straight_dope_mlp (64x784)", test::source_path("models/mlp/straight_dope_mlp-symbol.json"),
                   {{"data", Shape{64, 784}}}, true});
  cases.push_back({"djl_resnet18_v1 (1x3x224x224)", test::shared_model("djl_resnet18_v1-symbol.json"),
                   {{"data", Shape{1, 3, 224, 224}}}, true});
  cases.push_back({"djl_static_bert_qa (1x384)", test::shared_model("djl_static_bert_qa-symbol.json"),
                   {{"data0", Shape{1, 384}}, {"data1", Shape{1, 384}}, {"data2", Shape{1}}}, true});
  cases.push_back({"mms_squeezenet_v1.1 (1x3x224x224)", test::shared_model("mms_squeezenet_v1.1-symbol.json"),
                   {{"data", Shape{1, 3, 224, 224}}}, false});
  cases.push_back({"djl_mlp (2x784)", test::shared_model("djl_mlp-symbol.json"), {{"data", Shape{2, 784}}}, false});
  for (const Case& c : cases) {
    if (!c.path) continue;
    CAPTURE(c.what);
    Graph g = load_json_file(*c.path);
    InferOptions io;
    io.shapes = c.shapes;
    infer(g, io);
    Planned p = check_compiled(g, c.what);
    // The seed's comparison: the compiled arena against the program that keeps every value
    // of the original graph in its own buffer (no fusion, no planning).
    auto base = compile(g, CompileOptions().plan(false).fusion(false));
    MESSAGE(c.what << ": " << base->arena_bytes << " bytes unfused and unplanned -> " << p.arena << " compiled ("
                   << 100.0 * p.arena / base->arena_bytes << "%)");
    if (c.half) CHECK(2 * p.arena <= base->arena_bytes);
  }
}

TEST_CASE("memory plan: the planned MLP computes what the naive one computes") {
  Graph g = load_json_file(test::source_path("models/mlp/straight_dope_mlp-symbol.json"));
  InferOptions io;
  io.shapes = {{"data", Shape{64, 784}}};
  infer(g, io);
  auto vars = random_inputs(g, 5);
  auto a = compile(g)->run(vars), b = compile(g, CompileOptions().plan(false))->run(vars);
  REQUIRE(a.size() == 1);
  CHECK(std::memcmp(a[0].raw(), b[0].raw(), a[0].nbytes()) == 0);
}
