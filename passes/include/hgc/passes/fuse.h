// Operation folding: chains of kernel-lowered ops become one `_hgc_fused` node whose member
// subgraph the compiler emits as one kernel (where MLIR's elementwise fusion then merges the
// loops), so intermediates are never written to memory.
//
//   FuseOptions o;  o.fusible = [](const Node& n) { ... };   // the compiler supplies it
//   FuseReport r = fuse(g, o);    // g re-inferred; r.groups describes each group
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/passes/pass.h"

namespace hgc {

struct FuseOptions {
  // Whether a node may be a member of a kernel group at all (the compiler answers: its
  // lowering is a generated kernel, not a view or a library call, and it is not random).
  std::function<bool(const Node&)> fusible;
  // Whether a node may head a group as a GEMM-shaped library call whose elementwise
  // consumers become its epilogue (run in place on its output right after it).
  std::function<bool(const Node&)> gemm_head;
  // Whether a bfloat16 GEMM head may write float32 (its library accumulates in float32): then
  // its epilogue may hold float32 members (AMP's cast back to float32 and what follows), and
  // the group's output is written in float32 without a separate cast kernel.
  std::function<bool(const Node&)> gemm_widens;
  // Multi-output groups: groups of elementwise/broadcast members over one iteration space
  // merge along producer->consumer edges even where the producer's value is read elsewhere
  // too or is a graph output; such values become further outputs of the group's kernel (an
  // optimizer update writes weight and states from one pass over its arrays).
  bool multi_output = false;
  int max_members = 16;
  int max_inputs = 8;
};

struct FuseGroup {
  std::string name;                  // the group's node (named after its last member)
  std::vector<std::string> members;  // in order
  std::string stop_reason;           // why the group did not grow past its first member
};

struct FuseReport {
  int kernels_before = 0;  // fusible nodes before
  int kernels_after = 0;   // kernels after (groups + unfused fusible nodes)
  std::vector<FuseGroup> groups;
  // Per node left out of a group although fusible, why (e.g. "output has 2 consumers").
  std::vector<std::pair<std::string, std::string>> borders;
};

// Groups are trees that end in one node (a GEMM head, when present, is their first member): a producer joins its consumer's group when both
// are fusible, the producer has exactly one output and that output has exactly one consumer
// (and is not a graph output), and at least one of them is elementwise or broadcasting.
// Such groups are convex (no path leaves a group and comes back), so no cycle can form.
// `g` must be inferred; it is re-inferred after the rewrite.
FuseReport fuse(Graph& g, const FuseOptions& opts);

// fuse() as a pass named "fuse" (requires and provides ShapesInferred, provides Fused).
std::unique_ptr<Pass> make_fuse_pass(FuseOptions opts, FuseReport* report = nullptr);

}  // namespace hgc
