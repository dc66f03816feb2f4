// Memory-reuse planning over the final kernel order (MXNet PlanMemory / ggml-alloc style):
// liveness of every arena value, in-place reuse when a step may write over an input whose
// last use it is, best-fit reuse of freed blocks, one arena per plan. Pinned values (graph
// inputs, outputs, parameters, constants) never live in the arena.
//
//   std::vector<PlanValue> values = ...;  std::vector<PlanStep> steps = ...;
//   MemoryPlan p = plan_memory(values, steps);
//   verify_plan(values, steps, p);          // throws if two live values overlap
//   p.offset[v]; p.arena_bytes; p.naive_bytes;
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hgc {

struct PlanValue {
  int64_t bytes = 0;
  bool pinned = false;   // not in the arena (inputs, outputs, parameters, constants)
  std::string name;      // for dumps and errors
};

struct PlanStep {
  std::vector<int> reads;   // value ids
  std::vector<int> writes;  // value ids
  // Index into `reads` whose storage writes[0] may take over when this step is that
  // value's last use and the sizes agree (elementwise ops); -1 when not in-place capable.
  int inplace_read = -1;
};

struct MemoryPlan {
  std::vector<int64_t> offset;  // per value; -1 for pinned values
  int64_t arena_bytes = 0;      // the planned arena
  int64_t naive_bytes = 0;      // one block per arena value, no reuse
  // The lower bound: the largest sum of the (aligned) sizes of values live at one step, an
  // in-place pair counting once at the step where it hands over.
  int64_t peak_live_bytes = 0;
  std::vector<std::pair<int, int>> inplace;  // (written value, reused read value)
  int64_t alignment = 64;                     // of every arena offset (PlanOptions::alignment)
  // Per value: the step that writes it and the last step that reads it (its writing step
  // when nothing reads it); -1 for pinned values.
  std::vector<int> first_step, last_step;
};

struct PlanOptions {
  bool reuse = true;    // false: every value gets its own block (the naive layout)
  bool inplace = true;  // allow in-place reuse
  int64_t alignment = 64;
};

MemoryPlan plan_memory(const std::vector<PlanValue>& values, const std::vector<PlanStep>& steps,
                       const PlanOptions& opts = {});

// Checks that every arena value lies inside the arena, is aligned, and overlaps no other
// value live at the same time (a value is live from the step that writes it to its last
// read; in-place pairs may share). Throws hgc::Error("plan", ...) naming both values.
void verify_plan(const std::vector<PlanValue>& values, const std::vector<PlanStep>& steps,
                 const MemoryPlan& plan);

// "value  offset  bytes  steps" table and an "arena X bytes (naive Y, peak live Z)" line,
// for `hgc dump --explain` / `--after=plan-memory`.
std::string format_plan(const std::vector<PlanValue>& values, const MemoryPlan& plan);

}  // namespace hgc
