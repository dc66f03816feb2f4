// Chapters "Overfitting and regularization" and "... with gluon": logistic regression on
// only 1000 training images overfits (train accuracy far above test); an l2 penalty
// (scratch: l2_strength * sum(w^2) in the loss; gluon: the Trainer's wd) shrinks the
// weights and the train/test gap.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

struct Run {
  double train_acc, test_acc, wnorm;
};

// The book's scratch model: softmax(X W + b), weights drawn from N(0, 1).
Run scratch(const book::Mnist& tr, const book::Mnist& te, double l2_strength, int epochs, uint64_t seed) {
  nd::random::seed(seed);
  NDArray W = nd::random::normal(0, 1, {784, 10}), b = nd::random::normal(0, 1, {10});
  W.attach_grad();
  b.attach_grad();
  auto net = [&](const NDArray& x) { return nd::dot(x, W) + b; };
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(seed));
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : loader) {
      NDArray loss;
      {
        auto rec = autograd::record();
        NDArray out = nd::log_softmax(net(batch[0]));
        loss = -nd::sum(out * nd::one_hot(batch[1], 10)) + l2_strength * (nd::sum(nd::square(W)) + nd::sum(nd::square(b)));
      }
      loss.backward();
      W -= 0.001 * W.grad();
      b -= 0.001 * b.grad();
    }
  return {book::accuracy(net, tr.x, tr.y), book::accuracy(net, te.x, te.y), nd::norm(W).asscalar<double>()};
}

Run gluon_run(const book::Mnist& tr, const book::Mnist& te, double wd, int epochs, uint64_t seed) {
  nd::random::seed(seed);
  auto net = std::make_shared<nn::Dense>(nn::DenseOptions(10));
  net->collect_params().initialize(init::Normal(1.0));
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.064}, {"wd", wd}});
  loss::SoftmaxCrossEntropyLoss ce;
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(seed));
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : loader) {
      NDArray l;
      {
        auto rec = autograd::record();
        l = ce((*net)(batch[0]), batch[1]);
      }
      l.backward();
      trainer.step(64);
    }
  return {book::accuracy(*net, tr.x, tr.y), book::accuracy(*net, te.x, te.y),
          nd::norm(net->collect_params().values()[0]->data()).asscalar<double>()};
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Overfitting and regularization (scratch and gluon)",
                   "the book: 1000 MNIST training images; here: 1000 Fashion-MNIST images (dataset-fashion-mnist)");
  if (ch.help) return 0;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, 1000), te = book::fashion(false, ch.quick ? 2000 : 10000);
  int epochs = ch.budget(300, 1000);

  Run plain = scratch(tr, te, 0, epochs, ch.seed), l2 = scratch(tr, te, 0.1, epochs, ch.seed);
  std::printf("  scratch: no penalty train %.3f test %.3f |W| %.1f; l2 0.1: train %.3f test %.3f |W| %.1f\n", plain.train_acc,
              plain.test_acc, plain.wnorm, l2.train_acc, l2.test_acc, l2.wnorm);
  ch.claim(plain.train_acc - plain.test_acc > 0.1, "scratch, no penalty: overfits (train ", plain.train_acc, " vs test ",
           plain.test_acc, ")");
  ch.claim(l2.wnorm < 0.5 * plain.wnorm, "scratch: the l2 penalty shrinks |W| from ", plain.wnorm, " to ", l2.wnorm);
  ch.claim(l2.train_acc - l2.test_acc < plain.train_acc - plain.test_acc && l2.test_acc >= plain.test_acc,
           "scratch: the penalty narrows the train/test gap (", plain.train_acc - plain.test_acc, " -> ",
           l2.train_acc - l2.test_acc, ") and keeps or improves test accuracy");

  Run gplain = gluon_run(tr, te, 0, epochs, ch.seed), gwd = gluon_run(tr, te, 0.01, epochs, ch.seed);
  std::printf("  gluon: wd 0 train %.3f test %.3f |W| %.1f; wd 0.01: train %.3f test %.3f |W| %.1f\n", gplain.train_acc,
              gplain.test_acc, gplain.wnorm, gwd.train_acc, gwd.test_acc, gwd.wnorm);
  ch.claim(gwd.wnorm < 0.7 * gplain.wnorm, "gluon: wd shrinks |W| from ", gplain.wnorm, " to ", gwd.wnorm);
  ch.claim(gwd.train_acc - gwd.test_acc < gplain.train_acc - gplain.test_acc && gwd.test_acc >= gplain.test_acc,
           "gluon: wd narrows the train/test gap (", gplain.train_acc - gplain.test_acc, " -> ", gwd.train_acc - gwd.test_acc,
           ") and keeps or improves test accuracy");
  return ch.finish();
}
