// The two BST recommenders (models/bst): the MXNet seed's click model (BSTRec) and the
// PyTorch seed's next-item transformer (BSTransformer). Each trains briefly, hybridized, on
// seeded synthetic sequences with planted tastes and beats a popularity baseline on held-out
// rows; hybridized == imperative with the same weights; export -> SymbolBlock::imports gives
// the same output; bad inputs raise hgc::Error.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "bst/bst_common.h"
#include "bst/bst_mxnet.h"
#include "bst/bst_torch.h"
#include "bst/synthetic.h"
#include "support/paths.h"
#include "models/cli_check.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// max |a - b| / max(1, |b|).
double max_rel_diff(const NDArray& a, const NDArray& b) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]) / std::max(1.0, std::abs(double(y[i]))));
  return worst;
}

models::ClickDataOptions small_clicks() {
  models::ClickDataOptions o;
  o.n_train = 2000;
  o.n_test = 600;
  o.n_items = 24;
  o.n_tastes = 3;
  o.seq_len = 12;
  return o;
}

models::NextItemOptions small_next_items() {
  models::NextItemOptions o;
  o.n_train = 3000;
  o.n_test = 500;
  o.n_items = 120;
  o.n_tastes = 6;
  o.max_len = 6;
  return o;
}

models::BSTConfig small_config(int64_t n_items) {
  models::BSTConfig c;
  c.item_embed = {n_items, 32};
  c.mlp_hidden = 128;
  return c;
}

}  // namespace

TEST_CASE("models: BST tables, AUC, hit-rate and the seed's batch_fn") {
  // _position_encoding_init_BST: p / 10000^(2i/d).
  auto t = models::bst_position_table(4, 8);
  CHECK(t[3 * 8 + 0] == doctest::Approx(3.0));
  CHECK(t[2 * 8 + 3] == doctest::Approx(2.0 / std::pow(10000.0, 6.0 / 8)));
  // The PyTorch seed's table for max_seq_len 2, dim 4 by hand: half = 2, freqs {1, 1e-4}; a =
  // stack(sin, cos) = [[[0, 0], [sin 1, sin 1e-4]], [[1, 1], [cos 1, cos 1e-4]]] viewed as
  // (2, 4) rows r0 = [0, 0, sin 1, sin 1e-4], r1 = [1, 1, cos 1, cos 1e-4]; transposed (4, 2)
  // and viewed (2, 4): [r0[0], r1[0], r0[1], r1[1]], [r0[2], r1[2], r0[3], r1[3]].
  auto s = models::bst_sinusoidal_table(2, 4);
  std::vector<float> want{0, 1, 0, 1, std::sin(1.0f), std::cos(1.0f), std::sin(1e-4f), std::cos(1e-4f)};
  for (size_t i = 0; i < want.size(); ++i) CHECK(s[i] == doctest::Approx(want[i]).epsilon(1e-6));

  // AUC: 3 of the 4 positive/negative pairs ordered right; ties count half.
  CHECK(models::auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) == doctest::Approx(0.75));
  CHECK(models::auc({0.5f, 0.5f, 0.2f}, {1, 0, 0}) == doctest::Approx(0.75));
  CHECK_THROWS_WITH_AS(models::auc({0.1f, 0.2f}, {1, 1}), doctest::Contains("both"), Error);
  CHECK_THROWS_AS(models::auc({0.1f}, {1, 0}), Error);

  NDArray sc = nd::array(std::vector<float>{0.1f, 0.9f, 0.5f, 0.3f, 0.7f, 0.2f, 0.8f, 0.0f}, {2, 4});
  CHECK(models::hit_rate_at_k(sc, {2, 3}, 2) == doctest::Approx(0.5));  // row 0: 2 is 2nd; row 1: 3 is 4th
  CHECK(models::hit_rate_at_k(sc, {2, 3}, 4) == doctest::Approx(1.0));
  CHECK_THROWS_AS(models::hit_rate_at_k(sc, {2, 3}, 5), Error);

  // batch_fn: last max_seq_len items, left-padded with 0; the remainder batch dropped.
  auto b = models::bst_batch_fn({{5, 6, 7, 8}, {9}, {1, 2}}, {{0, 1}, {2, 3}, {4, 5}}, {11, 12, 13}, 2, 3, false);
  REQUIRE(b.size() == 1);
  CHECK(b[0].x.to_vector<float>() == std::vector<float>{6, 7, 8, 0, 0, 9});
  CHECK(b[0].context.to_vector<float>() == std::vector<float>{0, 1, 2, 3});
  CHECK(b[0].target.to_vector<float>() == std::vector<float>{11, 12});
  CHECK_THROWS_AS(models::bst_batch_fn({{1}}, {}, {1}, 1, 3, false), Error);

  // The click data: the target item alone says nothing (its click rate scores AUC ~0.5).
  auto d = models::make_click_data(small_clicks());
  CHECK(d.train.x.shape() == std::vector<int64_t>{2000, 12});
  CHECK(d.train.other.shape() == std::vector<int64_t>{2000, 4});
  CHECK(d.n_other == 32);
  double base = models::auc(models::item_ctr_scores(d), d.test.y.to_vector<float>());
  CHECK(std::abs(base - 0.5) < 0.08);
}

