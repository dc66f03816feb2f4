// The detection ops inside a hybridized graph: a small SSD-style head (a convolution's class
// and box predictions, MultiBoxPrior anchors, MultiBoxDetection, box_nms) traced, compiled
// and run gives what the same block gives imperatively; MultiBoxTarget in a recorded
// training step passes no gradient to its inputs (MXNet's zero Backward).
#include <doctest/doctest.h>

#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;
namespace ndc = hgc::nd::contrib;

namespace {

class Head : public HybridBlock {
 public:
  Head() : HybridBlock("head") {
    auto scope = name_scope();
    cls = register_child(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(2 * 3, {3, 3}).padding({1, 1})), "cls");
    box = register_child(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(3 * 4, {3, 3}).padding({1, 1})), "box");
  }
  NDArray hybrid_forward(const NDArray& x) override {
    NDArray anchors = ndc::MultiBoxPrior(x, ndc::MultiBoxPriorOptions().sizes({0.4, 0.2}).ratios({1, 2}));
    NDArray c = nd::transpose((*cls)(x), {0, 2, 3, 1}).reshape({0, -1, 2});  // (N, A, 2)
    NDArray p = nd::softmax(c, -1).transpose({0, 2, 1});                      // (N, 2, A)
    NDArray b = nd::transpose((*box)(x), {0, 2, 3, 1}).reshape({0, -1});      // (N, 4A)
    NDArray det = ndc::MultiBoxDetection(p, b, anchors, ndc::MultiBoxDetectionOptions().nms_threshold(0.45));
    return ndc::box_nms(det, ndc::BoxNmsOptions().overlap_thresh(0.3).topk(8).id_index(0));
  }
  std::shared_ptr<nn::Conv2D> cls, box;
};

}  // namespace

TEST_CASE("detection ops: a hybridized SSD head equals the imperative one") {
  NameManager names;
  nd::random::seed(3);
  auto head = std::make_shared<Head>();
  head->collect_params().initialize(init::Xavier());
  NDArray x = nd::random::uniform(0, 1, {2, 4, 5, 5});
  NDArray imp = (*head)(x);
  CHECK(imp.shape() == std::vector<int64_t>{2, 75, 6});
  head->hybridize();
  NDArray hyb = (*head)(x);
  REQUIRE(hyb.shape() == imp.shape());
  std::vector<float> a = imp.to_vector<float>(), b = hyb.to_vector<float>();
  int kept = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(std::abs(a[i] - b[i]) < 1e-4);
    if (i % 6 == 0 && a[i] >= 0) ++kept;
  }
  CHECK(kept > 0);
  CHECK(kept <= 16);  // topk 8 per image
  NDArray again = (*head)(nd::random::uniform(0, 1, {3, 4, 5, 5}));  // another batch size
  CHECK(again.shape() == std::vector<int64_t>{3, 75, 6});
}

TEST_CASE("detection ops: MultiBoxTarget under record gives its inputs no gradient; the loss still trains") {
  NDArray anchors = ndc::MultiBoxPrior(nd::zeros({1, 1, 2, 2}), ndc::MultiBoxPriorOptions().sizes({0.5}));
  NDArray label = nd::array({0, 0.0, 0.0, 0.5, 0.5}, {1, 1, 5});
  NDArray pred = nd::random::normal(0, 1, {1, 2, 4});
  pred.attach_grad();
  {
    auto rec = autograd::record();
    auto t = ndc::MultiBoxTarget(anchors, label, pred);
    NDArray loss = nd::sum(nd::log_softmax(pred.transpose({0, 2, 1}), -1) * nd::one_hot(t[2], 2));
    loss.backward();
    CHECK(t[2].to_vector<float>() == std::vector<float>{1, 0, 0, 0});
  }
  // The gradient is the cross-entropy's alone (through log_softmax), not through the targets.
  std::vector<float> g = pred.grad().to_vector<float>();
  CHECK(std::abs(g[0]) > 0);
}
