// GluonNLP attention layers: DotProductAttentionCell, MultiHeadAttentionCell, PositionwiseFFN.
// Values against loops written out here in double precision, hybridized == imperative
// (1e-5 relative), deferred shapes, GluonNLP's parameter names, training in both modes to
// the same weights, and export -> SymbolBlock::imports.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "support/paths.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

using Mat = std::vector<std::vector<double>>;  // rows

// Row b of a (B, L, D) array as an L x D matrix.
Mat rows_of(const std::vector<float>& v, int64_t b, int64_t L, int64_t D) {
  Mat m(L, std::vector<double>(D));
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < D; ++j) m[i][j] = v[(b * L + i) * D + j];
  return m;
}

// x W^T (+ bias): W (units, in) row-major.
Mat linear(const Mat& x, const std::vector<float>& w, int64_t units, const std::vector<float>* bias = nullptr) {
  int64_t in = static_cast<int64_t>(x[0].size());
  Mat y(x.size(), std::vector<double>(units));
  for (size_t i = 0; i < x.size(); ++i)
    for (int64_t u = 0; u < units; ++u) {
      double s = bias ? (*bias)[u] : 0;
      for (int64_t k = 0; k < in; ++k) s += x[i][k] * w[u * in + k];
      y[i][u] = s;
    }
  return y;
}

// Scaled dot-product attention of one (q, k, v) with an optional 0/1 mask (GluonNLP's):
// returns weights (q x m) and context (q x dv).
std::pair<Mat, Mat> attend(const Mat& q, const Mat& k, const Mat& v, const Mat* mask) {
  size_t nq = q.size(), nm = k.size(), d = q[0].size(), dv = v[0].size();
  Mat w(nq, std::vector<double>(nm)), ctx(nq, std::vector<double>(dv, 0));
  for (size_t i = 0; i < nq; ++i) {
    double mx = -1e300;
    for (size_t j = 0; j < nm; ++j) {
      double s = 0;
      for (size_t t = 0; t < d; ++t) s += q[i][t] * k[j][t];
      s /= std::sqrt(double(d));
      if (mask && (*mask)[i][j] == 0) s = -1e18;
      w[i][j] = s;
      mx = std::max(mx, s);
    }
    double z = 0;
    for (size_t j = 0; j < nm; ++j) z += (w[i][j] = std::exp(w[i][j] - mx));
    for (size_t j = 0; j < nm; ++j) {
      w[i][j] /= z;
      if (mask) w[i][j] *= (*mask)[i][j];
      for (size_t t = 0; t < dv; ++t) ctx[i][t] += w[i][j] * v[j][t];
    }
  }
  return {w, ctx};
}

Mat cols(const Mat& m, size_t begin, size_t n) {
  Mat r(m.size(), std::vector<double>(n));
  for (size_t i = 0; i < m.size(); ++i)
    for (size_t j = 0; j < n; ++j) r[i][j] = m[i][begin + j];
  return r;
}

void check_mat(const std::vector<float>& got, size_t offset, const Mat& want, size_t stride, double tol = 1e-5) {
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j) {
      double g = got[offset + i * stride + j];
      INFO("row ", i, " col ", j);
      CHECK(std::abs(g - want[i][j]) <= tol * (1 + std::abs(want[i][j])));
    }
}

// A BST-like encoder: multi-head self-attention with a mask, projection, add & norm, FFN.
class Encoder : public HybridBlock {
 public:
  explicit Encoder(int64_t units, int64_t heads) : HybridBlock("encoder") {
    auto scope = name_scope();
    cell = register_child(std::make_shared<nn::MultiHeadAttentionCell>(nn::MultiHeadAttentionOptions(units, heads).use_bias(false)),
                          "cell");
    proj = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(units).use_bias(false).flatten(false)), "proj");
    norm = register_child(std::make_shared<nn::LayerNorm>(nn::NormOptions().in_channels(units)), "layer_norm");
    ffn = register_child(
        std::make_shared<nn::PositionwiseFFN>(nn::PositionwiseFFNOptions(units, 2 * units).activation("leakyrelu")), "ffn");
  }
  // (x, mask) -> (encoded, attention weights)
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    const NDArray& x = xs[0];
    auto [ctx, w] = (*cell)(x, x, x, xs[1]);
    NDArray y = (*norm)(x + (*proj)(ctx));
    return {(*ffn)(y), w};
  }
  std::shared_ptr<nn::MultiHeadAttentionCell> cell;
  std::shared_ptr<nn::Dense> proj;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::PositionwiseFFN> ffn;
};

