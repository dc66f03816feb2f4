// Chapter "Visual question answering in gluon": the book's two answer classifiers over image
// and question features, Net1 (L2-normalized features concatenated, then Dense(relu) +
// BatchNorm + Dropout + Dense) and Net2, multimodal compact bilinear pooling (MCB): each
// feature vector, extended by a ones vector, is count-sketched (nd.contrib.count_sketch) and
// the two sketches are convolved, psi(x (x) y) = psi(x) * psi(y), before the same MLP.
//
// The book convolves with contrib.fft/ifft. hgc has no FFT op: the circular convolution is
// computed here through the DFT written as two constant (D, D) matrices (cos and sin), i.e.
// four GEMMs, an O(D^2) stand-in for the O(D log D) FFT that gives the same numbers (the
// inverse is normalized by 1/D, which MXNet's ifft leaves to the caller). The book also draws
// new hash tables on every forward; here each net draws its tables once, as MCB means.
#include <cmath>
#include <random>

#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// The classifier head both nets share: fc1 (relu) -> BatchNorm -> Dropout(0.3) -> fc2.
class Head : public Block {
 public:
  Head(int64_t hidden, int64_t classes) : Block("head") {
    auto scope = name_scope();
    fc1 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(hidden).activation("relu")), "fc1");
    bn = register_child(std::make_shared<nn::BatchNorm>(), "bn");
    dropout = register_child(std::make_shared<nn::Dropout>(0.3), "dropout");
    fc2 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(classes)), "fc2");
  }
  NDArray forward(const NDArray& z) override { return (*fc2)((*dropout)((*bn)((*fc1)(z)))); }
  std::shared_ptr<nn::Dense> fc1, fc2;
  std::shared_ptr<nn::BatchNorm> bn;
  std::shared_ptr<nn::Dropout> dropout;
};

NDArray l2norm(const NDArray& x) { return nd::op("L2Normalization", {}, {x}); }

// A count sketch's hash tables: h (1, d) buckets in [0, D), s (1, d) signs.
struct Hash {
  NDArray h, s;
  std::vector<int> hv, sv;
};
Hash draw_hash(int64_t d, int64_t out_dim, std::mt19937& g) {
  Hash t;
  std::vector<float> h(d), s(d);
  for (int64_t i = 0; i < d; ++i) {
    t.hv.push_back(std::uniform_int_distribution<int>(0, static_cast<int>(out_dim) - 1)(g));
    t.sv.push_back(std::uniform_int_distribution<int>(0, 1)(g) * 2 - 1);
    h[i] = static_cast<float>(t.hv.back()), s[i] = static_cast<float>(t.sv.back());
  }
  t.h = nd::array(h, {1, d}), t.s = nd::array(s, {1, d});
  return t;
}

// Circular convolution of the rows of a and b (N, D) through the DFT matrices C[j][k] =
// cos(2 pi jk / D), S[j][k] = sin(2 pi jk / D): A = a C - i a S, likewise B; the product's
// inverse transform is (Re(AB) C - Im(AB) S) / D.
struct Dft {
  NDArray c, s;
  int64_t d;
  explicit Dft(int64_t dim) : d(dim) {
    std::vector<float> cv(dim * dim), sv(dim * dim);
    for (int64_t j = 0; j < dim; ++j)
      for (int64_t k = 0; k < dim; ++k) {
        double a = 2 * M_PI * static_cast<double>((j * k) % dim) / static_cast<double>(dim);
        cv[j * dim + k] = static_cast<float>(std::cos(a)), sv[j * dim + k] = static_cast<float>(std::sin(a));
      }
    c = nd::array(cv, {dim, dim}), s = nd::array(sv, {dim, dim});
  }
  NDArray circular_conv(const NDArray& a, const NDArray& b) const {
    NDArray are = nd::dot(a, c), aim = -nd::dot(a, s), bre = nd::dot(b, c), bim = -nd::dot(b, s);
    NDArray pre = are * bre - aim * bim, pim = are * bim + aim * bre;
    return (nd::dot(pre, c) - nd::dot(pim, s)) / static_cast<double>(d);
  }
};

