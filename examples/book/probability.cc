// Chapter "Probability and statistics": naive Bayes on images (per-class pixel
// probabilities with Laplace smoothing, log-likelihood classification), then sampling from
// the uniform, categorical and normal distributions and checking their statistics.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Probability and statistics (naive Bayes)",
                   "the book: MNIST digits; here: Fashion-MNIST (Debian dataset-fashion-mnist), pixels / 255");
  if (ch.help) return 0;
  using namespace hgc;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");

  auto train = book::fashion(true, ch.quick ? 20000 : 0), test = book::fashion(false, ch.quick ? 2000 : 0);
  // Counts start at 1 (Laplace smoothing); the book's per-sample loop as two whole-array ops.
  NDArray onehot = nd::one_hot(train.y, 10);
  NDArray ycount = nd::ones({10}) + nd::sum(onehot, {0});
  NDArray xcount = nd::ones({784, 10}) + nd::dot(train.x, onehot, true, false);
  NDArray px = xcount / ycount.reshape({1, 10});   // p(x_i = 1 | y)
  NDArray py = ycount / nd::sum(ycount);
  std::cout << "p(y) =" << py << "\n";
  ch.claim(std::abs(nd::sum(py).asscalar<float>() - 1) < 1e-5 && nd::min(py).asscalar<float>() > 0.08,
           "p(y) sums to 1 and the classes are balanced (each > 0.08)");
  ch.claim(nd::max(px).asscalar<float>() < 1 && nd::min(px).asscalar<float>() > 0, "smoothing keeps every p(x_i|y) inside (0, 1)");

  // l_y = sum_i x_i log p_i + (1 - x_i) log(1 - p_i) + log p(y), for all test images at once.
  NDArray logp = nd::log(px), lognp = nd::log(1 - px);
  NDArray ly = nd::dot(test.x, logp) + nd::dot(1 - test.x, lognp) + nd::log(py).reshape({1, 10});
  NDArray pred = nd::argmax(ly, 1);
  double acc = nd::mean(pred == test.y).asscalar<double>();
  // Posteriors by normalizing exp(l_y) (the book's softmax-like step), per image.
  NDArray post = nd::softmax(ly, 1);
  ch.claim(std::abs(nd::sum(post.slice(0, 1)).asscalar<float>() - 1) < 1e-4, "the posterior p(y|x) of an image sums to 1");
  ch.claim(acc > 0.55, "naive Bayes classifies ", 100 * acc, "% of the test images (chance: 10%; bar 55%)");

  // Sampling.
  int64_t n = ch.quick ? 100000 : 1000000;
  NDArray u = nd::random::uniform(0, 1, {n});
  double um = nd::mean(u).asscalar<double>();
  NDArray hist = nd::sum(nd::one_hot(nd::floor(u * 10), 10), {0}) / double(n);
  ch.claim(std::abs(um - 0.5) < 0.01 && nd::max(nd::abs(hist - 0.1)).asscalar<float>() < 0.01,
           "uniform(0, 1): mean ", um, ", each tenth of [0, 1) gets 10% +- 1%");
  // Categorical with probabilities (0.1, 0.2, 0.3, 0.4): a uniform draw's bucket in the
  // cumulative sums.
  NDArray cum = nd::array({0.1f, 0.3f, 0.6f, 1.0f}).reshape({1, 4});
  NDArray bucket = nd::sum(u.reshape({n, 1}) > cum, {1});
  NDArray freq = nd::sum(nd::one_hot(bucket, 4), {0}) / double(n);
  auto f = freq.to_vector<float>();
  ch.claim(std::abs(f[0] - 0.1) < 0.01 && std::abs(f[3] - 0.4) < 0.01, "categorical draws: frequencies ", f[0], ", ", f[1], ", ",
           f[2], ", ", f[3], " match 0.1, 0.2, 0.3, 0.4");
  NDArray g = nd::random::normal(0, 1, {n});
  double gm = nd::mean(g).asscalar<double>(), gv = nd::mean(nd::square(g)).asscalar<double>() - gm * gm;
  double within = nd::mean(nd::abs(g) < 1.0).asscalar<double>();
  ch.claim(std::abs(gm) < 0.01 && std::abs(gv - 1) < 0.02 && std::abs(within - 0.6827) < 0.01,
           "normal(0, 1): mean ", gm, ", variance ", gv, ", ", 100 * within, "% within one sigma (68.3%)");
  return ch.finish();
}