NDArray causal_mask(int64_t batch, int64_t len) {
  std::vector<float> m;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < len; ++i)
      for (int64_t j = 0; j < len; ++j) m.push_back(j <= i ? 1.f : 0.f);
  return nd::array(m, {batch, len, len});
}

}  // namespace

TEST_CASE("gluon attention: DotProductAttentionCell against a hand computation, masks, hybridized") {
  NameManager names;
  nd::random::seed(21);
  const int64_t B = 2, Q = 3, M = 4, D = 5, DV = 3;
  NDArray q = nd::random::normal(0, 1, {B, Q, D}), k = nd::random::normal(0, 1, {B, M, D});
  NDArray v = nd::random::normal(0, 1, {B, M, DV});
  // Row 0 of batch 1 fully masked: GluonNLP gives it zero weights (softmax times the mask).
  std::vector<float> mv(B * Q * M, 1.f);
  mv[1] = mv[2 * M + 3] = 0;  // batch 0: (0,1) and (2,3) masked
  for (int64_t j = 0; j < M; ++j) mv[Q * M + j] = 0;
  NDArray mask = nd::array(mv, {B, Q, M});

  auto cell = std::make_shared<nn::DotProductAttentionCell>();
  CHECK(cell->name() == "dotproductattentioncell0");
  CHECK(cell->collect_params().empty());
  cell->initialize();
  for (bool with_mask : {false, true}) {
    CAPTURE(with_mask);
    cell->hybridize(false);
    auto [ctx, w] = (*cell)(q, k, v, with_mask ? mask : NDArray());
    CHECK(ctx.shape() == std::vector<int64_t>{B, Q, DV});
    CHECK(w.shape() == std::vector<int64_t>{B, Q, M});
    auto qv = q.to_vector<float>(), kv = k.to_vector<float>(), vv = v.to_vector<float>();
    auto wv = w.to_vector<float>(), cv = ctx.to_vector<float>();
    for (int64_t b = 0; b < B; ++b) {
      Mat mb = rows_of(mv, b, Q, M);
      auto [ww, cw] = attend(rows_of(qv, b, Q, D), rows_of(kv, b, M, D), rows_of(vv, b, M, DV), with_mask ? &mb : nullptr);
      check_mat(wv, b * Q * M, ww, M);
      check_mat(cv, b * Q * DV, cw, DV);
    }
    if (with_mask) {
      CHECK(wv[1] == 0.f);
      for (int64_t j = 0; j < M; ++j) CHECK(wv[Q * M + j] == 0.f);
    }
    cell->hybridize();
    auto [hc, hw] = (*cell)(q, k, v, with_mask ? mask : NDArray());
    check_close(hc, ctx);
    check_close(hw, w);
  }
  CHECK(cell->cache_stats().misses == 2);  // 3 and 4 inputs: two signatures
  // value omitted (undefined): the key is the value.
  cell->hybridize(false);
  NDArray kk = nd::random::normal(0, 1, {B, M, D});
  check_close((*cell)(q, kk, NDArray()).first, (*cell)(q, kk, kk).first, 0);
  CHECK_THROWS_WITH_AS((*cell)(q, k, v, nd::ones({B, Q, M + 1})), doctest::Contains("mask"), Error);
  CHECK_THROWS_WITH_AS((*cell)(q, nd::ones({B, M, D + 1}), v), doctest::Contains("same last dim"), Error);
}

