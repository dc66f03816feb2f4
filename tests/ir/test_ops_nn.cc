// Shape/dtype rules of the dense nn ops: FullyConnected, activations, Dropout, Embedding,
// Flatten, loss outputs, SequenceMask.
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::has;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
const OpDef& op(const std::string& n) { return OpRegistry::global().get(n); }
AttrValue default_of(const std::string& o, const std::string& a) {
  return *op(o).attr_spec(a)->default_value;
}
const Shape U = Shape();  // unknown: completed by the op
}  // namespace

TEST_CASE("FullyConnected completes weight and bias") {
  auto r = infer_op("FullyConnected", {{"num_hidden", "8"}}, {{2, 5}, U, U});
  CHECK(r.out[0] == Shape{2, 8});
  CHECK(r.in[1] == Shape{8, 5});
  CHECK(r.in[2] == Shape{8});

  SUBCASE("flatten collapses all but the first axis") {
    auto f = infer_op("FullyConnected", {{"num_hidden", "8"}}, {{2, 3, 4}, U, U});
    CHECK(f.in[1] == Shape{8, 12});
    CHECK(f.out[0] == Shape{2, 8});
  }
  SUBCASE("flatten=False works on the last axis") {
    auto f =
        infer_op("FullyConnected", {{"num_hidden", "8"}, {"flatten", "False"}}, {{2, 3, 4}, U, U});
    CHECK(f.in[1] == Shape{8, 4});
    CHECK(f.out[0] == Shape{2, 3, 8});
  }
  SUBCASE("no_bias drops the bias input") {
    auto f = infer_op("FullyConnected", {{"num_hidden", "3"}, {"no_bias", "True"}}, {{4, 6}, U});
    CHECK(f.in.size() == 2);
    CHECK(f.out[0] == Shape{4, 3});
  }
  SUBCASE("a deferred weight dim like (256, 0) is completed from data") {
    auto f = infer_op("FullyConnected", {{"num_hidden", "256"}},
                      {{1, 784}, Shape{256, Shape::kUnknownDim}, U});
    CHECK(f.in[1] == Shape{256, 784});
  }
  SUBCASE("a (num_hidden, 1) bias is accepted as in MXNet") {
    auto f = infer_op("FullyConnected", {{"num_hidden", "8"}}, {{2, 5}, U, {8, 1}});
    CHECK(f.out[0] == Shape{2, 8});
  }
}

TEST_CASE("FullyConnected schema and errors") {
  const OpDef& fc = op("FullyConnected");
  CHECK(fc.has(kGemm));
  CHECK(fc.param_inputs == Names{"weight", "bias"});
  CHECK(default_of("FullyConnected", "flatten") == AttrValue(true));
  CHECK(default_of("FullyConnected", "no_bias") == AttrValue(false));
  CHECK_FALSE(fc.attr_spec("num_hidden")->default_value);  // required

  std::string m = infer_error("FullyConnected", {{"num_hidden", "8"}}, {{2, 5}, {8, 6}, U});
  CHECK(names_node(m, "FullyConnected", "weight"));
  CHECK(has(m, "(8, 5)"));
  CHECK_THROWS_AS(infer_op("FullyConnected", {}, {{2, 5}, U, U}), Error);  // num_hidden missing
}

TEST_CASE("Activation and LeakyReLU") {
  CHECK(infer_op("Activation", {{"act_type", "relu"}}, {{2, 3}}).out[0] == Shape{2, 3});
  CHECK(infer_op("Activation", {{"act_type", "mish"}}, {{4}}).out[0] == Shape{4});
  CHECK(op("Activation").has(kElementwise));
  // act_type is required and an enum.
  CHECK_THROWS_AS(infer_op("Activation", {}, {{2, 3}}), Error);
  CHECK_THROWS_AS(infer_op("Activation", {{"act_type", "gelu"}}, {{2, 3}}), Error);

  CHECK(default_of("LeakyReLU", "act_type") == AttrValue(std::string("leaky")));
  CHECK(default_of("LeakyReLU", "slope") == AttrValue(0.25));
  CHECK(default_of("LeakyReLU", "lower_bound") == AttrValue(0.125));
  CHECK(default_of("LeakyReLU", "upper_bound") == AttrValue(0.334));
  auto l = infer_op("LeakyReLU", {}, {{2, 3}});
  CHECK(l.in.size() == 1);
  CHECK(l.out.size() == 1);

  SUBCASE("prelu learns gamma (channels,)") {
    auto p = infer_op("LeakyReLU", {{"act_type", "prelu"}}, {{2, 3, 4, 4}, U});
    CHECK(p.in[1] == Shape{3});
    CHECK(p.out[0] == Shape{2, 3, 4, 4});
    CHECK(op("LeakyReLU").param_inputs == Names{"gamma"});
    // Gluon's default PReLU shares one slope.
    CHECK(infer_op("LeakyReLU", {{"act_type", "prelu"}}, {{2, 3, 4}, {1}}).out[0] ==
          Shape{2, 3, 4});
    std::string m = infer_error("LeakyReLU", {{"act_type", "prelu"}}, {{2, 3, 4}, {5}});
    CHECK(names_node(m, "LeakyReLU", "gamma"));
  }
  SUBCASE("rrelu has a visible mask output and is random") {
    auto p = infer_op("LeakyReLU", {{"act_type", "rrelu"}}, {{2, 3}});
    REQUIRE(p.out.size() == 2);
    CHECK(p.out[1] == Shape{2, 3});
    CHECK(op("LeakyReLU").has(kRandom));
  }
}

