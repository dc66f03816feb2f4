// Chapters "Linear algebra" and "Intermediate linear algebra": scalars, vectors, matrices,
// tensors, elementwise ops, sums and means, dot products, matrix-vector and matrix-matrix
// products, norms; orthogonality, symmetric and positive definite matrices.
#include "book.h"

namespace {
bool near(double a, double b, double tol = 1e-4) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Linear algebra / Intermediate linear algebra", "none (small literal arrays)");
  if (ch.help) return 0;
  using namespace hgc;

  NDArray x = nd::array({3.0f}), y = nd::array({2.0f});
  ch.claim(near((x + y).asscalar<float>(), 5) && near((x * y).asscalar<float>(), 6) && near((x / y).asscalar<float>(), 1.5) &&
               near(nd::power(x, y).asscalar<float>(), 9),
           "scalars: 3 + 2, 3 * 2, 3 / 2, 3 ** 2");
  NDArray u = nd::arange(4);
  ch.claim(u.shape() == std::vector<int64_t>{4} && u.to_vector<float>()[3] == 3, "u = arange(4) is a vector of length 4");
  NDArray A = nd::zeros({5, 4}), B = nd::arange(20).reshape({5, 4});
  ch.claim(B.T().shape() == std::vector<int64_t>{4, 5} && B.T().to_vector<float>()[1] == 4, "B.T swaps the axes");
  NDArray X = nd::arange(24).reshape({2, 3, 4});
  ch.claim(X.ndim() == 3, "tensors: arange(24).reshape((2, 3, 4)) has 3 axes");

  NDArray a = nd::array({1, 2, 3, 4}), b = nd::array({2, 2, 2, 2});
  ch.claim((a * b).to_vector<float>() == std::vector<float>{2, 4, 6, 8}, "Hadamard product a * b");
  ch.claim(near(nd::sum(a).asscalar<float>(), 10) && near(nd::mean(a).asscalar<float>(), 2.5),
           "sum(a) = 10 and mean(a) = 2.5 = sum / size");
  ch.claim(near(nd::dot(a, b).asscalar<float>(), 20) && near(nd::sum(a * b).asscalar<float>(), 20), "dot(a, b) = sum(a * b) = 20");

  NDArray M = nd::arange(12).reshape({3, 4});
  NDArray Mv = nd::dot(M, a);
  ch.claim(Mv.to_vector<float>() == std::vector<float>{20, 60, 100}, "matrix-vector product dot(A, u)");
  NDArray MM = nd::dot(M, nd::ones({4, 3}));
  ch.claim(MM.shape() == std::vector<int64_t>{3, 3} && MM.to_vector<float>()[0] == 6, "matrix-matrix product dot(A, B)");

  // Norms: the L2 norm via nd.norm, the L1 norm as sum(abs).
  NDArray n2 = nd::norm(nd::array({3, 4}));
  ch.claim(near(n2.asscalar<float>(), 5) && near(nd::sum(nd::abs(nd::array({3, -4}))).asscalar<float>(), 7),
           "norm([3, 4]) = 5 and the L1 norm of [3, -4] is 7");

  // Intermediate: orthogonal vectors, a rotation matrix (orthogonal: Q^T Q = I), symmetric
  // and positive definite matrices (x^T A x > 0 for random x).
  ch.claim(near(nd::dot(nd::array({1, 1}), nd::array({1, -1})).asscalar<float>(), 0), "[1, 1] and [1, -1] are orthogonal");
  float c = std::cos(0.3f), s = std::sin(0.3f);
  NDArray Q = nd::array({c, -s, s, c}, {2, 2});
  NDArray QtQ = nd::dot(Q.T(), Q);
  auto q = QtQ.to_vector<float>();
  ch.claim(near(q[0], 1) && near(q[3], 1) && std::abs(q[1]) < 1e-6, "a rotation Q is orthogonal: Q^T Q = I");
  NDArray R = nd::random::normal(0, 1, {4, 4});
  NDArray S = R + R.T();
  ch.claim(nd::max(nd::abs(S - S.T())).asscalar<float>() == 0, "R + R^T is symmetric");
  NDArray P = nd::dot(R, R.T()) + nd::array({0.1f, 0, 0, 0, 0, 0.1f, 0, 0, 0, 0, 0.1f, 0, 0, 0, 0, 0.1f}, {4, 4});
  bool pd = true;
  for (int k = 0; k < 20; ++k) {
    NDArray v = nd::random::normal(0, 1, {4, 1});
    pd = pd && nd::dot(v.T(), nd::dot(P, v)).asscalar<float>() > 0;
  }
  ch.claim(pd, "R R^T + 0.1 I is positive definite: x^T A x > 0 for 20 random x");
  return ch.finish();
}
