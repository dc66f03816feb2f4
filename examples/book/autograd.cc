// Chapter "Automatic differentiation with autograd": attach_grad, record, backward; head
// gradients and the chain rule; gradients through Python-style control flow.
#include "book.h"

namespace {
// The book's f(a): doubles b until its norm passes 1000, then picks b or 100 b by sign.
hgc::NDArray f(const hgc::NDArray& a) {
  using namespace hgc;
  NDArray b = a * 2;
  while (nd::norm(b).asscalar<float>() < 1000) b = b * 2;
  NDArray c = nd::sum(b).asscalar<float>() > 0 ? b : b * 100;
  return c;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Automatic differentiation with autograd", "none");
  if (ch.help) return 0;
  using namespace hgc;

  NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
  x.attach_grad();
  NDArray z;
  {
    auto rec = autograd::record();
    NDArray y = x * 2;
    z = y * x;
  }
  z.backward();
  auto g = x.grad().to_vector<float>(), xv = x.to_vector<float>();
  bool ok = true;
  for (size_t i = 0; i < g.size(); ++i) ok = ok && std::abs(g[i] - 4 * xv[i]) < 1e-5;
  ch.claim(ok, "z = 2 x * x: dz/dx = 4 x");

  // Head gradients: z.backward(head) scales the chain rule by head.
  NDArray head = nd::array({10, 1, 0.1f, 0.01f}, {2, 2});
  {
    auto rec = autograd::record();
    NDArray y = x * 2;
    z = y * x;
  }
  z.backward(head);
  g = x.grad().to_vector<float>();
  auto hv = head.to_vector<float>();
  ok = true;
  for (size_t i = 0; i < g.size(); ++i) ok = ok && std::abs(g[i] - 4 * xv[i] * hv[i]) < 1e-4 * std::max(1.0f, g[i]);
  ch.claim(ok, "with a head gradient h: dz/dx = 4 x h");

  // Control flow: f is piecewise linear in a, so grad = f(a) / a.
  NDArray a = nd::random::normal(0, 1, {3});
  a.attach_grad();
  NDArray c;
  {
    auto rec = autograd::record();
    c = f(a);
  }
  c.backward();
  auto ag = a.grad().to_vector<float>(), ratio = (c / a).to_vector<float>();
  ok = true;
  for (size_t i = 0; i < ag.size(); ++i) ok = ok && std::abs(ag[i] - ratio[i]) < 1e-3 * std::abs(ratio[i]);
  ch.claim(ok, "through while/if control flow: a.grad == c / a (", ag[0], " vs ", ratio[0], ")");

  // autograd.grad returns gradients without touching .grad (and sees a sigmoid's s (1 - s)).
  NDArray t = nd::array({0.5f, -1, 2});
  t.attach_grad();
  NDArray s;
  {
    auto rec = autograd::record();
    s = nd::sigmoid(t);
  }
  auto gs = autograd::grad({s}, {t})[0].to_vector<float>();
  auto sv = s.to_vector<float>();
  ch.claim(std::abs(gs[2] - sv[2] * (1 - sv[2])) < 1e-6, "autograd::grad of sigmoid is s (1 - s)");
  return ch.finish();
}
