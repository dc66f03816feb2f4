// The reference evaluator on the ops whose MXNet semantics are easy to get wrong. Every
// expected value is written out: worked by hand, taken from MXNet's docs, or computed by
// an explicit scalar formula in the test itself (the LSTM/GRU cases).
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/base/error.h"
#include "reference/ref_test_util.h"

using namespace hgc;
using hgc::test::check_close;
using hgc::test::iota;
using hgc::test::ref_op;
using hgc::test::tensor;
using hgc::test::values;

namespace {
double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

TEST_CASE("reference Pooling: full/valid conventions, padding, count_include_pad, global, lp") {
  HostTensor x = iota({1, 1, 4, 4});  // rows 0..3, 4..7, 8..11, 12..15
  std::map<std::string, std::string> a = {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}};

  SUBCASE("max: full keeps the partial last window, valid drops it") {
    a["pooling_convention"] = "full";
    auto out = ref_op("Pooling", a, {x});
    CHECK(out[0].shape() == std::vector<int64_t>{1, 1, 2, 2});
    check_close(values(out[0]), {10, 11, 14, 15});
    a["pooling_convention"] = "valid";
    out = ref_op("Pooling", a, {x});
    CHECK(out[0].shape() == std::vector<int64_t>{1, 1, 1, 1});
    check_close(values(out[0]), {10});
  }
  SUBCASE("avg full: a window past the input divides by its clipped size") {
    a["pooling_convention"] = "full";
    a["pool_type"] = "avg";
    // (0+1+2+4+5+6+8+9+10)/9, (2+3+6+7+10+11)/6, (8+9+10+12+13+14)/6, (10+11+14+15)/4
    check_close(values(ref_op("Pooling", a, {x})[0]), {5, 6.5, 11, 12.5});
    a["pool_type"] = "sum";
    check_close(values(ref_op("Pooling", a, {x})[0]), {45, 39, 66, 50});
  }
  SUBCASE("avg with pad counts padding by default, not with count_include_pad=False") {
    HostTensor y = tensor({1, 1, 4}, {1, 2, 3, 4});
    std::map<std::string, std::string> b = {
        {"kernel", "(3,)"}, {"pad", "(1,)"}, {"pool_type", "avg"}};
    check_close(values(ref_op("Pooling", b, {y})[0]), {1, 2, 3, 7.0 / 3});
    b["count_include_pad"] = "False";
    check_close(values(ref_op("Pooling", b, {y})[0]), {1.5, 2, 3, 3.5});
  }
  SUBCASE("avg full with no pad: the last window holds one element") {
    HostTensor y = tensor({1, 1, 5}, {1, 2, 3, 4, 5});
    std::map<std::string, std::string> b = {
        {"kernel", "(2,)"}, {"stride", "(2,)"}, {"pool_type", "avg"}, {"pooling_convention", "full"}};
    check_close(values(ref_op("Pooling", b, {y})[0]), {1.5, 3.5, 5});
  }
  SUBCASE("max ignores padding (a padded window of negatives is not 0)") {
    HostTensor y = tensor({1, 1, 3}, {-1, -2, -3});
    std::map<std::string, std::string> b = {{"kernel", "(2,)"}, {"pad", "(1,)"}, {"stride", "(2,)"}};
    check_close(values(ref_op("Pooling", b, {y})[0]), {-1, -2});
  }
  SUBCASE("global pooling and lp") {
    HostTensor y = tensor({1, 2, 2, 1}, {1, 2, 3, 5});
    check_close(values(ref_op("Pooling", {{"global_pool", "True"}, {"pool_type", "avg"}}, {y})[0]), {1.5, 4});
    check_close(values(ref_op("Pooling", {{"global_pool", "True"}}, {y})[0]), {2, 5});
    HostTensor z = tensor({1, 1, 2}, {3, 4});
    check_close(values(ref_op("Pooling", {{"kernel", "(2,)"}, {"pool_type", "lp"}, {"p_value", "2"}}, {z})[0]),
                {5});
  }
}

