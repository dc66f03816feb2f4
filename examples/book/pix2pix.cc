// Chapter "Pixel to pixel generative adversarial networks": the book's U-Net generator
// (UnetSkipUnit: strided Conv2D down, Conv2DTranspose up, skip connections by concat, Dropout
// as the noise), its PatchGAN discriminator (strided Conv2D + BatchNorm(momentum 0.1) +
// LeakyReLU(0.2), one logit per patch), the image pool, SigmoidBinaryCrossEntropyLoss +
// lambda * L1Loss and Adam(beta1 0.5), on paired images with a planted translation. The
// generator normalizes with InstanceNorm (the pix2pix paper's choice for small batches;
// --norm batch gives the book's BatchNorm).
#include <random>

#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

std::shared_ptr<HybridBlock> norm_layer(bool instance, int64_t channels) {
  if (instance) return std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().scale(true).in_channels(channels));
  return std::make_shared<nn::BatchNorm>(nn::BatchNormOptions().momentum(0.1).in_channels(channels));
}

// One level of the U-Net: down (conv), the inner block, up (transposed conv); every level but
// the outermost returns concat(up(x), x) along the channels (the skip connection).
class UnetSkipUnit : public HybridBlock {
 public:
  UnetSkipUnit(int64_t inner_channels, int64_t outer_channels, std::shared_ptr<HybridBlock> inner_block, bool innermost,
               bool outermost, bool use_dropout, bool instance_norm)
      : HybridBlock("unetskipunit"), outermost_(outermost) {
    auto scope = name_scope();
    auto conv = [](int64_t ch, int64_t in, bool bias) {
      return std::make_shared<nn::Conv2D>(nn::Conv2DOptions(ch, {4, 4}).strides({2, 2}).padding({1, 1}).in_channels(in).use_bias(bias));
    };
    auto deconv = [](int64_t ch, int64_t in, bool bias) {
      return std::make_shared<nn::Conv2DTranspose>(
          nn::Conv2DOptions(ch, {4, 4}).strides({2, 2}).padding({1, 1}).in_channels(in).use_bias(bias));
    };
    model = register_child(std::make_shared<nn::HybridSequential>(), "model");
    auto sub = model->name_scope();
    if (innermost) {
      model->add(std::make_shared<nn::LeakyReLU>(0.2)).add(conv(inner_channels, outer_channels, false));
      model->add(std::make_shared<nn::Activation>("relu")).add(deconv(outer_channels, inner_channels, false));
      model->add(norm_layer(instance_norm, outer_channels));
    } else if (outermost) {
      model->add(conv(inner_channels, outer_channels, false)).add(inner_block);
      model->add(std::make_shared<nn::Activation>("relu")).add(deconv(outer_channels, inner_channels * 2, true));
      model->add(std::make_shared<nn::Activation>("tanh"));
    } else {
      model->add(std::make_shared<nn::LeakyReLU>(0.2)).add(conv(inner_channels, outer_channels, false));
      model->add(norm_layer(instance_norm, inner_channels)).add(inner_block);
      model->add(std::make_shared<nn::Activation>("relu")).add(deconv(outer_channels, inner_channels * 2, false));
      model->add(norm_layer(instance_norm, outer_channels));
    }
    if (use_dropout) model->add(std::make_shared<nn::Dropout>(0.5));
  }
  NDArray hybrid_forward(const NDArray& x) override {
    NDArray y = (*model)(x);
    return outermost_ ? y : nd::concat({y, x}, 1);
  }
  std::shared_ptr<nn::HybridSequential> model;

 private:
  bool outermost_;
};

// The book's UnetGenerator for 16 x 16 images: four levels (16 -> 8 -> 4 -> 2 -> 1 and back);
// the book's 256 x 256 facades take eight. Dropout on the level above the innermost.
std::shared_ptr<HybridBlock> unet_generator(int64_t channels, int64_t ngf, bool instance_norm) {
  std::shared_ptr<HybridBlock> u = std::make_shared<UnetSkipUnit>(ngf * 4, ngf * 4, nullptr, true, false, false, instance_norm);
  u = std::make_shared<UnetSkipUnit>(ngf * 4, ngf * 2, u, false, false, true, instance_norm);
  u = std::make_shared<UnetSkipUnit>(ngf * 2, ngf, u, false, false, false, instance_norm);
  return std::make_shared<UnetSkipUnit>(ngf, channels, u, false, true, false, instance_norm);
}

