// Issue 20's int8 accuracy numbers: LeNet (optionally with BatchNorm) trained in float32 on
// the real Fashion-MNIST, quantized to int8 by quantization::quantize_net with naive and
// entropy calibration on 640 training images, evaluated on the full test set; the int8 model
// is exported in MXNet's format and reloaded.
//
//   ./build/models/hgc_quantize_fashion_lenet [epochs] [plain|bn] [export-prefix]
#include <cstdio>

#include "common/cli.h"
#include "fashion/train.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [plain|bn] [export-prefix]")) return 0;
  int epochs = argc > 1 ? models::positive_int_arg(argv[1], "epochs") : 10;
  std::string variant = argc > 2 ? argv[2] : "plain";
  std::string prefix = argc > 3 ? argv[3] : "";
  if (variant != "plain" && variant != "bn") fail("cli", "variant must be plain or bn, got '", variant, "'");
  auto data = models::load_fashion_mnist();
  if (!data) fail("cli", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
  nd::random::seed(4);
  auto net = models::lenet(variant == "bn");
  net->initialize(init::Xavier());
  net->hybridize();
  models::FashionTrainOptions o;
  o.epochs = epochs;
  o.image_shape = true;
  o.progress = false;
  models::train_fashion(*net, *data, o, [](const models::EpochStats& s) {
    std::printf("epoch %d: test accuracy %.4f\n", s.epoch, s.test_accuracy);
    std::fflush(stdout);
  });
  std::vector<NDArray> calib;
  for (int b = 0; b < 10; ++b) calib.push_back(data->train_x.slice(b * 64, (b + 1) * 64).reshape({-1, 1, 28, 28}));
  double fp32 = models::fashion_accuracy(*net, data->test_x, data->test_y, true);
  std::printf("| LeNet (%s), %d epochs | test accuracy (10000 images) | vs float32 |\n|---|---|---|\n", variant.c_str(),
              epochs);
  std::printf("| float32 | %.4f | |\n", fp32);
  for (const char* mode : {"naive", "entropy"}) {
    auto q = quantization::quantize_net(*net, calib, quantization::QuantizeOptions().calib_mode(mode));
    double acc = models::fashion_accuracy(*q.block, data->test_x, data->test_y, true);
    std::printf("| int8, %s calibration | %.4f | %+.2f points |\n", mode, acc, 100 * (acc - fp32));
    if (!prefix.empty() && std::string(mode) == "naive") {
      q.export_model(prefix, 0);
      auto back = SymbolBlock::imports(prefix + "-symbol.json", {"data"}, prefix + "-0000.params");
      back->hybridize();
      double again = models::fashion_accuracy(*back, data->test_x, data->test_y, true);
      std::printf("| int8 reloaded from %s-symbol.json | %.4f | |\n", prefix.c_str(), again);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
