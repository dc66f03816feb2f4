// The detection ops (MXNet 1.9 contrib): values worked by hand from MXNet's code and docs,
// then the compiled op (generated kernel or library call) == the imperative road == the
// reference evaluator on structured random inputs (anchors from MultiBoxPrior, valid
// ground-truth boxes with -1 padding, softmax class scores).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/ir/infer.h"
#include "reference/reference.h"

using namespace hgc;

namespace {

using Attrs = std::map<std::string, std::string>;

HostTensor tensor(const std::vector<float>& v, const std::vector<int64_t>& shape) {
  HostTensor t(DType::f32, shape);
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

std::vector<float> values(const HostTensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

void check_values(const HostTensor& got, const std::vector<float>& want, double tol = 1e-5) {
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element ", i, ": ", got.data<float>()[i], " vs ", want[i]);
    CHECK(std::abs(got.data<float>()[i] - want[i]) <= tol);
  }
}

// The op run three ways: compiled one-node graph, imperative invoke and the reference
// evaluator; every visible output must agree. Returns the compiled outputs.
std::vector<HostTensor> three_ways(const std::string& op, const Attrs& attrs, const std::vector<HostTensor>& in) {
  const OpDef& def = OpRegistry::global().get(op);
  AttrMap typed;
  for (const auto& [k, v] : attrs) typed[k] = parse_attr(*def.attr_spec(k), v);
  Names names = def.input_names(AttrView(def, typed, "t"));
  Graph g;
  std::vector<ValueRef> ins;
  InferOptions io;
  std::map<std::string, HostTensor> vars;
  for (size_t i = 0; i < in.size(); ++i) {
    ins.push_back({g.add_variable(names[i]), 0});
    io.shapes[names[i]] = Shape(in[i].shape());
    io.dtypes[names[i]] = DType::f32;
    vars[names[i]] = in[i];
  }
  int id = g.add_node(op, "n", ins, typed);
  int visible = g.nodes[id].op->num_visible_outputs(g.nodes[id].attr_view());
  for (int k = 0; k < visible; ++k) g.heads.push_back({id, k});
  infer(g, io);
  std::vector<HostTensor> want = ref::evaluate(g, vars), got = compile(g)->run(vars), imp = invoke(op, attrs, in);
  for (int k = 0; k < visible; ++k) {
    CAPTURE(k);
    REQUIRE(got[k].shape() == want[k].shape());
    check_values(got[k], values(want[k]), 1e-4);
    check_values(imp[k], values(want[k]), 1e-4);
  }
  return got;
}

// Columns 1..4 of (B, L, 5) labels: (B * L, 4) boxes.
HostTensor label_boxes(const HostTensor& label) {
  int64_t n = label.numel() / 5;
  HostTensor t(DType::f32, {n, 4});
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 4; ++k) t.data<float>()[i * 4 + k] = label.data<float>()[i * 5 + 1 + k];
  return t;
}

}  // namespace

TEST_CASE("MultiBoxPrior: the anchors of a 2x2 map, sizes (0.5, 0.25), ratios (1, 2, 0.5), as MXNet makes them") {
  HostTensor x(DType::f32, {1, 3, 2, 2});
  auto y = three_ways("_contrib_MultiBoxPrior", {{"sizes", "(0.5, 0.25)"}, {"ratios", "(1, 2, 0.5)"}}, {x});
  REQUIRE(y[0].shape() == std::vector<int64_t>{1, 16, 4});
  // Pixel (row 0, col 0), centre (0.25, 0.25): size 0.5, size 0.25 (ratio 1), then size 0.5
  // at ratios 2 and 0.5: half extents 0.5*sqrt(2)/2 = 0.353553 and 0.5/sqrt(2)/2 = 0.176777.
  std::vector<float> first = {0.f,       0.f,       0.5f,     0.5f,     0.125f,    0.125f,    0.375f,    0.375f,
                              -0.103553f, 0.073223f, 0.603553f, 0.426777f, 0.073223f, -0.103553f, 0.426777f, 0.603553f};
  check_values(y[0].reshaped({4, 16}).slice0(0, 1), first);
  // Pixel (0, 1) is centred at x = 0.75: its first anchor is [0.5, 0, 1, 0.5].
  std::vector<float> v = values(y[0]);
  check_values(tensor({v[16], v[17], v[18], v[19]}, {4}), {0.5f, 0.f, 1.f, 0.5f});
  // clip=True clamps into [0, 1]; explicit steps and offsets move the centres.
  auto c = three_ways("_contrib_MultiBoxPrior", {{"sizes", "(0.5, 0.25)"}, {"ratios", "(1, 2, 0.5)"}, {"clip", "True"}}, {x});
  std::vector<float> cv = values(c[0]);
  check_values(tensor({cv[8], cv[9], cv[10], cv[11]}, {4}), {0.f, 0.073223f, 0.603553f, 0.426777f});
  auto s = three_ways("_contrib_MultiBoxPrior", {{"steps", "(0.1, 0.2)"}, {"offsets", "(0, 1)"}}, {x});
  check_values(s[0].reshaped({4, 4}).slice0(3, 4), {0.4f - 0.5f, 0.1f - 0.5f, 0.4f + 0.5f, 0.1f + 0.5f});
}