TEST_CASE("models: BSTRec (MXNet seed) learns clicks, hybridized == imperative, export, errors") {
  auto d = models::make_click_data(small_clicks());
  const auto yt = d.test.y.to_vector<float>();
  double base = models::auc(models::item_ctr_scores(d), yt);
  auto opts = models::BSTRecOptions().sequence_length(12).items(d.n_items).other_values(d.n_other);
  nd::random::seed(100);
  models::BSTRec net(opts);
  net.initialize(init::Xavier());
  // The seed's BST positional rows have norms up to ~1.2 * position; with small item
  // embeddings (Xavier, or the seed's default Uniform(0.07)) attention sees positions only and
  // nothing is learned in this budget, so the embeddings start at N(0, 3^2).
  net.features->initialize(init::Normal(3.0), true);
  net.otherfeatures->initialize(init::Normal(3.0), true);
  CHECK(net.collect_params().contains("rec0_position_weight"));
  CHECK(net.position_weight->grad_req() == "null");
  NDArray x8 = d.test.x.slice(0, 8), o8 = d.test.other.slice(0, 8);
  NDArray before = net(x8, o8);
  CHECK(before.shape() == std::vector<int64_t>{8, 1});
  net.hybridize();
  // Same weights, compiled vs op by op (predict mode): float32 reassociation only.
  CHECK(max_rel_diff(net(x8, o8), before) <= 1e-5);

  Trainer trainer(net.collect_params(), "adam", {{"learning_rate", 3e-3}});
  loss::SigmoidBinaryCrossEntropyLoss bce;
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.train.x, d.train.other, d.train.y}),
                          data::DataLoaderOptions(64).shuffle(true).seed(3));
  double first_epoch = 0, last_epoch = 0;
  const int epochs = 6;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double sum = 0;
    for (const auto& b : loader) {
      NDArray l;
      {
        auto r = autograd::record();
        l = nd::sum(bce(net(b[0], b[1]), b[2]));
      }
      l.backward();
      trainer.step(b[0].shape()[0]);
      sum += l.asscalar();
    }
    (epoch == 0 ? first_epoch : last_epoch) = sum / 2000;
  }
  double a = models::auc(net(d.test.x, d.test.other).to_vector<float>(), yt);
  MESSAGE("BSTRec held-out AUC ", a, " vs item click rate ", base, "; train loss ", first_epoch, " -> ", last_epoch);
  CHECK(last_epoch < first_epoch - 0.05);
  CHECK(a > base + 0.15);
  CHECK(net.cache_stats().backward_compiles >= 1);  // trained as one compiled tape node

  // The trained weights in an imperative twin; with a mask input too.
  auto dir = test::temp_dir();
  net.save_parameters(dir + "/bstrec.params");
  models::BSTRec plain(opts);
  plain.load_parameters(dir + "/bstrec.params");
  NDArray want = net(x8, o8);
  CHECK(max_rel_diff(plain(x8, o8), want) <= 1e-5);
  std::vector<float> m(8 * 12 * 12);
  for (size_t i = 0; i < m.size(); ++i) m[i] = (i % 12) <= (i / 12) % 12 ? 1.0f : 0.0f;  // causal
  NDArray mask = nd::array(m, {8, 12, 12});
  NDArray masked = net(x8, o8, mask);
  CHECK(max_rel_diff(plain(x8, o8, mask), masked) <= 1e-5);
  CHECK(max_rel_diff(masked, want) > 1e-4);  // the mask matters

  // Export (the last compiled graph: the masked one) and import.
  net.export_model(dir + "/bstrec", 0);
  auto imported = SymbolBlock::imports(dir + "/bstrec-symbol.json", {"data0", "data1", "data2"}, dir + "/bstrec-0000.params");
  CHECK(max_rel_diff((*imported)(std::vector<NDArray>{x8, o8, mask}).at(0), masked) <= 1e-6);
  test::check_hgc_cli(dir + "/bstrec", 0, {{"data0", x8}, {"data1", o8}, {"data2", mask}}, masked);

  // Bad inputs.
  CHECK_THROWS_WITH_AS(net(d.test.x.slice_axis(1, 0, 10).slice(0, 8), o8), doctest::Contains("(batch, 12)"), Error);
  NDArray bad = x8.copy();
  bad.index_put_({0, 3}, static_cast<double>(d.n_items));
  CHECK_THROWS_WITH_AS(net(bad, o8), doctest::Contains("item ids"), Error);
  NDArray neg = o8.copy();
  neg.index_put_({1, 0}, -1.0);
  CHECK_THROWS_WITH_AS(plain(x8, neg), doctest::Contains("x_other"), Error);
  CHECK_THROWS_WITH_AS(net(x8, o8, nd::ones({8, 12, 11})), doctest::Contains("mask"), Error);
  CHECK_THROWS_WITH_AS(models::BSTRec(models::BSTRecOptions().heads(5)), doctest::Contains("num_heads"), Error);
}

