// The reference evaluator on the rest of the op set: one or two hand-worked cases per
// family, aimed at the MXNet conventions (index clipping, mod sign, rint ties, float
// argmax indices, transposed dots, ...). Expected values are written out.
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
std::vector<double> run1(const std::string& op, const std::map<std::string, std::string>& attrs,
                         const std::vector<HostTensor>& in) {
  return values(ref_op(op, attrs, in)[0]);
}
}  // namespace

TEST_CASE("reference unary and scalar math follow mshadow_op") {
  HostTensor halves = tensor({3}, {2.5, -2.5, 1.4});
  check_close(run1("rint", {}, {halves}), {2, -3, 1});  // ties go to floor
  check_close(run1("round", {}, {halves}), {3, -3, 1});  // ties away from zero
  check_close(run1("fix", {}, {tensor({2}, {-2.7, 2.7})}), {-2, 2});
  check_close(run1("erfinv", {}, {tensor({1}, {std::erf(0.3)})}), {0.3});
  check_close(run1("_contrib_div_sqrt_dim", {}, {tensor({1, 4}, {2, 4, 6, 8})}), {1, 2, 3, 4});
  check_close(run1("hard_sigmoid", {}, {tensor({2}, {0, 5})}), {0.5, 1});
  check_close(run1("Activation", {{"act_type", "softrelu"}}, {tensor({2}, {0, 30})}), {std::log(2.0), 30});
  check_close(run1("clip", {{"a_min", "-1"}, {"a_max", "1"}}, {tensor({3}, {-2, 0.5, 3})}), {-1, 0.5, 1});

  HostTensor x = tensor({2}, {1, 2});
  check_close(run1("_rminus_scalar", {{"scalar", "10"}}, {x}), {9, 8});
  check_close(run1("_rdiv_scalar", {{"scalar", "1"}}, {x}), {1, 0.5});
  check_close(run1("_power_scalar", {{"scalar", "3"}}, {x}), {1, 8});
  check_close(run1("_mod_scalar", {{"scalar", "2"}}, {tensor({2}, {-3, 3})}), {1, 1});
  check_close(run1("_greater_scalar", {{"scalar", "1"}}, {x}), {0, 1});
  // An integer tensor divided by an integer scalar stays integer (C++ truncation).
  auto q = ref_op("_div_scalar", {{"scalar", "2"}}, {tensor({2}, {7, -7}, DType::i32)});
  CHECK(q[0].dtype() == DType::i32);
  check_close(values(q[0]), {3, -3});
}

TEST_CASE("reference binaries, broadcasting and expanders") {
  check_close(run1("broadcast_add", {}, {tensor({2, 1}, {0, 1}), tensor({1, 3}, {10, 20, 30})}),
              {10, 20, 30, 11, 21, 31});
  // mod takes the divisor's sign.
  check_close(run1("broadcast_mod", {}, {tensor({2}, {-3, 3}), tensor({2}, {2, -2})}), {1, -1});
  check_close(run1("_mod", {}, {tensor({2}, {-3, 3}), tensor({2}, {2, -2})}), {1, -1});
  check_close(run1("elemwise_div", {}, {tensor({2}, {1, 3}), tensor({2}, {4, 2})}), {0.25, 1.5});
  check_close(run1("broadcast_logical_xor", {}, {tensor({3}, {0, 1, 2}), tensor({1}, {1})}), {1, 0, 0});
  check_close(run1("_maximum", {}, {tensor({2}, {1, 5}), tensor({2}, {3, 2})}), {3, 5});
  check_close(run1("add_n", {{"num_args", "3"}}, {tensor({2}, {1, 2}), tensor({2}, {3, 4}), tensor({2}, {5, 6})}),
              {9, 12});
  HostTensor col = tensor({2, 1}, {1, 2});
  check_close(run1("broadcast_axis", {{"axis", "(1,)"}, {"size", "(3,)"}}, {col}), {1, 1, 1, 2, 2, 2});
  check_close(run1("broadcast_to", {{"shape", "(0, 3)"}}, {col}), {1, 1, 1, 2, 2, 2});
  check_close(run1("broadcast_like", {}, {col, iota({2, 3})}), {1, 1, 1, 2, 2, 2});
}

