// LeNet and its BatchNorm variant (models/lenet) train hybridized on part of the real
// Fashion-MNIST and learn; the trained net exports and imports back with the same output.
// Skips with a message when the dataset is not installed.
#include <doctest/doctest.h>

#include "fashion/train.h"
#include "lenet/lenet.h"
#include "support/paths.h"
#include "models/cli_check.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

void train_and_check(bool batch_norm) {
  auto data = models::load_fashion_mnist();
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  nd::random::seed(4);
  auto net = models::lenet(batch_norm);
  net->initialize(init::Xavier());
  net->hybridize();
  models::FashionTrainOptions o;
  o.epochs = 1;
  o.image_shape = true;
  o.max_train = 6400;
  o.progress = false;
  auto s = models::train_fashion(*net, *data, o).back();
  std::string name = batch_norm ? "LeNet + BatchNorm" : "LeNet";
  MESSAGE(name, ": test accuracy ", s.test_accuracy, " after one epoch over 6400 images, ", s.images_per_second,
          " images/s");
  CHECK(s.test_accuracy >= 0.72);
  CHECK(net->cache_stats().backward_compiles == 1);  // the whole net trained as one compiled node

  // The trained model as MXNet files, run again through SymbolBlock.
  auto dir = test::temp_dir();
  net->export_model(dir + "/lenet", 1);
  auto imported = SymbolBlock::imports(dir + "/lenet-symbol.json", {"data"}, dir + "/lenet-0001.params");
  NDArray x = data->test_x.slice(0, 16).reshape({-1, 1, 28, 28});
  auto a = (*net)(x).to_vector<float>(), b = (*imported)(x).to_vector<float>();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  test::check_hgc_cli(dir + "/lenet", 1, {{"data", x}}, (*net)(x));
}

}  // namespace

TEST_CASE("models: LeNet trains hybridized on Fashion-MNIST") { train_and_check(false); }

TEST_CASE("models: LeNet with BatchNorm trains hybridized on Fashion-MNIST") { train_and_check(true); }

TEST_CASE("models: LeNet's layers and shapes are the book's") {
  auto net = models::lenet(false);
  net->initialize(init::Xavier());
  NDArray y = (*net)(nd::zeros({2, 1, 28, 28}));
  CHECK(y.shape() == std::vector<int64_t>{2, 10});
  // Conv 20@5x5 -> 24x24, pool -> 12x12, Conv 50@5x5 -> 8x8, pool -> 4x4: 800 features.
  auto p = net->collect_params();
  CHECK(p[net->prefix() + "conv0_weight"]->shape() == std::vector<int64_t>{20, 1, 5, 5});
  CHECK(p[net->prefix() + "conv1_weight"]->shape() == std::vector<int64_t>{50, 20, 5, 5});
  CHECK(p[net->prefix() + "dense0_weight"]->shape() == std::vector<int64_t>{500, 800});
  CHECK(models::lenet(true)->size() == 13);
}