// The book's PatchGAN discriminator with n_layers = 2: a (N, 1, 7, 7) map of patch logits for
// 16 x 16 inputs.
std::shared_ptr<nn::HybridSequential> patch_discriminator(int64_t in_channels, int64_t ndf) {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  auto conv = [](int64_t ch, int64_t in, int64_t stride, bool bias) {
    return std::make_shared<nn::Conv2D>(
        nn::Conv2DOptions(ch, {4, 4}).strides({stride, stride}).padding({2, 2}).in_channels(in).use_bias(bias));
  };
  net->add(conv(ndf, in_channels, 2, true)).add(std::make_shared<nn::LeakyReLU>(0.2));
  net->add(conv(ndf * 2, ndf, 2, false)).add(std::make_shared<nn::BatchNorm>(nn::BatchNormOptions().momentum(0.1).in_channels(ndf * 2)));
  net->add(std::make_shared<nn::LeakyReLU>(0.2));
  net->add(conv(ndf * 4, ndf * 2, 1, false)).add(std::make_shared<nn::BatchNorm>(nn::BatchNormOptions().momentum(0.1).in_channels(ndf * 4)));
  net->add(std::make_shared<nn::LeakyReLU>(0.2));
  net->add(conv(1, ndf * 4, 1, true));
  return net;
}

// Paired 16 x 16 images in [-1, 1], the stand-in for facades' label map -> photo: the input is
// a "label map" of flat colored rectangles; the target is a fixed colour remapping of it plus
// shading at the rectangles' upper and left edges (a local, non-pointwise translation).
struct Pairs {
  NDArray a, b;
};
Pairs facades_like(int64_t n, uint64_t seed) {
  std::mt19937 g(static_cast<uint32_t>(seed));
  const float palette[5][3] = {{-0.8f, -0.8f, -0.8f}, {0.9f, -0.5f, -0.7f}, {-0.6f, 0.8f, -0.4f}, {-0.5f, -0.3f, 0.9f}, {0.7f, 0.7f, -0.6f}};
  const float mix[3][3] = {{0.1f, 0.8f, 0.3f}, {-0.7f, 0.1f, 0.4f}, {0.3f, 0.5f, -0.6f}};
  const int64_t S = 16, P = S * S;
  std::vector<float> a(n * 3 * P), b(n * 3 * P);
  std::uniform_int_distribution<int> col(1, 4), pos(0, S - 4), len(3, 9);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int> lab(P, 0);
    for (int r = 0; r < 4; ++r) {
      int y0 = pos(g), x0 = pos(g), h = len(g), w = len(g), c = col(g);
      for (int y = y0; y < std::min<int>(S, y0 + h); ++y)
        for (int x = x0; x < std::min<int>(S, x0 + w); ++x) lab[y * S + x] = c;
    }
    for (int64_t p = 0; p < P; ++p) {
      int64_t y = p / S, x = p % S;
      bool edge = (y > 0 && lab[p - S] != lab[p]) || (x > 0 && lab[p - 1] != lab[p]);
      for (int c = 0; c < 3; ++c) {
        a[(i * 3 + c) * P + p] = palette[lab[p]][c];
        float v = 0;
        for (int k = 0; k < 3; ++k) v += mix[c][k] * palette[lab[p]][k];
        b[(i * 3 + c) * P + p] = std::tanh(1.5f * v + (edge ? 0.8f : 0.f));
      }
    }
  }
  return {nd::array(a, {n, 3, S, S}), nd::array(b, {n, 3, S, S})};
}

// The book's ImagePool: once full, each new image replaces a random stored one half of the
// time, and the stored one is shown to the discriminator instead.
class ImagePool {
 public:
  ImagePool(size_t size, uint64_t seed) : size_(size), rng_(static_cast<uint32_t>(seed)) {}
  NDArray query(const NDArray& images) {
    if (size_ == 0) return images;
    std::vector<NDArray> out;
    std::uniform_real_distribution<double> u(0, 1);
    for (int64_t i = 0; i < images.shape()[0]; ++i) {
      NDArray img = images.slice(i, i + 1).copy();
      if (pool_.size() < size_) {
        pool_.push_back(img);
        out.push_back(img);
      } else if (u(rng_) > 0.5) {
        size_t k = std::uniform_int_distribution<size_t>(0, size_ - 1)(rng_);
        out.push_back(pool_[k]);
        pool_[k] = img;
      } else {
        out.push_back(img);
      }
    }
    return nd::concat(out, 0);
  }

 private:
  size_t size_;
  std::mt19937 rng_;
  std::vector<NDArray> pool_;
};

