// The Straight Dope chapter "Manipulate data the MXNet way with ndarray" (and its "Saving
// and loading NDArrays" section) in C++. The book's random y is fed in as data, so every
// value it prints after that is checked; the random draws themselves are checked by
// shape and statistics. Printed forms follow current numpy ("[[1. 1.]]"); the book shows
// numpy 1.13's legacy spacing ("[[ 1.  1.]]").
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/frontend/nd/ndarray.h"
#include "support/paths.h"

using namespace hgc;

namespace {

void check_values(const NDArray& x, const std::vector<int64_t>& shape, const std::vector<float>& want,
                  double eps = 1e-6) {
  REQUIRE(x.shape() == shape);
  std::vector<float> got = x.to_vector<float>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(eps));
}

// The y the book drew with mx.random.seed(1); nd.random_normal(0, 1, shape=(3, 4)).
const std::vector<float> kBookY = {-0.67765152f, 0.03629481f, 0.10073948f, -0.49024421f,
                                   0.57595438f,  -0.95017916f, -0.3469252f, 0.03751944f,
                                   -0.22134334f, -0.72984636f, -1.80471897f, -2.04010558f};

}  // namespace

TEST_CASE("chapter ndarray: getting started") {
  nd::random::seed(1);
  NDArray e = nd::empty({3, 4});
  CHECK(e.shape() == std::vector<int64_t>{3, 4});

  NDArray x = nd::zeros({3, 5});
  CHECK(x.str() == "\n[[0. 0. 0. 0. 0.]\n [0. 0. 0. 0. 0.]\n [0. 0. 0. 0. 0.]]\n<NDArray 3x5 @cpu(0)>");
  x = nd::ones({3, 4});
  CHECK(x.str() == "\n[[1. 1. 1. 1.]\n [1. 1. 1. 1.]\n [1. 1. 1. 1.]]\n<NDArray 3x4 @cpu(0)>");

  // Random values differ from MXNet's generator; shape, dtype and statistics are the contract.
  NDArray y = nd::random::normal(0, 1, {3, 4});
  CHECK(y.shape() == std::vector<int64_t>{3, 4});
  CHECK(y.size() == 12);
  CHECK(y.dtype() == DType::f32);
  NDArray big = nd::random::normal(0, 1, {200, 500});
  CHECK(nd::mean(big).asscalar() == doctest::Approx(0).epsilon(0.01).scale(1));
  CHECK(nd::sqrt(nd::mean(nd::square(big))).asscalar() == doctest::Approx(1).epsilon(0.01));
  nd::random::seed(1);
  NDArray y_again = nd::random::normal(0, 1, {3, 4});
  CHECK(y_again.to_vector<float>() == y.to_vector<float>());  // seeding reproduces draws
}

TEST_CASE("chapter ndarray: operations on the book's y") {
  NDArray x = nd::ones({3, 4});
  NDArray y = nd::array(kBookY, {3, 4});
  check_values(x + y, {3, 4},
               {0.32234848f, 1.03629482f, 1.10073948f, 0.50975579f, 1.57595444f, 0.04982084f, 0.6530748f,
                1.03751945f, 0.77865666f, 0.27015364f, -0.80471897f, -1.04010558f});
  check_values(x * y, {3, 4}, kBookY);
  check_values(nd::exp(y), {3, 4},
               {0.50780815f, 1.03696156f, 1.1059885f, 0.61247683f, 1.77882743f, 0.38667175f, 0.70685822f,
                1.03823221f, 0.80144149f, 0.48198304f, 0.16452068f, 0.13001499f},
               1e-5);
  NDArray d = nd::dot(x, y.T());
  check_values(d, {3, 3},
               {-1.03086138f, -0.68363053f, -4.79601431f, -1.03086138f, -0.68363053f, -4.79601431f,
                -1.03086138f, -0.68363053f, -4.79601431f},
               1e-5);
  CHECK(d.str().substr(d.str().size() - 21) == "<NDArray 3x3 @cpu(0)>");
}