TEST_CASE("MultiBoxPrior: the book's 40x40 map, first anchor at (20, 20) is [0.2625, 0.2625, 0.7625, 0.7625]") {
  HostTensor x(DType::f32, {1, 3, 40, 40});
  auto y = invoke("_contrib_MultiBoxPrior", {{"sizes", "[.5, .25, .1]"}, {"ratios", "[1, 2, .5]"}}, {x});
  REQUIRE(y[0].shape() == std::vector<int64_t>{1, 40 * 40 * 5, 4});
  const float* p = y[0].data<float>() + ((20 * 40 + 20) * 5) * 4;
  check_values(tensor({p[0], p[1], p[2], p[3]}, {4}), {0.2625f, 0.2625f, 0.7625f, 0.7625f});
}

TEST_CASE("box_iou: corner and center formats") {
  HostTensor a = tensor({0, 0, 2, 2, 0, 0, 1, 1}, {2, 4}), b = tensor({1, 1, 3, 3, 5, 5, 6, 6, 0, 0, 2, 2}, {3, 4});
  auto r = three_ways("_contrib_box_iou", {}, {a, b});
  REQUIRE(r[0].shape() == std::vector<int64_t>{2, 3});
  check_values(r[0], {1.f / 7, 0, 1, 0, 0, 0.25f});
  // center: [x, y, w, h] boxes (1, 1, 2, 2) and (2, 2, 2, 2) are the corner boxes above.
  auto c = three_ways("_contrib_box_iou", {{"format", "center"}}, {tensor({1, 1, 2, 2}, {1, 4}), tensor({2, 2, 2, 2}, {1, 4})});
  check_values(c[0], {1.f / 7});
}

TEST_CASE("box_nms: MXNet's documented example, with and without force_suppress") {
  HostTensor x = tensor({0, 0.5, 0.1, 0.1, 0.2, 0.2, 1, 0.4, 0.1, 0.1, 0.2, 0.2, 0, 0.3, 0.1, 0.1, 0.14, 0.14, 2, 0.6,
                         0.5, 0.5, 0.7, 0.8},
                        {4, 6});
  Attrs a{{"overlap_thresh", "0.1"}, {"coord_start", "2"}, {"score_index", "1"}, {"id_index", "0"}, {"force_suppress", "True"}};
  auto r = three_ways("_contrib_box_nms", a, {x});
  check_values(r[0], {2, 0.6f, 0.5f, 0.5f, 0.7f, 0.8f, 0, 0.5f, 0.1f, 0.1f, 0.2f, 0.2f, -1, -1, -1, -1, -1, -1, -1, -1,
                      -1, -1, -1, -1});
  check_values(invoke("_contrib_box_nms", a, {x})[1], {3, 0, -1, -1});  // the hidden record: source rows
  a["force_suppress"] = "False";        // class 1 is not suppressed by class 0; row 2 is (IoU 0.16)
  auto k = three_ways("_contrib_box_nms", a, {x});
  check_values(k[0], {2, 0.6f, 0.5f, 0.5f, 0.7f, 0.8f, 0, 0.5f, 0.1f, 0.1f, 0.2f, 0.2f, 1, 0.4f, 0.1f, 0.1f, 0.2f, 0.2f,
                      -1, -1, -1, -1, -1, -1});
  // valid_thresh drops low scores before NMS, topk keeps the best k candidates only,
  // out_format=center converts the kept rows.
  auto v = three_ways("_contrib_box_nms", {{"valid_thresh", "0.45"}, {"out_format", "center"}}, {x});
  check_values(v[0], {2, 0.6f, 0.6f, 0.65f, 0.2f, 0.3f, 0, 0.5f, 0.15f, 0.15f, 0.1f, 0.1f, -1, -1, -1, -1, -1, -1, -1, -1,
                      -1, -1, -1, -1});
  auto t = three_ways("_contrib_box_nms", {{"topk", "1"}}, {x});
  check_values(t[0].reshaped({4, 6}).slice0(1, 2), {-1, -1, -1, -1, -1, -1});
  // topk=0: the input as it is.
  check_values(three_ways("_contrib_box_nms", {{"topk", "0"}}, {x})[0], values(x));
  // background_id with id_index: rows of class 0 are not candidates.
  auto bgr = three_ways("_contrib_box_nms", {{"id_index", "0"}, {"background_id", "0"}}, {x});
  check_values(bgr[0].reshaped({4, 6}).slice0(0, 2), {2, 0.6f, 0.5f, 0.5f, 0.7f, 0.8f, 1, 0.4f, 0.1f, 0.1f, 0.2f, 0.2f});
}