TEST_CASE("gluon attention: DotProductAttentionCell with units, luong style, normalized, dropout") {
  NameManager names;
  nd::random::seed(3);
  auto cell = std::make_shared<nn::DotProductAttentionCell>(nn::DotProductAttentionOptions().units(6).use_bias(false));
  auto keys = cell->collect_params().keys();
  CHECK(keys == std::vector<std::string>{"dotproductattentioncell0_query_weight", "dotproductattentioncell0_key_weight"});
  CHECK(cell->proj_query->weight->shape() == std::vector<int64_t>{6, 0});  // deferred
  cell->initialize(init::Xavier());
  NDArray q = nd::random::normal(0, 1, {2, 3, 4}), k = nd::random::normal(0, 1, {2, 5, 7});
  NDArray v = nd::random::normal(0, 1, {2, 5, 2});
  auto [ctx, w] = (*cell)(q, k, v);
  CHECK(cell->proj_query->weight->shape() == std::vector<int64_t>{6, 4});
  CHECK(cell->proj_key->weight->shape() == std::vector<int64_t>{6, 7});
  // Against the projections done by hand.
  auto wq = cell->proj_query->weight->data().to_vector<float>(), wk = cell->proj_key->weight->data().to_vector<float>();
  auto qv = q.to_vector<float>(), kv = k.to_vector<float>(), vv = v.to_vector<float>();
  for (int64_t b = 0; b < 2; ++b) {
    auto [ww, cw] = attend(linear(rows_of(qv, b, 3, 4), wq, 6), linear(rows_of(kv, b, 5, 7), wk, 6), rows_of(vv, b, 5, 2),
                           nullptr);
    check_mat(w.to_vector<float>(), b * 15, ww, 5);
    check_mat(ctx.to_vector<float>(), b * 6, cw, 2);
  }
  cell->hybridize();
  check_close((*cell)(q, k, v).first, ctx);

  // Luong style projects the query only; units must then equal the key's dim.
  auto luong = std::make_shared<nn::DotProductAttentionCell>(nn::DotProductAttentionOptions().units(7).luong_style(true));
  CHECK(luong->collect_params().keys() == std::vector<std::string>{"dotproductattentioncell1_query_weight",
                                                                   "dotproductattentioncell1_query_bias"});
  luong->initialize();
  CHECK((*luong)(q, k, v).second.shape() == std::vector<int64_t>{2, 3, 5});
  CHECK_THROWS_WITH_AS(nn::DotProductAttentionCell(nn::DotProductAttentionOptions().luong_style(true)),
                       doctest::Contains("units"), Error);

  // Cosine attention: the scores of identical normalized vectors are 1 (unscaled).
  auto cosine = std::make_shared<nn::DotProductAttentionCell>(nn::DotProductAttentionOptions().normalized(true).scaled(false));
  NDArray a = nd::array({3, 4, 0, 0, 0, 2}, {1, 2, 3});
  auto [cc, cw] = (*cosine)(a, a, a);
  auto cwv = cw.to_vector<float>();  // scores [[1, 0], [0, 1]] -> softmax
  CHECK(cwv[0] == doctest::Approx(std::exp(1.0) / (std::exp(1.0) + 1)).epsilon(1e-5));
  CHECK(cwv[1] == doctest::Approx(1 / (std::exp(1.0) + 1)).epsilon(1e-5));

  // Dropout on the weights: identity in predict mode; in training, zeros and 1/(1-p) scaling.
  auto drop = std::make_shared<nn::DotProductAttentionCell>(nn::DotProductAttentionOptions().dropout(0.5));
  NDArray big = nd::random::normal(0, 1, {4, 8, 3});
  NDArray pw = (*drop)(big, big, big).second;
  NDArray tw;
  {
    TrainMode t;
    tw = (*drop)(big, big, big).second;
  }
  auto pv = pw.to_vector<float>(), tv = tw.to_vector<float>();
  int zeros = 0;
  for (size_t i = 0; i < pv.size(); ++i) {
    if (tv[i] == 0) ++zeros;
    else CHECK(tv[i] == doctest::Approx(2 * pv[i]).epsilon(1e-5));
  }
  CHECK(zeros > 60);
  CHECK(zeros < 196);
}

