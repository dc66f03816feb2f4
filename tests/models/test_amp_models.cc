// bfloat16 AMP training (amp::convert_hybrid_block) of the Fashion-MNIST MLP and LeNet: one
// epoch over part of the data, the same seeds as a float32 run, accuracy close to it; the
// parameters and their gradients stay float32. The full 10-epoch, 2-seed comparison is
// scripts/amp_accuracy.sh. Skips with a message when the dataset is not installed.
#include <doctest/doctest.h>

#include <cmath>

#include "fashion/train.h"
#include "hgc/frontend/amp/amp.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

double train(bool lenet, bool amp, const models::FashionMnist& data) {
  nd::random::seed(5);
  std::shared_ptr<HybridBlock> net = lenet ? models::lenet(false) : models::fashion_mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  if (amp) amp::convert_hybrid_block(net, "bfloat16");
  models::FashionTrainOptions o;
  o.epochs = 1;
  o.image_shape = lenet;
  o.max_train = 6400;
  o.progress = false;
  double acc = models::train_fashion(*net, data, o).back().test_accuracy;
  for (const auto& p : net->collect_params().values()) {  // float32 master weights and gradients
    CHECK_MESSAGE(p->data().dtype() == DType::f32, p->name());
    CHECK_MESSAGE(p->grad().dtype() == DType::f32, p->name());
  }
  CHECK(net->cache_stats().backward_compiles == 1);
  return acc;
}

void compare(bool lenet) {
  auto data = models::load_fashion_mnist();
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  double f32 = train(lenet, false, *data), bf16 = train(lenet, true, *data);
  MESSAGE(std::string(lenet ? "LeNet" : "MLP"), " one epoch over 6400 images: float32 ", f32, ", bfloat16 AMP ", bf16);
  CHECK(bf16 >= 0.70);
  CHECK(std::abs(bf16 - f32) <= 0.03);
}

}  // namespace

TEST_CASE("models: Fashion MLP trains with bfloat16 AMP close to float32") { compare(false); }
TEST_CASE("models: LeNet trains with bfloat16 AMP close to float32") { compare(true); }

TEST_CASE("amp: init sets the default of later hybridize calls; bad names are errors") {
  amp::init("bfloat16");
  CHECK(amp::default_target() == DType::bf16);
  amp::reset();
  CHECK(amp::default_target() == DType::unknown);
  CHECK_THROWS_WITH_AS(amp::init("int8"), doctest::Contains("[amp] target dtype must be"), Error);
  CHECK_THROWS_WITH_AS(amp::convert_hybrid_block(nullptr), doctest::Contains("[amp]"), Error);
}
