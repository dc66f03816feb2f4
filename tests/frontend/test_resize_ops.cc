// The nn_resize ops (UpSampling, Crop, contrib.BilinearResize2D, contrib.AdaptiveAvgPooling2D)
// against PyTorch (tests/frontend/resize_torch.py: F.interpolate, F.adaptive_avg_pool2d,
// F.conv_transpose2d; python3-torch is installed by scripts/setup.sh, so a missing torch
// fails), against hand-computed MXNet results, and hybridized == imperative.
#include <doctest/doctest.h>

#include "hgc/hgc.h"
#include "hgc/runtime/tensor_io.h"
#include "support/nd_close.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;
using hgc::test::check_close;
using nd::contrib::BilinearResize2DOptions;

namespace {

std::string oracle_dir() {
  static std::string dir = [] {
    std::string d = test::temp_dir() + "/resize_torch";
    std::filesystem::create_directories(d);
    auto r = test::sh("/usr/bin/python3 " + test::source_path("tests/frontend/resize_torch.py") + " " + d);
    REQUIRE_MESSAGE(r.code == 0, "the PyTorch oracle failed (apt-get install python3-torch python3-numpy): " << r.out);
    return d;
  }();
  return dir;
}

NDArray npy(const std::string& name) { return nd::array(load_npy(oracle_dir() + "/" + name + ".npy")); }

// `f` imperatively and inside a hybridized block agree with the oracle's output.
void check_both(const std::string& name, const std::function<NDArray(const NDArray&)>& f, double tol = 1e-5) {
  INFO("case ", name);
  NDArray x = npy(name + "_x"), want = npy(name + "_y");
  check_close(f(x), want, tol);
  auto block = std::make_shared<gluon::nn::HybridLambda>(f, name);
  block->hybridize();
  check_close((*block)(x), want, tol);
}

}  // namespace

TEST_CASE("resize ops: nearest UpSampling matches F.interpolate(mode='nearest')") {
  check_both("nearest2", [](const NDArray& x) { return nd::UpSampling({x}, 2); });
  check_both("nearest3", [](const NDArray& x) { return nd::UpSampling({x}, 3); });
}

TEST_CASE("resize ops: BilinearResize2D matches F.interpolate(mode='bilinear', align_corners)") {
  for (bool align : {true, false}) {
    std::string tag = align ? "align" : "half";
    check_both("resize_up_" + tag, [align](const NDArray& x) {
      return nd::contrib::BilinearResize2D(x, BilinearResize2DOptions().height(9).width(7).align_corners(align));
    });
    check_both("resize_down_" + tag, [align](const NDArray& x) {
      return nd::contrib::BilinearResize2D(x, BilinearResize2DOptions().height(4).width(3).align_corners(align));
    });
  }
}

TEST_CASE("resize ops: AdaptiveAvgPooling2D matches F.adaptive_avg_pool2d") {
  check_both("adaptive_3x2", [](const NDArray& x) { return nd::contrib::AdaptiveAvgPooling2D(x, {3, 2}); });
  check_both("adaptive_4x7", [](const NDArray& x) { return nd::contrib::AdaptiveAvgPooling2D(x, {4, 7}); });
  check_both("adaptive_1", [](const NDArray& x) { return nd::contrib::AdaptiveAvgPooling2D(x); });
}

TEST_CASE("resize ops: bilinear UpSampling is F.conv_transpose2d(groups=C)") {
  for (int s : {2, 3, 4}) {
    std::string name = "bilinear_up" + std::to_string(s);
    NDArray w = npy(name + "_w");
    check_both(name, [w, s](const NDArray& x) { return nd::UpSampling({x, w}, s, "bilinear", 3); }, 1e-4);
  }
}

