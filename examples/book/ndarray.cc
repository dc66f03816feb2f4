// Chapter "Manipulate data the MXNet way with ndarray": creation, operations, in-place
// updates that keep the buffer, slicing views, broadcasting, conversion to host values and
// contexts (copies between cpu(0) and cpu(1); mixing them in one op is an error).
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Manipulate data the MXNet way with ndarray", "none (the book uses random arrays)");
  if (ch.help) return 0;
  using namespace hgc;

  NDArray x = nd::empty({3, 4});
  ch.claim(x.shape() == std::vector<int64_t>{3, 4}, "nd.empty((3, 4)) has shape (3, 4)");
  ch.claim(nd::sum(nd::zeros({3, 5})).asscalar<float>() == 0 && nd::sum(nd::ones({3, 4})).asscalar<float>() == 12,
           "zeros sum to 0, ones((3, 4)) to 12");
  NDArray y = nd::random::normal(0, 1, {3, 4});
  std::cout << y << "\n";
  ch.claim(x.size() == 12, "x.size == 12");

  x = nd::ones({3, 4});
  NDArray s = x + y, p = x * y, e = nd::exp(y), d = nd::dot(x, y.T());
  auto yv = y.to_vector<float>(), sv = s.to_vector<float>(), pv = p.to_vector<float>(), ev = e.to_vector<float>();
  bool ew = true;
  for (size_t i = 0; i < yv.size(); ++i)
    ew = ew && std::abs(sv[i] - (1 + yv[i])) < 1e-6 && std::abs(pv[i] - yv[i]) < 1e-6 && std::abs(ev[i] - std::exp(yv[i])) < 1e-4;
  ch.claim(ew, "x + y, x * y and exp(y) are elementwise");
  ch.claim(d.shape() == std::vector<int64_t>{3, 3}, "nd.dot(x, y.T) has shape (3, 3)");

  // In-place: y[:] = x + y and += keep y's buffer (the book checks id(y) before and after).
  NDArray before = y;
  y.assign(x + y);
  y += x;
  ch.claim(y.shares_storage(before), "y[:] = x + y and y += x write into y's own memory");

  // Slicing: x[1:3] is a view; writing through it changes x.
  NDArray z = nd::zeros({4, 3});
  z.slice(1, 3).fill_(9);
  z.index_put_({1, Slice(1, 3)}, 5.0);
  auto zv = z.to_vector<float>();
  ch.claim(zv[3] == 9 && zv[4] == 5 && zv[5] == 5 && zv[6] == 9 && zv[0] == 0, "x[1:3] = 9 then x[1, 1:3] = 5 as in numpy");

  // Broadcasting: (3, 1) + (1, 2) -> (3, 2).
  NDArray a = nd::arange(0, 3).reshape({3, 1}), b = nd::arange(0, 2).reshape({1, 2});
  NDArray ab = a + b;
  ch.claim(ab.shape() == std::vector<int64_t>{3, 2} && ab.to_vector<float>() == std::vector<float>{0, 1, 1, 2, 2, 3},
           "broadcasting (3, 1) + (1, 2) gives (3, 2)");

  // To host values (the book's asnumpy) and back.
  std::vector<float> host = ab.to_vector<float>();
  ch.claim(nd::array(host, {3, 2}).to_vector<float>() == host, "values round-trip through host memory");

  // Contexts: the book's gpu(0) examples run on cpu(1) here (and gpu(0) when one is present).
  NDArray c1 = x.copyto(cpu(1));
  ch.claim(c1.context() == cpu(1) && c1.to_vector<float>() == x.to_vector<float>(), "x.copyto(cpu(1)) holds x's values");
  bool mixed_error = false;
  try {
    (void)(x + c1);
  } catch (const hgc::Error& err) {
    mixed_error = std::string(err.what()).find("cpu(1)") != std::string::npos;
  }
  ch.claim(mixed_error, "watch out: x + z across cpu(0) and cpu(1) is an error naming the contexts");
  NDArray back = c1.as_in_context(cpu(1));
  ch.claim(back.shares_storage(c1), "as_in_context on the same context returns the array itself");
  if (num_gpus() > 0) ch.claim(x.copyto(gpu(0)).to_vector<float>() == x.to_vector<float>(), "x.copyto(gpu(0)) round-trips");
  return ch.finish();
}
