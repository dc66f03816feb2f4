// Chapter "Generative adversarial networks": the book's 2-D example. Real data is a Gaussian
// N(b, A^T A) (A = [[1, 2], [-0.1, 0.5]], b = [1, 2]); the generator is one linear layer on
// Gaussian noise, the discriminator a 5-3-2 tanh MLP with softmax cross-entropy; both trained
// with Adam in alternation. The generated samples' mean moves onto b.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Generative adversarial networks (2-D Gaussian)", "the book's own synthetic Gaussian");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;

  NDArray X = nd::random::normal(0, 1, {1000, 2});
  NDArray A = nd::array({1, 2, -0.1f, 0.5f}, {2, 2}), b = nd::array({1, 2});
  X = nd::dot(X, A) + b;
  int64_t batch_size = 4;
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{X});
  data::DataLoader train_data(ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed));

  auto netG = std::make_shared<nn::Sequential>();
  netG->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
  auto netD = std::make_shared<nn::Sequential>();
  netD->add(std::make_shared<nn::Dense>(nn::DenseOptions(5).activation("tanh")));
  netD->add(std::make_shared<nn::Dense>(nn::DenseOptions(3).activation("tanh")));
  netD->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
  loss::SoftmaxCrossEntropyLoss loss;
  netG->collect_params().initialize(init::Normal(0.02));
  netD->collect_params().initialize(init::Normal(0.02));
  Trainer trainerG(netG->collect_params(), "adam", {{"learning_rate", 0.01}});
  Trainer trainerD(netD->collect_params(), "adam", {{"learning_rate", 0.05}});
  NDArray real_label = nd::ones({batch_size}), fake_label = nd::zeros({batch_size});

  auto gen_mean_error = [&] {
    NDArray fake = (*netG)(nd::random::normal(0, 1, {2000, 2}));
    return nd::norm(nd::mean(fake, {0}) - b).asscalar<double>();
  };
  double before = gen_mean_error();
  metric::Accuracy metric;
  int epochs = ch.budget(3, 10);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    metric.reset();
    for (const auto& batch : train_data) {
      // (1) D: maximize log D(x) + log(1 - D(G(z)))
      NDArray data = batch[0], noise = nd::random::normal(0, 1, {batch_size, 2}), real_output, fake_output, fake;
      {
        auto rec = autograd::record();
        real_output = (*netD)(data);
        NDArray errD_real = loss(real_output, real_label);
        fake = (*netG)(noise);
        fake_output = (*netD)(fake.detach());
        NDArray errD_fake = loss(fake_output, fake_label);
        NDArray errD = errD_real + errD_fake;
        errD.backward();
      }
      trainerD.step(static_cast<double>(batch_size));
      metric.update(real_label, real_output);
      metric.update(fake_label, fake_output);
      // (2) G: maximize log D(G(z))
      {
        auto rec = autograd::record();
        NDArray output = (*netD)(fake);
        NDArray errG = loss(output, real_label);
        errG.backward();
      }
      trainerG.step(static_cast<double>(batch_size));
    }
    std::printf("  epoch %d: discriminator accuracy %.3f, |mean(G(z)) - b| %.3f\n", epoch + 1, metric.get().second, gen_mean_error());
  }
  double after = gen_mean_error();
  ch.claim(before > 1.5, "untrained, the generator's samples sit near 0, far from b (", before, ")");
  ch.claim(after < 0.5 * before && after < 0.7, "after training their mean is close to b = (1, 2): error ", after);
  double acc = metric.get().second;
  ch.claim(acc < 0.85, "the discriminator cannot separate them well any more (accuracy ", acc, ")");
  return ch.finish();
}
