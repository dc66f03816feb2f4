// NDArray unit tests: printing (numpy 1.14+ layout inside MXNet's footer), views sharing
// storage, in-place writes, indexing, errors, dtype conversion, composed ops, save/load
// round trips, and the first-call vs cached-call latency of imperative ops.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>

#include "hgc/compiler/imperative.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"

using namespace hgc;

namespace {
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
NDArray iota(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return nd::arange(0, static_cast<double>(n)).reshape(shape);
}
}  // namespace

TEST_CASE("ndarray printing follows numpy inside MXNet's footer") {
  CHECK(nd::array({1, 2, 3, 4, 5, 6}, {2, 3}).str() == "\n[[1. 2. 3.]\n [4. 5. 6.]]\n<NDArray 2x3 @cpu(0)>");
  CHECK(nd::array_str(nd::array({1.5f, -2.25f, 3})) == "[ 1.5  -2.25  3.  ]");
  CHECK(nd::array_str(nd::array({0.1f})) == "[0.1]");  // float32's shortest digits, not float64's
  CHECK(nd::array_str(nd::array({1e-5f, 1})) == "[1.e-05 1.e+00]");
  CHECK(nd::array_str(nd::array({1.5e-5f, 1})) == "[1.5e-05 1.0e+00]");
  CHECK(nd::array_str(nd::array({1.f / 3, 2})) == "[0.33333334 2.        ]");
  float inf = std::numeric_limits<float>::infinity();
  CHECK(nd::array_str(nd::array({std::nanf(""), 1, -inf})) == "[ nan   1. -inf]");
  CHECK(nd::array_str(iota({2, 2, 2})) == "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]");
  // Rows wrap at 75 columns.
  CHECK(nd::array_str(nd::arange(30)) ==
        "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
        " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]");
  // Over 1000 elements: edges only, and the format is chosen from the shown values.
  CHECK(nd::array_str(nd::arange(2000)) ==
        "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
  // Integers and other dtypes.
  CHECK(nd::array_str(nd::arange(0, 5, 1, DType::i64)) == "[0 1 2 3 4]");
  CHECK(nd::array_str(nd::array({-3, 10, 7}).astype(DType::i32)) == "[-3 10  7]");
  CHECK(nd::array_str(nd::array({0.1f, 0.5f}).astype(DType::f16)) == "[0.1 0.5]");
  CHECK(nd::array_str(nd::array({0.1f, 0.5f}).astype(DType::f64)) == "[0.1 0.5]");
  CHECK(nd::array_str(nd::array({1, 0, 1}).astype(DType::boolean)) == "[ True False  True]");
  CHECK(nd::array_str(nd::array({-1e-5f, 1})) == "[-1.e-05  1.e+00]");
  CHECK(nd::array_str(nd::array({1e20f, -1e-20f}).astype(DType::f64)) == "[ 1.00000002e+20 -9.99999968e-21]");
  std::ostringstream os;
  os << nd::ones({2});
  CHECK(os.str() == "\n[1. 1.]\n<NDArray 2 @cpu(0)>");
}

TEST_CASE("ndarray views share storage; copies do not") {
  NDArray x = iota({4, 3});
  NDArray r = x.reshape({2, -1});  // MXNet's special values, no copy
  CHECK(r.shape() == std::vector<int64_t>{2, 6});
  CHECK(r.shares_storage(x));
  CHECK(x.reshape({0, -1, 1}).shape() == std::vector<int64_t>{4, 3, 1});
  CHECK(x.reshape({-3}).shape() == std::vector<int64_t>{12});
  CHECK(x.expand_dims(1).shares_storage(x));
  CHECK(x.expand_dims(1).shape() == std::vector<int64_t>{4, 1, 3});
  CHECK(x.expand_dims(1).squeeze().shape() == std::vector<int64_t>{4, 3});
  CHECK(x.reshape({4, 1, 3, 1}).squeeze({1}).shape() == std::vector<int64_t>{4, 3, 1});
  CHECK(iota({2, 3, 4}).flatten().shape() == std::vector<int64_t>{2, 12});

  NDArray s = x.slice(1, 3);  // x[1:3]
  CHECK(s.shares_storage(x));
  CHECK(vals(s) == std::vector<float>{3, 4, 5, 6, 7, 8});
  s.fill_(7);  // x[1:3] = 7 shows in x
  CHECK(vals(x) == std::vector<float>{0, 1, 2, 7, 7, 7, 7, 7, 7, 9, 10, 11});
  CHECK(vals(r)[5] == 7);  // and in the reshaped view
  CHECK(x.slice(-1, 100).shape() == std::vector<int64_t>{1, 3});  // Python's clamping
  CHECK(x.slice(3, 1).shape() == std::vector<int64_t>{0, 3});

  NDArray row = x[2];
  CHECK(row.shape() == std::vector<int64_t>{3});
  row += 1;  // in place through a view of a view
  CHECK(vals(x[2]) == std::vector<float>{8, 8, 8});
  CHECK(vals(x[-1]) == std::vector<float>{9, 10, 11});
  CHECK(nd::arange(4)[2].shape() == std::vector<int64_t>{1});  // MXNet: no 0-d arrays

  // Ops read views at their offset, and results of a view are fresh arrays.
  NDArray t = x.slice(2, 4) * 2;
  CHECK(vals(t) == std::vector<float>{16, 16, 16, 18, 20, 22});
  CHECK(!t.shares_storage(x));
  NDArray c = x.copy();
  CHECK(!c.shares_storage(x));
  c.fill_(0);
  CHECK(vals(x)[0] == 0);
  CHECK(vals(x)[11] == 11);
  // An NDArray is a handle: plain copies alias, like Python names.
  NDArray alias = x;
  alias.fill_(1);
  CHECK(nd::sum(x).asscalar() == 12);
}

TEST_CASE("HostTensor::slice0 is an offset view of the same allocation") {
  HostTensor t(DType::f32, {4, 2});
  for (int i = 0; i < 8; ++i) t.data<float>()[i] = static_cast<float>(i);
  HostTensor v = t.slice0(1, 3);
  CHECK(v.shape() == std::vector<int64_t>{2, 2});
  CHECK(v.nbytes() == 16);
  CHECK(v.data<float>()[0] == 2);
  CHECK(v.shares_storage(t));
  CHECK(v.reshaped({4}).shares_storage(t));
  v.data<float>()[3] = 42;
  CHECK(t.data<float>()[5] == 42);
  CHECK(t.slice0(4, 4).numel() == 0);
  CHECK(!t.shares_storage(HostTensor(DType::f32, {4, 2})));
  CHECK_THROWS_WITH_AS(t.slice0(2, 5), doctest::Contains("out of range"), hgc::Error);
  CHECK_THROWS_AS(t.slice0(3, 2), hgc::Error);
  CHECK_THROWS_AS(HostTensor(DType::f32, {}).slice0(0, 0), hgc::Error);
}

TEST_CASE("ndarray in-place ops keep the buffer") {
  NDArray x = nd::ones({2, 3});
  void* buf = x.data_ptr();
  x += nd::array({1, 2, 3});  // broadcast right operand
  x *= 2;
  x -= nd::ones({2, 1});
  x /= 4;
  CHECK(x.data_ptr() == buf);
  CHECK(vals(x) == std::vector<float>{0.75f, 1.25f, 1.75f, 0.75f, 1.25f, 1.75f});
  x.assign(nd::array({5, 6, 7}));  // x[:] = y broadcasts
  CHECK(vals(x) == std::vector<float>{5, 6, 7, 5, 6, 7});
  x.assign(nd::arange(6).reshape({2, 3}).astype(DType::i32));  // converted to x's dtype
  CHECK(vals(x) == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(x.data_ptr() == buf);
  // copyto(other) writes into other's buffer and returns it.
  NDArray y = nd::zeros({2, 3});
  void* ybuf = y.data_ptr();
  NDArray back = x.copyto(y);
  CHECK(y.data_ptr() == ybuf);
  CHECK(back.shares_storage(y));
  CHECK(vals(y) == vals(x));
}

TEST_CASE("ndarray indexing reads and writes") {
  NDArray x = iota({3, 4});
  CHECK(vals(x.index({1})) == std::vector<float>{4, 5, 6, 7});
  CHECK(x.index({1}).shares_storage(x));
  CHECK(x.index({Slice(1, 3)}).shares_storage(x));
  NDArray col = x.index({Slice(), 2});  // x[:, 2]
  CHECK(col.shape() == std::vector<int64_t>{3});
  CHECK(vals(col) == std::vector<float>{2, 6, 10});
  CHECK(x.index({2, -1}).asscalar() == 11);
  CHECK(x.index({Slice(std::nullopt, 2), Slice(-2)}).shape() == std::vector<int64_t>{2, 2});
  CHECK(vals(x.index({Slice(std::nullopt, 2), Slice(-2)})) == std::vector<float>{2, 3, 6, 7});

  x.index_put_({Slice(), 1}, nd::array({-1, -2, -3}));  // x[:, 1] = [-1, -2, -3]
  CHECK(vals(x) == std::vector<float>{0, -1, 2, 3, 4, -2, 6, 7, 8, -3, 10, 11});
  x.index_put_({Slice(0, 2), Slice(2, 4)}, nd::array({9, 8}));  // broadcast over rows
  CHECK(vals(x) == std::vector<float>{0, -1, 9, 8, 4, -2, 9, 8, 8, -3, 10, 11});
  x.index_put_({2}, 0.5);  // x[2] = 0.5: a fill of the row's view
  CHECK(vals(x[2]) == std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f});
  x.index_put_({Slice(1, 1)}, 3.0);  // empty region: nothing happens
  CHECK(vals(x[1]) == std::vector<float>{4, -2, 9, 8});

  NDArray cube = iota({2, 3, 4});
  cube.index_put_({1, Slice(1, 2), Slice(1, 3)}, 100.0);
  CHECK(nd::sum(cube).asscalar() == 276 - (17 + 18) + 200);
  CHECK(cube.index({1, 1, 2}).asscalar() == 100);
  CHECK(cube.index({1, 1, 3}).asscalar() == 19);
}

TEST_CASE("ndarray arithmetic, comparisons and math") {
  NDArray a = nd::array({1, 2, 3, 4}, {2, 2}), b = nd::array({10, 20});
  CHECK(vals(a + b) == std::vector<float>{11, 22, 13, 24});
  CHECK(vals(a - b) == std::vector<float>{-9, -18, -7, -16});
  CHECK(vals(b / a) == std::vector<float>{10, 10, 10.f / 3, 5});
  CHECK(vals(10 - a) == std::vector<float>{9, 8, 7, 6});
  CHECK(vals(4 / a) == std::vector<float>{4, 2, 4.f / 3, 1});
  CHECK(vals(2 * a + 1) == std::vector<float>{3, 5, 7, 9});
  CHECK(vals(-a) == std::vector<float>{-1, -2, -3, -4});
  CHECK(vals(a % 3) == std::vector<float>{1, 2, 0, 1});
  CHECK(vals(a == 2) == std::vector<float>{0, 1, 0, 0});
  CHECK(vals(a > nd::array({2, 2})) == std::vector<float>{0, 0, 1, 1});
  CHECK(vals(3 <= a) == std::vector<float>{0, 0, 1, 1});
  CHECK(vals(2 > a) == std::vector<float>{1, 0, 0, 0});
  CHECK(vals(a != a) == std::vector<float>{0, 0, 0, 0});
  CHECK(vals(nd::maximum(a, 2.5)) == std::vector<float>{2.5f, 2.5f, 3, 4});
  CHECK(vals(nd::minimum(a, b)) == std::vector<float>{1, 2, 3, 4});
  CHECK(vals(nd::power(a, 2)) == std::vector<float>{1, 4, 9, 16});
  CHECK(vals(nd::relu(a - 2)) == std::vector<float>{0, 0, 1, 2});
  CHECK(vals(nd::abs(-a)) == vals(a));
  CHECK(vals(nd::square(a)) == std::vector<float>{1, 4, 9, 16});
  CHECK(vals(nd::sqrt(nd::square(a))) == vals(a));
  CHECK(nd::sigmoid(nd::zeros({1})).asscalar() == doctest::Approx(0.5));
  CHECK(nd::tanh(nd::ones({1})).asscalar() == doctest::Approx(std::tanh(1.0)).epsilon(1e-6));
  CHECK(nd::log(nd::exp(a)).to_vector<float>()[3] == doctest::Approx(4).epsilon(1e-6));
  CHECK(vals(nd::clip(a, 1.5, 3.5)) == std::vector<float>{1.5f, 2, 3, 3.5f});
  CHECK(vals(nd::where(a > 2, a, -a)) == std::vector<float>{-1, -2, 3, 4});
  NDArray sm = nd::softmax(a);
  CHECK(nd::sum(sm, {1}).to_vector<float>()[0] == doctest::Approx(1));
}

TEST_CASE("ndarray reductions, argmax, linear algebra and movement") {
  NDArray x = iota({2, 3});
  CHECK(vals(nd::sum(x)) == std::vector<float>{15});
  CHECK(nd::sum(x).shape() == std::vector<int64_t>{1});  // MXNet's legacy (1,)
  CHECK(vals(x.sum({0})) == std::vector<float>{3, 5, 7});
  CHECK(x.sum({1}, true).shape() == std::vector<int64_t>{2, 1});
  CHECK(vals(nd::mean(x, {1})) == std::vector<float>{1, 4});
  CHECK(vals(x.max({1})) == std::vector<float>{2, 5});
  CHECK(vals(x.min()) == std::vector<float>{0});
  CHECK(vals(nd::prod(x + 1, {0})) == std::vector<float>{4, 10, 18});
  CHECK(vals(nd::sum(x, {1}, false, true)) == std::vector<float>{3, 5, 7});  // exclude
  NDArray m = nd::array({3, 7, 7, 1, 9, 0}, {2, 3});
  CHECK(vals(nd::argmax(m, 1)) == std::vector<float>{1, 1});  // the first maximum
  CHECK(vals(nd::argmax(m, 0)) == std::vector<float>{0, 1, 0});
  CHECK(vals(nd::argmin(m, 1)) == std::vector<float>{0, 2});
  CHECK(vals(m.argmax()) == std::vector<float>{4});
  CHECK(nd::argmax(m, 1, true).shape() == std::vector<int64_t>{2, 1});
  CHECK(nd::norm(nd::array({3, 4})).asscalar() == doctest::Approx(5));

  NDArray w = iota({3, 2});
  CHECK(vals(nd::dot(x, w)) == std::vector<float>{10, 13, 28, 40});
  CHECK(vals(nd::dot(x, x, false, true)) == std::vector<float>{5, 14, 14, 50});
  NDArray bx = iota({2, 2, 3}), bw = iota({2, 3, 1});
  CHECK(vals(nd::batch_dot(bx, bw)) == std::vector<float>{5, 14, 86, 122});
  CHECK(vals(x.T()) == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(nd::transpose(iota({2, 3, 4}), {1, 0, 2}).shape() == std::vector<int64_t>{3, 2, 4});
  CHECK(nd::swapaxes(iota({2, 3, 4}), 0, 2).shape() == std::vector<int64_t>{4, 3, 2});
  CHECK(vals(x.slice_axis(1, 1, std::nullopt)) == std::vector<float>{1, 2, 4, 5});
  CHECK(vals(nd::concat({x, x}, 1)) == std::vector<float>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  CHECK(nd::concat({x, x}, 0).shape() == std::vector<int64_t>{4, 3});
  NDArray st = nd::stack({x, x + 10}, 1);
  CHECK(st.shape() == std::vector<int64_t>{2, 2, 3});
  CHECK(vals(st)[3] == 10);
  CHECK(nd::broadcast_to(nd::array({1, 2, 3}), {2, 3}).shape() == std::vector<int64_t>{2, 3});
  CHECK(vals(nd::one_hot(nd::array({0, 2}), 3)) == std::vector<float>{1, 0, 0, 0, 0, 1});
  CHECK(vals(nd::take(x, nd::array({1, 0}))) == std::vector<float>{3, 4, 5, 0, 1, 2});
}

TEST_CASE("ndarray dtype conversion") {
  NDArray x = nd::array({1.7f, -2.2f, 3.5f});
  NDArray i = x.astype(DType::i32);
  CHECK(i.dtype() == DType::i32);
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{1, -2, 3});  // truncation, as C casts
  CHECK(x.astype(DType::f64).to_vector<double>()[0] == doctest::Approx(1.7).epsilon(1e-6));
  CHECK(x.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});  // to_vector converts too
  NDArray h = x.astype(DType::f16);
  CHECK(h.dtype() == DType::f16);
  CHECK(h.to_vector<float>()[2] == 3.5f);
  CHECK(nd::full({2}, 0.25, DType::f16).to_vector<float>() == std::vector<float>{0.25f, 0.25f});
  CHECK(nd::ones({2}, DType::i64).to_vector<int64_t>() == std::vector<int64_t>{1, 1});
  CHECK(nd::array({1, 2}, {}, DType::f64).dtype() == DType::f64);
  NDArray same = x.astype(DType::f32);  // astype copies, even for the same dtype
  CHECK(!same.shares_storage(x));
  CHECK(nd::array({{1, 2}, {3, 4}}).shape() == std::vector<int64_t>{2, 2});
  CHECK(x[1].asscalar<double>() == doctest::Approx(-2.2).epsilon(1e-6));
  CHECK(nd::random::uniform(2, 3, {1000}).min().asscalar() >= 2);
  CHECK(nd::random::uniform(2, 3, {1000}, DType::f64).dtype() == DType::f64);
}

TEST_CASE("ndarray errors are hgc::Error with the reason") {
  NDArray a = nd::ones({2, 3}), b = nd::ones({4, 5});
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("broadcast"), hgc::Error);
  CHECK_THROWS_WITH_AS(nd::sum(a, {5}), doctest::Contains("axis"), hgc::Error);
  CHECK_THROWS_WITH_AS(a.slice_axis(4, 0, 1), doctest::Contains("axis"), hgc::Error);
  CHECK_THROWS_WITH_AS(nd::argmax(a, 7), doctest::Contains("axis 7"), hgc::Error);
  NDArray col = nd::ones({3, 1});
  CHECK_THROWS_WITH_AS(col += nd::ones({3, 3}), doctest::Contains("destination has shape (3, 1)"), hgc::Error);
  CHECK(vals(col) == std::vector<float>{1, 1, 1});  // a failed in-place op changes nothing
  CHECK_THROWS_WITH_AS(a.asscalar(), doctest::Contains("6"), hgc::Error);
  CHECK_THROWS_WITH_AS(a[2], doctest::Contains("out of bounds"), hgc::Error);
  CHECK_THROWS_WITH_AS(a.index({0, 0, 0}), doctest::Contains("3 indices"), hgc::Error);
  CHECK_THROWS_WITH_AS(a.reshape({4, 2}), doctest::Contains("reshape"), hgc::Error);
  CHECK_THROWS_WITH_AS(nd::dot(a, a), doctest::Contains("dot"), hgc::Error);
  CHECK_THROWS_WITH_AS(nd::array({1, 2, 3}, {2, 2}), doctest::Contains("3 values"), hgc::Error);
  CHECK_THROWS_WITH_AS(nd::concat({}), doctest::Contains("concat"), hgc::Error);
  CHECK_THROWS_AS(nd::stack({a, b}), hgc::Error);
  CHECK_THROWS_AS(NDArray() + a, hgc::Error);
  CHECK_THROWS_AS(nd::load("/nonexistent/x.params"), hgc::Error);
}