TEST_CASE("models: BSTransformer (PyTorch seed) learns next items, hybridized == imperative, export, errors") {
  auto d = models::make_next_item_data(small_next_items());
  auto cfg = small_config(d.n_items);
  auto test = models::bst_batch_fn(d.test.seq, d.test.context, d.test.target, d.test.seq.size(), cfg.max_seq_len, false);
  double base = models::hit_rate_at_k(models::popularity_next_item_scores(d, d.test.seq.size()), d.test.target, 10);
  nd::random::seed(7);
  models::BSTransformer net(cfg);
  net.initialize(init::Xavier());
  NDArray x8 = test[0].x.slice(0, 8), c8 = test[0].context.slice(0, 8);
  NDArray before = net(x8, c8);
  CHECK(before.shape() == std::vector<int64_t>{8, d.n_items});
  net.hybridize();
  CHECK(max_rel_diff(net(x8, c8), before) <= 1e-5);

  auto sched = std::make_shared<lr_scheduler::MultiFactorScheduler>(std::vector<int64_t>{120},
                                                                    lr_scheduler::MultiFactorOptions().factor(0.3).base_lr(3e-3));
  Trainer trainer(net.collect_params(), "adamw", {{"wd", 0.01}}, sched);
  std::vector<NDArray> grads;
  for (auto& p : net.collect_params().values())
    if (p->grad_req() != "null") grads.push_back(p->grad());
  loss::SoftmaxCrossEntropyLoss ce;
  std::mt19937_64 rng(5);
  double first = 0, last = 0;  // mean loss of the first 5 steps, of the last epoch
  int steps = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    double sum = 0;
    int n = 0;
    for (const auto& b : models::bst_batch_fn(d.train.seq, d.train.context, d.train.target, 64, cfg.max_seq_len, true, &rng)) {
      NDArray l;
      {
        auto r = autograd::record();
        l = nd::mean(ce(net(b.x, b.context), b.target));
      }
      l.backward();
      double norm = utils::clip_global_norm(grads, 5.0);
      REQUIRE(std::isfinite(norm));
      trainer.step(1);
      if (steps++ < 5) first += l.asscalar() / 5;
      sum += l.asscalar();
      ++n;
    }
    last = sum / n;
  }
  double hr = models::hit_rate_at_k(net(test[0].x, test[0].context), d.test.target, 10);
  MESSAGE("BSTransformer held-out hit-rate@10 ", hr, " vs popularity ", base, "; loss ", first, " -> ", last);
  CHECK(last < first - 0.5);
  CHECK(hr > base + 0.15);
  CHECK(trainer.learning_rate() == doctest::Approx(3e-3 * 0.3));

  auto dir = test::temp_dir();
  net.save_parameters(dir + "/bst.params");
  models::BSTransformer plain(cfg);
  plain.load_parameters(dir + "/bst.params");
  NDArray want = net(x8, c8);
  CHECK(max_rel_diff(plain(x8, c8), want) <= 1e-5);
  // Export (the graph last compiled: the 500 held-out rows) and import; the graph has no
  // fixed batch size, so it runs the 8 rows.
  net.export_model(dir + "/bst", 0);
  auto imported = SymbolBlock::imports(dir + "/bst-symbol.json", {"data0", "data1"}, dir + "/bst-0000.params");
  CHECK(max_rel_diff((*imported)(std::vector<NDArray>{x8, c8}).at(0), want) <= 1e-6);
  test::check_hgc_cli(dir + "/bst", 0, {{"data0", x8}, {"data1", c8}}, want);

  // Shorter sequences use the first rows of the tables (pos_embedding[:L]).
  NDArray x3 = x8.slice_axis(1, 3, 6);
  CHECK(max_rel_diff(net(x3, c8), plain(x3, c8)) <= 1e-5);

  CHECK_THROWS_WITH_AS(net(nd::ones({2, 7}), nd::zeros({2, 2})), doctest::Contains("max_seq_len"), Error);
  CHECK_THROWS_WITH_AS(net(nd::full({2, 6}, static_cast<double>(d.n_items)), nd::zeros({2, 2})), doctest::Contains("item ids"), Error);
  CHECK_THROWS_WITH_AS(net(nd::ones({2, 6}), nd::full({2, 2}, 5.0)), doctest::Contains("context column 1"), Error);
  CHECK_THROWS_WITH_AS(plain(nd::ones({2, 6}), nd::zeros({2, 3})), doctest::Contains("context"), Error);
  models::BSTConfig bad;
  bad.input_size = 16;
  CHECK_THROWS_WITH_AS(models::BSTransformer{bad}, doctest::Contains("input_size"), Error);
}