TEST_CASE("gluon attention: MultiHeadAttentionCell against a per-head hand computation") {
  NameManager names;
  nd::random::seed(8);
  const int64_t B = 2, L = 4, M = 3, D = 6, U = 8, H = 2, DH = U / H;
  auto cell = std::make_shared<nn::MultiHeadAttentionCell>(nn::MultiHeadAttentionOptions(U, H));
  CHECK(cell->collect_params().keys() ==
        std::vector<std::string>{"multiheadattentioncell0_query_weight", "multiheadattentioncell0_query_bias",
                                 "multiheadattentioncell0_key_weight", "multiheadattentioncell0_key_bias",
                                 "multiheadattentioncell0_value_weight", "multiheadattentioncell0_value_bias"});
  CHECK(cell->children()[0].first == "base_cell");
  CHECK(cell->children()[1].first == "proj_query");
  CHECK(cell->proj_value->weight->shape() == std::vector<int64_t>{U, 0});
  cell->initialize(init::Xavier());
  for (const auto& p : cell->collect_params().values())  // nonzero biases, so they are tested
    if (p->name().find("bias") != std::string::npos) p->set_data(nd::random::normal(0, 0.5, {U}));
  NDArray q = nd::random::normal(0, 1, {B, L, D}), kv = nd::random::normal(0, 1, {B, M, D});
  NDArray val = nd::random::normal(0, 1, {B, M, 5});
  std::vector<float> mv(B * L * M, 1.f);
  mv[2] = mv[M + 0] = mv[L * M + 4] = 0;
  NDArray mask = nd::array(mv, {B, L, M});
  auto [ctx, w] = (*cell)(q, kv, val, mask);
  CHECK(ctx.shape() == std::vector<int64_t>{B, L, U});
  CHECK(w.shape() == std::vector<int64_t>{B, H, L, M});
  CHECK(cell->proj_value->weight->shape() == std::vector<int64_t>{U, 5});

  auto P = [&](const std::shared_ptr<nn::Dense>& d) {
    return std::pair{d->weight->data().to_vector<float>(), d->bias->data().to_vector<float>()};
  };
  auto [wq, bq] = P(cell->proj_query);
  auto [wk, bk] = P(cell->proj_key);
  auto [wv, bv] = P(cell->proj_value);
  auto qv = q.to_vector<float>(), kvv = kv.to_vector<float>(), vv = val.to_vector<float>();
  auto got_w = w.to_vector<float>(), got_c = ctx.to_vector<float>();
  for (int64_t b = 0; b < B; ++b) {
    Mat pq = linear(rows_of(qv, b, L, D), wq, U, &bq), pk = linear(rows_of(kvv, b, M, D), wk, U, &bk);
    Mat pv = linear(rows_of(vv, b, M, 5), wv, U, &bv), mb = rows_of(mv, b, L, M);
    for (int64_t h = 0; h < H; ++h) {
      auto [ww, cw] = attend(cols(pq, h * DH, DH), cols(pk, h * DH, DH), cols(pv, h * DH, DH), &mb);
      check_mat(got_w, (b * H + h) * L * M, ww, M);
      check_mat(got_c, b * L * U + h * DH, cw, U);  // head h's context: columns h*DH.. of the output
    }
  }
  cell->hybridize();
  auto [hc, hw] = (*cell)(q, kv, val, mask);
  check_close(hc, ctx);
  check_close(hw, w);

  CHECK_THROWS_WITH_AS(nn::MultiHeadAttentionCell(nn::MultiHeadAttentionOptions(10, 3)),
                       doctest::Contains("divided exactly by the number of heads"), Error);
  // A given base cell (GluonNLP: the base cell is built by the caller) is used and registered.
  auto base = std::make_shared<nn::DotProductAttentionCell>(nn::DotProductAttentionOptions().scaled(false));
  auto custom = std::make_shared<nn::MultiHeadAttentionCell>(nn::MultiHeadAttentionOptions(U, 4).base_cell(base).use_bias(false));
  CHECK(custom->base_cell == base);
  CHECK(custom->collect_params().size() == 3);
}

