// Chapter "Exponential Smoothing and Innovation State Space Model (ISSM)": a level +
// seasonality ISSM (state: the level and one factor per season; a_t and g_t pick the current
// season), filtered by the book's ISSM_filter written with linalg ops (gemm2, syrk, potrf,
// trsm, sumlogdiag) on a batch of series at once, and its parameters (level and seasonal
// innovation strengths, observation noise) fitted by gradient descent on the Kalman
// log-likelihood: autograd runs back through every linalg op of the recursion.
#include <random>

#include "book.h"

namespace {
using namespace hgc;
namespace la = nd::linalg;

constexpr int kSeasons = 4;             // period m
constexpr int64_t kState = 1 + kSeasons;  // level + one factor per season

NDArray f64(const std::vector<double>& v, const std::vector<int64_t>& shape) {
  HostTensor t(DType::f64, shape);
  std::copy(v.begin(), v.end(), t.data<double>());
  return nd::array(t);
}

// e_0 (the level) and e_0 + e_{1 + season}: the innovation and observation directions, per
// season, tiled over the batch of series (gemm2 wants equal batch dims).
struct Coeffs {
  std::vector<NDArray> level, season, a;  // each (S, H, 1)
};
Coeffs coefficients(int64_t S) {
  Coeffs c;
  for (int k = 0; k < kSeasons; ++k) {
    std::vector<double> lv(S * kState, 0), sv(S * kState, 0);
    for (int64_t b = 0; b < S; ++b) lv[b * kState] = 1, sv[b * kState + 1 + k] = 1;
    c.level.push_back(f64(lv, {S, kState, 1}));
    c.season.push_back(f64(sv, {S, kState, 1}));
    c.a.push_back(c.level.back() + c.season.back());
  }
  return c;
}

struct Params {
  NDArray log_alpha, log_gamma, log_sigma;  // (1,) each: alpha, gamma, sigma > 0
  double alpha() const { return std::exp(log_alpha.to_vector<double>()[0]); }
  double gamma() const { return std::exp(log_gamma.to_vector<double>()[0]); }
  double sigma() const { return std::exp(log_sigma.to_vector<double>()[0]); }
};

struct FilterOut {
  NDArray nll;              // mean negative log-likelihood per observation
  NDArray mu, S;            // the state after the last step (S, H, 1), (S, H, H)
};

// ISSM_filter over z (S, T): predicted state N(mu_h, S_hh); sigma_v^2 = a^T S_hh a + sigma^2
// with Cholesky factor L (1x1 here, potrf all the same); K = S_hh a / sigma_v^2 by two trsm;
// the filtered covariance S_hh - X X^T with X = S_hh a L^-T (syrk); then the next prediction
// adds g g^T (syrk). -log p(z_t | z_<t) = 0.5 |L^-1 delta|^2 + sumlogdiag(L) + 0.5 log 2 pi.
FilterOut issm_filter(const Params& p, const Coeffs& c, const NDArray& z, int64_t T, const NDArray& m0, const NDArray& S0) {
  int64_t S = z.shape()[0];
  NDArray alpha = nd::exp(p.log_alpha), gamma = nd::exp(p.log_gamma), var = nd::exp(p.log_sigma * 2.0);
  NDArray mu = m0, Sc = S0, total;
  for (int64_t t = 0; t < T; ++t) {
    int k = static_cast<int>(t % kSeasons);
    const NDArray& a = c.a[k];
    NDArray Sa = la::gemm2(Sc, a);
    NDArray L = la::potrf(la::gemm2(a, Sa, true) + var);
    NDArray delta = z.slice_axis(1, t, t + 1).reshape({S, 1, 1}) - la::gemm2(a, mu, true);
    NDArray X = la::trsm(L, Sa, true, true);  // X L^T = S_hh a
    NDArray K = la::trsm(L, X, false, true);  // K L = X
    NDArray e = la::trsm(L, delta);
    NDArray nll = 0.5 * nd::sum(e * e, {1, 2}) + la::sumlogdiag(L);
    total = t == 0 ? nll : total + nll;
    mu = mu + la::gemm2(K, delta);
    // F = I: predict the next state by adding the innovation g_t g_t^T.
    NDArray g = c.level[k] * alpha + c.season[k] * gamma;
    Sc = Sc - la::syrk(X) + la::syrk(g);
  }
  return {nd::mean(total) / static_cast<double>(T) + 0.5 * std::log(2 * M_PI), mu, Sc};
}

}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Exponential smoothing and innovation state space models (ISSM)",
                   "the book: the beer-shipment series (downloaded CSV) with fixed parameters; here seeded synthetic "
                   "seasonal series (period 4) with planted level/seasonal innovation strengths 0.3/0.15 and "
                   "observation noise 0.2, and the parameters are learned",
                   " [--series S]");
  if (ch.help) return 0;
  const int64_t S = std::stoi(ch.flag("--series", ch.quick ? "16" : "64"));
  const int64_t T = 40, horizon = 8;
  const int steps = ch.budget(80, 200);
  const double alpha = 0.3, gamma = 0.15, sigma = 0.2;

  // x_0 ~ N(0, I); z_t = a_t^T x_t + sigma nu_t; x_t+1 = x_t + g_t eps_t.
  std::mt19937 rng(static_cast<uint32_t>(ch.seed));
  std::normal_distribution<double> n01(0, 1);
  std::vector<double> zall(S * (T + horizon));
  for (int64_t b = 0; b < S; ++b) {
    std::vector<double> x(kState);
    for (double& v : x) v = n01(rng);
    for (int64_t t = 0; t < T + horizon; ++t) {
      int k = static_cast<int>(t % kSeasons);
      zall[b * (T + horizon) + t] = x[0] + x[1 + k] + sigma * n01(rng);
      double eps = n01(rng);
      x[0] += alpha * eps;
      x[1 + k] += gamma * eps;
    }
  }
  std::vector<double> ztrain;
  for (int64_t b = 0; b < S; ++b)
    for (int64_t t = 0; t < T; ++t) ztrain.push_back(zall[b * (T + horizon) + t]);
  NDArray z = f64(ztrain, {S, T});
  Coeffs c = coefficients(S);
  NDArray m0 = nd::zeros({S, kState, 1}, DType::f64);
  NDArray S0 = nd::broadcast_to(nd::eye(kState, 0, 0, DType::f64).reshape({1, kState, kState}), {S, kState, kState});

  auto make = [](double a, double g, double s) {
    return Params{f64({std::log(a)}, {1}), f64({std::log(g)}, {1}), f64({std::log(s)}, {1})};
  };
  Params planted = make(alpha, gamma, sigma);
  double nll_planted = issm_filter(planted, c, z, T, m0, S0).nll.to_vector<double>()[0];

  // Gradient descent (Adam) from a deliberately poor start.
  Params p = make(1.0, 1.0, 1.0);
  std::vector<NDArray*> ps{&p.log_alpha, &p.log_gamma, &p.log_sigma};
  for (NDArray* x : ps) x->attach_grad();
  gluon::optim::Adam adam(gluon::optim::OptimizerOptions().lr(0.1));
  std::vector<double> curve;
  for (int it = 0; it < steps; ++it) {
    NDArray loss;
    {
      auto rec = autograd::record();
      loss = issm_filter(p, c, z, T, m0, S0).nll;
    }
    loss.backward();
    curve.push_back(loss.to_vector<double>()[0]);
    for (size_t i = 0; i < ps.size(); ++i) adam.update(i, *ps[i], ps[i]->grad());
  }
  double nll_fit = issm_filter(p, c, z, T, m0, S0).nll.to_vector<double>()[0];
  std::printf("  NLL per observation: start %.4f -> fitted %.4f (planted parameters %.4f) in %d steps\n", curve.front(),
              nll_fit, nll_planted, steps);
  std::printf("  parameters: alpha %.3f (planted %.2f), gamma %.3f (%.2f), sigma %.3f (%.2f)\n", p.alpha(), alpha,
              p.gamma(), gamma, p.sigma(), sigma);

  // Forecast: with F = I the state mean stays, so z_T+h = a_T+h^T mu_T.
  auto forecast_mse = [&](const Params& q) {
    NDArray mu = issm_filter(q, c, z, T, m0, S0).mu;
    std::vector<double> m = mu.to_vector<double>();
    double se = 0;
    for (int64_t b = 0; b < S; ++b)
      for (int64_t h = 0; h < horizon; ++h) {
        int64_t t = T + h;
        double pred = m[b * kState] + m[b * kState + 1 + t % kSeasons], y = zall[b * (T + horizon) + t];
        se += (pred - y) * (pred - y);
      }
    return se / static_cast<double>(S * horizon);
  };
  double mse_fit = forecast_mse(p), mse_planted = forecast_mse(planted), se_naive = 0;
  for (int64_t b = 0; b < S; ++b)
    for (int64_t h = 0; h < horizon; ++h) {
      double y = zall[b * (T + horizon) + T + h], last = zall[b * (T + horizon) + T - 1];
      se_naive += (y - last) * (y - last);
    }
  double mse_naive = se_naive / static_cast<double>(S * horizon);
  std::printf("  %lld-step forecast MSE: fitted ISSM %.4f, planted ISSM %.4f, naive (last value) %.4f\n",
              static_cast<long long>(horizon), mse_fit, mse_planted, mse_naive);

  ch.claim(curve.back() < curve.front() - 0.2, "the negative log-likelihood falls (", curve.front(), " -> ", curve.back(), ")");
  ch.claim(nll_fit <= nll_planted + 0.01, "the fit reaches the likelihood of the planted parameters (", nll_fit,
           " <= ", nll_planted, " + 0.01)");
  ch.claim(std::abs(p.sigma() - sigma) < 0.35 * sigma && std::abs(p.alpha() - alpha) < 0.35 * alpha,
           "alpha and sigma are recovered within 35% (", p.alpha(), ", ", p.sigma(), ")");
  ch.claim(mse_fit < 0.6 * mse_naive, "the fitted ISSM forecasts beat the naive last-value forecast (", mse_fit, " < 0.6 * ",
           mse_naive, ")");
  ch.claim(book::write_svg_plot(ch.path("issm_nll.svg"), "ISSM negative log-likelihood", {{"nll", curve}}),
           "the learning curve is written to ", ch.path("issm_nll.svg"));
  return ch.finish();
}