TEST_CASE("reference Convolution: groups with dilation, stride with pad, channel-last, Deconvolution") {
  // Two groups of one channel each; each filter sees one channel with taps two apart.
  HostTensor x = tensor({1, 2, 5}, {1, 2, 3, 4, 5, 10, 20, 30, 40, 50});
  HostTensor w = tensor({2, 1, 2}, {1, -1, 2, 1});
  HostTensor b = tensor({2}, {0.5, -1});
  std::map<std::string, std::string> a = {
      {"kernel", "(2,)"}, {"dilate", "(2,)"}, {"num_filter", "2"}, {"num_group", "2"}};
  // f0: x0[i] - x0[i+2] + 0.5;  f1: 2*x1[i] + x1[i+2] - 1
  std::vector<double> want = {-1.5, -1.5, -1.5, 49, 79, 109};
  check_close(values(ref_op("Convolution", a, {x, w, b})[0]), want);

  SUBCASE("NWC: data and output channel-last, weight (F, k, C/g)") {
    HostTensor xl = tensor({1, 5, 2}, {1, 10, 2, 20, 3, 30, 4, 40, 5, 50});
    HostTensor wl = tensor({2, 2, 1}, {1, -1, 2, 1});
    a["layout"] = "NWC";
    auto out = ref_op("Convolution", a, {xl, wl, b});
    CHECK(out[0].shape() == std::vector<int64_t>{1, 3, 2});
    check_close(values(out[0]), {-1.5, 49, -1.5, 79, -1.5, 109});
  }
  SUBCASE("2-D stride 2 with pad 1: windows clipped at the border") {
    HostTensor img = iota({1, 1, 3, 3}, 1);
    HostTensor ones = tensor({1, 1, 3, 3}, std::vector<double>(9, 1.0));
    auto out = ref_op("Convolution",
                      {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"num_filter", "1"},
                       {"no_bias", "True"}},
                      {img, ones});
    check_close(values(out[0]), {1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9});
  }
  SUBCASE("Deconvolution scatters each input through the kernel") {
    HostTensor y = tensor({1, 1, 2}, {1, 2});
    HostTensor k = tensor({1, 1, 3}, {1, 1, 1});
    std::map<std::string, std::string> d = {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"num_filter", "1"}};
    check_close(values(ref_op("Deconvolution", d, {y, k})[0]), {1, 1, 3, 2, 2});
    d["pad"] = "(1,)";
    check_close(values(ref_op("Deconvolution", d, {y, k})[0]), {1, 3, 2});
    d.erase("pad");
    d["target_shape"] = "(3,)";  // excess 2 -> pad 1, as above
    check_close(values(ref_op("Deconvolution", d, {y, k})[0]), {1, 3, 2});
  }
}

TEST_CASE("reference LayerNorm: normalized output, mean and std outputs") {
  const double s = 1.224744871391589;  // 1 / sqrt(2/3)
  HostTensor x = tensor({2, 3}, {1, 2, 3, 4, 6, 5});
  HostTensor gamma = tensor({3}, {1, 2, 3}), beta = tensor({3}, {0, 0, 1});
  auto out = ref_op("LayerNorm", {{"eps", "0"}}, {x, gamma, beta});
  check_close(values(out[0]), {-s, 0, 3 * s + 1, -s, 2 * s, 1});
  CHECK(out[1].shape() == std::vector<int64_t>{2, 1});
  check_close(values(out[1]), {2, 5});
  check_close(values(out[2]), {0.816496580927726, 0.816496580927726});

  SUBCASE("axis 0 normalizes columns; eps sits under the square root") {
    HostTensor y = tensor({2, 2}, {1, 2, 3, 6});
    HostTensor g2 = tensor({2}, {1, 1}), b2 = tensor({2}, {0, 0});
    auto o = ref_op("LayerNorm", {{"axis", "0"}, {"eps", "0"}}, {y, g2, b2});
    check_close(values(o[0]), {-1, -1, 1, 1});
    check_close(values(o[2]), {1, 2});
    o = ref_op("LayerNorm", {{"axis", "0"}, {"eps", "3"}}, {y, g2, b2});
    check_close(values(o[2]), {2, std::sqrt(7.0)});
  }
}

TEST_CASE("reference BatchNorm in predict mode uses the moving statistics") {
  HostTensor x = tensor({2, 2}, {3, 2.5, 5, 1});  // channel 0: 3, 5; channel 1: 2.5, 1
  HostTensor gamma = tensor({2}, {2, 3}), beta = tensor({2}, {0.5, -1});
  HostTensor mean = tensor({2}, {1, 2}), var = tensor({2}, {4, 0.25});
  // (x - mean) / sqrt(var) * gamma + beta
  auto out = ref_op("BatchNorm", {{"eps", "0"}, {"fix_gamma", "False"}}, {x, gamma, beta, mean, var});
  check_close(values(out[0]), {2.5, 2, 4.5, -7});
  check_close(values(out[1]), {1, 2});
  check_close(values(out[2]), {4, 0.25});
  // fix_gamma (the default) takes gamma as 1.
  check_close(values(ref_op("BatchNorm", {{"eps", "0"}}, {x, gamma, beta, mean, var})[0]), {1.5, 0, 2.5, -3});
  // eps is added to the variance: (3 - 1) / sqrt(4 + 12) * 2 + 0.5
  auto e = ref_op("BatchNorm", {{"eps", "12"}, {"fix_gamma", "False"}}, {x, gamma, beta, mean, var});
  CHECK(values(e[0])[0] == doctest::Approx(1.5));
  SUBCASE("4-D data, channel axis 1") {
    HostTensor x4 = tensor({1, 2, 1, 2}, {3, 5, 2.5, 1});
    check_close(values(ref_op("BatchNorm", {{"eps", "0"}, {"fix_gamma", "False"}},
                              {x4, gamma, beta, mean, var})[0]),
                {2.5, 4.5, 2, -7});
  }
}