TEST_CASE("MultiBoxDetection: decoding, threshold, NMS as MXNet marks it (id -1, the row kept in place)") {
  HostTensor anchors = tensor({0.1f, 0.1f, 0.3f, 0.3f, 0.15f, 0.15f, 0.35f, 0.35f}, {1, 2, 4});
  HostTensor prob = tensor({0.2f, 0.7f, 0.8f, 0.3f}, {1, 2, 2});  // background row, class-0 row
  HostTensor loc = tensor({1, 0, 0, 0, 0, 0, 0, 0}, {1, 8});
  // Anchor 0 moves right by 1 * 0.1 * 0.2 = 0.02; the two boxes' IoU is then 0.0255 / 0.0545 = 0.47.
  auto r = three_ways("_contrib_MultiBoxDetection", {}, {prob, loc, anchors});
  check_values(r[0], {0, 0.8f, 0.12f, 0.1f, 0.32f, 0.3f, 0, 0.3f, 0.15f, 0.15f, 0.35f, 0.35f});
  auto s = three_ways("_contrib_MultiBoxDetection", {{"nms_threshold", "0.3"}}, {prob, loc, anchors});
  check_values(s[0], {0, 0.8f, 0.12f, 0.1f, 0.32f, 0.3f, -1, 0.3f, 0.15f, 0.15f, 0.35f, 0.35f});
  auto t = three_ways("_contrib_MultiBoxDetection", {{"threshold", "0.5"}}, {prob, loc, anchors});
  check_values(t[0], {0, 0.8f, 0.12f, 0.1f, 0.32f, 0.3f, -1, -1, -1, -1, -1, -1});
  // clip=False keeps coordinates outside [0, 1]; nms_topk=1 marks the rest dropped.
  HostTensor far = tensor({0, 0, 5, 5, 0, 0, 0, 0}, {1, 8});
  auto u = three_ways("_contrib_MultiBoxDetection", {{"clip", "False"}, {"nms_topk", "1"}}, {prob, far, anchors});
  float half = 0.2f * std::exp(1.f) / 2;
  check_values(u[0], {0, 0.8f, 0.2f - half, 0.2f - half, 0.2f + half, 0.2f + half, -1, 0.3f, 0.15f, 0.15f, 0.35f, 0.35f});
}

