// Fashion-MNIST MLP or LeNet trained hybridized in float32 or with bfloat16 AMP
// (amp::convert_hybrid_block), for the accuracy comparison of issue 20
// (scripts/amp_accuracy.sh runs the matrix of models, seeds and precisions).
//
//   ./build/models/hgc_train_fashion_amp mlp|lenet float32|bfloat16 [epochs] [seed] [max_train]
//
// Prints one line per epoch and a final "final <model> <precision> seed <s>: test accuracy <a>".
#include <cstdio>
#include <iostream>

#include "common/cli.h"
#include "fashion/train.h"
#include "hgc/frontend/amp/amp.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  const char* usage = "mlp|lenet float32|bfloat16 [epochs] [seed] [max_train]";
  if (models::wants_help(argc, argv, usage) || argc < 3) {
    if (argc < 3) std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return argc < 3 ? 1 : 0;
  }
  std::string model = argv[1], precision = argv[2];
  if (model != "mlp" && model != "lenet") fail("train_fashion_amp", "model must be mlp or lenet, not '", model, "'");
  if (precision != "float32" && precision != "bfloat16")
    fail("train_fashion_amp", "precision must be float32 or bfloat16, not '", precision, "'");
  int epochs = argc > 3 ? models::positive_int_arg(argv[3], "epochs") : 10;
  int seed = argc > 4 ? models::positive_int_arg(argv[4], "seed") : 1;
  int max_train = argc > 5 ? models::positive_int_arg(argv[5], "max_train") : 0;
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::cerr << "Fashion-MNIST is not installed (" << models::kFashionMnistDir << "); scripts/setup.sh installs it\n";
    return 1;
  }
  nd::random::seed(seed);
  std::shared_ptr<HybridBlock> net = model == "mlp" ? models::fashion_mlp() : models::lenet(false);
  net->initialize(init::Xavier());
  net->hybridize();
  if (precision == "bfloat16") amp::convert_hybrid_block(net, "bfloat16");
  models::FashionTrainOptions o;
  o.epochs = epochs;
  o.image_shape = model == "lenet";
  o.max_train = max_train;
  o.shuffle_seed = static_cast<uint64_t>(seed);
  o.progress = false;
  auto curve = models::train_fashion(*net, *data, o, [](const models::EpochStats& s) {
    std::printf("epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s (%.0f images/s)\n", s.epoch,
                s.train_loss, s.train_accuracy, s.test_accuracy, s.seconds, s.images_per_second);
    std::fflush(stdout);
  });
  std::printf("final %s %s seed %d: test accuracy %.4f\n", model.c_str(), precision.c_str(), seed,
              curve.back().test_accuracy);
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