TEST_CASE("Dropout has a hidden mask output") {
  const OpDef& d = op("Dropout");
  CHECK(d.has(kRandom | kTrainingOnly));
  CHECK(default_of("Dropout", "p") == AttrValue(0.5));
  CHECK(default_of("Dropout", "mode") == AttrValue(std::string("training")));
  CHECK(default_of("Dropout", "cudnn_off") == AttrValue(false));
  auto r = infer_op("Dropout", {{"p", "0.2"}}, {{2, 3, 4}});
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[0] == Shape{2, 3, 4});
  CHECK(r.out[1] == Shape{2, 3, 4});
  AttrMap none;
  CHECK(d.num_visible_outputs(AttrView(d, none, "x")) == 1);
  // Variational dropout: one mask value along `axes`.
  CHECK(infer_op("Dropout", {{"axes", "(1,)"}}, {{2, 3, 4}}).out[1] == Shape{2, 1, 4});
  CHECK(infer_op("Dropout", {{"cudnn_off", "None"}}, {{2}}).out[0] == Shape{2});
  CHECK(names_node(infer_error("Dropout", {{"axes", "(3,)"}}, {{2, 3, 4}}), "Dropout", "axes"));
  CHECK(names_node(infer_error("Dropout", {{"p", "1.5"}}, {{2}}), "Dropout", "p must be"));
}

TEST_CASE("Embedding keeps the index dtype and completes the weight") {
  auto r = infer_op("Embedding", {{"input_dim", "100"}, {"output_dim", "16"}}, {{4, 7}, U},
                    {DType::i32});
  CHECK(r.in[1] == Shape{100, 16});
  CHECK(r.out[0] == Shape{4, 7, 16});
  CHECK(r.in_types[0] == DType::i32);
  CHECK(r.in_types[1] == DType::f32);
  CHECK(r.out_types[0] == DType::f32);
  CHECK(op("Embedding").param_inputs == Names{"weight"});
  CHECK(default_of("Embedding", "sparse_grad") == AttrValue(false));

  // The dtype attribute types an untyped weight; a typed weight wins.
  auto h = infer_op("Embedding", {{"input_dim", "10"}, {"output_dim", "4"}, {"dtype", "float16"}},
                    {{3}, U}, {DType::i64});
  CHECK(h.out_types[0] == DType::f16);
  CHECK(h.in_types[1] == DType::f16);
  CHECK(h.in_types[0] == DType::i64);
  auto w = infer_op("Embedding", {{"input_dim", "10"}, {"output_dim", "4"}}, {{3}, U},
                    {DType::f32, DType::f64});
  CHECK(w.out_types[0] == DType::f64);

  std::string m =
      infer_error("Embedding", {{"input_dim", "10"}, {"output_dim", "4"}}, {{3}, {10, 5}});
  CHECK(names_node(m, "Embedding", "weight"));
}

TEST_CASE("Flatten") {
  CHECK(infer_op("Flatten", {}, {{2, 3, 4, 5}}).out[0] == Shape{2, 60});
  CHECK(infer_op("flatten", {}, {{7}}).out[0] == Shape{7, 1});
  CHECK(OpRegistry::global().find("flatten") == &op("Flatten"));
  CHECK(names_node(infer_error("Flatten", {}, {Shape::scalar()}), "Flatten", "scalar"));
}