TEST_CASE("MultiBoxTarget: matching, regression targets, negatives and hard-negative mining") {
  HostTensor anchors = tensor({0, 0, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 0, 0, 1, 1}, {1, 3, 4});
  HostTensor label = tensor({0, 0.05f, 0.05f, 0.5f, 0.5f, -1, -1, -1, -1, -1}, {1, 2, 5});
  HostTensor pred = tensor({0, 0, 2, 0, 1, 0}, {1, 2, 3});
  auto r = three_ways("_contrib_MultiBoxTarget", {}, {anchors, label, pred});
  // Anchor 0 (IoU 0.81) matches: ((0.275 - 0.25) / 0.5) / 0.1 = 0.5 and log(0.45 / 0.5) / 0.2.
  float lw = std::log(0.9f) / 0.2f;
  check_values(r[0], {0.5f, 0.5f, lw, lw, 0, 0, 0, 0, 0, 0, 0, 0});
  check_values(r[1], {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  check_values(r[2], {1, 0, 0});  // class 0 + 1; the rest negatives (no mining)
  // Mining ratio 1: one negative, the anchor the net is surest is not background (anchor 1);
  // anchor 2 is ignored (-1).
  auto m = three_ways("_contrib_MultiBoxTarget", {{"negative_mining_ratio", "1"}}, {anchors, label, pred});
  check_values(m[2], {1, 0, -1});
  // A low overlap_threshold makes anchor 2 (IoU 0.2025) positive too.
  auto o = three_ways("_contrib_MultiBoxTarget", {{"overlap_threshold", "0.2"}}, {anchors, label, pred});
  check_values(o[2], {1, 0, 1});
  // No valid label: every class target is ignore_label.
  HostTensor empty = tensor({-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, {1, 2, 5});
  check_values(three_ways("_contrib_MultiBoxTarget", {{"ignore_label", "-2"}}, {anchors, empty, pred})[2], {-2, -2, -2});
}

TEST_CASE("detection ops: compiled == imperative == reference on structured random batches") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0, 1);
  HostTensor feat(DType::f32, {2, 1, 4, 4});
  HostTensor anchors = invoke("_contrib_MultiBoxPrior", {{"sizes", "(0.3, 0.5)"}, {"ratios", "(1, 2, 0.5)"}}, {feat})[0];
  int64_t A = anchors.shape()[1], B = 3, L = 3, C = 3;
  for (int trial = 0; trial < 4; ++trial) {
    CAPTURE(trial);
    HostTensor label(DType::f32, {B, L, 5}), pred(DType::f32, {B, C, A}), prob(DType::f32, {B, C, A}),
        loc(DType::f32, {B, A * 4});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t l = 0; l < L; ++l) {
        float* row = label.data<float>() + (b * L + l) * 5;
        if (l > b) {  // padding: batch b has b + 1 boxes
          std::fill(row, row + 5, -1.f);
          continue;
        }
        float x = u(rng) * 0.6f, y = u(rng) * 0.6f, w = 0.15f + u(rng) * 0.3f, h = 0.15f + u(rng) * 0.3f;
        row[0] = static_cast<float>(static_cast<int>(u(rng) * (C - 1)));
        row[1] = x, row[2] = y, row[3] = x + w, row[4] = y + h;
      }
    for (int64_t i = 0; i < pred.numel(); ++i) pred.data<float>()[i] = 4 * u(rng) - 2;
    for (int64_t i = 0; i < loc.numel(); ++i) loc.data<float>()[i] = 2 * u(rng) - 1;
    for (int64_t b = 0; b < B; ++b)  // class probabilities: a softmax over C per anchor
      for (int64_t a = 0; a < A; ++a) {
        float s = 0;
        for (int64_t c = 0; c < C; ++c) s += prob.data<float>()[(b * C + c) * A + a] = std::exp(3 * u(rng));
        for (int64_t c = 0; c < C; ++c) prob.data<float>()[(b * C + c) * A + a] /= s;
      }
    three_ways("_contrib_MultiBoxTarget", {}, {anchors, label, pred});
    three_ways("_contrib_MultiBoxTarget", {{"negative_mining_ratio", "3"}, {"overlap_threshold", "0.4"}},
               {anchors, label, pred});
    three_ways("_contrib_MultiBoxDetection", {}, {prob, loc, anchors});
    three_ways("_contrib_MultiBoxDetection", {{"force_suppress", "True"}, {"nms_topk", "20"}, {"threshold", "0.3"}},
               {prob, loc, anchors});
    HostTensor det = invoke("_contrib_MultiBoxDetection", {{"nms_threshold", "0"}}, {prob, loc, anchors})[0];
    three_ways("_contrib_box_nms", {{"overlap_thresh", "0.3"}, {"id_index", "0"}}, {det});
    three_ways("_contrib_box_nms", {{"force_suppress", "True"}, {"topk", "10"}, {"valid_thresh", "0.2"}}, {det});
    three_ways("_contrib_box_nms", {{"in_format", "center"}, {"out_format", "corner"}}, {det});
    three_ways("_contrib_box_iou", {}, {anchors, label_boxes(label)});
    three_ways("_contrib_box_iou", {{"format", "center"}}, {label_boxes(label), anchors});
  }
}

TEST_CASE("detection ops: the data-dependent ones take float32 and say so") {
  HostTensor x(DType::f64, {3, 6});
  CHECK_THROWS_WITH_AS(invoke("_contrib_box_nms", {}, {x}), doctest::Contains("_contrib_box_nms"), Error);
}
