// Parity with PyTorch's DistributedDataParallel (Debian's python3-torch, gloo backend): the
// Fashion MLP (784-256-128-10) from the same initial weights on the same samples, 2 ranks x
// batch 8, SGD with momentum, 10 steps; hgc's dist_sync weights == DDP's within 1e-5.
// torch is an oracle the project installs (scripts/setup.sh): missing, the test fails.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "dist/dist_util.h"
#include "hgc/dist/communicator.h"
#include "hgc/hgc.h"
#include "mlp/fashion_mlp.h"

using namespace hgc;
using namespace hgc::gluon;
using namespace hgc::test;

namespace {
constexpr int64_t kSteps = 10, kB = 8, kN = 2 * kSteps * kB;

std::vector<std::shared_ptr<Parameter>> dense_params(Block& net) {
  std::vector<std::shared_ptr<Parameter>> out;
  for (auto& [name, p] : net.structural_params()) out.push_back(p);  // 0.weight, 0.bias, 1.weight, ...
  return out;
}
}  // namespace

TEST_CASE("dist worker: ddp parity" * doctest::skip()) {
  std::string d = std::getenv("HGC_TEST_PARITY_DIR");
  auto comm = dist::world();
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  (*net)(nd::zeros({1, 784}));  // shapes known
  auto ps = dense_params(*net);
  REQUIRE(ps.size() == 6);
  for (size_t k = 0; k < 3; ++k) {
    ps[2 * k]->set_data(nd::load_npy(d + "/w" + std::to_string(k) + ".npy"));
    ps[2 * k + 1]->set_data(nd::load_npy(d + "/b" + std::to_string(k) + ".npy"));
  }
  NDArray x = nd::load_npy(d + "/x.npy"), y = nd::load_npy(d + "/y.npy");
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}, nullptr, "dist_sync");
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{x, y}),
                          data::DataLoaderOptions(kB).shard(2, comm->rank()));
  loss::SoftmaxCrossEntropyLoss ce;
  int64_t steps = 0;
  for (const auto& b : loader) {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce((*net)(b[0]), b[1]);
    }
    l.backward();
    trainer.step(kB);
    ++steps;
  }
  REQUIRE(steps == kSteps);
  if (comm->rank() == 0)
    for (size_t k = 0; k < 3; ++k) {
      nd::save_npy(d + "/hgc_w" + std::to_string(k) + ".npy", ps[2 * k]->data());
      nd::save_npy(d + "/hgc_b" + std::to_string(k) + ".npy", ps[2 * k + 1]->data());
    }
}

TEST_CASE("dist: dist_sync matches PyTorch DistributedDataParallel (Fashion MLP, 2 ranks, 10 steps)") {
  std::string d = fresh_dir("hgc-ddp");
  // Initial weights and samples from hgc, written as .npy for both sides.
  nd::random::seed(5);
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  (*net)(nd::zeros({1, 784}));
  auto ps = dense_params(*net);
  for (size_t k = 0; k < 3; ++k) {
    nd::save_npy(d + "/w" + std::to_string(k) + ".npy", ps[2 * k]->data());
    nd::save_npy(d + "/b" + std::to_string(k) + ".npy", ps[2 * k + 1]->data());
  }
  nd::save_npy(d + "/x.npy", nd::random::uniform(0, 1, {kN, 784}));
  std::vector<float> labels(kN);
  for (int64_t i = 0; i < kN; ++i) labels[i] = static_cast<float>((i * 3 + i / 7) % 10);
  nd::save_npy(d + "/y.npy", nd::array(labels, {kN}));

  Shell h = launch_workers(2, "gloo", "dist worker: ddp parity", "HGC_TEST_PARITY_DIR=" + d);
  INFO(h.out);
  REQUIRE(h.code == 0);
  Shell t = sh(std::string(kPinned) + " timeout 300 /usr/bin/python3 " HGC_SOURCE_DIR "/tests/dist/ddp_parity.py " + d);
  INFO(t.out);
  REQUIRE_MESSAGE(t.code == 0, "PyTorch (python3-torch, installed by scripts/setup.sh) must run: it is the oracle");
  double worst = 0;
  for (std::string f : {"w0", "b0", "w1", "b1", "w2", "b2"}) {
    auto a = nd::load_npy(d + "/hgc_" + f + ".npy").to_vector<float>();
    auto b = nd::load_npy(d + "/torch_" + f + ".npy").to_vector<float>();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  }
  // And the weights did move: the comparison is not of two copies of the start.
  auto w0 = nd::load_npy(d + "/w2.npy").to_vector<float>(), w10 = nd::load_npy(d + "/hgc_w2.npy").to_vector<float>();
  double moved = 0;
  for (size_t i = 0; i < w0.size(); ++i) moved = std::max(moved, double(std::abs(w0[i] - w10[i])));
  MESSAGE("hgc dist_sync vs torch DDP after 10 steps: max |diff| ", worst, " (weights moved up to ", moved, ")");
  CHECK(worst <= 1e-5);
  CHECK(moved > 1e-3);
  std::filesystem::remove_all(d);
}
