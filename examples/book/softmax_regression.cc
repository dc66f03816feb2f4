// Chapters "Multiclass logistic regression from scratch" and "... with gluon": the book's
// MNIST pipeline (vision dataset, transform to float / 255, DataLoader with shuffle) feeding
// a hand-written softmax, cross-entropy and SGD, then nn.Dense(10) with
// SoftmaxCrossEntropyLoss and a Trainer.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Multiclass logistic regression (scratch and gluon)",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist) through vision::FashionMNIST");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");

  // The book's transform(data, label): data.astype(float32) / 255, label.astype(float32).
  auto transform = [](const std::vector<NDArray>& s) {
    return std::vector<NDArray>{s[0].astype(DType::f32) / 255.0, s[1].astype(DType::f32)};
  };
  auto mnist_train = std::make_shared<data::vision::FashionMNIST>();
  auto mnist_test = std::make_shared<data::vision::FashionMNIST>(data::vision::FashionMNIST::default_root(), false);
  ch.claim(mnist_train->size() == 60000 && mnist_test->size() == 10000, "60000 training and 10000 test images");
  auto s0 = mnist_train->get(0);
  ch.claim(s0[0].shape() == std::vector<int64_t>{28, 28, 1} && s0[0].dtype() == DType::u8 && s0[1].dtype() == DType::i32,
           "a sample is an (28, 28, 1) uint8 image and an int32 label, as Gluon's");
  // Whole batches go through the transform at once (the same function on a batch axis).
  int64_t limit = ch.quick ? 12000 : 60000;
  auto sub = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{mnist_train->images().slice(0, limit),
                                                                       mnist_train->labels().slice(0, limit)});
  auto train_ds = sub->transform(transform);
  int64_t batch_size = 64;
  data::DataLoader train_data(train_ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed)
                                            .batchify_fn(data::default_batchify_fn));
  auto test = book::fashion(false, ch.quick ? 2000 : 0);
  int epochs = ch.budget(1, 5);

  // ---- from scratch ----
  NDArray W = nd::random::normal(0, 0.01, {784, 10}), b = nd::zeros({10});
  W.attach_grad();
  b.attach_grad();
  auto net = [&](const NDArray& x) { return nd::softmax(nd::dot(x.reshape({-1, 784}), W) + b); };
  auto cross_entropy = [](const NDArray& yhat, const NDArray& y) { return -nd::sum(y * nd::log(yhat + 1e-9), {1}); };
  double first = -1, last = 0;
  for (int e = 0; e < epochs; ++e) {
    int i = 0;
    double moving = 0;
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = cross_entropy(net(batch[0]), nd::one_hot(batch[1], 10));
      }
      loss.backward();
      double lr = 0.1;  // SGD on the batch mean
      W -= lr / batch_size * W.grad();
      b -= lr / batch_size * b.grad();
      double l = book::mean(loss);
      moving = i++ ? 0.99 * moving + 0.01 * l : l;
      if (first < 0) first = l;
    }
    last = moving;
  }
  double acc_scratch = book::accuracy(net, test.x, test.y);
  ch.claim(last < 0.5 * first, "scratch: the cross-entropy falls from ", first, " to ", last);
  ch.claim(acc_scratch > 0.74, "scratch: test accuracy ", acc_scratch, " (bar 0.74; the book's MNIST: ~0.9)");

  // ---- with gluon ----
  auto gnet = std::make_shared<nn::Dense>(nn::DenseOptions(10));
  gnet->collect_params().initialize(init::Normal(0.01));
  loss::SoftmaxCrossEntropyLoss softmax_cross_entropy;
  Trainer trainer(gnet->collect_params(), "sgd", {{"learning_rate", 0.1}});
  data::DataLoader gdata(sub->transform(transform), data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed + 1));
  auto curve = book::fit(*gnet, gdata, softmax_cross_entropy, trainer, epochs);
  double acc_gluon = book::accuracy(*gnet, test.x, test.y);
  ch.claim(acc_gluon > 0.74, "gluon: test accuracy ", acc_gluon);
  ch.claim(std::abs(acc_gluon - acc_scratch) < 0.05, "the two implementations agree within 5 points (", acc_scratch, " vs ", acc_gluon, ")");
  return ch.finish();
}