TEST_CASE("chapter ndarray: in-place operations reuse memory") {
  NDArray x = nd::ones({3, 4});
  NDArray y = nd::array(kBookY, {3, 4});
  // y = y + x: a new buffer (Python's id(y) changes).
  NDArray y_old = y;
  y = y + x;
  CHECK(!y.shares_storage(y_old));

  // z[:] = x + y keeps z's buffer (id(z) unchanged).
  NDArray z = nd::zeros_like(x);
  void* z_buf = z.data_ptr();
  z.assign(x + y);
  CHECK(z.data_ptr() == z_buf);
  // nd.elemwise_add(x, y, out=z): the result written into z.
  (x + y).copyto(z);
  const std::vector<float> x_plus_y = {1.32234848f, 2.03629494f, 2.10073948f, 1.50975585f,
                                       2.57595444f, 1.0498209f,  1.65307474f, 2.03751945f,
                                       1.77865672f, 1.27015364f, 0.19528103f, -0.04010558f};
  check_values(z, {3, 4}, x_plus_y);
  CHECK(z.data_ptr() == z_buf);

  // x += y: id(x) unchanged, and so is the buffer (views of x see the new values).
  void* x_buf = x.data_ptr();
  NDArray row1 = x[1];
  x += y;
  CHECK(x.data_ptr() == x_buf);
  check_values(x, {3, 4}, x_plus_y);
  check_values(row1, {4}, {2.57595444f, 1.0498209f, 1.65307474f, 2.03751945f});
}

TEST_CASE("chapter ndarray: slicing reads and writes") {
  NDArray x = nd::array({1.32234848f, 2.03629494f, 2.10073948f, 1.50975585f, 2.57595444f, 1.0498209f,
                         1.65307474f, 2.03751945f, 1.77865672f, 1.27015364f, 0.19528103f, -0.04010558f},
                        {3, 4});
  // x[1:3]
  NDArray rows = x.slice(1, 3);
  check_values(rows, {2, 4},
               {2.57595444f, 1.0498209f, 1.65307474f, 2.03751945f, 1.77865672f, 1.27015364f, 0.19528103f,
                -0.04010558f});
  CHECK(rows.shares_storage(x));
  CHECK(rows.str() ==
        "\n[[ 2.5759544   1.0498209   1.6530747   2.0375195 ]\n"
        " [ 1.7786567   1.2701536   0.19528103 -0.04010558]]\n<NDArray 2x4 @cpu(0)>");

  // x[1,2] = 9.0
  x.index_put_({1, 2}, 9.0);
  check_values(x, {3, 4},
               {1.32234848f, 2.03629494f, 2.10073948f, 1.50975585f, 2.57595444f, 1.0498209f, 9.f, 2.03751945f,
                1.77865672f, 1.27015364f, 0.19528103f, -0.04010558f});
  // x[1:2,1:3]
  NDArray block = x.index({Slice(1, 2), Slice(1, 3)});
  check_values(block, {1, 2}, {1.0498209f, 9.f});
  CHECK(block.str() == "\n[[1.0498209 9.       ]]\n<NDArray 1x2 @cpu(0)>");
  // x[1:2,1:3] = 5.0
  x.index_put_({Slice(1, 2), Slice(1, 3)}, 5.0);
  check_values(x, {3, 4},
               {1.32234848f, 2.03629494f, 2.10073948f, 1.50975585f, 2.57595444f, 5.f, 5.f, 2.03751945f,
                1.77865672f, 1.27015364f, 0.19528103f, -0.04010558f});
  // x[1:3] = 7 through the view
  x.slice(1, 3).fill_(7);
  check_values(x.slice(1, 3), {2, 4}, std::vector<float>(8, 7.f));
  CHECK(x.index({0, 0}).asscalar() == doctest::Approx(1.32234848f));
}