class Net1 : public Block {  // concatenation
 public:
  Net1(int64_t hidden, int64_t classes) : Block("net1") {
    auto scope = name_scope();
    head = register_child(std::make_shared<Head>(hidden, classes), "head");
  }
  NDArray run(const NDArray& text, const NDArray& image) { return (*head)(nd::concat({l2norm(text), l2norm(image)}, 1)); }
  std::shared_ptr<Head> head;
};

class Net2 : public Block {  // multimodal compact bilinear pooling
 public:
  Net2(int64_t text_dim, int64_t img_dim, int64_t out_dim, int64_t hidden, int64_t classes, uint64_t seed)
      : Block("net2"), dft_(out_dim), text_dim_(text_dim), img_dim_(img_dim), out_dim_(out_dim) {
    auto scope = name_scope();
    head = register_child(std::make_shared<Head>(hidden, classes), "head");
    std::mt19937 g(static_cast<uint32_t>(seed));
    h1_ = draw_hash(text_dim + img_dim, out_dim, g);
    h2_ = draw_hash(text_dim + img_dim, out_dim, g);
  }
  // The compact bilinear feature: psi([x1, 1]) * psi([x2, 1]).
  NDArray pool(const NDArray& text, const NDArray& image) const {
    int64_t n = text.shape()[0];
    NDArray text_data = nd::concat({l2norm(text), nd::ones({n, img_dim_})}, 1);
    NDArray image_data = nd::concat({l2norm(image), nd::ones({n, text_dim_})}, 1);
    NDArray cs1 = nd::contrib::count_sketch(image_data, h1_.h, h1_.s, out_dim_);
    NDArray cs2 = nd::contrib::count_sketch(text_data, h2_.h, h2_.s, out_dim_);
    return dft_.circular_conv(cs1, cs2);
  }
  NDArray run(const NDArray& text, const NDArray& image) { return (*head)(pool(text, image)); }
  std::shared_ptr<Head> head;

 private:
  Dft dft_;
  Hash h1_, h2_;
  int64_t text_dim_, img_dim_, out_dim_;
};

// Image and question features with a planted answer rule, the stand-in for the book's
// ResNet-152 image / GNMT question features of VQA 1.0: an image has 4 binary attributes and
// a question asks about one of them (its type t); the answer is 2 t + attribute_t, 8 classes.
// Both are seen through fixed random projections plus noise.
struct Vqa {
  NDArray text, image, answer;
};
Vqa make_vqa(int64_t n, int64_t text_dim, int64_t img_dim, uint64_t seed) {
  std::mt19937 g(static_cast<uint32_t>(seed));
  std::mt19937 proj(12345);  // the "feature extractors": the same for every split
  std::normal_distribution<float> nrm(0, 1);
  std::vector<float> pq(4 * text_dim), pi(4 * img_dim);
  for (float& v : pq) v = nrm(proj);
  for (float& v : pi) v = nrm(proj);
  std::vector<float> text(n * text_dim), image(n * img_dim), ans(n);
  for (int64_t i = 0; i < n; ++i) {
    int t = std::uniform_int_distribution<int>(0, 3)(g);
    int bits[4];
    for (int& b : bits) b = std::uniform_int_distribution<int>(0, 1)(g);
    for (int64_t k = 0; k < text_dim; ++k) text[i * text_dim + k] = pq[t * text_dim + k] + 0.3f * nrm(g);
    for (int64_t k = 0; k < img_dim; ++k) {
      float v = 0.3f * nrm(g);
      for (int a = 0; a < 4; ++a) v += (2 * bits[a] - 1) * pi[a * img_dim + k];
      image[i * img_dim + k] = v;
    }
    ans[i] = static_cast<float>(2 * t + bits[t]);
  }
  return {nd::array(text, {n, text_dim}), nd::array(image, {n, img_dim}), nd::array(ans, {n})};
}