double l1(const NDArray& a, const NDArray& b) { return nd::mean(nd::abs(a - b)).asscalar<double>(); }
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Pixel to pixel generative adversarial networks",
                   "the book: CMP Facades (400 label-map/photo pairs, 256 x 256, downloaded); here: seeded 16 x 16 pairs, a "
                   "label map of coloured rectangles -> a fixed colour remapping with shaded rectangle edges",
                   " [--norm instance|batch] [--lr R]");
  if (ch.help) return 0;
  bool instance = ch.flag("--norm", "instance") != "batch";
  double lr = std::atof(ch.flag("--lr", "0.002").c_str());
  int64_t batch_size = 8, n_train = ch.quick ? 256 : 1024, n_val = 64, ngf = 8, ndf = 8;
  double lambda1 = 100;
  Pairs train = facades_like(n_train, ch.seed), val = facades_like(n_val, ch.seed + 1000);
  std::printf("  generator norm: %s; lr %g, lambda %g\n", instance ? "InstanceNorm" : "BatchNorm", lr, lambda1);

  auto netG = unet_generator(3, ngf, instance);
  auto netD = patch_discriminator(6, ndf);
  netG->collect_params().initialize(init::Normal(0.02));
  netD->collect_params().initialize(init::Normal(0.02));
  netG->hybridize();
  netD->hybridize();
  loss::SigmoidBinaryCrossEntropyLoss gan_loss;
  loss::L1Loss l1_loss;
  auto adam = [&] { return std::make_unique<optim::Adam>(optim::OptimizerOptions().lr(lr), 0.5); };
  Trainer trainerG(netG->collect_params(), adam());
  Trainer trainerD(netD->collect_params(), adam());

  NDArray g0 = (*netG)(val.a);
  ch.claim(g0.shape() == std::vector<int64_t>{n_val, 3, 16, 16}, "the U-Net maps (N, 3, 16, 16) to (N, 3, 16, 16)");
  NDArray d0 = (*netD)(nd::concat({val.a, val.b}, 1));
  ch.claim(d0.shape() == std::vector<int64_t>{n_val, 1, 7, 7}, "the PatchGAN gives one logit per patch: (N, 1, 7, 7)");
  double identity = l1(val.a, val.b), initial = l1(g0, val.b);

  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{train.a, train.b});
  data::DataLoader loader(ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed).last_batch("discard"));
  ImagePool pool(50, ch.seed);
  int epochs = ch.budget(6, 20);
  double errD_last = 0, errG_last = 0, d_acc = 0;
  std::vector<double> val_curve;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    int64_t correct = 0, seen = 0;
    for (const auto& batch : loader) {
      NDArray real_in = batch[0], real_out = batch[1];
      NDArray fake_out = (*netG)(real_in);
      NDArray fake_concat = pool.query(nd::concat({real_in, fake_out}, 1));
      NDArray errD, errG;
      {  // (1) D: log D(x, y) + log(1 - D(x, G(x)))
        auto rec = autograd::record();
        NDArray out_fake = (*netD)(fake_concat);
        NDArray errD_fake = gan_loss(out_fake, nd::zeros_like(out_fake));
        NDArray out_real = (*netD)(nd::concat({real_in, real_out}, 1));
        NDArray errD_real = gan_loss(out_real, nd::ones_like(out_real));
        errD = (errD_real + errD_fake) * 0.5;
        errD.backward();
        correct += static_cast<int64_t>(nd::sum(out_fake < 0.0).asscalar<double>() + nd::sum(out_real > 0.0).asscalar<double>());
        seen += out_fake.size() + out_real.size();
      }
      trainerD.step(static_cast<double>(batch_size));
      {  // (2) G: log D(x, G(x)) - lambda * L1(y, G(x))
        auto rec = autograd::record();
        NDArray fake = (*netG)(real_in);
        NDArray out = (*netD)(nd::concat({real_in, fake}, 1));
        errG = gan_loss(out, nd::ones_like(out)) + l1_loss(real_out, fake) * lambda1;
        errG.backward();
      }
      trainerG.step(static_cast<double>(batch_size));
      errD_last = book::mean(errD), errG_last = book::mean(errG);
    }
    d_acc = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, seen));
    val_curve.push_back(l1((*netG)(val.a), val.b));
    std::printf("  epoch %d: loss D %.3f, G %.3f; D patch accuracy %.2f; held-out L1 %.4f\n", epoch + 1, errD_last, errG_last,
                d_acc, val_curve.back());
  }

  NDArray hybrid = (*netG)(val.a);
  double final_l1 = l1(hybrid, val.b);
  ch.claim(std::isfinite(errD_last) && std::isfinite(errG_last), "both losses stay finite (D ", errD_last, ", G ", errG_last, ")");
  ch.claim(final_l1 < 0.5 * std::min(identity, initial), "held-out L1 to the target falls well below the baselines: ", final_l1,
           " (identity ", identity, ", untrained generator ", initial, ")");
  // Predict mode: Dropout is the identity, InstanceNorm uses each sample's own moments, the
  // discriminator's BatchNorm its running statistics.
  netG->hybridize(false);
  netD->hybridize(false);
  NDArray imperative = (*netG)(val.a);
  double diff = nd::max(nd::abs(hybrid - imperative)).asscalar<double>();
  NDArray dh_in = nd::concat({val.a, imperative}, 1);
  NDArray d_imp = (*netD)(dh_in);
  netD->hybridize();
  double ddiff = nd::max(nd::abs((*netD)(dh_in) - d_imp)).asscalar<double>();
  ch.claim(diff < 1e-4 && ddiff < 1e-4, "hybridized == imperative: generator max |diff| ", diff, ", discriminator ", ddiff);
  if (book::write_svg_plot(ch.path("pix2pix_l1.svg"), "held-out L1 per epoch", {{"L1", val_curve}}))
    std::printf("  wrote %s\n", ch.path("pix2pix_l1.svg").c_str());
  return ch.finish();
}
