// Chapter "Linear Dynamical Systems with MXNet": Kalman filtering (and the Rauch-Tung-Striebel
// smoother) written with the linalg ops the book uses: gemm2 for every product, potrf for the
// Cholesky factor of the innovation covariance, trsm for the Kalman gain and the whitened
// innovation, sumlogdiag for the log-determinant in the log-likelihood.
#include <array>
#include <random>

#include "book.h"

namespace {
using namespace hgc;
namespace la = nd::linalg;

NDArray f64(const std::vector<double>& v, const std::vector<int64_t>& shape) {
  HostTensor t(DType::f64, shape);
  std::copy(v.begin(), v.end(), t.data<double>());
  return nd::array(t);
}

double scalar(const NDArray& x) { return x.to_vector<double>()[0]; }

struct Lds {
  NDArray A, B, Sh, Sv, mu0, S0;  // transition, emission, noise covariances, prior of h_1
};

struct Filtered {
  std::vector<NDArray> f, F;  // filtered means (H, 1) and covariances (H, H)
  double loglik = 0;
};

// The book's LDS_forward: predict, then update with v_t; log p(v_t | v_<t) from the Cholesky
// factor L of S_vv: -0.5 |L^-1 delta|^2 - sumlogdiag(L) - D/2 log 2 pi.
Filtered kalman_filter(const Lds& m, const std::vector<NDArray>& v) {
  Filtered out;
  int64_t H = m.A.shape()[0], D = m.B.shape()[0];
  NDArray eye = nd::eye(H, 0, 0, DType::f64);
  NDArray mu_h = m.mu0, S_hh = m.S0;
  for (size_t t = 0; t < v.size(); ++t) {
    if (t > 0) {
      mu_h = la::gemm2(m.A, out.f.back());
      S_hh = la::gemm2(m.A, la::gemm2(out.F.back(), m.A, false, true)) + m.Sh;
    }
    NDArray mu_v = la::gemm2(m.B, mu_h);
    NDArray S_hh_Bt = la::gemm2(S_hh, m.B, false, true);
    NDArray S_vv = la::gemm2(m.B, S_hh_Bt) + m.Sv;
    NDArray L = la::potrf(S_vv);
    // K = S_hh B^T S_vv^-1: X L^T = S_hh B^T, then K L = X.
    NDArray K = la::trsm(L, la::trsm(L, S_hh_Bt, true, true), false, true);
    NDArray delta = v[t] - mu_v;
    out.f.push_back(mu_h + la::gemm2(K, delta));
    // Joseph's symmetrized update.
    NDArray ImKB = eye - la::gemm2(K, m.B);
    out.F.push_back(la::gemm2(ImKB, la::gemm2(S_hh, ImKB, false, true)) + la::gemm2(K, la::gemm2(m.Sv, K, false, true)));
    NDArray z = la::trsm(L, delta);
    out.loglik += scalar(-0.5 * nd::sum(z * z) - la::sumlogdiag(L)) - 0.5 * D * std::log(2 * M_PI);
  }
  return out;
}

// RTS smoother: J_t = F_t A^T P^-1 (P = A F_t A^T + S_h, by potrf/trsm), m_t = f_t + J_t (m_t+1
// - A f_t), C_t = F_t + J_t (C_t+1 - P) J_t^T.
std::vector<NDArray> rts_smoother(const Lds& m, const Filtered& fl) {
  size_t T = fl.f.size();
  std::vector<NDArray> ms(T);
  ms[T - 1] = fl.f[T - 1];
  NDArray C = fl.F[T - 1];
  for (size_t t = T - 1; t-- > 0;) {
    NDArray P = la::gemm2(m.A, la::gemm2(fl.F[t], m.A, false, true)) + m.Sh;
    NDArray L = la::potrf(P);
    NDArray FAt = la::gemm2(fl.F[t], m.A, false, true);
    NDArray J = la::trsm(L, la::trsm(L, FAt, true, true), false, true);
    ms[t] = fl.f[t] + la::gemm2(J, ms[t + 1] - la::gemm2(m.A, fl.f[t]));
    C = fl.F[t] + la::gemm2(J, la::gemm2(C - P, J, false, true));
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Linear dynamical systems: Kalman filtering and smoothing with linalg ops",
                   "the book: a synthetic rotating 2-D state (Barber, Example 24.3) observed through its first "
                   "coordinate; here the same system, seeded (theta = pi/6, state noise 0.1, observation noise 0.5)",
                   " [--steps T]");
  if (ch.help) return 0;
  const int T = std::stoi(ch.flag("--steps", ch.quick ? "200" : "500"));
  const double alpha = 0.1, sigma = 0.5, theta = M_PI / 6;
  const double c = std::cos(theta), s = std::sin(theta);
  Lds m;
  m.A = f64({c, -s, s, c}, {2, 2});
  m.B = f64({1, 0}, {1, 2});
  m.Sh = f64({alpha * alpha, 0, 0, alpha * alpha}, {2, 2});
  m.Sv = f64({sigma * sigma}, {1, 1});
  m.mu0 = f64({c, s}, {2, 1});  // A (1, 0)^T: the book starts from h_0 = (1, 0)
  m.S0 = m.Sh;

  // h_1 ~ N(mu0, S_h); h_t+1 = A h_t + eps_h; v_t = B h_t + eps_v.
  std::mt19937 rng(static_cast<uint32_t>(ch.seed));
  std::normal_distribution<double> n01(0, 1);
  std::vector<std::array<double, 2>> h(T);
  std::vector<double> obs(T);
  std::array<double, 2> x{c + alpha * n01(rng), s + alpha * n01(rng)};
  for (int t = 0; t < T; ++t) {
    if (t > 0) x = {c * x[0] - s * x[1] + alpha * n01(rng), s * x[0] + c * x[1] + alpha * n01(rng)};
    h[t] = x;
    obs[t] = x[0] + sigma * n01(rng);
  }
  std::vector<NDArray> v;
  for (int t = 0; t < T; ++t) v.push_back(f64({obs[t]}, {1, 1}));

  Filtered fl = kalman_filter(m, v);
  std::vector<NDArray> sm = rts_smoother(m, fl);
  double se_obs = 0, se_f = 0, se_s = 0, se_f0 = 0;
  std::vector<double> plot_v, plot_f, plot_h;
  for (int t = 0; t < T; ++t) {
    std::vector<double> f = fl.f[t].to_vector<double>(), g = sm[t].to_vector<double>();
    se_obs += (obs[t] - h[t][0]) * (obs[t] - h[t][0]);
    se_f0 += (f[0] - h[t][0]) * (f[0] - h[t][0]);
    se_f += (f[0] - h[t][0]) * (f[0] - h[t][0]) + (f[1] - h[t][1]) * (f[1] - h[t][1]);
    se_s += (g[0] - h[t][0]) * (g[0] - h[t][0]) + (g[1] - h[t][1]) * (g[1] - h[t][1]);
    plot_v.push_back(obs[t]), plot_f.push_back(f[0]), plot_h.push_back(h[t][0]);
  }
  double rmse_obs = std::sqrt(se_obs / T), rmse_f0 = std::sqrt(se_f0 / T), rmse_f = std::sqrt(se_f / (2 * T)), rmse_s = std::sqrt(se_s / (2 * T));
  std::printf("  %d steps: observation error %.3f (sigma %.2f); filtered error of the observed coordinate %.3f; "
              "state RMSE filtered %.3f, smoothed %.3f\n", T, rmse_obs, sigma, rmse_f0, rmse_f, rmse_s);

  // The direct computation: v_1..v_T are jointly Gaussian. E v_t = B A^(t-1) mu0 and, for s <= t,
  // Cov(v_s, v_t) = B A^(t-s) P_s B^T (+ sigma^2 when s = t), P_1 = S_0, P_s = A P_s-1 A^T + S_h;
  // log N(v; mean, Sigma) = -0.5 |L^-1 (v - mean)|^2 - sumlogdiag(L) - T/2 log 2 pi, L = potrf(Sigma).
  std::vector<double> mean(T), cov(size_t(T) * T);
  {
    using M2 = std::array<double, 4>;
    auto mul = [](const M2& a, const M2& b) {
      return M2{a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
    };
    M2 A{c, -s, s, c}, At{c, s, -s, c};
    std::vector<M2> P(T);
    std::array<double, 2> mu{c, s};
    for (int t = 0; t < T; ++t) {
      P[t] = t == 0 ? M2{alpha * alpha, 0, 0, alpha * alpha} : mul(mul(A, P[t - 1]), At);
      if (t > 0) P[t][0] += alpha * alpha, P[t][3] += alpha * alpha;
      if (t > 0) mu = {c * mu[0] - s * mu[1], s * mu[0] + c * mu[1]};
      mean[t] = mu[0];
    }
    for (int a = 0; a < T; ++a) {
      M2 Ak{1, 0, 0, 1};
      for (int b = a; b < T; ++b) {
        M2 X = mul(Ak, P[a]);
        double cv = X[0] + (a == b ? sigma * sigma : 0.0);  // B X B^T with B = (1, 0)
        cov[size_t(a) * T + b] = cov[size_t(b) * T + a] = cv;
        Ak = mul(A, Ak);
      }
    }
  }
  NDArray L = la::potrf(f64(cov, {T, T}));
  NDArray z = la::trsm(L, f64(obs, {T, 1}) - f64(mean, {T, 1}));
  double ll_direct = scalar(-0.5 * nd::sum(z * z) - la::sumlogdiag(L)) - 0.5 * T * std::log(2 * M_PI);
  std::printf("  log-likelihood: Kalman recursion %.6f, joint Gaussian (%dx%d Cholesky) %.6f\n", fl.loglik, T, T, ll_direct);

  ch.claim(rmse_f0 < 0.6 * rmse_obs, "the filtered state error is far below the observation noise (", rmse_f0,
           " < 0.6 * ", rmse_obs, ")");
  ch.claim(rmse_s < rmse_f, "the smoother, using the whole sequence, beats the filter (", rmse_s, " < ", rmse_f, ")");
  ch.claim(std::abs(fl.loglik - ll_direct) < 1e-6 * (1 + std::abs(ll_direct)),
           "the log-likelihood from potrf/trsm/sumlogdiag in the recursion equals the direct joint-Gaussian one (",
           fl.loglik, " vs ", ll_direct, ")");
  ch.claim(book::write_svg_plot(ch.path("lds.svg"), "observations, filtered mean, true state",
                                {{"data", plot_v}, {"filtered", plot_f}, {"state", plot_h}}),
           "the plot is written to ", ch.path("lds.svg"));
  return ch.finish();
}
