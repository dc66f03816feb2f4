// The hgc half of the parity check (issue 7: each model's forward matches a PyTorch
// implementation with the same weights to 1e-5): builds the Straight Dope MLP, the Fashion
// MLP, LeNet, MultiVAE and the bench's BST block (predict mode), initializes them with a seed, runs a seeded input
// imperatively and hybridized, and writes per model OUT/<model>/
//   params.txt        parameter names in creation order, one a line ("name d0xd1...")
//   p<k>.npy          the k-th parameter's values
//   input.npy, imperative.npy, hybrid.npy
// bench/parity/parity.py rebuilds each model in PyTorch (bench/peers/nets.py), loads the
// weights and compares.
//
//   ./build/bench/hgc_parity_dump OUT_DIR
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "hgc/runtime/tensor_io.h"
#include "lenet/lenet.h"
#include "mlp/fashion_mlp.h"
#include "multivae/multivae.h"
#include "workloads.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

void dump_params(Block& net, const std::string& dir) {
  std::ofstream list(dir + "/params.txt");
  int k = 0;
  for (const auto& p : net.collect_params().values()) {
    std::string dims;
    for (int64_t d : p->shape()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    list << p->name() << " " << dims << "\n";
    save_npy(dir + "/p" + std::to_string(k++) + ".npy", p->data().tensor());
  }
}

// Runs `forward` imperatively, then hybridized (`hybridize` switches the net), writing all.
template <class Forward, class Hybridize>
void dump(const std::string& out, const std::string& model, Block& net, const NDArray& x, Forward&& forward,
          Hybridize&& hybridize) {
  std::string dir = out + "/" + model;
  std::filesystem::create_directories(dir);
  save_npy(dir + "/input.npy", x.tensor());
  save_npy(dir + "/imperative.npy", forward(x).tensor());  // also settles deferred shapes
  hybridize();
  save_npy(dir + "/hybrid.npy", forward(x).tensor());
  dump_params(net, dir);
  std::cout << "wrote " << dir << "\n";
}

// Xavier weights and non-zero biases (Gluon's are zeros), so a misplaced bias shows.
void init_weights(Block& net) {
  net.initialize(init::Xavier());
  for (const auto& p : net.collect_params().values())
    if (p->name().size() > 4 && p->name().substr(p->name().size() - 4) == "bias" && p->shape_known())
      p->set_data(nd::random::uniform(-0.5, 0.5, p->shape()));
}

template <class Net>
void dump_seq(const std::string& out, const std::string& model, std::shared_ptr<Net> net, const NDArray& x) {
  init_weights(*net);
  dump(out, model, *net, x, [&](const NDArray& v) { return (*net)(v); }, [&] { net->hybridize(); });
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::cerr << "usage: hgc_parity_dump OUT_DIR\n";
    return 2;
  }
  std::string out = argv[1];
  nd::random::seed(11);
  dump_seq(out, "straight_dope_mlp", bench::straight_dope_mlp(), nd::random::normal(0, 1, {4, 512}));
  dump_seq(out, "fashion_mlp", models::fashion_mlp(), nd::random::uniform(0, 1, {8, 784}));
  dump_seq(out, "lenet", models::lenet(), nd::random::uniform(0, 1, {8, 1, 28, 28}));

  // MultiVAE in predict mode (no dropout, z = mu): the logits output.
  const int64_t items = 20108;
  auto vae = std::make_shared<models::MultiVAE>(std::vector<int64_t>{200, 600, items});
  init_weights(*vae);
  HostTensor xt(DType::f32, {16, items});
  std::mt19937_64 g(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t i = 0; i < xt.numel(); ++i) xt.data<float>()[i] = u(g) < 0.01 ? 1.f : 0.f;
  NDArray x(std::move(xt));
  dump(out, "multivae", *vae, x, [&](const NDArray& v) { return std::get<0>(vae->run3(v)); },
       [&] { vae->hybridize(); });

  // The bench's BST block (W4, W4b) in predict mode: ids in input.npy, other ids in other.npy.
  auto bst = std::make_shared<bench::BSTBlock>();
  init_weights(*bst);
  NDArray ids = nd::floor(nd::random::uniform(0, bench::BSTBlock::kVocab, {4, bench::BSTBlock::kSeq}));
  NDArray oth = nd::floor(nd::random::uniform(0, bench::BSTBlock::kVocab, {4, bench::BSTBlock::kSeq}));
  auto bst_fwd = [&](const NDArray& v) { return (*bst)(std::vector<NDArray>{v, oth})[0]; };
  (void)bst_fwd(ids);  // settles deferred shapes before the positional table is written
  bst->set_positions();
  dump(out, "bst_block", *bst, ids, bst_fwd, [&] { bst->hybridize(); });
  save_npy(out + "/bst_block/other.npy", oth.tensor());
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "hgc_parity_dump: error: " << e.what() << "\n";
  return 1;
}