TEST_CASE("reference reductions: axis, exclude, keepdims, float argmax indices, norm") {
  HostTensor x = iota({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  check_close(run1("sum", {{"axis", "(1,)"}}, {x}), {3, 12});
  auto kept = ref_op("sum", {{"axis", "(0,)"}, {"keepdims", "True"}}, {x});
  CHECK(kept[0].shape() == std::vector<int64_t>{1, 3});
  check_close(values(kept[0]), {3, 5, 7});
  check_close(run1("sum", {{"axis", "(1,)"}, {"exclude", "True"}}, {x}), {3, 5, 7});
  auto all = ref_op("mean", {}, {x});
  CHECK(all[0].shape() == std::vector<int64_t>{1});
  check_close(values(all[0]), {2.5});
  check_close(run1("prod", {{"axis", "(1,)"}}, {x}), {0, 60});
  check_close(run1("max", {{"axis", "(0,)"}}, {x}), {3, 4, 5});
  check_close(run1("nansum", {}, {tensor({3}, {1, NAN, 2})}), {3});
  check_close(run1("norm", {}, {tensor({2}, {3, 4})}), {5});
  check_close(run1("norm", {{"ord", "1"}, {"axis", "(1,)"}}, {tensor({2, 2}, {-1, 2, 3, -4})}), {3, 7});

  HostTensor ties = tensor({2, 3}, {1, 3, 3, 2, 0, 1});
  auto am = ref_op("argmax", {{"axis", "1"}}, {ties});
  CHECK(am[0].dtype() == DType::f32);
  check_close(values(am[0]), {1, 0});  // the first of equal maxima
  check_close(run1("argmin", {}, {ties}), {4});  // axis None: index into the flattened input
  check_close(run1("argmax_channel", {}, {ties}), {1, 0});
}

TEST_CASE("reference dot and batch_dot with transposes, FullyConnected flatten") {
  HostTensor a = iota({2, 3}), b = iota({2, 3}, 6);
  check_close(run1("dot", {{"transpose_b", "True"}}, {a, b}), {23, 32, 86, 122});
  std::vector<double> atb = {27, 30, 33, 42, 47, 52, 57, 64, 71};
  check_close(run1("dot", {{"transpose_a", "True"}}, {a, b}), atb);
  check_close(run1("batch_dot", {{"transpose_a", "True"}}, {iota({1, 2, 3}), iota({1, 2, 3}, 6)}), atb);
  check_close(run1("dot", {}, {tensor({2}, {1, 2}), tensor({2}, {3, 4})}), {11});

  HostTensor x = tensor({1, 2, 2}, {1, 2, 3, 4});
  auto nf = ref_op("FullyConnected", {{"num_hidden", "1"}, {"flatten", "False"}},
                   {x, tensor({1, 2}, {1, 1}), tensor({1}, {0.5})});
  CHECK(nf[0].shape() == std::vector<int64_t>{1, 2, 1});
  check_close(values(nf[0]), {3.5, 7.5});
  check_close(run1("FullyConnected", {{"num_hidden", "1"}}, {x, tensor({1, 4}, {1, 1, 1, 1}), tensor({1}, {0.5})}),
              {10.5});
}

TEST_CASE("reference activations: LeakyReLU variants, Dropout, regression heads") {
  check_close(run1("LeakyReLU", {{"act_type", "gelu"}}, {tensor({1}, {1})}), {0.8413447460685429});
  check_close(run1("LeakyReLU", {{"act_type", "selu"}}, {tensor({1}, {-1})}), {-1.1113307378125625});
  check_close(run1("LeakyReLU", {{"act_type", "elu"}}, {tensor({2}, {-2, 2})}), {-0.21616617919084682, 2});
  check_close(run1("LeakyReLU", {}, {tensor({2}, {-2, 2})}), {-0.5, 2});
  auto rr = ref_op("LeakyReLU", {{"act_type", "rrelu"}}, {tensor({2}, {-2, 2})});
  check_close(values(rr[0]), {-2 * (0.125 + 0.334) / 2, 2});  // the mean slope in predict mode
  // prelu: one slope per channel (axis 1).
  check_close(run1("LeakyReLU", {{"act_type", "prelu"}}, {tensor({1, 2, 2}, {-1, 2, -4, 3}), tensor({2}, {0.5, 0.25})}),
              {-0.5, 2, -1, 3});

  auto d = ref_op("Dropout", {{"p", "0.5"}}, {tensor({2}, {1, 2})});
  check_close(values(d[0]), {1, 2});
  CHECK_THROWS_AS(ref_op("Dropout", {{"p", "0.5"}, {"mode", "always"}}, {tensor({2}, {1, 2})}), Error);

  HostTensor z = tensor({1, 2}, {0, 2}), label = tensor({1, 2}, {0, 0});
  check_close(run1("LogisticRegressionOutput", {}, {z, label}), {0.5, 0.8807970779778823});
  check_close(run1("LinearRegressionOutput", {}, {z, label}), {0, 2});
  check_close(run1("SoftmaxActivation", {{"mode", "channel"}}, {tensor({1, 2, 1}, {1, 3})}),
              {0.11920292202211755, 0.8807970779778823});
}

TEST_CASE("reference gathers: take modes, pick, gather_nd, one_hot, slices") {
  HostTensor a = tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  HostTensor idx = tensor({2, 2}, {0, 5, -1, 1});
  auto t = ref_op("take", {}, {a, idx});
  CHECK(t[0].shape() == std::vector<int64_t>{2, 2, 2});
  check_close(values(t[0]), {1, 2, 5, 6, 1, 2, 3, 4});  // clip
  check_close(run1("take", {{"mode", "wrap"}}, {a, idx}), {1, 2, 5, 6, 5, 6, 3, 4});
  CHECK_THROWS_AS(ref_op("take", {{"mode", "raise"}}, {a, idx}), Error);
  check_close(run1("take", {{"axis", "1"}}, {a, tensor({1}, {1}, DType::i64)}), {2, 4, 6});

  HostTensor p = tensor({2, 2}, {1, 2, 3, 4});
  check_close(run1("pick", {}, {p, tensor({2}, {1, 0})}), {2, 3});
  check_close(run1("pick", {{"mode", "wrap"}}, {p, tensor({2}, {3, -1})}), {2, 4});
  CHECK(ref_op("pick", {{"keepdims", "True"}}, {p, tensor({2, 1}, {1, 0})})[0].shape() ==
        std::vector<int64_t>{2, 1});
  check_close(run1("gather_nd", {}, {p, tensor({2, 2}, {1, 0, 0, 1})}), {3, 2});
  check_close(run1("one_hot", {{"depth", "3"}}, {tensor({3}, {1, -1, 3})}), {0, 1, 0, 0, 0, 0, 0, 0, 0});

  HostTensor x = iota({3, 4});
  check_close(run1("slice", {{"begin", "(None, -1)"}, {"end", "(None, 0)"}, {"step", "(2, -1)"}}, {x}),
              {3, 2, 1, 11, 10, 9});
  check_close(run1("slice", {{"begin", "(1,)"}, {"end", "(2,)"}}, {x}), {4, 5, 6, 7});
  check_close(run1("slice_axis", {{"axis", "1"}, {"begin", "-2"}, {"end", "-1"}}, {x}), {2, 6, 10});
  check_close(run1("slice_axis", {{"axis", "0"}, {"begin", "1"}, {"end", "None"}}, {x}), values(iota({2, 4}, 4)));
  check_close(run1("slice_like", {}, {x, iota({2, 2})}), {0, 1, 4, 5});
}

TEST_CASE("reference movement: transpose, joins, splits, tile, repeat, reverse, depth_to_space") {
  HostTensor x = iota({2, 3});
  check_close(run1("transpose", {}, {x}), {0, 3, 1, 4, 2, 5});
  check_close(run1("SwapAxis", {{"dim1", "0"}, {"dim2", "1"}}, {x}), {0, 3, 1, 4, 2, 5});
  check_close(run1("transpose", {{"axes", "(1, 0, 2)"}}, {iota({2, 2, 1})}), {0, 2, 1, 3});
  check_close(run1("Concat", {{"num_args", "2"}, {"dim", "1"}}, {tensor({2, 1}, {1, 2}), tensor({2, 2}, {3, 4, 5, 6})}),
              {1, 3, 4, 2, 5, 6});
  auto parts = ref_op("SliceChannel", {{"num_outputs", "2"}}, {iota({2, 4})});
  REQUIRE(parts.size() == 2);
  check_close(values(parts[0]), {0, 1, 4, 5});
  check_close(values(parts[1]), {2, 3, 6, 7});
  auto sq = ref_op("SliceChannel", {{"num_outputs", "3"}, {"squeeze_axis", "True"}}, {x});
  CHECK(sq[2].shape() == std::vector<int64_t>{2});
  check_close(values(sq[2]), {2, 5});
  check_close(run1("stack", {{"num_args", "2"}, {"axis", "1"}}, {tensor({2}, {1, 2}), tensor({2}, {3, 4})}),
              {1, 3, 2, 4});
  check_close(run1("tile", {{"reps", "(2, 2)"}}, {tensor({2}, {1, 2})}), {1, 2, 1, 2, 1, 2, 1, 2});
  check_close(run1("repeat", {{"repeats", "2"}, {"axis", "0"}}, {tensor({2, 2}, {1, 2, 3, 4})}),
              {1, 2, 1, 2, 3, 4, 3, 4});
  check_close(run1("repeat", {{"repeats", "2"}}, {tensor({2, 2}, {1, 2, 3, 4})}), {1, 1, 2, 2, 3, 3, 4, 4});
  check_close(run1("reverse", {{"axis", "(1,)"}}, {x}), {2, 1, 0, 5, 4, 3});
  check_close(run1("expand_dims", {{"axis", "1"}}, {x}), values(x));

  // MXNet's documented depth_to_space example, and space_to_depth inverts it.
  auto d2s = ref_op("depth_to_space", {{"block_size", "2"}}, {iota({1, 4, 2, 3})});
  CHECK(d2s[0].shape() == std::vector<int64_t>{1, 1, 4, 6});
  check_close(values(d2s[0]), {0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23});
  check_close(run1("space_to_depth", {{"block_size", "2"}}, {d2s[0]}), values(iota({1, 4, 2, 3})));
  auto shp = ref_op("shape_array", {}, {x});
  CHECK(shp[0].dtype() == DType::i64);
  check_close(values(shp[0]), {2, 3});
}

TEST_CASE("reference normalizations: InstanceNorm, GroupNorm, L2Normalization") {
  HostTensor x = tensor({1, 1, 2}, {1, 3});
  auto in = ref_op("InstanceNorm", {{"eps", "0"}}, {x, tensor({1}, {2}), tensor({1}, {1})});
  check_close(values(in[0]), {-1, 3});
  check_close(values(in[1]), {2});
  check_close(values(in[2]), {1});
  HostTensor y = tensor({1, 2, 1}, {1, 3});
  auto gn = ref_op("GroupNorm", {{"eps", "0"}}, {y, tensor({1}, {2}), tensor({1}, {0})});
  check_close(values(gn[0]), {-2, 2});
  check_close(values(gn[2]), {1});
  auto l2 = ref_op("L2Normalization", {}, {tensor({1, 2}, {3, 4})});
  check_close(values(l2[0]), {0.6, 0.8});
  check_close(values(l2[1]), {5});
  check_close(run1("L2Normalization", {{"mode", "channel"}}, {tensor({1, 2, 1}, {3, 4})}), {0.6, 0.8});
}

TEST_CASE("reference creation ops and dtype conversions (Cast, float16, bfloat16)") {
  check_close(run1("_eye", {{"N", "2"}, {"M", "3"}, {"k", "1"}}, {}), {0, 1, 0, 0, 0, 1});
  check_close(run1("_full", {{"shape", "(2,)"}, {"value", "7"}}, {}), {7, 7});
  check_close(run1("ones_like", {}, {iota({2})}), {1, 1});
  auto c = ref_op("Cast", {{"dtype", "int32"}}, {tensor({3}, {-1.7, 2.9, 1e12})});
  CHECK(c[0].dtype() == DType::i32);
  check_close(values(c[0]), {-1, 2, 2147483647});  // truncation; saturation instead of UB

  auto h = ref_op("Cast", {{"dtype", "float16"}}, {tensor({4}, {1.0 / 3, -2, 65504, 1e-7})});
  REQUIRE(h[0].dtype() == DType::f16);
  const uint16_t* hb = h[0].data<uint16_t>();
  CHECK(hb[0] == 0x3555);  // 0.333251953125
  CHECK(hb[1] == 0xc000);
  CHECK(hb[2] == 0x7bff);  // the largest finite half
  CHECK(hb[3] == 0x0002);  // subnormal: 1e-7 / 2^-24 = 1.68 -> 2
  check_close(run1("Cast", {{"dtype", "float32"}}, {h[0]}), {0.333251953125, -2, 65504, 2.0 / 16777216});
  auto bf = ref_op("Cast", {{"dtype", "bfloat16"}}, {tensor({1}, {1.0 / 3})});
  CHECK(bf[0].data<uint16_t>()[0] == 0x3eab);
}

TEST_CASE("reference im2col and col2im: hand-worked blocks, padding, shape errors") {
  HostTensor x = iota({1, 1, 3, 3});  // [[0 1 2] [3 4 5] [6 7 8]]
  // 2x2 kernel: 4 blocks; row k holds tap k of every block.
  auto cols = ref_op("im2col", {{"kernel", "(2, 2)"}}, {x});
  CHECK(cols[0].shape() == std::vector<int64_t>{1, 4, 4});
  check_close(values(cols[0]), {0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8});
  // col2im of ones counts how many blocks cover each pixel.
  check_close(run1("col2im", {{"kernel", "(2, 2)"}, {"output_size", "(3, 3)"}}, {tensor({1, 4, 4}, std::vector<double>(16, 1))}),
              {1, 2, 1, 2, 4, 2, 1, 2, 1});
  // 1-D with pad 1, stride 2 over [1 2 3]: blocks start at -1 and 1.
  check_close(run1("im2col", {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pad", "(1,)"}}, {tensor({1, 1, 3}, {1, 2, 3})}),
              {0, 2, 1, 3, 2, 0});
  CHECK_THROWS_AS(ref_op("col2im", {{"kernel", "(2, 2)"}, {"output_size", "(3, 3)"}}, {tensor({1, 4, 3}, std::vector<double>(12, 1))}),
                  Error);
  CHECK_THROWS_AS(ref_op("col2im", {{"kernel", "(2, 2)"}, {"output_size", "(3, 3)"}}, {tensor({1, 6, 4}, std::vector<double>(24, 1))}),
                  Error);
  CHECK_THROWS_AS(ref_op("im2col", {{"kernel", "(4, 4)"}}, {x}), Error);
}
