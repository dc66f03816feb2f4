// quantization::quantize_net: a float32 model calibrated and rewritten into MXNet's int8
// subgraph form runs as the reference evaluator says, exports in MXNet's format and reloads
// to the same outputs; LeNet trained on the real Fashion-MNIST keeps its accuracy (<= 1
// point lost) with naive and entropy calibration. Full numbers: scripts/int8_accuracy.sh.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "fashion/train.h"
#include "hgc/base/error.h"
#include "hgc/hgc.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "lenet/lenet.h"
#include "reference/reference.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& x : g.nodes) n += x.op_name == op;
  return n;
}

std::vector<NDArray> batches(std::mt19937& rng, int n, int64_t b) {
  std::vector<NDArray> out;
  std::uniform_real_distribution<float> u(0, 1);
  for (int i = 0; i < n; ++i) {
    HostTensor t(DType::f32, {b, 1, 28, 28});
    for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng);
    out.emplace_back(t);
  }
  return out;
}

double accuracy(Block& net, const NDArray& x, const NDArray& y) {
  std::vector<float> labels = y.to_vector<float>();
  int64_t right = 0, n = x.shape()[0];
  for (int64_t s = 0; s < n; s += 500) {
    int64_t e = std::min(n, s + 500);
    std::vector<float> p = net(x.slice(s, e).reshape({-1, 1, 28, 28})).to_vector<float>();
    for (int64_t i = 0; i < e - s; ++i) {
      int best = 0;
      for (int c = 1; c < 10; ++c)
        if (p[i * 10 + c] > p[i * 10 + best]) best = c;
      right += best == static_cast<int>(labels[s + i]);
    }
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

}  // namespace

TEST_CASE("quantize_net: LeNet+BatchNorm becomes GluonCV's int8 form, runs as the reference says, exports and reloads") {
  nd::random::seed(2);
  std::mt19937 rng(2);
  auto net = models::lenet(true, 64);
  net->initialize(init::Xavier());
  net->hybridize();
  std::vector<NDArray> calib = batches(rng, 3, 8);
  NDArray x = calib[0];
  NDArray fy = (*net)(x);
  auto q = quantization::quantize_net(*net, calib);
  // Conv+BN+ReLU twice, Dense (its BatchNorm stays float32) and Dense: four int8 layers.
  // As in MXNet, values stay int8 between them: both max poolings and the flatten run in
  // int8, so only the data and the float BatchNorm+ReLU's output are quantized, and only
  // the first Dense's output (read by that BatchNorm) and the head are dequantized.
  CHECK(count_op(q.graph, "_sg_mkldnn_conv") == 2);
  CHECK(count_op(q.graph, "_sg_mkldnn_fully_connected") == 2);
  CHECK(count_op(q.graph, "_contrib_quantized_pooling") == 2);
  CHECK(count_op(q.graph, "_contrib_quantized_flatten") == 1);
  CHECK(count_op(q.graph, "_contrib_quantize_v2") == 2);
  CHECK(count_op(q.graph, "_contrib_dequantize") == 2);
  CHECK(count_op(q.graph, "BatchNorm") == 1);  // the Dense's: MXNet fuses BatchNorm into convolutions only
  for (const Node& n : q.graph.nodes)
    if (n.op_name == "_sg_mkldnn_conv") {
      CHECK(n.attr_view().b("with_bn"));
      CHECK(n.attr_view().b("with_act"));
      CHECK(n.subgraphs.size() == 1);
    }
  // The int8 block against the reference evaluator on the same graph (one output step of the
  // last layer: rounding ties may fall either way), and against the float32 net.
  NDArray qy = (*q.block)(x);
  Graph g = q.graph;
  InferOptions io;
  std::map<std::string, HostTensor> vars = q.params;
  vars["data"] = x.tensor();
  for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape());
  infer(g, io);
  HostTensor want = ref::evaluate(g, vars)[0];
  auto got = qy.to_vector<float>(), fl = fy.to_vector<float>();
  double step = 0;
  for (const Node& n : g.nodes)
    if (n.op_name == "_sg_mkldnn_fully_connected" && !n.attr_view().b("with_eltwise"))
      step = std::max(std::fabs(n.attr_view().f("min_calib_range")), std::fabs(n.attr_view().f("max_calib_range"))) / 127.5;
  REQUIRE(step > 0);
  double worst_ref = 0, worst_float = 0, range = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst_ref = std::max(worst_ref, std::fabs(got[i] - static_cast<double>(want.data<float>()[i])));
    worst_float = std::max(worst_float, std::fabs(got[i] - static_cast<double>(fl[i])));
    range = std::max(range, std::fabs(static_cast<double>(fl[i])));
  }
  MESSAGE("int8 vs reference: ", worst_ref, " (output step ", step, "); int8 vs float32: ", worst_float, " of range ", range);
  CHECK(worst_ref <= 2 * step + 1e-6);
  CHECK(worst_float <= 0.1 * range);
  // MXNet's files, reloaded by hgc: the same outputs.
  std::string path = test::temp_dir() + "/lenet-int8";
  q.export_model(path, 0);
  Graph back = load_json_file(path + "-symbol.json");
  CHECK(count_op(back, "_sg_mkldnn_conv") == 2);
  std::string text = save_json(q.graph);
  CHECK(text.find("\"subgraphs\"") != std::string::npos);
  size_t filters = 0;  // the inner Convolutions' attribute only, not hoisted copies
  for (size_t at = text.find("\"num_filter\""); at != std::string::npos; at = text.find("\"num_filter\"", at + 1)) ++filters;
  CHECK(filters == 2);
  auto again = SymbolBlock::imports(path + "-symbol.json", {"data"}, path + "-0000.params");
  auto r = (*again)(x).to_vector<float>();
  REQUIRE(r.size() == got.size());
  for (size_t i = 0; i < r.size(); ++i) CHECK(r[i] == got[i]);

  SUBCASE("exclude_layers keeps a layer in float32; bad options are refused") {
    std::string first;
    for (const Node& n : load_json_file(path + "-symbol.json").nodes)
      if (n.op_name == "_sg_mkldnn_conv") {
        for (const Node& m : n.subgraphs[0]->nodes)
          if (m.op_name == "Convolution") first = m.name;
        break;
      }
    REQUIRE(!first.empty());
    auto ex = quantization::quantize_net(*net, calib, quantization::QuantizeOptions().exclude_layers({first}));
    CHECK(count_op(ex.graph, "_sg_mkldnn_conv") == 1);
    CHECK(count_op(ex.graph, "Convolution") == 1);
    auto fc = quantization::quantize_net(*net, calib, quantization::QuantizeOptions().exclude_operators({"FullyConnected"}));
    CHECK(count_op(fc.graph, "_sg_mkldnn_fully_connected") == 0);
    CHECK_THROWS_WITH_AS(quantization::quantize_net(*net, calib, quantization::QuantizeOptions().calib_mode("kl")),
                         doctest::Contains("calib_mode 'kl'"), Error);
    CHECK_THROWS_WITH_AS(quantization::quantize_net(*net, {}), doctest::Contains("at least one calibration batch"), Error);
  }
}