TEST_CASE("models: BST forwards match PyTorch (bench/parity/bst_parity.py; fails without torch)") {
  // A Python with numpy and torch: Debian's python3-torch installs them for /usr/bin/python3.
  std::string py;
  for (std::string cand : {"/usr/bin/python3", "python3"})
    if (std::system((cand + " -c 'import numpy, torch' >/dev/null 2>&1").c_str()) == 0) {
      py = cand;
      break;
    }
  // torch is an oracle the project installs (scripts/setup.sh): its absence fails.
  REQUIRE_MESSAGE(!py.empty(), "no python3 with numpy and torch: run scripts/setup.sh (python3-torch python3-numpy)");
  auto dir = test::temp_dir();
  nd::random::seed(21);
  // The MXNet seed's Rec at its own sizes, hybridized, with a causal mask (its optional mask).
  models::BSTRec rec;
  rec.initialize(init::Xavier());
  rec.hybridize();
  NDArray x = nd::floor(nd::random::uniform(0, 32, {4, 32})), other = nd::floor(nd::random::uniform(0, 32, {4, 32}));
  std::vector<float> m(4 * 32 * 32);
  for (size_t i = 0; i < m.size(); ++i) m[i] = (i % 32) <= (i / 32) % 32 ? 1.0f : 0.0f;
  NDArray mask = nd::array(m, {4, 32, 32});
  models::dump_npy(dir + "/rec", rec, {{"x", x}, {"x_other", other}, {"mask", mask}, {"out", rec(x, other, mask)}});
  // The PyTorch seed's config, hybridized; rows with padding (and fully masked pad queries).
  models::BSTransformer bst;
  bst.initialize(init::Xavier());
  bst.hybridize();
  NDArray xs = nd::array(std::vector<float>{0, 0, 0, 0, 7, 9, 0, 1, 2, 3, 4, 5, 12, 499, 3, 3, 80, 1, 0, 0, 0, 0, 0, 42}, {4, 6});
  NDArray ctx = nd::array(std::vector<float>{0, 0, 5, 3, 2, 1, 4, 2}, {4, 2});
  models::dump_npy(dir + "/bst", bst, {{"x", xs}, {"context", ctx}, {"out", bst(xs, ctx)}});
  std::string cmd = py + " " + test::source_path("bench/parity/bst_parity.py") + " " + dir + "/rec " + dir + "/bst 2>&1";
  MESSAGE(cmd);
  CHECK(std::system(cmd.c_str()) == 0);
}