TEST_CASE("reference softmax family: temperature, axis, use_length, softmin, SoftmaxOutput") {
  HostTensor x = tensor({3}, {1, 2, 3});
  check_close(values(ref_op("softmax", {{"temperature", "2"}}, {x})[0]),
              {0.1863237232258476, 0.30719588571849843, 0.506480391055654});
  check_close(values(ref_op("log_softmax", {{"temperature", "2"}}, {x})[0]),
              {-1.6802696706417346, -1.1802696706417344, -0.6802696706417346});
  check_close(values(ref_op("softmin", {}, {x})[0]), {0.6652409557748219, 0.24472847105479767, 0.09003057317038046});
  check_close(values(ref_op("softmax", {{"axis", "0"}}, {tensor({2, 2}, {1, 1, 3, 1})})[0]),
              {0.11920292202211755, 0.5, 0.8807970779778823, 0.5});

  SUBCASE("use_length: entries past the length are 0") {
    HostTensor rows = tensor({2, 3}, {1, 2, 3, 1, 2, 3});
    HostTensor len = tensor({2}, {2, 1}, DType::i32);
    check_close(values(ref_op("softmax", {{"use_length", "True"}}, {rows, len})[0]),
                {0.2689414213699951, 0.7310585786300049, 0, 1, 0, 0});
  }
  SUBCASE("SoftmaxOutput: whole instance, multi_output over axis 1, preserve_shape over the last") {
    HostTensor d = tensor({1, 2, 2}, {1, 2, 3, 4});
    HostTensor label = tensor({1, 2}, {0, 1});
    check_close(values(ref_op("SoftmaxOutput", {}, {d, label})[0]),
                {0.03205860328008499, 0.08714431874203257, 0.23688281808991013, 0.6439142598879724});
    check_close(values(ref_op("SoftmaxOutput", {{"multi_output", "True"}}, {d, label})[0]),
                {0.11920292202211755, 0.11920292202211755, 0.8807970779778823, 0.8807970779778823});
    check_close(values(ref_op("SoftmaxOutput", {{"preserve_shape", "True"}}, {d, label})[0]),
                {0.2689414213699951, 0.7310585786300049, 0.2689414213699951, 0.7310585786300049});
  }
}

TEST_CASE("reference Reshape special values only change the shape") {
  Graph g;
  int data = g.add_variable("data");
  auto reshape = [&](int in, const std::string& name, const std::string& spec, bool reverse = false) {
    const OpDef& def = OpRegistry::global().get("Reshape");
    AttrMap a{{"shape", parse_attr(*def.attr_spec("shape"), spec)}};
    if (reverse) a["reverse"] = true;
    return g.add_node("Reshape", name, {{in, 0}}, a);
  };
  int r1 = reshape(data, "split", "(-4, 1, 2, -3)");   // (2,3,4) -> (1, 2, 12)
  int r2 = reshape(r1, "keep", "(0, -1)");             // -> (1, 24)
  int r3 = reshape(data, "merge", "(-3, -2)");         // -> (6, 4)
  int r4 = reshape(data, "rev", "(-1, 0)", true);      // reverse: (6, 4)
  g.heads = {{r1, 0}, {r2, 0}, {r3, 0}, {r4, 0}};
  infer(g, {{{"data", {2, 3, 4}}}, {}, true});
  auto out = ref::evaluate(g, {{"data", iota({2, 3, 4})}});
  CHECK(out[0].shape() == std::vector<int64_t>{1, 2, 12});
  CHECK(out[1].shape() == std::vector<int64_t>{1, 24});
  CHECK(out[2].shape() == std::vector<int64_t>{6, 4});
  CHECK(out[3].shape() == std::vector<int64_t>{6, 4});
  for (const HostTensor& t : out) check_close(values(t), values(iota({2, 3, 4})));
}