TEST_CASE("quantize_net: the entropy threshold clips long tails and keeps compact ranges") {
  // A Gaussian core (sigma = 1) plus a few far outliers at 20: the KL threshold lands far
  // below the maximum; a uniform histogram keeps (almost) all of its range.
  const int bins = 8001;
  const float th = 20;
  std::vector<double> gauss(bins, 0.0), uni(bins, 0.0);
  for (int i = 0; i < bins; ++i) {
    double x = -th + (i + 0.5) * 2 * th / bins;
    gauss[i] = std::floor(1e6 * std::exp(-x * x / 2));
  }
  gauss[bins - 1] += 3;
  for (int i = 200; i < bins - 200; ++i) uni[i] = 100;
  float tg = quantization::entropy_threshold(gauss, th, false);
  float tu = quantization::entropy_threshold(uni, th, false);
  MESSAGE("entropy thresholds: gaussian+outliers ", tg, ", uniform ", tu, " (max ", th, ")");
  CHECK(tg > 2.5f);
  CHECK(tg < 8.0f);
  CHECK(tu > 0.9f * th * (bins - 400) / bins);
}

TEST_CASE("quantize_net: LeNet trained on Fashion-MNIST loses at most 1 point of test accuracy in int8") {
  auto data = models::load_fashion_mnist();
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  nd::random::seed(4);
  auto net = models::lenet(false);
  net->initialize(init::Xavier());
  net->hybridize();
  models::FashionTrainOptions o;
  o.epochs = 1;
  o.image_shape = true;
  o.max_train = 6400;
  o.progress = false;
  models::train_fashion(*net, *data, o);
  std::vector<NDArray> calib;  // 10 batches of 64 training images (MXNet's num_calib_examples=640)
  for (int b = 0; b < 10; ++b) calib.push_back(data->train_x.slice(b * 64, (b + 1) * 64).reshape({-1, 1, 28, 28}));
  NDArray tx = data->test_x.slice(0, 2000), ty = data->test_y.slice(0, 2000);
  double fp32 = accuracy(*net, tx, ty);
  std::vector<std::string> modes{"naive", "entropy"};
  if (HGC_SANITIZE_BUILD) {
    MESSAGE("sanitizer build: naive calibration only (the release pass runs entropy calibration too)");
    modes.pop_back();
  }
  for (const std::string& mode : modes) {
    auto q = quantization::quantize_net(*net, calib, quantization::QuantizeOptions().calib_mode(mode));
    double int8 = accuracy(*q.block, tx, ty);
    MESSAGE("LeNet on 2000 test images: float32 ", fp32, ", int8 (", mode, " calibration) ", int8);
    CHECK(fp32 >= 0.70);
    CHECK(int8 >= fp32 - 0.01);
  }
}
