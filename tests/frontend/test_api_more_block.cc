// Block/Parameter additions (infer_shape, infer_type, optimize_for, items, get_constant,
// setattr, row_sparse_data), SDMLLoss against a host reference and finite differences, and
// the gluon.utils file helpers (SHA-1 test vectors, replace_file).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "api_more_util.h"
#include "hgc/frontend/autograd/get_symbol.h"
#include "hgc/frontend/gluon/file_utils.h"
#include "hgc/frontend/gluon/symbol_block.h"
#include "hgc/frontend/gluon/loss_sdml.h"
#include "hgc/frontend/gluon/nn/basic_layers.h"
#include "hgc/frontend/gluon/nn/sequential.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
std::shared_ptr<nn::HybridSequential> mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  {
    auto s = net->name_scope();
    net->emplace<nn::Dense>(nn::DenseOptions(4).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(2));
  }
  return net;
}
}  // namespace

TEST_CASE("HybridBlock: infer_shape, infer_type, optimize_for") {
  auto net = mlp();
  net->initialize();
  auto params = net->collect_params().values();
  CHECK(params[0]->deferred());
  net->infer_shape({nd::zeros({3, 5})});
  CHECK(params[0]->shape() == std::vector<int64_t>{4, 5});
  CHECK(params[2]->shape() == std::vector<int64_t>{2, 4});
  CHECK_THROWS_AS(net->infer_shape({}), Error);

  net->infer_type({nd::zeros({3, 5}, DType::f64)});
  for (auto& p : net->collect_params().values()) CHECK(p->dtype() == DType::f64);
  net->infer_type({nd::zeros({3, 5})});
  for (auto& p : net->collect_params().values()) CHECK(p->dtype() == DType::f32);
  CHECK((*net)(nd::ones({3, 5})).shape() == std::vector<int64_t>{3, 2});

  auto net2 = mlp();
  net2->initialize();
  NDArray x = nd::random::uniform(-1, 1, {3, 5});
  net2->optimize_for({x});
  CHECK(net2->hybridized());
  auto before = net2->cache_stats();
  CHECK(before.forward_compiles == 1);
  NDArray y = (*net2)(x);
  CHECK(net2->cache_stats().forward_compiles == 1);  // the call only ran
  net2->hybridize(false);
  test::check_close(y, (*net2)(x), 1e-5);
  CHECK_THROWS_AS(net2->optimize_for({x}, "TensorRT"), Error);
}

TEST_CASE("Block: register_op_hook reports each op's values") {
  auto net = mlp();
  net->initialize();
  NDArray x = nd::random::uniform(-1, 1, {3, 5});
  NDArray ref = (*net)(x);
  net->hybridize();
  std::vector<std::string> names, ops;
  NDArray last;
  net->register_op_hook([&](const std::string& n, const std::string& op, const NDArray& v) {
    names.push_back(n), ops.push_back(op), last = v;
  });
  NDArray y = (*net)(x);
  test::check_close(y, ref, 1e-5);
  CHECK(std::count(ops.begin(), ops.end(), "FullyConnected") == 2);
  REQUIRE(!names.empty());
  CHECK(names[0].find("_output") != std::string::npos);
  test::check_close(last, y, 1e-6);  // the last op's output is the block's
  size_t outputs_only = names.size();
  names.clear();
  net->register_op_hook([&](const std::string& n, const std::string&, const NDArray&) { names.push_back(n); }, true);
  (*net)(x);
  CHECK(names.size() > outputs_only + 2);  // inputs (data, weights, biases) too
  // A plain Block hands the hook to its hybrid children.
  auto seq = std::make_shared<nn::Sequential>();
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions(2).in_units(5));
  seq->add(dense);
  seq->initialize();
  dense->hybridize();
  int calls = 0;
  seq->register_op_hook([&](const std::string&, const std::string&, const NDArray&) { ++calls; });
  (*seq)(x);
  CHECK(calls >= 1);
}

