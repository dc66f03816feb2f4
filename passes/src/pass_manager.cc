#include <iostream>

#include "hgc/base/error.h"
#include "hgc/ir/printer.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/pass.h"

namespace hgc {

std::string fact_name(Fact f) {
  switch (f) {
    case Fact::ShapesInferred: return "shapes-inferred";
    case Fact::Verified: return "verified";
    case Fact::Fused: return "fused";
    case Fact::MemoryPlanned: return "memory-planned";
  }
  return "?";
}

PassManager& PassManager::add(std::unique_ptr<Pass> p) {
  passes_.push_back(std::move(p));
  return *this;
}

PassManager& PassManager::print_after(const std::string& pass, std::ostream* os) {
  print_after_ = pass;
  print_os_ = os;
  return *this;
}

std::vector<std::string> PassManager::pass_names() const {
  std::vector<std::string> v;
  for (const auto& p : passes_) v.push_back(p->name());
  return v;
}

void PassManager::run(Graph& g) {
  bool printed_any = false;
  for (const auto& p : passes_) {
    for (Fact f : p->requires_facts())
      if (!facts_.count(f))
        fail("passes", "pass '", p->name(), "' requires ", fact_name(f),
             " but no earlier pass provides it");
    p->run(g);
    for (Fact f : p->invalidates()) facts_.erase(f);
    for (Fact f : p->provides()) facts_.insert(f);
    if (verify_each_) verify(g);
    if (print_os_ && (print_after_ == "all" || print_after_ == p->name())) {
      *print_os_ << "// ----- IR after " << p->name() << " -----\n" << print_text(g);
      printed_any = true;
    }
  }
  if (print_os_ && !printed_any && print_after_ != "all")
    fail("passes", "--after=", print_after_, ": no such pass (passes: ", [&] {
      std::string s;
      for (const auto& n : pass_names()) s += (s.empty() ? "" : ", ") + n;
      return s;
    }(), ")");
}

namespace {
class InferPass : public Pass {
 public:
  explicit InferPass(InferOptions o) : opts_(std::move(o)) {}
  std::string name() const override { return "infer"; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  void run(Graph& g) override { infer(g, opts_); }

 private:
  InferOptions opts_;
};

class VerifyPass : public Pass {
 public:
  std::string name() const override { return "verify"; }
  std::set<Fact> provides() const override { return {Fact::Verified}; }
  void run(Graph& g) override { verify(g); }
};
}  // namespace

std::unique_ptr<Pass> make_infer_pass(InferOptions opts) {
  return std::make_unique<InferPass>(std::move(opts));
}
std::unique_ptr<Pass> make_verify_pass() { return std::make_unique<VerifyPass>(); }

}  // namespace hgc
