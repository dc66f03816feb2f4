// The MXNet seed's BST `Rec` click model trained as the seed does (Adam, SigmoidBinary-
// CrossEntropyLoss, summed loss with trainer.step(batch)), hybridized, on seeded synthetic
// sequences with planted tastes (bst/synthetic.h); per epoch the held-out AUC against the
// target item's click rate (a popularity baseline). Adam's rate is 3e-3 (the seed's default
// 1e-3 learns too, more slowly) and the item embeddings start larger (see below).
//
//   ./build/models/hgc_train_bst_mxnet [epochs] [export-prefix] [--dump DIR]
//
// --dump DIR writes the trained weights, 8 held-out rows and the predict-mode output as .npy
// for bench/parity/bst_parity.py.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "common/cli.h"
#include "bst/bst_common.h"
#include "bst/bst_mxnet.h"
#include "bst/synthetic.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [export-prefix] [--dump DIR]")) return 0;
  auto [epochs, prefix, dump] = models::parse_train_args(argc, argv, 10);

  auto d = models::make_click_data();
  const int64_t N = d.train.x.shape()[0], batch = 64;
  double base = models::auc(models::item_ctr_scores(d), d.test.y.to_vector<float>());
  std::printf("synthetic clicks: %lld train / %lld test rows, %lld items, sequences of %lld; baseline (item click rate) AUC %.4f\n",
              static_cast<long long>(N), static_cast<long long>(d.test.x.shape()[0]), static_cast<long long>(d.n_items),
              static_cast<long long>(d.train.x.shape()[1]), base);

  nd::random::seed(100);  // the seed's mx.random.seed(100)
  models::BSTRec net(models::BSTRecOptions().items(d.n_items).other_values(d.n_other));
  net.initialize(init::Xavier());
  // The seed's BST positional rows grow with the position (row p has norm ~1.2 p); item
  // embeddings as small as Xavier's (or the seed's default Uniform(0.07)) are drowned out and
  // the loss stays at log 2, so they start at N(0, 3^2).
  net.features->initialize(init::Normal(3.0), true);
  net.otherfeatures->initialize(init::Normal(3.0), true);
  net.hybridize();
  Trainer trainer(net.collect_params(), "adam", {{"learning_rate", 3e-3}});
  loss::SigmoidBinaryCrossEntropyLoss bce;
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.train.x, d.train.other, d.train.y}),
                          data::DataLoaderOptions(batch).shuffle(true).seed(3));
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t seen = 0;
    utils::ProgressBar bar(loader.num_batches(), utils::ProgressOptions().desc("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs)));
    for (const auto& b : loader) {
      NDArray l;
      {
        auto r = autograd::record();
        // The seed's output = net(x[:, :32], x[:, 32:]); l = loss(output, y).sum().
        l = nd::sum(bce(net(b[0], b[1]), b[2]));
      }
      l.backward();
      trainer.step(b[0].shape()[0]);
      loss_sum += l.asscalar();
      seen += b[0].shape()[0];
      bar.set_postfix({{"loss", loss_sum / seen}});
      bar.update(1, b[0].shape()[0]);
    }
    bar.close();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    NDArray logits = net(d.test.x, d.test.other);
    double test_auc = models::auc(logits.to_vector<float>(), d.test.y.to_vector<float>());
    double test_loss = nd::mean(bce(logits, d.test.y)).asscalar();
    std::printf("epoch %2d: train loss %.4f, held-out loss %.4f, AUC %.4f (baseline %.4f), %.2f s\n", epoch + 1,
                loss_sum / seen, test_loss, test_auc, base, s);
  }
  if (!prefix.empty()) {
    net.export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  if (!dump.empty()) {
    NDArray x = d.test.x.slice(0, 8), other = d.test.other.slice(0, 8);
    models::dump_npy(dump, net, {{"x", x}, {"x_other", other}, {"out", net(x, other)}});
    std::printf("wrote weights, inputs and output to %s\n", dump.c_str());
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