TEST_CASE("reference RNN: LSTM two steps with hand-set weights vs the direct formula") {
  // I = 2, H = 1: Wx (4, 2), Wh (4, 1), then bx (4), bh (4); gates i, f, g, o.
  std::vector<double> wx = {0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8};
  std::vector<double> wh = {0.9, -1.0, 1.1, 0.3}, bx = {0.01, 0.02, 0.03, 0.04}, bh = {-0.05, 0.06, -0.07, 0.08};
  std::vector<double> params = wx;
  for (const auto* v : {&wh, &bx, &bh}) params.insert(params.end(), v->begin(), v->end());
  std::vector<double> xs = {0.5, -1.5, 2.0, 0.25};  // (T=2, N=1, I=2)
  double h = 0.1, c = 0.2;
  std::vector<double> want;
  for (int t = 0; t < 2; ++t) {
    auto pre = [&](int g) { return wx[2 * g] * xs[2 * t] + wx[2 * g + 1] * xs[2 * t + 1] + bx[g] + wh[g] * h + bh[g]; };
    double i = sig(pre(0)), f = sig(pre(1)), gg = std::tanh(pre(2)), o = sig(pre(3));
    c = f * c + i * gg;
    h = o * std::tanh(c);
    want.push_back(h);
  }
  auto out = ref_op("RNN", {{"mode", "lstm"}, {"state_size", "1"}, {"num_layers", "1"}, {"state_outputs", "True"}},
                    {tensor({2, 1, 2}, xs), tensor({20}, params), tensor({1, 1, 1}, {0.1}), tensor({1, 1, 1}, {0.2})});
  check_close(values(out[0]), want);
  check_close(values(out[1]), {h});
  check_close(values(out[2]), {c});
}

TEST_CASE("reference RNN: bidirectional GRU and a 2-layer rnn_tanh vs the direct formula") {
  // GRU, I = H = 1. Weights: fwd Wx (r, z, n), fwd Wh, bwd Wx, bwd Wh; then fwd bx, bh, bwd bx, bh.
  std::vector<double> p = {0.5, -0.4, 0.3, 0.2, 0.1, -0.6,    // forward Wx, Wh
                           -0.7, 0.8, 0.9, -0.2, 0.4, 0.6,    // backward Wx, Wh
                           0.01, 0.02, 0.03, 0.04, 0.05, 0.06,  // forward bx, bh
                           -0.01, -0.02, -0.03, 0.07, 0.08, 0.09};  // backward bx, bh
  std::vector<double> xs = {1.0, -2.0};
  auto gru = [&](int base_w, int base_b, double x, double h) {
    const double* wx = &p[base_w];
    const double* wh = wx + 3;
    const double* bx = &p[base_b];
    const double* bh = bx + 3;
    double r = sig(wx[0] * x + bx[0] + wh[0] * h + bh[0]);
    double z = sig(wx[1] * x + bx[1] + wh[1] * h + bh[1]);
    double n = std::tanh(wx[2] * x + bx[2] + r * (wh[2] * h + bh[2]));
    return (1 - z) * n + z * h;
  };
  double f0 = gru(0, 12, xs[0], 0.3), f1 = gru(0, 12, xs[1], f0);
  double b1 = gru(6, 18, xs[1], -0.4), b0 = gru(6, 18, xs[0], b1);
  auto out = ref_op("RNN",
                    {{"mode", "gru"}, {"state_size", "1"}, {"num_layers", "1"}, {"bidirectional", "True"},
                     {"state_outputs", "True"}},
                    {tensor({2, 1, 1}, xs), tensor({24}, p), tensor({2, 1, 1}, {0.3, -0.4})});
  check_close(values(out[0]), {f0, b0, f1, b1});  // (T, N, 2H): forward then backward
  check_close(values(out[1]), {f1, b0});

  SUBCASE("two layers: layer 1 reads layer 0's outputs; weights before biases") {
    std::vector<double> q = {0.5, -0.3, 0.8, 0.2, 0.1, 0.2, -0.1, 0.3};  // W0x W0h W1x W1h b0x b0h b1x b1h
    double h0 = 0, h1 = 0;
    std::vector<double> want;
    for (double x : xs) {
      h0 = std::tanh(q[0] * x + q[4] + q[1] * h0 + q[5]);
      h1 = std::tanh(q[2] * h0 + q[6] + q[3] * h1 + q[7]);
      want.push_back(h1);
    }
    auto o = ref_op("RNN", {{"mode", "rnn_tanh"}, {"state_size", "1"}, {"num_layers", "2"}},
                    {tensor({2, 1, 1}, xs), tensor({8}, q), tensor({2, 1, 1}, {0, 0})});
    check_close(values(o[0]), want);
  }
}

