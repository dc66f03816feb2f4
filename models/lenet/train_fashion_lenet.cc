// The seed book's LeNet (optionally with BatchNorm) trained hybridized on the real
// Fashion-MNIST, then exported as MXNet files.
//
//   ./build/models/hgc_train_fashion_lenet [epochs] [plain|bn] [export-prefix]
#include <cstdio>
#include <iostream>

#include "common/cli.h"
#include "fashion/train.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [plain|bn] [export-prefix]")) return 0;
  int epochs = argc > 1 ? models::positive_int_arg(argv[1], "epochs") : 5;
  std::string variant = argc > 2 ? argv[2] : "plain";
  std::string prefix = argc > 3 ? argv[3] : "";
  if (variant != "plain" && variant != "bn") throw Error("train_fashion_lenet", "variant must be plain or bn, not '" + variant + "'");
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::cerr << "Fashion-MNIST is not installed (" << models::kFashionMnistDir << "); scripts/setup.sh installs it\n";
    return 1;
  }
  nd::random::seed(1);
  auto net = models::lenet(variant == "bn");
  net->initialize(init::Xavier());
  net->hybridize();
  std::cout << *net << "\n";
  models::FashionTrainOptions o;
  o.epochs = epochs;
  o.image_shape = true;
  models::train_fashion(*net, *data, o, [](const models::EpochStats& s) {
    std::printf("epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s (%.0f images/s)\n", s.epoch,
                s.train_loss, s.train_accuracy, s.test_accuracy, s.seconds, s.images_per_second);
    std::fflush(stdout);
  });
  if (!prefix.empty()) {
    net->export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params (MXNet format)\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
