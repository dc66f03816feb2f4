// Chapter "Deep convolutional generative adversarial networks": the book's generator
// (Conv2DTranspose + BatchNorm + relu, tanh out) and discriminator (strided Conv2D +
// BatchNorm + LeakyReLU(0.2)), SigmoidBinaryCrossEntropyLoss, Adam(2e-4, beta1 0.5), at a
// smaller image size. The generated images learn the planted structure: one bright disc on a
// dark background (fraction of bright pixels and the image contrast move to the data's).
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// 16 x 16 images in [-1, 1] (the book's LFW faces, normalized the same way): a disc of
// random center and radius 3..5, bright on dark.
NDArray discs(int64_t n) {
  NDArray cy = nd::random::uniform(5, 11, {n, 1, 1, 1}), cx = nd::random::uniform(5, 11, {n, 1, 1, 1});
  NDArray r = nd::random::uniform(3, 5, {n, 1, 1, 1});
  NDArray yy = nd::arange(16).reshape({1, 1, 16, 1}), xx = nd::arange(16).reshape({1, 1, 1, 16});
  NDArray d2 = nd::square(yy - cy) + nd::square(xx - cx);
  return 2.0 * nd::sigmoid(2.0 * (nd::square(r) - d2) / r) - 1.0;
}

double bright_fraction(const NDArray& x) { return nd::mean(x > 0.0).asscalar<double>(); }
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Deep convolutional GANs",
                   "the book: LFW faces 64 x 64 (downloaded); here: seeded 16 x 16 images of one bright disc each");
  if (ch.help) return 0;
  int64_t nz = 16, ngf = 16, ndf = 16, batch_size = 64, n = ch.quick ? 2048 : 8192;
  NDArray real = discs(n);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{real});
  data::DataLoader train_data(ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed).last_batch("discard"));

  auto netG = std::make_shared<nn::HybridSequential>();
  {
    auto scope = netG->name_scope();
    netG->add(std::make_shared<nn::Conv2DTranspose>(nn::Conv2DOptions(ngf * 2, {4, 4}).use_bias(false)));  // 4x4
    netG->add(std::make_shared<nn::BatchNorm>());
    netG->add(std::make_shared<nn::Activation>("relu"));
    netG->add(std::make_shared<nn::Conv2DTranspose>(nn::Conv2DOptions(ngf, {4, 4}).strides({2, 2}).padding({1, 1}).use_bias(false)));
    netG->add(std::make_shared<nn::BatchNorm>());
    netG->add(std::make_shared<nn::Activation>("relu"));  // 8x8
    netG->add(std::make_shared<nn::Conv2DTranspose>(nn::Conv2DOptions(1, {4, 4}).strides({2, 2}).padding({1, 1}).use_bias(false)));
    netG->add(std::make_shared<nn::Activation>("tanh"));  // 16x16
  }
  auto netD = std::make_shared<nn::HybridSequential>();
  {
    auto scope = netD->name_scope();
    netD->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(ndf, {4, 4}).strides({2, 2}).padding({1, 1}).use_bias(false)));
    netD->add(std::make_shared<nn::LeakyReLU>(0.2));  // 8x8
    netD->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(ndf * 2, {4, 4}).strides({2, 2}).padding({1, 1}).use_bias(false)));
    netD->add(std::make_shared<nn::BatchNorm>());
    netD->add(std::make_shared<nn::LeakyReLU>(0.2));  // 4x4
    netD->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(1, {4, 4}).use_bias(false)));  // 1x1
  }
  netG->collect_params().initialize(init::Normal(0.02));
  netD->collect_params().initialize(init::Normal(0.02));
  netG->hybridize();
  netD->hybridize();
  loss::SigmoidBinaryCrossEntropyLoss bce;
  Trainer trainerG(netG->collect_params(), std::make_unique<optim::Adam>(optim::OptimizerOptions().lr(2e-4), 0.5));
  Trainer trainerD(netD->collect_params(), std::make_unique<optim::Adam>(optim::OptimizerOptions().lr(2e-4), 0.5));
  NDArray real_label = nd::ones({batch_size}), fake_label = nd::zeros({batch_size});

  NDArray probe = nd::random::normal(0, 1, {256, nz, 1, 1});
  NDArray g0 = (*netG)(probe);
  ch.claim(g0.shape() == std::vector<int64_t>{256, 1, 16, 16}, "the generator maps (N, 16, 1, 1) noise to (N, 1, 16, 16) images");
  double real_bright = bright_fraction(real), before = bright_fraction(g0);
  double real_contrast = nd::mean(nd::abs(real)).asscalar<double>(), contrast0 = nd::mean(nd::abs(g0)).asscalar<double>();
  int epochs = ch.budget(12, 40);
  double errD_last = 0, errG_last = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (const auto& batch : train_data) {
      NDArray data = batch[0], latent_z = nd::random::normal(0, 1, {batch_size, nz, 1, 1}), fake, errD, errG;
      {
        auto rec = autograd::record();
        NDArray output = (*netD)(data).reshape({-1});
        NDArray errD_real = bce(output, real_label);
        fake = (*netG)(latent_z);
        output = (*netD)(fake.detach()).reshape({-1});
        errD = errD_real + bce(output, fake_label);
        errD.backward();
      }
      trainerD.step(static_cast<double>(batch_size));
      {
        auto rec = autograd::record();
        NDArray output = (*netD)(fake).reshape({-1});
        errG = bce(output, real_label);
        errG.backward();
      }
      trainerG.step(static_cast<double>(batch_size));
      errD_last = book::mean(errD), errG_last = book::mean(errG);
    }
    NDArray g = (*netG)(probe);
    std::printf("  epoch %d: loss D %.3f, G %.3f; bright pixels %.3f (data %.3f), mean |x| %.3f (data %.3f)\n", epoch + 1,
                errD_last, errG_last, bright_fraction(g), real_bright, nd::mean(nd::abs(g)).asscalar<double>(), real_contrast);
  }
  NDArray g = (*netG)(probe);
  double after = bright_fraction(g), contrast = nd::mean(nd::abs(g)).asscalar<double>();
  ch.claim(std::isfinite(errD_last) && std::isfinite(errG_last), "both losses stay finite (D ", errD_last, ", G ", errG_last, ")");
  ch.claim(std::abs(contrast - real_contrast) < 0.5 * std::abs(contrast0 - real_contrast),
           "generated images take the data's contrast: mean |x| ", contrast0, " -> ", contrast, " (data ", real_contrast, ")");
  ch.claim(std::abs(after - real_bright) < 0.15, "and its share of bright pixels: ", before, " -> ", after, " (data ", real_bright, ")");
  return ch.finish();
}