TEST_CASE("reference RNN with sequence_length skips padded steps in both directions") {
  // rnn_tanh, bidirectional, I = H = 1: fwd Wx, Wh, bwd Wx, Wh, then fwd bx, bh, bwd bx, bh.
  std::vector<double> p = {0.5, 0.3, -0.7, 0.6, 0.1, -0.2, 0.05, 0.15};
  std::vector<double> xs = {1, 2, -1, 3, 0.5, -2};  // (T=3, N=2, 1): x[t][n]
  std::vector<double> h0 = {0.1, 0.2, -0.3, 0.4};   // (2 dirs, N=2, 1)
  auto cell = [&](int d, double x, double h) {
    return std::tanh(p[2 * d] * x + p[4 + 2 * d] + p[2 * d + 1] * h + p[5 + 2 * d]);
  };
  std::vector<double> want(12, 0.0), hy(4);
  const int len[2] = {3, 1};
  for (int n = 0; n < 2; ++n) {
    double h = h0[n];
    for (int t = 0; t < len[n]; ++t) want[(t * 2 + n) * 2] = h = cell(0, xs[t * 2 + n], h);
    hy[n] = h;
    h = h0[2 + n];
    for (int t = len[n] - 1; t >= 0; --t) want[(t * 2 + n) * 2 + 1] = h = cell(1, xs[t * 2 + n], h);
    hy[2 + n] = h;
  }
  auto out = ref_op("RNN",
                    {{"mode", "rnn_tanh"}, {"state_size", "1"}, {"num_layers", "1"}, {"bidirectional", "True"},
                     {"state_outputs", "True"}, {"use_sequence_length", "True"}},
                    {tensor({3, 2, 1}, xs), tensor({8}, p), tensor({2, 2, 1}, h0), tensor({2}, {3, 1}, DType::i32)});
  check_close(values(out[0]), want);
  check_close(values(out[1]), hy);
}

TEST_CASE("reference Embedding clips indices; where selects rows with a 1-D condition") {
  HostTensor w = tensor({3, 2}, {0, 1, 10, 11, 20, 21});
  HostTensor idx = tensor({2, 2}, {0, 2, 5, -1});
  auto out = ref_op("Embedding", {{"input_dim", "3"}, {"output_dim", "2"}}, {idx, w});
  CHECK(out[0].shape() == std::vector<int64_t>{2, 2, 2});
  check_close(values(out[0]), {0, 1, 20, 21, 20, 21, 0, 1});
  // Integer indices work the same.
  check_close(values(ref_op("Embedding", {{"input_dim", "3"}, {"output_dim", "2"}},
                            {tensor({2}, {1, 7}, DType::i32), w})[0]),
              {10, 11, 20, 21});

  HostTensor x = tensor({2, 2}, {1, 2, 3, 4}), y = tensor({2, 2}, {-1, -2, -3, -4});
  check_close(values(ref_op("where", {}, {tensor({2}, {0, 1}), x, y})[0]), {-1, -2, 3, 4});
  check_close(values(ref_op("where", {}, {tensor({2, 2}, {1, 0, 0, 2}), x, y})[0]), {1, -2, -3, 4});
}

TEST_CASE("reference SequenceMask and _arange with repeat") {
  HostTensor d = iota({3, 2, 1}, 1);  // (T=3, N=2): t0 = 1 2, t1 = 3 4, t2 = 5 6
  auto out = ref_op("SequenceMask", {{"use_sequence_length", "True"}, {"value", "-1"}},
                    {d, tensor({2}, {1, 3})});
  check_close(values(out[0]), {1, 2, -1, 4, -1, 6});
  // axis=1: (N=2, T=3); lengths 2 and 0.
  out = ref_op("SequenceMask", {{"use_sequence_length", "True"}, {"axis", "1"}},
               {iota({2, 3}, 1), tensor({2}, {2, 0})});
  check_close(values(out[0]), {1, 2, 0, 0, 0, 0});
  check_close(values(ref_op("SequenceMask", {}, {d})[0]), values(d));

  out = ref_op("_arange", {{"start", "1"}, {"stop", "4"}, {"step", "1.5"}, {"repeat", "2"}}, {});
  check_close(values(out[0]), {1, 1, 2.5, 2.5});
  check_close(values(ref_op("_arange", {{"start", "3"}}, {})[0]), {0, 1, 2});  // stop None: [0, start)
  out = ref_op("_arange", {{"start", "5"}, {"stop", "0"}, {"step", "-2"}, {"dtype", "int32"}}, {});
  CHECK(out[0].dtype() == DType::i32);
  check_close(values(out[0]), {5, 3, 1});
}