TEST_CASE("resize ops: hand-computed MXNet results (multi-input UpSampling, Crop, like modes)") {
  // Two inputs to 4x4: (1,1,2,2) by 2 and (1,1,4,4) by 1, concatenated; summed.
  NDArray a = nd::array({1, 2, 3, 4}, {1, 1, 2, 2});
  NDArray b = nd::arange(0, 16).reshape({1, 1, 4, 4});
  NDArray cat = nd::UpSampling({a, b}, 2);
  CHECK(cat.shape() == std::vector<int64_t>{1, 2, 4, 4});
  CHECK(cat.slice_axis(1, 0, 1).reshape({-1}).to_vector<float>() ==
        std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(cat.slice_axis(1, 1, 2).reshape({-1}).to_vector<float>() == b.reshape({-1}).to_vector<float>());
  NDArray sum = nd::UpSampling({a, b}, 2, "nearest", 0, "sum");
  CHECK(sum.reshape({-1}).to_vector<float>()[5] == 1 + 5);
  CHECK(sum.reshape({-1}).to_vector<float>()[15] == 4 + 15);
  // Crop: h_w at an offset, and centered like a second input.
  NDArray x = nd::arange(0, 30).reshape({1, 1, 5, 6});
  CHECK(nd::Crop(x, {2, 3}, {1, 2}).reshape({-1}).to_vector<float>() == std::vector<float>{8, 9, 10, 14, 15, 16});
  CHECK(nd::Crop(x, nd::zeros({1, 1, 3, 2}), {0, 0}, true).reshape({-1}).to_vector<float>() ==
        std::vector<float>{8, 9, 14, 15, 20, 21});  // offset ((5-3)/2, (6-2)/2) = (1, 2)
  // BilinearResize2D: 2 -> 3 with align_corners puts the middle sample halfway.
  NDArray r = nd::contrib::BilinearResize2D(nd::array({0, 2, 4, 6}, {1, 1, 2, 2}), BilinearResize2DOptions().height(3).width(3));
  CHECK(r.reshape({-1}).to_vector<float>() == std::vector<float>{0, 1, 2, 2, 3, 4, 4, 5, 6});
  NDArray like = nd::contrib::BilinearResize2D(nd::array({0, 2, 4, 6}, {1, 1, 2, 2}), nd::zeros({3, 7, 3, 3}));
  CHECK(like.reshape({-1}).to_vector<float>() == r.reshape({-1}).to_vector<float>());
  // AdaptiveAvgPooling2D over 3 -> 2 windows [0, 2) and [1, 3).
  NDArray p = nd::contrib::AdaptiveAvgPooling2D(nd::array({1, 2, 3}, {1, 1, 1, 3}), {1, 2});
  CHECK(p.reshape({-1}).to_vector<float>() == std::vector<float>{1.5f, 2.5f});
}

TEST_CASE("resize ops: bad attributes are named hgc::Errors") {
  NDArray x = nd::zeros({1, 2, 4, 4});
  auto msg = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(msg([&] { nd::UpSampling({x}, 0); }).find("scale must be >= 1") != std::string::npos);
  CHECK(msg([&] { nd::UpSampling({x, nd::zeros({2, 1, 4, 4})}, 2, "bilinear", 3); }).find("num_filter") != std::string::npos);
  CHECK(msg([&] { nd::UpSampling({x}, 2, "area"); }).find("sample_type") != std::string::npos);
  CHECK(msg([&] { nd::Crop(x, {5, 1}); }).find("Crop") != std::string::npos);
  CHECK(msg([&] { nd::contrib::BilinearResize2D(x, BilinearResize2DOptions().mode("odd_scale")); }).find("scale_height") !=
        std::string::npos);
  CHECK(msg([&] { nd::contrib::AdaptiveAvgPooling2D(x, {1, 2, 3}); }).find("output_size") != std::string::npos);
  CHECK(msg([&] { nd::contrib::AdaptiveAvgPooling2D(nd::zeros({4, 4})); }).find("4-D") != std::string::npos);
}

// Found by the ONNX export test: x + GlobalAvgPool(x) (squeeze-excitation style) as one fused
// kernel divided the window sums once per consumer element.
TEST_CASE("resize ops: x + global average pooling of x, hybridized, equals the imperative result") {
  nd::random::seed(5);
  for (std::vector<int64_t> s : {std::vector<int64_t>{1, 2, 3, 7}, std::vector<int64_t>{2, 3, 4, 4}}) {
    NDArray x = nd::random::uniform(-1, 1, s);
    auto f = [](const NDArray& v) { return nd::broadcast_add(v, nd::Pooling(v, {1, 1}, "avg", {}, {}, true)); };
    NDArray want = x + nd::mean(x, {2, 3}, true);
    check_close(f(x), want);
    auto block = std::make_shared<gluon::nn::HybridLambda>(f, "se");
    block->hybridize();
    check_close((*block)(x), want);
  }
}
