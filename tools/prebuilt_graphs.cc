// hgc_prebuilt_graphs: writes compiler/prebuilt/graphs.txt, the kernel modules of library graphs
// that every model of a kind compiles the same way, so the build compiles them once
// (compiler/prebuilt/prebuild.cc) and a program's first step links them instead of JIT-compiling:
//   - the forward and gradient of a hybridized Dense/ReLU MLP (a ReLU over [?, ?]; the bias
//     gradients' row sums and the ReLU gradients over [?, ?] beside the library products: any
//     widths, any depth from two layers; a second MLP of other widths checks that);
//   - SoftmaxCrossEntropyLoss hybridized (sparse labels; the batch axis symbolic), forward and
//     gradient, at the class counts of the common datasets;
//   - the compiled optimizer updates (one module per rule over a flat symbolic length, any weight
//     shape) of SGD with and without momentum, NAG and Adam at their default settings.
// A module is keyed by its exact text: when the lowering changes, a listed text no longer matches,
// the program JIT-compiles as it would without it, and tests/compiler/test_prebuilt_graphs.cc fails
// until this is rerun:
//
//   ./build/tools/hgc_prebuilt_graphs compiler/prebuilt/graphs.txt
#include <atomic>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <fstream>
#include <iostream>
#include <set>

#include "hgc/compiler/kernel_cache.h"
#include "hgc/hgc.h"

using namespace hgc;

namespace {

// Set only around the calls whose graphs are listed (not the imperative set-up around them).
std::atomic<bool> capturing{false};

// The loss of a hybridized classifier (Gluon's idiom) at batch 64 over `classes`, one step.
void softmax_ce(int64_t classes) {
  gluon::loss::SoftmaxCrossEntropyLoss ce;
  ce.hybridize();
  NDArray pred = nd::random::uniform(-1, 1, {64, classes});
  NDArray label = nd::floor(nd::random::uniform(0, static_cast<double>(classes), {64}));
  pred.attach_grad();
  NDArray l, head = nd::ones({64});
  capturing = true;
  {
    auto r = autograd::record();
    l = ce(pred, label);
  }
  l.backward(head);
  capturing = false;
}

// One Trainer step of `optimizer` on a float32 weight (the update is compiled per rule, not shape).
void optimizer_step(const std::string& optimizer, const std::map<std::string, double>& hp) {
  auto dense = std::make_shared<gluon::nn::Dense>(gluon::nn::DenseOptions(4));
  dense->initialize(gluon::init::Xavier());
  NDArray x = nd::random::uniform(0, 1, {2, 3});
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::sum((*dense)(x));
  }
  y.backward();
  capturing = true;  // the Trainer compiles the update on a thread of its own from here
  gluon::Trainer trainer(dense->collect_params(), optimizer, hp);
  trainer.step(2);
  capturing = false;
}

// A hybridized MLP of Dense layers (`widths`, ReLU on all but the last) on `in` features, one
// training step: its forward module is the ReLU over a [?, ?] array and its gradient module the
// bias gradients' row sums and the ReLU gradients over [?, ?] (the products are library calls),
// the same texts for every such MLP of two layers or more.
void relu_mlp(const std::vector<int64_t>& widths, int64_t in) {
  auto net = std::make_shared<gluon::nn::HybridSequential>();
  for (size_t k = 0; k < widths.size(); ++k) {
    gluon::nn::DenseOptions o(widths[k]);
    if (k + 1 < widths.size()) o.activation("relu");
    net->emplace<gluon::nn::Dense>(o);
  }
  net->initialize(gluon::init::Xavier());
  net->hybridize();
  NDArray x = nd::random::uniform(0, 1, {64, in});
  NDArray head = nd::ones({64, widths.back()});
  NDArray y;
  capturing = true;
  {
    auto r = autograd::record();
    y = (*net)(x);
  }
  y.backward(head);
  capturing = false;
}

// Whether every memref dim of `text` is symbolic: the module serves arrays of any size.
bool symbolic_only(const std::string& text) {
  for (size_t at = text.find("memref<"); at != std::string::npos; at = text.find("memref<", at + 1)) {
    size_t end = text.find('>', at);
    std::string type = text.substr(at + 7, end - at - 7);
    for (size_t i = 0; i < type.size(); ++i)
      if (std::isdigit(static_cast<unsigned char>(type[i])) && (i == 0 || type[i - 1] == 'x')) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: hgc_prebuilt_graphs OUT.txt (compiler/prebuilt/graphs.txt)\n";
    return 2;
  }
  try {
    struct Module {
      std::string name, text;
    };
    std::vector<Module> modules;
    std::set<std::string> seen;
    std::string current;
    const CompileOptions defaults;
    std::mutex mu;
    bool generic_only = false;  // record only modules over symbolic dims (relu_mlp)
    int not_generic = 0;        // modules generic_only left out
    set_module_observer([&](const std::string& text, const std::vector<std::string>&, const CompileOptions& o) {
      std::lock_guard<std::mutex> lock(mu);
      if (!capturing || o.opt_level != defaults.opt_level || o.target_cpu != defaults.target_cpu) return;
      if (generic_only && !symbolic_only(text)) {
        ++not_generic;
        return;
      }
      if (seen.insert(text).second) modules.push_back({current + "#" + std::to_string(modules.size()), text});
    });
    current = "relu_mlp";
    generic_only = true;
    relu_mlp({16, 8, 4}, 12);
    // Another depth and other widths must add nothing: the listed texts serve every such MLP.
    const size_t mlp_modules = modules.size();
    relu_mlp({33, 21}, 7);
    generic_only = false;
    if (modules.size() != mlp_modules || mlp_modules != 2 || not_generic) {
      std::cerr << "[prebuilt_graphs] the Dense/ReLU MLP's modules depend on its widths or depth (" << modules.size()
                << " modules over [?, ?] from two MLPs, 2 expected; " << not_generic << " naming sizes)\n";
      return 1;
    }
    for (int64_t classes : {10, 100, 1000}) {
      current = "SoftmaxCrossEntropyLoss/" + std::to_string(classes);
      softmax_ce(classes);
    }
    current = "sgd";
    optimizer_step("sgd", {{"learning_rate", 0.1}, {"momentum", 0}});
    current = "sgd_momentum";
    optimizer_step("sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
    current = "nag";
    optimizer_step("nag", {{"learning_rate", 0.1}, {"momentum", 0.9}});
    current = "adam";
    optimizer_step("adam", {{"learning_rate", 0.001}});
    set_module_observer(nullptr);
    std::ofstream out(argv[1], std::ios::binary);
    out << "# Kernel modules of library graphs, compiled at build time (compiler/prebuilt/prebuild.cc).\n"
           "# Generated by hgc_prebuilt_graphs (tools/prebuilt_graphs.cc): do not edit; rerun it after\n"
           "# a change to the lowering (tests/compiler/test_prebuilt_graphs.cc says when).\n";
    for (const Module& m : modules)
      out << "module " << m.name << " bytes=" << m.text.size() << "\n" << m.text << "\n";
    if (!out) {
      std::cerr << "[prebuilt_graphs] cannot write " << argv[1] << "\n";
      return 1;
    }
    std::printf("[hgc_prebuilt_graphs] %zu modules written to %s\n", modules.size(), argv[1]);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
