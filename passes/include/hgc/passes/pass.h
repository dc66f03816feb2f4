// Pass infrastructure: passes declare the graph facts they require and provide (typed), a
// manager orders nothing implicitly but checks requirements, verifies after each pass in
// debug/test runs and can print the IR after any pass.
//
//   PassManager pm;  pm.add(make_infer_pass(shapes));  pm.print_after("infer", &std::cout);
//   pm.run(g);
#pragma once
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"

namespace hgc {

// Facts about a graph that passes establish or need.
enum class Fact { ShapesInferred, Verified, Fused, MemoryPlanned };
std::string fact_name(Fact f);

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual std::set<Fact> requires_facts() const { return {}; }
  virtual std::set<Fact> provides() const { return {}; }
  // Facts this pass destroys (a rewrite invalidates inferred shapes unless it re-infers).
  virtual std::set<Fact> invalidates() const { return {}; }
  virtual void run(Graph& g) = 0;
};

class PassManager {
 public:
  PassManager& add(std::unique_ptr<Pass> p);
  // Print the IR (text form) after the named pass, or after every pass for "all".
  PassManager& print_after(const std::string& pass, std::ostream* os);
  PassManager& verify_each(bool on) { verify_each_ = on; return *this; }
  // Runs the passes in order; throws hgc::Error when a pass's requirement is unmet.
  void run(Graph& g);
  std::vector<std::string> pass_names() const;
  const std::set<Fact>& facts() const { return facts_; }

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::string print_after_;
  std::ostream* print_os_ = nullptr;
  bool verify_each_ = true;
  std::set<Fact> facts_;
};

// Shape/dtype inference as a pass (provides ShapesInferred).
std::unique_ptr<Pass> make_infer_pass(InferOptions opts);
// Runs the IR verifier (requires nothing, provides Verified).
std::unique_ptr<Pass> make_verify_pass();

}  // namespace hgc
