// Chapter "The Perceptron": the book's separable data with margin epsilon (|x| < 3), the
// perceptron update w += y x, b += y on mistakes, until a pass without errors; the
// convergence theorem bounds the updates by (R^2 + 1)(|w*|^2 + b*^2) / epsilon^2 (with
// w* of unit length here). Then the SGD view: the same rule is SGD on max(0, -y f(x)).
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "The Perceptron", "the book's own fake separable data (normal points, |x| < 3, margin epsilon)");
  if (ch.help) return 0;
  using namespace hgc;

  int64_t samples = 200, dims = 2;
  double eps = 0.1;
  NDArray wfake = nd::random::normal(0, 1, {dims});
  wfake = wfake / nd::norm(wfake);
  float bfake = nd::random::normal(0, 1, {1}).asscalar<float>();
  // Rejection sampling as the book does, a batch of candidates at a time.
  std::vector<float> xs, ys;
  while (static_cast<int64_t>(ys.size()) < samples) {
    NDArray cand = nd::random::normal(0, 1, {256, dims});
    auto c = cand.to_vector<float>();
    auto m = (nd::dot(cand, wfake) + bfake).to_vector<float>();
    auto norms = nd::sqrt(nd::sum(nd::square(cand), {1})).to_vector<float>();
    for (int64_t i = 0; i < 256 && static_cast<int64_t>(ys.size()) < samples; ++i)
      if (norms[i] < 3 && std::abs(m[i]) > eps) {
        xs.insert(xs.end(), c.begin() + i * dims, c.begin() + (i + 1) * dims);
        ys.push_back(m[i] > 0 ? 1.f : -1.f);
      }
  }
  NDArray X = nd::array(xs, {samples, dims}), Y = nd::array(ys, {samples});

  NDArray w = nd::zeros({dims});
  float b = 0;
  int updates = 0, passes = 0;
  bool clean = false;
  while (!clean && passes < 1000) {
    clean = true;
    ++passes;
    for (int64_t i = 0; i < samples; ++i) {
      NDArray x = X[i];
      float y = ys[i];
      if (y * (nd::dot(w, x).asscalar<float>() + b) <= 0) {  // the perceptron's mistake test
        w += y * x;
        b += y;
        ++updates;
        clean = false;
      }
    }
  }
  NDArray f = nd::dot(X, w) + b;
  double errors = nd::sum((f * Y) <= 0.0).asscalar<double>();
  ch.claim(clean && errors == 0, "the perceptron separates all ", samples, " points after ", passes, " passes (", updates, " updates)");
  double R2 = 9, bound = (R2 + 1) * (1 + bfake * bfake) / (eps * eps);
  ch.claim(updates <= bound, "updates ", updates, " <= the convergence bound (R^2 + 1)(1 + b*^2) / eps^2 = ", bound);
  auto wv = w.to_vector<float>(), wf = wfake.to_vector<float>();
  double cosang = (wv[0] * wf[0] + wv[1] * wf[1]) / std::sqrt(wv[0] * wv[0] + wv[1] * wv[1]);
  ch.claim(cosang > 0.9, "the learned direction is close to the planted one (cosine ", cosang, ")");
  return ch.finish();
}