TEST_CASE("ndarray save and load round trips") {
  std::string dir = test::temp_dir();
  NDArray x = iota({3, 4}), y = nd::array({1.5f, -2}).astype(DType::f64), z = nd::arange(0, 5, 1, DType::i32);
  nd::save(dir + "/list.params", {x, y, z});
  std::vector<NDArray> l = nd::load_list(dir + "/list.params");
  REQUIRE(l.size() == 3);
  CHECK(l[0].shape() == x.shape());
  CHECK(vals(l[0]) == vals(x));
  CHECK(l[1].dtype() == DType::f64);
  CHECK(l[1].to_vector<double>() == std::vector<double>{1.5, -2});
  CHECK(l[2].dtype() == DType::i32);
  CHECK(l[2].to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(nd::load_dict(dir + "/list.params"), doctest::Contains("load_list"), hgc::Error);

  // A view saves only what it sees.
  nd::save(dir + "/dict.params", std::map<std::string, NDArray>{{"rows", x.slice(1, 3)}, {"x", x}});
  auto d = nd::load_dict(dir + "/dict.params");
  REQUIRE(d.size() == 2);
  CHECK(vals(d.at("rows")) == std::vector<float>{4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(!d.at("x").shares_storage(x));
  CHECK(nd::load_list(dir + "/dict.params").size() == 2);

  // Gluon-style names lose their arg:/aux: prefixes as dict keys.
  save_params(dir + "/prefixed.params", {{"arg:fc_weight", x.tensor()}, {"aux:bn_mean", z.tensor()}});
  auto p = nd::load_dict(dir + "/prefixed.params");
  CHECK(p.count("fc_weight") == 1);
  CHECK(p.count("bn_mean") == 1);

  nd::save_npy(dir + "/x.npy", x.slice(2, 3));
  NDArray n = nd::load_npy(dir + "/x.npy");
  CHECK(n.shape() == std::vector<int64_t>{1, 4});
  CHECK(vals(n) == std::vector<float>{8, 9, 10, 11});
  std::filesystem::remove_all(dir);
}

TEST_CASE("ndarray ops reuse cached kernels (first-call vs cached latency)") {
  clear_kernel_cache();
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point t0) { return std::chrono::duration<double, std::milli>(clock::now() - t0).count(); };
  NDArray a = nd::random::uniform(0, 1, {64, 64}), b = nd::random::uniform(0, 1, {64, 64});
  struct Case {
    const char* name;
    std::function<NDArray()> run;
  };
  std::vector<Case> cases = {
      {"a + b", [&] { return a + b; }},
      {"nd::exp(a)", [&] { return nd::exp(a); }},
      {"a * 2", [&] { return a * 2; }},
      {"nd::sum(a, {1})", [&] { return nd::sum(a, {1}); }},
      {"a.T()", [&] { return a.T(); }},
      {"nd::dot(a, b)", [&] { return nd::dot(a, b); }},
  };
  for (const Case& c : cases) {
    KernelCacheStats before = kernel_cache_stats();
    auto t0 = clock::now();
    c.run();
    double first = ms(t0);
    KernelCacheStats after = kernel_cache_stats();
    t0 = clock::now();
    for (int i = 0; i < 10; ++i) c.run();
    double cached = ms(t0) / 10;
    MESSAGE(std::string(c.name) << ": first call " << first << " ms (" << after.misses - before.misses
                                << " kernel(s) compiled or loaded from the disk cache in "
                                << after.compile_ms - before.compile_ms << " ms), cached call " << cached
                                << " ms");
  }
  // Structure, not time: a new shape of the same rank reuses the elementwise kernels.
  int64_t misses = kernel_cache_stats().misses;
  NDArray c = nd::random::uniform(0, 1, {7, 5});
  NDArray r = nd::exp(c + c) * 2;
  CHECK(kernel_cache_stats().misses == misses);
  CHECK(r.shape() == std::vector<int64_t>{7, 5});
}
