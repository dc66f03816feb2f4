// One op record, one family name in every layer (../shared/DESIGN.md, "One op record"): an
// op recorded in ir/ops/<family>.cc has its CPU lowering in compiler/src/lower/<family>.cc,
// its reference kernel in tests/reference/ref_<family>.cc and its gradient rule in
// frontend/src/autograd/grad/<family>.cc. Each registration call records its source file
// (std::source_location), so these tests fail the moment a registration lands in another
// family's file, and an op without a lowering needs a listed reason.
//
// The file rule: a file's stem, less the layer's prefix ("ref_"), is its family's name, or
// that name followed by "_<part>" when a family is split (elementwise_unary.cc); the longest
// family name that fits wins, so nn_conv.cc is nn_conv, not nn. Helper files register
// nothing and are free in naming (lower/*_util.cc).
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "hgc/base/error.h"
#include "hgc/compiler/imperative.h"
#include "hgc/compiler/lowerings.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/ir/op.h"
#include "reference/reference.h"

using namespace hgc;

namespace {

// The op families: the files of ir/ops/.
const std::set<std::string>& families() {
  static const std::set<std::string> f = {"elementwise", "broadcast", "reduce", "movement", "movement_index", "init",
                                          "matmul", "nn", "nn_conv", "nn_norm", "nn_resize", "ordering", "random", "rnn", "fused",
                                          "linalg", "detection", "quantization"};
  return f;
}

// The family a registering file belongs to, or "" when it is outside `dir` or fits none.
std::string family_of_file(const std::string& path, const std::string& dir, const std::string& prefix) {
  std::string p = path;
  for (char& ch : p)
    if (ch == '\\') ch = '/';
  size_t slash = p.rfind('/');
  std::string folder = slash == std::string::npos ? "" : p.substr(0, slash + 1);
  if (folder.size() < dir.size() || folder.compare(folder.size() - dir.size(), dir.size(), dir) != 0) return "";
  std::string stem = file_stem(p.c_str());
  if (stem.rfind(prefix, 0) != 0) return "";
  stem = stem.substr(prefix.size());
  std::string best;
  for (const std::string& f : families())
    if ((stem == f || stem.rfind(f + "_", 0) == 0) && f.size() > best.size()) best = f;
  return best;
}

// Checks every (op, file) registration against the op record's family.
void check_files(const std::map<std::string, std::string>& files, const std::string& dir, const std::string& prefix) {
  std::string wrong;
  for (const auto& [op, file] : files) {
    const OpDef& d = OpRegistry::global().get(op);
    std::string fam = family_of_file(file, dir, prefix);
    INFO("op ", op, " (family ", d.family, ") is registered in ", file, "; expected ", dir, prefix, d.family, ".cc");
    CHECK(fam == d.family);
    if (fam != d.family) wrong += " " + op;
  }
  if (!wrong.empty()) MESSAGE("misplaced:", wrong);
}

}  // namespace

TEST_CASE("op families: the file rule") {
  CHECK(family_of_file("/x/compiler/src/lower/nn_conv.cc", "compiler/src/lower/", "") == "nn_conv");
  CHECK(family_of_file("../compiler/src/lower/nn.cc", "compiler/src/lower/", "") == "nn");
  CHECK(family_of_file("compiler/src/lower/elementwise_unary.cc", "compiler/src/lower/", "") == "elementwise");
  CHECK(family_of_file("compiler/src/lower/movement_index.cc", "compiler/src/lower/", "") == "movement_index");
  CHECK(family_of_file("tests/reference/ref_nn_norm.cc", "tests/reference/", "ref_") == "nn_norm");
  CHECK(family_of_file("tests/reference/nn_norm.cc", "tests/reference/", "ref_") == "");
  CHECK(family_of_file("compiler/src/other/nn.cc", "compiler/src/lower/", "") == "");
  CHECK(family_of_file("compiler/src/lower/conv_kernel.cc", "compiler/src/lower/", "") == "");
  CHECK(file_stem("/a/b/ir/ops/nn_norm.cc") == "nn_norm");
}

TEST_CASE("op families: every op record is defined in a family file of ir/ops") {
  for (const OpDef* d : OpRegistry::global().all()) {
    INFO("op ", d->name, " is recorded in family '", d->family, "'");
    CHECK(families().count(d->family) == 1);
  }
  // Spot checks of families a reader would look for elsewhere.
  CHECK(OpRegistry::global().get("LayerNorm").family == "nn_norm");
  CHECK(OpRegistry::global().get("softmax").family == "reduce");
  CHECK(OpRegistry::global().get("dot").family == "matmul");
  CHECK(OpRegistry::global().get("Pooling").family == "nn_conv");
  CHECK(OpRegistry::global().get("zeros_like").family == "init");
}

TEST_CASE("op families: every op has a CPU lowering or a listed reason, not both") {
  auto files = lowering_files();
  auto missing = ops_without_lowering();
  std::string listed;
  for (const OpDef* d : OpRegistry::global().all()) {
    bool lowered = files.count(d->name) > 0;
    auto m = missing.find(d->name);
    INFO("op ", d->name, ": lowered ", lowered, ", listed ", m != missing.end());
    CHECK(int(lowered) + int(m != missing.end()) == 1);
    if (m != missing.end()) {
      CHECK(m->second.size() > 10);  // a reason, not a placeholder
      listed += (listed.empty() ? "" : ", ") + d->name;
    }
  }
  MESSAGE("ops without a CPU lowering: ", listed);
}

TEST_CASE("op families: lowerings are registered from compiler/src/lower/<family>.cc") {
  check_files(lowering_files(), "compiler/src/lower/", "");
}

TEST_CASE("op families: reference kernels are registered from tests/reference/ref_<family>.cc") {
  check_files(ref::kernel_files(), "tests/reference/", "ref_");
}

TEST_CASE("op families: gradient rules are registered from frontend/src/autograd/grad/<family>.cc") {
  auto files = autograd::gradient_rule_files();
  CHECK(files.size() == autograd::gradient_rule_ops().size() + autograd::zero_gradient_ops().size());
  check_files(files, "frontend/src/autograd/grad/", "");
}

TEST_CASE("op families: running an op without a lowering quotes the listed reason") {
  // The fused RNN is the one op left without a lowering (the compile pipeline expands it).
  std::vector<HostTensor> in{HostTensor(DType::f32, {1, 1, 1}), HostTensor(DType::f32, {10}),
                             HostTensor(DType::f32, {1, 1, 2})};
  CHECK_THROWS_WITH_AS(invoke("RNN", {{"state_size", "2"}, {"num_layers", "1"}, {"mode", "rnn_tanh"}}, in),
                       doctest::Contains("rewrites the fused RNN"), Error);
}