TEST_CASE("SoftmaxOutput completes its label") {
  const OpDef& s = op("SoftmaxOutput");
  CHECK(s.has(kLoss));
  CHECK(OpRegistry::global().find("Softmax") == &s);
  CHECK(default_of("SoftmaxOutput", "normalization") == AttrValue(std::string("null")));
  CHECK(default_of("SoftmaxOutput", "ignore_label") == AttrValue(-1.0));
  CHECK(default_of("SoftmaxOutput", "grad_scale") == AttrValue(1.0));

  auto r = infer_op("SoftmaxOutput", {}, {{4, 10}, U});
  CHECK(r.in[1] == Shape{4});
  CHECK(r.out[0] == Shape{4, 10});
  CHECK(infer_op("SoftmaxOutput", {}, {{2, 3, 10}, U}).in[1] == Shape{2, 3});
  // Probabilities as labels: the label has data's shape.
  CHECK(infer_op("SoftmaxOutput", {}, {{4, 10}, {4, 10}}).out[0] == Shape{4, 10});
  // multi_output: (N, C, d) data takes a (N, d) label; (N, 1, d) works too.
  CHECK(infer_op("SoftmaxOutput", {{"multi_output", "True"}}, {{2, 10, 5}, U}).in[1] ==
        Shape{2, 5});
  CHECK(
      infer_op("SoftmaxOutput", {{"multi_output", "True"}}, {{2, 10, 5, 3}, {2, 1, 5, 3}}).out[0] ==
      Shape{2, 10, 5, 3});

  CHECK(names_node(infer_error("SoftmaxOutput", {}, {{4, 10}, {5}}), "SoftmaxOutput", "label"));
  CHECK(names_node(infer_error("SoftmaxOutput", {{"multi_output", "True"}}, {{2, 10, 5}, {3, 5}}),
                   "SoftmaxOutput", "label"));
}

TEST_CASE("regression outputs") {
  for (const char* name :
       {"LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"}) {
    CAPTURE(name);
    CHECK(op(name).has(kLoss));
    CHECK(default_of(name, "grad_scale") == AttrValue(1.0));
    CHECK(infer_op(name, {}, {{4, 3}, U}).in[1] == Shape{4, 3});
    // A (N, 1) output takes a 1-D label, as in MXNet.
    CHECK(infer_op(name, {}, {{4, 1}, U}).in[1] == Shape{4});
    CHECK(infer_op(name, {}, {{4, 1}, {4}}).out[0] == Shape{4, 1});
    CHECK(names_node(infer_error(name, {}, {{4, 1}, {5}}), name, "label"));
  }
}

TEST_CASE("SequenceMask") {
  auto r = infer_op("SequenceMask", {{"use_sequence_length", "True"}}, {{5, 2, 3}, U},
                    {DType::f32, DType::i32});
  CHECK(r.in[1] == Shape{2});  // (T, N, ...): one length per batch entry
  CHECK(r.out[0] == Shape{5, 2, 3});
  CHECK(r.in_types[1] == DType::i32);
  CHECK(r.out_types[0] == DType::f32);
  CHECK(infer_op("SequenceMask", {{"use_sequence_length", "True"}, {"axis", "1"}}, {{5, 2, 3}, U})
            .in[1] == Shape{5});
  CHECK(infer_op("SequenceMask", {}, {{5, 2}}).in.size() == 1);
  CHECK(default_of("SequenceMask", "value") == AttrValue(0.0));
  CHECK(names_node(infer_error("SequenceMask", {{"axis", "2"}}, {{5, 2, 3}}), "SequenceMask",
                   "axis"));
  CHECK(names_node(infer_error("SequenceMask", {}, {{5}}), "SequenceMask", "rank >= 2"));
}

TEST_CASE("_contrib_count_sketch: last dim -> out_dim, (1, d) hash rows, MXNet's attrs") {
  auto r = infer_op("_contrib_count_sketch", {{"out_dim", "16"}}, {{4, 10}, U, U});
  CHECK(r.out[0] == Shape{4, 16});
  CHECK(r.in[1] == Shape{1, 10});
  CHECK(r.in[2] == Shape{1, 10});
  CHECK(infer_op("_contrib_count_sketch", {{"out_dim", "3"}}, {{2, 5, 6, 7}, U, U}).out[0] == Shape{2, 5, 6, 3});
  CHECK(OpRegistry::global().get("count_sketch").name == "_contrib_count_sketch");  // mx.nd.contrib's name
  CHECK(default_of("_contrib_count_sketch", "processing_batch_size") == AttrValue(int64_t(32)));
  CHECK(names_node(infer_error("_contrib_count_sketch", {{"out_dim", "4"}}, {{2, 3, 5}, U, U}), "_contrib_count_sketch",
                   "2-D or 4-D"));
  CHECK(names_node(infer_error("_contrib_count_sketch", {{"out_dim", "0"}}, {{2, 5}, U, U}), "_contrib_count_sketch",
                   "out_dim"));
  CHECK_THROWS_AS(infer_op("_contrib_count_sketch", {{"out_dim", "4"}}, {{2, 5}, {1, 4}, U}), Error);  // h too short
  CHECK_THROWS_AS(infer_op("_contrib_count_sketch", {}, {{2, 5}, U, U}), Error);                       // out_dim required
}