TEST_CASE("gluon attention: PositionwiseFFN against a hand computation (leakyrelu, residual, layer norm)") {
  NameManager names;
  nd::random::seed(5);
  const int64_t N = 2, L = 3, U = 4, Hd = 6;
  for (bool ffn2_act : {false, true}) {
    CAPTURE(ffn2_act);
    auto ffn = std::make_shared<nn::PositionwiseFFN>(
        nn::PositionwiseFFNOptions(U, Hd).activation("leakyrelu").ffn2_activation(ffn2_act).layer_norm_eps(1e-3));
    std::string pre = ffn->prefix();
    CHECK(ffn->collect_params().keys() == std::vector<std::string>{pre + "ffn_1_weight", pre + "ffn_1_bias",
                                                                   pre + "ffn_2_weight", pre + "ffn_2_bias",
                                                                   pre + "layernorm0_gamma", pre + "layernorm0_beta"});
    CHECK(ffn->ffn_1->weight->shape() == std::vector<int64_t>{Hd, 0});
    ffn->initialize(init::Xavier());
    for (const auto& p : ffn->collect_params().values())
      if (p->name().find("bias") != std::string::npos || p->name().find("gamma") != std::string::npos ||
          p->name().find("beta") != std::string::npos)
        p->set_data(nd::random::normal(0, 0.5, p->shape()));
    NDArray x = nd::random::normal(0, 1, {N, L, U});
    NDArray y = (*ffn)(x);
    CHECK(ffn->ffn_1->weight->shape() == std::vector<int64_t>{Hd, U});
    auto w1 = ffn->ffn_1->weight->data().to_vector<float>(), b1 = ffn->ffn_1->bias->data().to_vector<float>();
    auto w2 = ffn->ffn_2->weight->data().to_vector<float>(), b2 = ffn->ffn_2->bias->data().to_vector<float>();
    auto g = ffn->layer_norm->gamma->data().to_vector<float>(), be = ffn->layer_norm->beta->data().to_vector<float>();
    auto leaky = [](Mat m) {
      for (auto& r : m)
        for (double& v : r) v = v > 0 ? v : 0.1 * v;
      return m;
    };
    auto xv = x.to_vector<float>();
    for (int64_t n = 0; n < N; ++n) {
      Mat xr = rows_of(xv, n, L, U);
      Mat h = linear(leaky(linear(xr, w1, Hd, &b1)), w2, U, &b2);
      if (ffn2_act) h = leaky(h);
      for (int64_t i = 0; i < L; ++i) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < U; ++j) mean += (h[i][j] += xr[i][j]) / U;
        for (int64_t j = 0; j < U; ++j) var += (h[i][j] - mean) * (h[i][j] - mean) / U;
        for (int64_t j = 0; j < U; ++j) h[i][j] = (h[i][j] - mean) / std::sqrt(var + 1e-3) * g[j] + be[j];
      }
      check_mat(y.to_vector<float>(), n * L * U, h, U, 1e-5);
    }
    ffn->hybridize();
    check_close((*ffn)(x), y);
  }
  // Without the residual the input may have another width.
  auto plain = std::make_shared<nn::PositionwiseFFN>(nn::PositionwiseFFNOptions(4, 8).use_residual(false).activation(""));
  plain->initialize();
  CHECK(!plain->activation);
  CHECK((*plain)(nd::ones({1, 2, 3})).shape() == std::vector<int64_t>{1, 2, 4});
  auto res = std::make_shared<nn::PositionwiseFFN>(nn::PositionwiseFFNOptions(4, 8));
  res->initialize();
  CHECK_THROWS_WITH_AS((*res)(nd::ones({1, 2, 3})), doctest::Contains("use_residual"), Error);
}

