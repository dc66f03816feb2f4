// Chapter "Fast, portable neural networks with Gluon HybridBlocks": the same HybridSequential
// run imperatively and hybridized (traced once, compiled, then the executable), with equal
// outputs and a timing; a custom HybridBlock's hybrid_forward; export to symbol JSON +
// .params and SymbolBlock::imports giving the same outputs.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

std::shared_ptr<nn::HybridSequential> get_net() {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
  return net;
}

// The book's HybridNet: hybrid_forward written once for both modes.
class HybridNet : public HybridBlock {
 public:
  HybridNet() : HybridBlock("hybridnet") {
    auto scope = name_scope();
    fc1 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(10)), "fc1");
    fc2 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(1)), "fc2");
  }
  NDArray hybrid_forward(const NDArray& x) override {
    ++calls;
    return (*fc2)(nd::relu((*fc1)(x)));
  }
  std::shared_ptr<nn::Dense> fc1, fc2;
  int calls = 0;
};

double seconds(const std::function<void()>& f, int reps) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Fast, portable neural networks with Gluon HybridBlocks", "none (random inputs)");
  if (ch.help) return 0;

  NDArray x = nd::random::normal(0, 1, {1, 512});
  auto net = get_net();
  net->collect_params().initialize();
  NDArray imperative = (*net)(x);
  int reps = ch.quick ? 200 : 1000;
  double t_imp = seconds([&] { (void)(*net)(x).to_vector<float>(); }, reps);
  net->hybridize();
  NDArray hybrid = (*net)(x);
  ch.claim(nd::max(nd::abs(hybrid - imperative)).asscalar<float>() < 1e-5, "hybridized output == imperative output");
  double t_hyb = seconds([&] { (void)(*net)(x).to_vector<float>(); }, reps);
  std::printf("  %d forwards: imperative %.3f s, hybridized %.3f s (%.1fx)\n", reps, t_imp, t_hyb, t_imp / t_hyb);
  auto stats = net->cache_stats();
  ch.claim(stats.traces == 1, "the hybridized net traced once for ", reps + 1, " calls (", stats.hits, " cache hits)");

  auto hn = std::make_shared<HybridNet>();
  hn->collect_params().initialize();
  NDArray in = nd::random::normal(0, 1, {1, 4});
  NDArray a = (*hn)(in);
  hn->hybridize();
  (*hn)(in);
  int after_first = hn->calls;
  (*hn)(in);
  NDArray b = (*hn)(in);
  // The book prints from hybrid_forward: once imperatively, once when the symbol is built, then
  // never. hgc's first hybridized call traces at the call's batch size and again at a probe
  // size (batch + 1) to find which dims the dynamic batch axis reaches (docs/DEVELOPING.md,
  // dynamic shapes): 1 + 2 runs, then none.
  ch.claim(nd::max(nd::abs(a - b)).asscalar<float>() < 1e-6 && hn->calls == after_first && after_first == 3,
           "a custom HybridBlock: hybrid_forward runs once imperatively, twice to trace (call and probe size) "
           "and never again once compiled (", hn->calls, " calls)");

  net->export_model(ch.path("my_mlp"), 0);
  auto sb = SymbolBlock::imports(ch.path("my_mlp-symbol.json"), {"data"}, ch.path("my_mlp-0000.params"));
  NDArray c = (*sb)(x);
  ch.claim(nd::max(nd::abs(c - hybrid)).asscalar<float>() < 1e-5, "export + SymbolBlock.imports reproduce the outputs");
  return ch.finish();
}