template <class Net>
double train_eval(Net& net, const Vqa& train, const Vqa& test, int epochs, double lr, uint64_t seed, const std::string& name,
                  double* first_loss, double* last_loss) {
  net.collect_params().initialize(init::Xavier());
  Trainer trainer(net.collect_params(), std::make_unique<optim::Adam>(optim::OptimizerOptions().lr(lr)));
  loss::SoftmaxCrossEntropyLoss ce;
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{train.text, train.image, train.answer});
  data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(seed).last_batch("discard"));
  for (int e = 0; e < epochs; ++e) {
    double total = 0;
    int64_t n = 0;
    for (const auto& b : loader) {
      NDArray l;
      {
        auto rec = autograd::record();
        l = ce(net.run(b[0], b[1]), b[2]);
      }
      l.backward();
      trainer.step(64);
      total += nd::sum(l).asscalar<double>(), n += 64;
    }
    if (e == 0) *first_loss = total / n;
    *last_loss = total / n;
  }
  gluon::metric::Accuracy acc;
  acc.update(test.answer, net.run(test.text, test.image));
  std::printf("  %s: loss %.3f -> %.3f over %d epochs, held-out accuracy %.3f\n", name.c_str(), *first_loss, *last_loss, epochs,
              acc.get().second);
  return acc.get().second;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Visual question answering in gluon",
                   "the book: VQA 1.0 subset as ResNet-152 image (2048) and GNMT question (1024) features, 1000 answers "
                   "(downloaded .npz); here: seeded 32-dim image/question features with a planted rule (the question picks one "
                   "of 4 image attributes; 8 answers). fft/ifft: hgc has no FFT op, the convolution uses DFT matrices (GEMMs)",
                   " [--out-dim D]");
  if (ch.help) return 0;
  const int64_t text_dim = 32, img_dim = 32, classes = 8, hidden = 64;
  int64_t out_dim = std::atoi(ch.flag("--out-dim", "128").c_str());
  if (out_dim < 2) out_dim = 128;
  int64_t n_train = ch.quick ? 2048 : 8192;
  Vqa train = make_vqa(n_train, text_dim, img_dim, ch.seed), test = make_vqa(512, text_dim, img_dim, ch.seed + 99);

  // The identity behind MCB: the count sketch of the outer product (with hash h1(i) + h2(j)
  // mod D and sign s1(i) s2(j)) is the circular convolution of the two sketches.
  {
    const int64_t a = 6, b = 5, D = 16;
    std::mt19937 g(static_cast<uint32_t>(ch.seed));
    Hash ha = draw_hash(a, D, g), hb = draw_hash(b, D, g);
    NDArray x = nd::random::normal(0, 1, {3, a}), y = nd::random::normal(0, 1, {3, b});
    NDArray outer = (x.reshape({3, a, 1}) * y.reshape({3, 1, b})).reshape({3, a * b});
    std::vector<float> hab, sab;
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        hab.push_back(static_cast<float>((ha.hv[i] + hb.hv[j]) % D)), sab.push_back(static_cast<float>(ha.sv[i] * hb.sv[j]));
    NDArray direct = nd::contrib::count_sketch(outer, nd::array(hab, {1, a * b}), nd::array(sab, {1, a * b}), D);
    NDArray conv = Dft(D).circular_conv(nd::contrib::count_sketch(x, ha.h, ha.s, D), nd::contrib::count_sketch(y, hb.h, hb.s, D));
    double err = nd::max(nd::abs(direct - conv)).asscalar<double>();
    ch.claim(err < 1e-4, "count_sketch(x (x) y) == count_sketch(x) * count_sketch(y) (circular convolution): max |diff| ", err);
  }

  int epochs = ch.budget(8, 20);
  double f1 = 0, l1 = 0, f2 = 0, l2 = 0;
  Net1 net1(hidden, classes);
  double acc1 = train_eval(net1, train, test, epochs, 1e-3, ch.seed, "Net1 (concatenation)", &f1, &l1);
  Net2 net2(text_dim, img_dim, out_dim, hidden, classes, ch.seed);
  double acc2 = train_eval(net2, train, test, epochs, 1e-3, ch.seed, "Net2 (compact bilinear, D = " + std::to_string(out_dim) + ")", &f2, &l2);
  ch.claim(l2 < 0.5 * f2 && l1 < 0.5 * f1, "both losses fall by half: concat ", f1, " -> ", l1, ", MCB ", f2, " -> ", l2);
  ch.claim(acc2 > 0.8, "MCB held-out accuracy ", acc2, " passes 0.8 (chance 0.125)");
  ch.claim(acc1 > 0.8, "concatenation baseline held-out accuracy ", acc1, " passes 0.8");
  return ch.finish();
}
