// mx.nd.linalg (nd/linalg.h): the values MXNet 1.9 documents for each la_op operator, the
// identities that define them (L L^T = A, op(A) X = alpha B, potri(L) A = I) on random
// batches in both triangles, errors that name the op, and the ops inside a hybridized block.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/nd/array_ops.h"
#include "hgc/frontend/nd/linalg.h"
#include "hgc/frontend/nd/op.h"
#include "support/nd_close.h"

using namespace hgc;
namespace la = nd::linalg;

namespace {
using V = std::vector<float>;
using S = std::vector<int64_t>;
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }

// A batch of symmetric positive definite matrices: X X^T / n + I.
NDArray spd(int64_t batch, int64_t n, DType dt = DType::f32) {
  NDArray x = nd::random::normal(0, 1, {batch, n, n}).astype(dt);
  return la::syrk(x, false, 1.0 / static_cast<double>(n)) + nd::eye(n, 0, 0, dt);
}
}  // namespace

TEST_CASE("nd.linalg: MXNet's documented examples") {
  NDArray a = nd::ones({2, 2}), b = nd::ones({3, 2}), c = nd::ones({2, 3});
  CHECK(vals(la::gemm(a, b, c, false, true, 2.0, 10.0)) == V(6, 14));
  NDArray ab = nd::array({1, 1, 0.1f, 0.1f}, {2, 1, 2});
  test::check_close(vals(la::gemm(ab, ab, nd::array({10, 0.01f}, {2, 1, 1}), false, true, 2.0, 10.0)), V{104, 0.14f});
  test::check_close(vals(la::gemm2(ab, ab, false, true, 2.0)), V{4, 0.04f});
  CHECK(la::gemm2(a, b, false, true, 2.0).shape() == S{2, 3});
  CHECK(vals(la::gemm2(a, b, false, true, 2.0)) == V(6, 4));

  NDArray p = nd::array({4, 1, 1, 4.25f, 16, 4, 4, 17}, {2, 2, 2});
  CHECK(vals(la::potrf(p)) == V{2, 0, 0.5f, 2, 4, 0, 1, 4});
  NDArray l = nd::array({2, 0, 0.5f, 2, 4, 0, 1, 4}, {2, 2, 2});
  test::check_close(vals(la::potri(l)), V{0.265625f, -0.0625f, -0.0625f, 0.25f, 0.06640625f, -0.015625f, -0.015625f, 0.0625f});

  NDArray t = nd::array({1, 0, 1, 1}, {2, 2});
  CHECK(vals(la::trmm(t, nd::ones({2, 3}), false, false, true, 2.0)) == V{2, 2, 2, 4, 4, 4});
  NDArray rhs = nd::array({2, 2, 2, 4, 4, 4}, {2, 3});
  CHECK(vals(la::trsm(t, rhs, false, false, true, 0.5)) == V(6, 1));
  NDArray tb = nd::array({1, 0, 1, 1, 1, 0, 1, 1}, {2, 2, 2});
  NDArray rb = nd::array({2, 2, 2, 4, 4, 4, 4, 4, 4, 8, 8, 8}, {2, 2, 3});
  CHECK(vals(la::trsm(tb, rb, false, false, true, 0.5)) == V{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});

  // The flags by hand: A = [[2, 0], [1, 1]] (lower), I the identity.
  NDArray a2 = nd::array({2, 0, 1, 1}, {2, 2}), i2 = nd::eye(2);
  CHECK(vals(la::trmm(a2, i2, true)) == V{2, 1, 0, 1});                // A^T
  CHECK(vals(la::trmm(a2, nd::array({1, 2, 3, 4}, {2, 2}), false, true)) == V{4, 2, 10, 4});  // B A
  CHECK(vals(la::trsm(a2, i2)) == V{0.5f, 0, -0.5f, 1});               // A^-1
  CHECK(vals(la::trsm(a2, i2, true)) == V{0.5f, -0.5f, 0, 1});         // A^-T X = I
  CHECK(vals(la::trsm(a2, i2, false, true)) == V{0.5f, 0, -0.5f, 1});  // X A = I
  CHECK(vals(la::trsm(a2, i2, true, true)) == V{0.5f, -0.5f, 0, 1});   // X A^T = I
  CHECK(vals(la::trsm(nd::array({2, 1, 0, 1}, {2, 2}), i2, false, false, false)) == V{0.5f, -0.5f, 0, 1});  // upper
  NDArray s = nd::array({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(vals(la::syrk(s)) == V{14, 32, 32, 77});
  CHECK(vals(la::syrk(s, true)) == V{17, 22, 27, 22, 29, 36, 27, 36, 45});
  test::check_close(vals(la::syrk(ab, false, 2.0)), V{4, 0.04f});

  NDArray d = nd::array({1, 1, 1, 7}, {2, 2});
  CHECK(la::sumlogdiag(d).shape() == S{1});
  test::check_close(vals(la::sumlogdiag(d)), V{1.9459f}, 1e-4);
  test::check_close(vals(la::sumlogdiag(nd::array({1, 1, 1, 7, 3, 0, 0, 17}, {2, 2, 2}))), V{1.9459f, 3.9318f}, 1e-4);

  NDArray e = nd::array({1, 2, 3, 4}, {2, 2});
  CHECK(vals(la::extractdiag(e)) == V{1, 4});
  CHECK(vals(la::extractdiag(e, 1)) == V{2});
  CHECK(vals(la::extractdiag(e, -1)) == V{3});
  CHECK(vals(la::extractdiag(nd::array({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}))) == V{1, 4, 5, 8});
  CHECK(vals(la::makediag(nd::array({1, 2}))) == V{1, 0, 0, 2});
  CHECK(vals(la::makediag(nd::array({1, 2}), 1)) == V{0, 1, 0, 0, 0, 2, 0, 0, 0});
  CHECK(la::makediag(e).shape() == S{2, 2, 2});
  CHECK(vals(la::makediag(e)) == V{1, 0, 0, 2, 3, 0, 0, 4});
  // The aliases MXNet registers reach the same ops.
  CHECK(vals(nd::op("linalg_potrf", {}, {p})) == vals(la::potrf(p)));
  CHECK(vals(nd::op("linalg_extractdiag", {{"offset", int64_t(1)}}, {e})) == V{2});
}

TEST_CASE("nd.linalg: Cholesky, solves and inverse satisfy their identities (both triangles, float32 and float64)") {
  nd::random::seed(3);
  for (DType dt : {DType::f32, DType::f64}) {
    double tol = dt == DType::f32 ? 2e-5 : 1e-12;
    NDArray a = spd(3, 5, dt);
    NDArray eye = nd::eye(5, 0, 0, dt);
    // Lower: A = L L^T, L lower triangular with a positive diagonal.
    NDArray l = la::potrf(a);
    test::check_close(la::gemm2(l, l, false, true).astype(DType::f32), a.astype(DType::f32), tol);
    std::vector<double> lv = l.to_vector<double>();
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 5; ++j) {
          double x = lv[(b * 5 + i) * 5 + j];
          if (j > i) CHECK(x == 0.0);
          if (i == j) CHECK(x > 0.0);
        }
    // Upper: A = U^T U, U = L^T.
    NDArray u = la::potrf(a, false);
    test::check_close(u.astype(DType::f32), nd::swapaxes(l, 1, 2).astype(DType::f32), tol);
    // potri gives A^-1 from either factor.
    test::check_close(la::gemm2(la::potri(l), a).astype(DType::f32), nd::broadcast_to(eye, {3, 5, 5}).astype(DType::f32), 10 * tol);
    test::check_close(la::potri(u, false).astype(DType::f32), la::potri(l).astype(DType::f32), 10 * tol);
    // trsm solves, with every flag, what trmm multiplies back.
    NDArray bl = nd::random::normal(0, 1, {3, 5, 2}).astype(dt), br = nd::random::normal(0, 1, {3, 2, 5}).astype(dt);
    for (bool lower : {true, false})
      for (bool tr : {false, true})
        for (bool right : {false, true}) {
          CAPTURE(lower);
          CAPTURE(tr);
          CAPTURE(right);
          NDArray f = lower ? l : u, rhs = right ? br : bl;
          NDArray x = la::trsm(f, rhs, tr, right, lower, 2.0);
          test::check_close(la::trmm(f, x, tr, right, lower).astype(DType::f32), (rhs * 2.0).astype(DType::f32), 10 * tol);
          // The other triangle is never read: garbage there changes nothing.
          NDArray junk = f + nd::eye(5, 0, lower ? 1 : -1, dt) * 100.0;
          CHECK(la::trsm(junk, rhs, tr, right, lower, 2.0).to_vector<double>() == x.to_vector<double>());
        }
  }
}

TEST_CASE("nd.linalg: bad input is an hgc::Error naming the op") {
  auto message = [](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message([] { la::potrf(nd::ones({2, 3})); });
  CHECK(m.find("_linalg_potrf") != std::string::npos);
  CHECK(m.find("square") != std::string::npos);
  m = message([] { la::gemm2(nd::ones({2, 3}), nd::ones({2, 3})); });
  CHECK(m.find("incompatible") != std::string::npos);
  m = message([] { la::gemm2(nd::ones({2, 3, 4}), nd::ones({3, 4, 5})); });
  CHECK(m.find("batch dims") != std::string::npos);
  m = message([] { la::trsm(nd::ones({3, 3}), nd::ones({2, 3})); });
  CHECK(m.find("incompatible") != std::string::npos);
  m = message([] { la::syrk(nd::ones({2, 3}).astype(DType::i32)); });
  CHECK(m.find("float32 and float64") != std::string::npos);
  m = message([] { la::extractdiag(nd::ones({3, 3}), 3); });
  CHECK(m.find("offset") != std::string::npos);
  m = message([] { la::sumlogdiag(nd::ones({3})); });
  CHECK(m.find("rank >= 2") != std::string::npos);
}

namespace {
// log N(v; 0, S) for a batch of covariances, the way the Kalman filter chapter computes it.
class GaussLogLik : public gluon::HybridBlock {
 public:
  GaussLogLik() : HybridBlock("gauss") {}
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    NDArray l = la::potrf(xs[0]);
    NDArray z = la::trsm(l, xs[1]);
    return {-0.5 * nd::sum(z * z, {1, 2}) - la::sumlogdiag(l)};
  }
};
}  // namespace

TEST_CASE("nd.linalg: the ops trace into a hybridized block and give the imperative values") {
  nd::random::seed(5);
  NDArray s = spd(4, 3), v = nd::random::normal(0, 1, {4, 3, 1});
  auto net = std::make_shared<GaussLogLik>();
  NDArray want = (*net)(std::vector<NDArray>{s, v})[0];
  net->hybridize();
  NDArray got = (*net)(std::vector<NDArray>{s, v})[0];
  test::check_close(got, want, 1e-5);
  // A second batch size compiles again (the linalg kernels are generated for static shapes).
  NDArray s2 = spd(2, 3), v2 = nd::random::normal(0, 1, {2, 3, 1});
  NDArray got2 = (*net)(std::vector<NDArray>{s2, v2})[0];
  net->hybridize(false);
  test::check_close(got2, (*net)(std::vector<NDArray>{s2, v2})[0], 1e-5);
}