TEST_CASE("chapter ndarray: broadcasting") {
  NDArray x = nd::ones({3, 3});
  CHECK(x.str() == "\n[[1. 1. 1.]\n [1. 1. 1.]\n [1. 1. 1.]]\n<NDArray 3x3 @cpu(0)>");
  NDArray y = nd::arange(3);
  CHECK(y.str() == "\n[0. 1. 2.]\n<NDArray 3 @cpu(0)>");
  CHECK((x + y).str() == "\n[[1. 2. 3.]\n [1. 2. 3.]\n [1. 2. 3.]]\n<NDArray 3x3 @cpu(0)>");
  y = y.reshape({3, 1});
  CHECK(y.str() == "\n[[0.]\n [1.]\n [2.]]\n<NDArray 3x1 @cpu(0)>");
  CHECK((x + y).str() == "\n[[1. 1. 1.]\n [2. 2. 2.]\n [3. 3. 3.]]\n<NDArray 3x3 @cpu(0)>");
}

TEST_CASE("chapter ndarray: to and from host vectors (asnumpy / nd.array)") {
  NDArray x = nd::ones({3, 3});
  std::vector<float> a = x.to_vector<float>();  // x.asnumpy(): a copy
  a[0] = 42;
  CHECK(x.to_vector<float>()[0] == 1.f);
  NDArray y = nd::array(std::vector<float>(9, 1.f), {3, 3});
  CHECK(y.str() == "\n[[1. 1. 1.]\n [1. 1. 1.]\n [1. 1. 1.]]\n<NDArray 3x3 @cpu(0)>");
  CHECK(!y.shares_storage(x));
}

TEST_CASE("chapter ndarray: managing context") {
  NDArray x = nd::ones({3, 3});
  CHECK(x.context() == cpu(0));
  CHECK(x.context().str() == "cpu(0)");
  NDArray c = x.copyto(cpu(0));  // copyto always copies
  CHECK(!c.shares_storage(x));
  NDArray same = c.as_in_context(cpu(0));  // already there: no copy
  CHECK(same.shares_storage(c));
  // Without a CUDA device a gpu context is a clear error, not a silent cpu array (the device
  // side: tests/frontend/test_ndarray_gpu.cc).
  if (num_gpus() == 0) {
    CHECK_THROWS_WITH_AS(nd::ones({3, 3}, DType::f32, gpu(0)), doctest::Contains("gpu(0)"), hgc::Error);
    CHECK_THROWS_AS(x.copyto(gpu(0)), hgc::Error);
  }
}

TEST_CASE("chapter ndarray: saving and loading NDArrays") {
  std::string dir = test::temp_dir();
  NDArray X = nd::ones({100, 100}), Y = nd::zeros({100, 100});
  std::string f1 = dir + "/test1.params";
  nd::save(f1, {X, Y});
  nd::Loaded l = nd::load(f1);
  REQUIRE(!l.is_dict);
  REQUIRE(l.list.size() == 2);
  const std::string ones_rows = "[[1. 1. 1. ... 1. 1. 1.]\n [1. 1. 1. ... 1. 1. 1.]\n [1. 1. 1. ... 1. 1. 1.]\n ...\n"
                                " [1. 1. 1. ... 1. 1. 1.]\n [1. 1. 1. ... 1. 1. 1.]\n [1. 1. 1. ... 1. 1. 1.]]";
  CHECK(l.list[0].str() == "\n" + ones_rows + "\n<NDArray 100x100 @cpu(0)>");
  CHECK(nd::sum(l.list[1]).asscalar() == 0.f);

  std::string f2 = dir + "/test2.params";
  nd::save(f2, std::map<std::string, NDArray>{{"X", X}, {"Y", Y}});
  nd::Loaded c = nd::load(f2);
  REQUIRE(c.is_dict);
  REQUIRE(c.dict.size() == 2);
  CHECK(nd::sum(c.dict.at("X")).asscalar() == 10000.f);
  CHECK(nd::sum(c.dict.at("Y")).asscalar() == 0.f);
  std::filesystem::remove_all(dir);
}