TEST_CASE("gluon attention: an encoder trains hybridized exactly as imperatively; export round trip") {
  nd::random::seed(17);
  const int64_t B = 3, L = 5, U = 8;
  std::shared_ptr<Encoder> imp, hyb;
  {
    NameManager names;
    imp = std::make_shared<Encoder>(U, 2);
  }
  {
    NameManager names;
    hyb = std::make_shared<Encoder>(U, 2);
  }
  imp->initialize(init::Xavier());
  hyb->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {B, L, U}), mask = causal_mask(B, L);
  NDArray target = nd::random::normal(0, 1, {B, L, U});
  (*imp)({x, mask});  // deferred shapes
  (*hyb)({x, mask});
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]->name() == b[i]->name());
    b[i]->set_data(a[i]->data());
  }
  CHECK(a[0]->name() == "encoder0_multiheadattentioncell0_query_weight");
  CHECK(a[0]->shape() == std::vector<int64_t>{U, U});
  hyb->hybridize();
  for (auto* net : {imp.get(), hyb.get()}) {
    NDArray l;
    {
      auto r = autograd::record();
      l = loss::L2Loss()((*net)({x, mask})[0], target);
    }
    l.backward();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("gradient of ", a[i]->name(), " after one backward");
    check_close(b[i]->grad(), a[i]->grad(), 1e-5);
  }
  Trainer ti(imp->collect_params(), "adam", {{"learning_rate", 0.01}});
  Trainer th(hyb->collect_params(), "adam", {{"learning_rate", 0.01}});
  for (int step = 0; step < 4; ++step) {
    double losses[2];
    int k = 0;
    for (auto [net, tr] : {std::pair{imp.get(), &ti}, std::pair{hyb.get(), &th}}) {
      NDArray l;
      {
        auto r = autograd::record();
        l = loss::L2Loss()((*net)({x, mask})[0], target);
      }
      l.backward();
      tr->step(B);
      losses[k++] = nd::mean(l).asscalar();
    }
    INFO("step ", step, ": imperative ", losses[0], ", hybridized ", losses[1]);
    CHECK(std::abs(losses[0] - losses[1]) <= 1e-5 * (1 + std::abs(losses[0])));
  }
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-4);
  }
  CHECK(hyb->cache_stats().backward_compiles == 1);
  CHECK(hyb->cache_stats().traces == 1);

  // The trained weights moved, and the masked (future) positions got no attention.
  auto w = (*imp)({x, mask})[1];
  CHECK(w.shape() == std::vector<int64_t>{B, 2, L, L});
  CHECK(w.to_vector<float>()[1] == 0.f);

  // export -> SymbolBlock::imports: the same two outputs.
  std::string dir = test::temp_dir();
  std::vector<NDArray> y = (*hyb)({x, mask});
  hyb->export_model(dir + "/encoder", 2);
  auto back = SymbolBlock::imports(dir + "/encoder-symbol.json", {"data0", "data1"}, dir + "/encoder-0002.params");
  CHECK(back->collect_params().size() == hyb->collect_params().size());
  std::vector<NDArray> z = (*back)({x, mask});
  REQUIRE(z.size() == 2);
  CHECK(z[0].to_vector<float>() == y[0].to_vector<float>());
  CHECK(z[1].to_vector<float>() == y[1].to_vector<float>());
  std::filesystem::remove_all(dir);
}

TEST_CASE("gluon attention: dropout in training compiles (masks as inputs, one gradient graph) and trains") {
  NameManager names;
  nd::random::seed(2);
  auto cell = std::make_shared<nn::MultiHeadAttentionCell>(nn::MultiHeadAttentionOptions(4, 2).dropout(0.3));
  cell->initialize();
  cell->hybridize();
  NDArray x = nd::random::normal(0, 1, {2, 3, 4});
  NDArray l;
  {
    auto r = autograd::record();
    l = nd::sum((*cell)(x, x, x).first);
  }
  l.backward();
  CHECK(nd::sum(nd::abs(cell->proj_value->weight->grad())).asscalar() > 0);
  CHECK(cell->cache_stats().backward_compiles == 1);  // no imperative fallback
  CHECK((*cell)(x, x, x).first.shape() == std::vector<int64_t>{2, 3, 4});  // predict: compiled
}