TEST_CASE("ParameterDict: items, get_constant, setattr; Parameter::row_sparse_data") {
  auto net = mlp();
  auto pd = net->collect_params();
  auto items = pd.items();
  REQUIRE(items.size() == 4);
  CHECK(items[0].first == items[0].second->name());
  CHECK(items[0].first == pd.keys()[0]);

  ParameterDict consts("c_");
  auto c = consts.get_constant("table", nd::array({1, 2, 3, 4}, {2, 2}));
  CHECK(c->name() == "c_table");
  CHECK(c->grad_req() == "null");
  consts.initialize();
  CHECK(c->data().to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(consts.get_constant("table", nd::zeros({2, 2})) == c);
  CHECK_THROWS_AS(consts.get_constant("table", nd::zeros({3})), Error);

  pd.setattr("grad_req", "null");
  for (auto& [n, p] : pd.items()) CHECK(p->grad_req() == "null");
  pd.setattr("lr_mult", "0.5");
  pd.setattr("wd_mult", 2.0);
  for (auto& [n, p] : pd.items()) {
    CHECK(p->lr_mult() == 0.5);
    CHECK(p->wd_mult() == 2.0);
  }
  CHECK_THROWS_AS(pd.setattr("grad_req", "sometimes"), Error);
  CHECK_THROWS_AS(pd.setattr("lr_mult", "fast"), Error);
  CHECK_THROWS_AS(pd.setattr("colour", "red"), Error);

  std::vector<float> rows = c->row_sparse_data(nd::array({1})).to_vector<float>();
  CHECK(rows == std::vector<float>{3, 4});
  CHECK(c->list_row_sparse_data(nd::array({0, 1})).size() == 1);
}

TEST_CASE("loss: SDMLLoss against the formula, gradient by finite differences") {
  NDArray x1 = nd::array({0, 0, 1, 0, 0, 1}, {3, 2}), x2 = nd::array({0.1f, 0, 1, 0.2f, 0, 0.8f}, {3, 2});
  loss::SDMLLoss sdml(0.3);
  std::vector<float> got = sdml(x1, x2).to_vector<float>();
  std::vector<float> a = x1.to_vector<float>(), b = x2.to_vector<float>();
  for (int i = 0; i < 3; ++i) {
    double d[3], m = -1e30, z = 0;
    for (int j = 0; j < 3; ++j) {
      d[j] = 0;
      for (int k = 0; k < 2; ++k) d[j] += (a[i * 2 + k] - b[j * 2 + k]) * (a[i * 2 + k] - b[j * 2 + k]);
      m = std::max(m, -d[j]);
    }
    for (int j = 0; j < 3; ++j) z += std::exp(-d[j] - m);
    double want = 0;
    for (int j = 0; j < 3; ++j) {
      double lab = i == j ? 0.7 : 0.15, logp = -d[j] - m - std::log(z);
      want += lab * (std::log(lab + 1e-12) - logp) / 3;
    }
    CHECK(got[i] == doctest::Approx(want).epsilon(1e-5));
  }
  test::check_grad_fd([&](const NDArray& v) { return loss::SDMLLoss(0.3)(v, x2); }, x1, 1e-3, 3e-2);
  CHECK_THROWS_AS(sdml(x1, nd::zeros({3, 3})), Error);
  CHECK_THROWS_AS(sdml(nd::zeros({1, 2}), nd::zeros({1, 2})), Error);
}

TEST_CASE("utils: check_sha1 (FIPS 180 vectors), replace_file") {
  CHECK(utils::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(utils::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(utils::sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(utils::sha1_hex(std::string(1000000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  auto dir = std::filesystem::temp_directory_path();
  std::string f = (dir / "hgc_sha1_test.txt").string(), g = (dir / "hgc_sha1_moved.txt").string();
  std::ofstream(f) << "abc";
  CHECK(utils::check_sha1(f, "A9993E364706816ABA3E25717850C26C9CD0D89D"));
  CHECK_FALSE(utils::check_sha1(f, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
  std::ofstream(g) << "old";
  utils::replace_file(f, g);
  CHECK_FALSE(std::filesystem::exists(f));
  CHECK(utils::sha1_file(g) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK_THROWS_AS(utils::check_sha1(f, "00"), Error);
  CHECK_THROWS_AS(utils::replace_file(f, g), Error);
  std::filesystem::remove(g);
}

TEST_CASE("autograd: get_symbol replays the recorded ops") {
  NDArray a = nd::array({0.5f, -1, 2}), b = nd::array({1, 2, -0.5f});
  a.attach_grad();
  b.attach_grad();
  NDArray y;
  {
    auto rec = autograd::record();
    y = nd::tanh(a * b) + a * 3;
  }
  Symbol s = autograd::get_symbol(y);
  auto args = s.list_arguments();
  CHECK(args == std::vector<std::string>{"var0", "var1"});
  auto blk = std::make_shared<SymbolBlock>(s, std::vector<std::string>{"var0", "var1"});
  NDArray a2 = nd::array({1, 0, -1}), b2 = nd::array({2, 3, 4});
  std::vector<NDArray> out = (*blk)(std::vector<NDArray>{a2, b2});
  test::check_close(out.at(0), nd::tanh(a2 * b2) + a2 * 3, 1e-6);
  CHECK_THROWS_AS(autograd::get_symbol(nd::ones({2})), Error);
}
